"""Facts about this host that staxad shows users."""

from __future__ import annotations

import json
import pwd
import subprocess
from pathlib import Path

from staxad.adapters import proc
from staxad.model.capacity import HostLimits
from staxad.model.errors import TemporaryError


def detect_server_ip() -> str | None:
    """The IPv4 address of the interface the default route uses (no packet is sent)."""
    try:
        routes = json.loads(_ip("-4", "route", "show", "default") or "[]")
        device = next((r["dev"] for r in routes if r.get("dev")), None)
        if device is None:
            return None
        for link in json.loads(_ip("-4", "addr", "show", "dev", device) or "[]"):
            for address in link.get("addr_info", []):
                if address.get("scope") == "global" and address.get("local"):
                    return str(address["local"])
    except (ValueError, KeyError, TypeError):
        return None
    return None


async def host_addresses() -> list[str]:
    """Every IPv4 address on this host's interfaces (`ip -j addr`), loopback included."""
    result = await proc.run(["ip", "-j", "-4", "addr"], timeout=5)
    if result.returncode != 0:
        raise TemporaryError("could not list this host's addresses (ip -j addr failed); try again")
    return addresses_of(result.stdout.decode())


def addresses_of(ip_json: str) -> list[str]:
    return [
        str(entry["local"])
        for link in json.loads(ip_json or "[]")
        for entry in link.get("addr_info", [])
        if entry.get("family") == "inet" and entry.get("local")
    ]


def _ip(*args: str) -> str:
    try:
        done = subprocess.run(["ip", "-j", *args], capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return done.stdout if done.returncode == 0 else ""


def subordinate_ids(user: str, path: str = "/etc/subuid") -> list[tuple[int, int]]:
    """The (first id, count) ranges /etc/subuid gives `user`: its containers' other uids."""
    ranges = []
    try:
        with open(path) as listing:
            for line in listing:
                name, _, rest = line.strip().partition(":")
                start, _, count = rest.partition(":")
                if name == user and start.isdigit() and count.isdigit():
                    ranges.append((int(start), int(count)))
    except FileNotFoundError:
        return []
    return ranges


def cgroups_v2() -> bool:
    """Rootless podman applies memory/CPU/pids limits only on the unified hierarchy."""
    return Path("/sys/fs/cgroup/cgroup.controllers").exists()


def service_uid_ranges(user: str) -> list[tuple[int, int]]:
    """(first, last) uids a rootless user's processes run as: its own and its subordinate ids."""
    uid = pwd.getpwnam(user).pw_uid
    return [(uid, uid), *((start, start + count - 1) for start, count in subordinate_ids(user) if count > 0)]


def host_limits(user: str) -> HostLimits:
    """The limits that bound how many tenants this host runs (staxad.model.capacity)."""
    meminfo = Path("/proc/meminfo").read_text()
    memory_kib = next(int(line.split()[1]) for line in meminfo.splitlines() if line.startswith("MemTotal:"))
    low, high = (int(n) for n in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    processes = int(Path("/proc/sys/kernel/threads-max").read_text())
    try:
        result = subprocess.run(
            [*proc.as_user(user), "sh", "-c", "ulimit -u"], capture_output=True, text=True, timeout=10, cwd="/"
        )
        if result.returncode == 0 and result.stdout.strip().isdigit():
            processes = min(processes, int(result.stdout.strip()))
    except (OSError, subprocess.TimeoutExpired):
        pass
    keys: int | None = int(Path("/proc/sys/kernel/keys/maxkeys").read_text())
    if _keyring_off(user):
        keys = None
    return HostLimits(memory_kib // 1024, keys, processes, high - low + 1)


def _keyring_off(user: str) -> bool:
    """Whether the service user's containers.conf turns podman's per-container keyring off
    (host-setup writes it so). Read as that user: root never follows their paths."""
    try:
        home = pwd.getpwnam(user).pw_dir
        result = subprocess.run(
            [*proc.as_user(user), "cat", f"{home}/.config/containers/containers.conf"],
            capture_output=True,
            text=True,
            timeout=10,
            cwd="/",
        )
    except (KeyError, OSError, subprocess.TimeoutExpired):
        return False
    return any(line.replace(" ", "") == "keyring=false" for line in result.stdout.splitlines())
