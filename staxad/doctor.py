"""`staxad doctor`: check this host for what staxad needs, and say how to fix each gap.

Each check returns (ok, blocking, message). A blocking failure makes the exit code 1;
warnings (such as cgroups v1 meaning no resource limits for rootless containers) do not.
The runtime is proved, not assumed: a trial container starts as tenants' do
(staxad.trial). `--preflight` runs only the checks that can block, and no port checks
(those depend on the config a later command uses), for scripts to run after bootstrap.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pwd
import shutil
import socket
import sqlite3
import stat
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from staxad import trial
from staxad.adapters.hostinfo import cgroups_v2, host_limits
from staxad.adapters.volumes import Volumes
from staxad.config import Settings
from staxad.model.capacity import ceiling
from staxad.model.resources import SIZES
from staxad.model.volumes import sort_host_volumes

STORAGE = ".local/share/containers/storage"  # the service user's rootless image storage, under its home


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


def _service_user(user: str) -> Finding:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return Finding(
            False,
            True,
            f"service user '{user}' does not exist",
            f"useradd --system --create-home --shell /usr/sbin/nologin {user}",
        )
    return Finding(True, False, f"service user '{user}' exists")


def _subid(path: str, user: str) -> Finding:
    try:
        lines = Path(path).read_text().splitlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        parts = line.split(":")
        if len(parts) == 3 and parts[0] == user and int(parts[2]) >= 65536:
            return Finding(True, False, f"{path} gives {user} {parts[2]} ids")
    return Finding(
        False,
        True,
        f"{path} has no range of at least 65536 ids for {user}",
        f"usermod --add-subuids 100000-165535 --add-subgids 100000-165535 {user}",
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


def _caddy_admin(settings: Settings) -> Finding:
    if settings.caddy.mode == "managed":
        return Finding(True, False, "Caddy is started by staxad (caddy.mode = managed)")
    admin = settings.caddy_admin
    path = Path(admin.removeprefix("unix/"))
    try:
        with socket.socket(socket.AF_UNIX) as probe:
            probe.settimeout(3)
            probe.connect(str(path))
            probe.sendall(b"GET /config/ HTTP/1.0\r\nHost: \r\n\r\n")
            answer = probe.recv(64)
    except OSError as exc:
        return Finding(
            False,
            True,
            f"Caddy's admin socket {admin} does not answer ({exc})",
            "install the caddy drop-in from the staxad package and `systemctl restart caddy`",
        )
    if not answer.startswith(b"HTTP/1.") or b" 200 " not in answer:
        return Finding(False, True, f"Caddy's admin socket {admin} answered {answer[:40]!r}", "systemctl restart caddy")
    folder = os.stat(path.parent)
    if folder.st_mode & 0o007:
        return Finding(False, True, f"{path.parent} lets every user reach Caddy's admin", f"chmod o-rwx {path.parent}")
    return Finding(True, False, f"Caddy's admin socket answers at {admin}")


def _build_limits() -> Finding:
    if cgroups_v2():
        return Finding(True, False, "builds get memory and CPU limits (cgroups v2)")
    return Finding(
        False,
        False,
        "this host has cgroups v1: build steps and containers run without memory, CPU and pids limits "
        "(rootless podman cannot apply them); builds are still bounded in time, log size, checkout size and "
        "concurrency",
        "boot with systemd.unified_cgroup_hierarchy=1 (cgroups v2)",
    )


def _ports(settings: Settings) -> list[Finding]:
    """In managed mode staxad's Caddy must be able to bind the HTTP and HTTPS ports."""
    if settings.caddy.mode != "managed":
        return []
    findings = []
    for port in sorted({settings.caddy.http_port, settings.domains.https_port}):
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("0.0.0.0", port))  # noqa: S104 - checking the port is free, then closing
            except OSError:
                findings.append(
                    Finding(False, True, f"port {port} is taken by another process", f"ss -ltnp 'sport = :{port}'")
                )
                continue
        findings.append(Finding(True, False, f"port {port} is free for Caddy"))
    return findings


def _clock() -> Finding:
    """Certificates and rule expiry need the right time; compare with the hardware clock."""
    rtc = Path("/sys/class/rtc/rtc0/since_epoch")
    try:
        hardware = int(rtc.read_text().strip())
    except (OSError, ValueError):
        return Finding(True, False, "no hardware clock to compare with; keep NTP running")
    skew = abs(time.time() - hardware)
    if skew > 60:
        return Finding(
            False,
            False,
            f"the system clock is {skew:.0f} s off the hardware clock",
            "enable NTP (timedatectl set-ntp true)",
        )
    return Finding(True, False, f"the system clock agrees with the hardware clock ({skew:.0f} s)")


def _route_localnet(settings: Settings) -> Finding:
    knob = Path("/proc/sys/net/ipv4/conf/all/route_localnet")
    if not settings.network.enabled or os.access(knob, os.W_OK):
        return Finding(True, False, "inbound network rules can forward to loopback (route_localnet)")
    return Finding(False, True, f"{knob} is not writable", "run staxad as root outside a read-only /proc/sys")


def _runtime(settings: Settings, service_env: dict[str, str] | None = None, tag: str | None = None) -> Finding:
    if not settings.runtime.enabled:
        return Finding(True, False, "the container runtime is off (runtime.enabled = false)")
    if os.geteuid() != 0:
        return Finding(
            False, True, "the runtime trial needs root (it runs podman as the service user)", "sudo staxad doctor"
        )
    try:
        pwd.getpwnam(settings.runtime.service_user)
    except KeyError:
        return Finding(False, True, f"no runtime trial: service user '{settings.runtime.service_user}' is missing")
    try:
        return Finding(
            True, False, asyncio.run(trial.run(settings.runtime.service_user, tag=tag, service_env=service_env))
        )
    except trial.TrialFailed as failed:
        return Finding(False, True, failed.what, failed.fix)


def _capacity(settings: Settings) -> Finding:
    """Advisory: about how many small one-service tenants fit, and what binds first."""
    if not settings.runtime.enabled or os.geteuid() != 0:
        return Finding(True, False, "tenant capacity not estimated (runtime off, or not root)")
    try:
        limits = host_limits(settings.runtime.service_user)
    except (OSError, ValueError, StopIteration) as exc:
        return Finding(True, False, f"tenant capacity not estimated: {exc}")
    found = ceiling(limits, SIZES["small"])
    what = f"this host runs about {found.tenants} small tenants; the first limit reached is {found.bound_by}"
    if limits.keys is not None and found.bound_by.startswith("kernel keys"):
        return Finding(
            False, False, what, "run host-setup again (it turns podman's keyring off), or raise kernel.keys.maxkeys"
        )
    return Finding(True, False, what)


def _volume_quota(settings: Settings) -> Finding:
    """Advisory: a volume's size_mb is measured, never enforced, and this says why."""
    try:
        home = Path(pwd.getpwnam(settings.runtime.service_user).pw_dir)
    except KeyError:
        return Finding(True, False, "volume sizes not checked: no service user")
    storage = home / STORAGE
    fs = _filesystem(storage if storage.exists() else home)
    return Finding(
        True,
        False,
        f"volume size_mb is watched (volume.over_limit events), not enforced: rootless podman has no "
        f"per-volume quota on {fs}",
    )


def _host_volumes(settings: Settings) -> Finding:
    """Advisory: volumes no live tenant mounts, by whose they are."""
    if not settings.runtime.enabled or os.geteuid() != 0 or not settings.database_path.exists():
        return Finding(True, False, "host volumes not checked: no runtime, not root, or no store yet")
    try:
        listing = asyncio.run(Volumes(settings.runtime.service_user).named_for(settings.instance))
        with contextlib.closing(sqlite3.connect(f"file:{settings.database_path}?mode=ro", uri=True)) as db:
            ids = {
                table: {row[0] for row in db.execute(f"SELECT id FROM {table}")}  # noqa: S608 - fixed names
                for table in ("tenants", "volumes", "retained_volumes")
            }
    except Exception as exc:
        return Finding(False, False, f"host volumes not checked: {str(exc)[:200]}")
    found = sort_host_volumes(listing, ids["tenants"], ids["volumes"], ids["retained_volumes"])
    notes = []
    if found.retained:
        notes.append(f"{len(found.retained)} retained for their providers (GET /api/v1/volumes?retained=true)")
    if found.unrecorded:
        notes.append(f"{len(found.unrecorded)} retained before staxad recorded them: {', '.join(found.unrecorded)}")
    if found.foreign:
        notes.append(f"{len(found.foreign)} under staxad's names that staxad did not make: {', '.join(found.foreign)}")
    if not found.unrecorded and not found.foreign:
        return Finding(True, False, "host volumes: " + ("; ".join(notes) or "none outside live tenants"))
    return Finding(
        False,
        False,
        "host volumes: " + "; ".join(notes)[:1200],
        f"look inside (runuser -u {settings.runtime.service_user} -- podman volume inspect NAME), then keep them "
        "or remove them (podman volume rm NAME): staxad never mounts or deletes these",
    )


def _image_storage(settings: Settings) -> Finding:
    """Advisory: which driver the service user's image storage was made with."""
    try:
        home = Path(pwd.getpwnam(settings.runtime.service_user).pw_dir)
    except KeyError:
        return Finding(True, False, "image storage not checked: no service user")
    folder, drivers = home, set[str]()
    with contextlib.suppress(OSError):
        for part in Path(STORAGE).parts:  # the service user's folders: root follows no link of theirs
            folder = folder / part
            if stat.S_ISLNK(os.lstat(folder).st_mode):
                return Finding(False, False, f"image storage not checked: {folder} is a link")
        drivers = {entry.name.removesuffix("-images") for entry in os.scandir(folder) if entry.name.endswith("-images")}
    return image_storage(drivers)


def image_storage(drivers: set[str]) -> Finding:
    """What the drivers found in the image storage (`<driver>-images` folders) mean."""
    if not drivers:
        return Finding(True, False, "image storage not made yet: podman makes it on first use")
    if drivers == {"overlay"}:
        return Finding(True, False, "image storage is overlay")
    return Finding(
        False,
        False,
        f"image storage is {', '.join(sorted(drivers))}: each container and build step copies whole images "
        "(slower starts and builds, an image's size on disk per container)",
        "systemctl stop staxad; /opt/staxad/libexec/move-storage-to-overlay (README, Image storage)",
    )


def _filesystem(path: Path) -> str:
    """The type of the filesystem `path` is on, from the longest matching mount."""
    best, kind = "", "an unknown filesystem"
    with contextlib.suppress(OSError), open("/proc/mounts") as mounts:
        for line in mounts:
            parts = line.split()
            if len(parts) > 2 and str(path).startswith(parts[1]) and len(parts[1]) > len(best):
                best, kind = parts[1], parts[2]
    return kind


def _templates(settings: Settings) -> Finding:
    """Advisory: template files that were skipped, and why."""
    from staxad.core.templates import load

    found, problems = load(settings)
    if problems:
        return Finding(
            False,
            False,
            f"{len(problems)} template file(s) skipped: " + "; ".join(problems)[:800],
            f"fix or remove them in {settings.templates.dir}",
        )
    return Finding(True, False, f"{len(found)} templates load")


def checks(settings: Settings, preflight: bool = False) -> list[Callable[[], Finding]]:
    """Every check, in order; with `preflight` only those that can block."""
    advisory = [_cgroups, _build_limits, _clock]
    found = [
        lambda: _data_dir(settings),
        lambda: _binary("podman", "podman"),
        lambda: _binary("caddy", "caddy"),
        lambda: _binary("git", "git"),
        lambda: _binary("newuidmap", "uidmap"),
        _nft,
        lambda: _service_user(settings.runtime.service_user),
        lambda: _subid("/etc/subuid", settings.runtime.service_user),
        lambda: _subid("/etc/subgid", settings.runtime.service_user),
        _tun,
        _cgroups,
        lambda: _caddy_admin(settings),
        _build_limits,
        _clock,
        lambda: _route_localnet(settings),
        lambda: _runtime(settings),
        lambda: _capacity(settings),
        lambda: _volume_quota(settings),
        lambda: _host_volumes(settings),
        lambda: _image_storage(settings),
        lambda: _templates(settings),
    ]
    if preflight:  # the last five notes are advisory; a preflight speaks only of what blocks
        del found[-5:]
    return [check for check in found if not (preflight and check in advisory)]


def run_doctor(settings: Settings, preflight: bool = False) -> int:
    blocking = 0
    findings = []
    for check in checks(settings, preflight):
        findings.append(check())
        if preflight and not findings[-1].ok and findings[-1].blocking:
            break  # the first gap is what to fix; later checks would only repeat it
    if not preflight:
        findings += _ports(settings)
    for finding in findings:
        mark = "ok  " if finding.ok else ("FAIL" if finding.blocking else "warn")
        if not (preflight and finding.ok):  # a preflight speaks only of what blocks
            print(f"[{mark}] {finding.what}")
        if finding.fix and not finding.ok:
            print(f"       fix: {finding.fix}")
        blocking += int(not finding.ok and finding.blocking)
    if preflight:
        outcome = f"ready: {findings[-1].what}" if not blocking else "blocked: fix the FAIL above and run again"
        print(f"staxad preflight: {outcome}")
    else:
        print(
            "staxad doctor: " + ("everything needed is in place" if not blocking else f"{blocking} blocking problem(s)")
        )
    return 1 if blocking else 0
