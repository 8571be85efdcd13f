"""A real DNS server for the tests: dnsmasq on a loopback port, answering only from the
records a test sets, authoritative (NXDOMAIN) for the zones it is given."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Dnsmasq:
    zones: tuple[str, ...]
    folder: Path
    port: int = field(default_factory=free_udp_port)
    process: subprocess.Popen[bytes] | None = None

    def serve(
        self,
        a: dict[str, str] | None = None,
        cname: dict[str, str] | None = None,
        txt: dict[str, str] | None = None,
    ) -> None:
        """(Re)start with exactly these records: A name -> ip, CNAME alias -> target, TXT name -> text."""
        self.stop()
        args = [
            shutil.which("dnsmasq") or "/usr/sbin/dnsmasq",
            "--keep-in-foreground",
            "--conf-file=/dev/null",
            "--no-resolv",
            "--no-hosts",
            "--no-poll",
            "--bind-interfaces",
            "--listen-address=127.0.0.1",
            f"--port={self.port}",
            f"--pid-file={self.folder / 'dnsmasq.pid'}",
            "--user=root",
            "--log-facility=-",
            *[f"--local=/{zone}/" for zone in self.zones],
            *[f"--host-record={name},{ip}" for name, ip in (a or {}).items()],
            *[f"--cname={alias},{target}" for alias, target in (cname or {}).items()],
            *[f"--txt-record={name},{text}" for name, text in (txt or {}).items()],
        ]
        self.process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"dnsmasq exited with {self.process.returncode}: {args}")
            if _answers(self.port):
                return
            time.sleep(0.02)
        raise RuntimeError("dnsmasq did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=10)
        self.process = None


def _answers(port: int) -> bool:
    import dns.message
    import dns.query

    query = dns.message.make_query("probe.invalid", "A")
    try:
        dns.query.udp(query, "127.0.0.1", port=port, timeout=0.2)
    except Exception:
        return False
    return True


@contextlib.contextmanager
def dnsmasq(folder: Path, *zones: str) -> Iterator[Dnsmasq]:
    server = Dnsmasq(zones, folder)
    try:
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def silent_dns_server() -> Iterator[int]:
    """A UDP port that receives queries and never answers: a nameserver timing out."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])
