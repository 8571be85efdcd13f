"""`staxad doctor`: check this host for what staxad needs, and say how to fix each gap.

Each check returns (ok, blocking, message). A blocking failure makes the exit code 1;
warnings (such as cgroups v1 meaning no resource limits for rootless containers) do not.
"""

from __future__ import annotations

import os
import pwd
import shutil
import stat
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from staxad.config import Settings

SERVICE_USER = "staxa"


@dataclass(frozen=True)
class Finding:
    ok: bool
    blocking: bool
    what: str
    fix: str = ""


def _binary(name: str, package: str) -> Finding:
    path = shutil.which(name)
    if path:
        return Finding(True, False, f"{name} found at {path}")
    return Finding(False, True, f"{name} is not installed", f"apt-get install {package}")


def _service_user() -> Finding:
    try:
        pwd.getpwnam(SERVICE_USER)
    except KeyError:
        return Finding(
            False,
            True,
            f"service user '{SERVICE_USER}' does not exist",
            f"useradd --system --create-home --shell /usr/sbin/nologin {SERVICE_USER}",
        )
    return Finding(True, False, f"service user '{SERVICE_USER}' exists")


def _subid(path: str) -> Finding:
    try:
        lines = Path(path).read_text().splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        parts = line.split(":")
        if len(parts) == 3 and parts[0] == SERVICE_USER and int(parts[2]) >= 65536:
            return Finding(True, False, f"{path} gives {SERVICE_USER} {parts[2]} ids")
    return Finding(
        False,
        True,
        f"{path} has no range of at least 65536 ids for {SERVICE_USER}",
        f"usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {SERVICE_USER}",
    )


def _tun() -> Finding:
    try:
        mode = os.stat("/dev/net/tun").st_mode
    except FileNotFoundError:
        return Finding(False, True, "/dev/net/tun is missing (rootless networking needs it)", "modprobe tun")
    if mode & stat.S_IROTH and mode & stat.S_IWOTH:
        return Finding(True, False, "/dev/net/tun is usable by the service user")
    return Finding(
        False,
        True,
        "/dev/net/tun is not readable and writable by the service user",
        'chmod 0666 /dev/net/tun (and add a udev rule: KERNEL=="tun", MODE="0666")',
    )


def _cgroups() -> Finding:
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():
        return Finding(True, False, "cgroups v2: memory/CPU limits apply to rootless containers")
    return Finding(
        False,
        False,
        "cgroups v1: podman ignores memory/CPU limits of rootless containers",
        "boot with systemd.unified_cgroup_hierarchy=1 to enforce resource_size limits",
    )


def _nft() -> Finding:
    found = _binary("nft", "nftables")
    if not found.ok:
        return found
    result = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True, timeout=10, check=False)
    if result.returncode != 0:
        return Finding(
            False,
            True,
            f"nft cannot read the ruleset: {result.stderr.strip()}",
            "run staxad as root (it programs nftables)",
        )
    return Finding(True, False, "nftables is usable")


def _data_dir(settings: Settings) -> Finding:
    path = settings.data_dir
    if path.exists() and not os.access(path, os.W_OK):
        return Finding(False, True, f"data dir {path} is not writable", f"chown root:root {path}")
    return Finding(True, False, f"data dir {path} is usable")


def checks(settings: Settings) -> list[Callable[[], Finding]]:
    return [
        lambda: _data_dir(settings),
        lambda: _binary("podman", "podman"),
        lambda: _binary("caddy", "caddy"),
        lambda: _binary("git", "git"),
        lambda: _binary("newuidmap", "uidmap"),
        _nft,
        _service_user,
        lambda: _subid("/etc/subuid"),
        lambda: _subid("/etc/subgid"),
        _tun,
        _cgroups,
    ]


def run_doctor(settings: Settings) -> int:
    blocking = 0
    for check in checks(settings):
        finding = check()
        mark = "ok  " if finding.ok else ("FAIL" if finding.blocking else "warn")
        print(f"[{mark}] {finding.what}")
        if finding.fix and not finding.ok:
            print(f"       fix: {finding.fix}")
        blocking += int(not finding.ok and finding.blocking)
    print("staxad doctor: " + ("everything needed is in place" if not blocking else f"{blocking} blocking problem(s)"))
    return 1 if blocking else 0
