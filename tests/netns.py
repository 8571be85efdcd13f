"""Test hosts of the tests' own: a network namespace joined to the host by a veth pair,
addressed in 198.18.0.0/15 (RFC 2544 benchmarking space). Removed by name afterwards."""

from __future__ import annotations

import contextlib
import secrets
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


@dataclass(frozen=True)
class NetHost:
    name: str
    address: str  # inside the namespace
    gateway: str  # the host's end of the veth

    def run(self, *argv: str, timeout: float = 10) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ip", "netns", "exec", self.name, *argv], capture_output=True, text=True, timeout=timeout, check=False
        )

    def popen(self, *argv: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            ["ip", "netns", "exec", self.name, *argv], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )


def _free_subnet() -> int:
    used = ip("-4", "-o", "addr").stdout
    for _ in range(100):
        third = secrets.randbelow(200) + 20
        if f"198.18.{third}." not in used:
            return third
    raise RuntimeError("no free 198.18.x.0/24 for a test host")


@contextlib.contextmanager
def net_host() -> Iterator[NetHost]:
    tag = secrets.token_hex(3)
    name, outside, inside = f"stx-{tag}", f"sx{tag}h", f"sx{tag}n"
    third = _free_subnet()
    host = NetHost(name, f"198.18.{third}.2", f"198.18.{third}.1")
    try:
        ip("netns", "add", name)
        ip("link", "add", outside, "type", "veth", "peer", "name", inside)
        ip("link", "set", inside, "netns", name)
        ip("addr", "add", f"{host.gateway}/24", "dev", outside)
        ip("link", "set", outside, "up")
        ip("-n", name, "addr", "add", f"{host.address}/24", "dev", inside)
        ip("-n", name, "link", "set", inside, "up")
        ip("-n", name, "link", "set", "lo", "up")
        ip("-n", name, "route", "add", "default", "via", host.gateway)
        yield host
    finally:
        ip("link", "del", outside, check=False)
        ip("netns", "del", name, check=False)
