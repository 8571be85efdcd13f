"""The systemd contract for real: `staxad serve` as a subprocess talks sd_notify to a
datagram socket of the test's own; the unit files pass `systemd-analyze verify`."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bench.loadgen import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_ready_after_listening_then_watchdog_pings_then_stopping(tmp_path: Path) -> None:
    path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
        sock.settimeout(30)
        port = free_port()
        env = {
            **os.environ,
            "NOTIFY_SOCKET": str(path),
            "WATCHDOG_USEC": "200000",
            "STAXAD_STORE_DATA_DIR": str(tmp_path / "data"),
            "STAXAD_RUNTIME_ENABLED": "false",
            "STAXAD_SERVER_PORT": str(port),
        }
        env.pop("WATCHDOG_PID", None)
        process = subprocess.Popen([sys.executable, "-m", "staxad", "serve"], env=env, stderr=subprocess.DEVNULL)
        try:
            ready = sock.recv(4096).decode()
            assert ready.startswith("READY=1") and f":{port}" in ready
            with socket.create_connection(("127.0.0.1", port), timeout=5):
                pass  # READY came only once the API listens
            assert [sock.recv(4096).decode() for _ in range(3)] == ["WATCHDOG=1"] * 3
            process.send_signal(signal.SIGTERM)
            while (message := sock.recv(4096).decode()) == "WATCHDOG=1":
                pass
            assert message == "STOPPING=1"
            # uvicorn re-raises SIGTERM once shut down; systemd counts that as a clean stop
            assert process.wait(30) in (0, -signal.SIGTERM)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_units_verify() -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", str(ROOT / "systemd" / "staxad.service")],
        capture_output=True,
        text=True,
        check=False,
    )
    problems = [
        line
        for line in result.stderr.splitlines()
        if line.strip() and not (not Path("/usr/bin/staxad").exists() and "/usr/bin/staxad is not executable" in line)
    ]
    assert problems == [], result.stderr
