"""The sd_notify protocol, without libsystemd: READY=1 once staxad serves, and
WATCHDOG=1 from the event loop so systemd restarts a wedged daemon."""

from __future__ import annotations

import asyncio
import logging
import os
import socket

log = logging.getLogger("staxad.systemd")


def notify(message: str) -> bool:
    """Send one state line to systemd; False when not run by systemd (no NOTIFY_SOCKET)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    if address.startswith("@"):
        address = "\0" + address[1:]  # an abstract socket
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(address)
            sock.sendall(message.encode())
    except OSError as exc:
        log.warning("could not notify systemd (%s): %s", message, exc)
        return False
    return True


def watchdog_interval() -> float | None:
    """Half of WATCHDOG_USEC in seconds, when systemd watches this process."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    pid = os.environ.get("WATCHDOG_PID")
    if not usec.isdigit() or (pid and pid != str(os.getpid())):
        return None
    return int(usec) / 2e6


async def feed_watchdog(interval: float) -> None:
    # Runs on the event loop itself: if the loop is wedged, the pings stop.
    while True:
        notify("WATCHDOG=1")
        await asyncio.sleep(interval)
