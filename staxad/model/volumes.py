"""Volumes, their backups and restores: records and the checks on what a request asks.

Pure: staxad.store.volumes keeps them, staxad.core.volumes changes them, and the tenant
pass mounts and backs them up.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from apscheduler.triggers.cron import CronTrigger

from staxad.model.names import LABEL

# Where a volume may not be mounted: the root, the kernel's and the runtime's own trees.
FORBIDDEN_MOUNTS = ("/proc", "/sys", "/dev", "/run/secrets", "/etc/hosts", "/etc/resolv.conf", "/etc/hostname")
DAILY = re.compile(r"^daily@([01]\d|2[0-3]):([0-5]\d)$")


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


PENDING = (JobStatus.QUEUED, JobStatus.RUNNING)
INTERRUPTED = "interrupted by a daemon restart"


@dataclass(frozen=True, slots=True)
class Volume:
    id: str
    tenant_id: str
    name: str
    service_id: str | None
    mount_path: str | None
    size_mb: int
    retain: bool
    used_bytes: int | None
    over_limit: bool
    backup_schedule: str | None
    keep_last: int
    created_at: str
    updated_at: str
    host_tenant_id: str | None = None  # set when attached from a retained volume
    userns_slot: int | None = None  # the block of ids that owns its files (staxad.model.userns)

    @property
    def labelled_tenant(self) -> str:
        """The tenant its host volume's labels name: the one it was made for."""
        return self.host_tenant_id or self.tenant_id


@dataclass(frozen=True, slots=True)
class RetainedVolume:
    """A volume kept on the host after its tenant was deleted; still its provider's."""

    id: str
    provider_id: str
    mode: str
    tenant_id: str  # the tenant its host labels name
    tenant_name: str
    name: str
    size_mb: int
    used_bytes: int | None
    retained_at: str
    deleting: bool
    userns_slot: int | None = None


@dataclass(frozen=True, slots=True)
class Backup:
    id: str
    tenant_id: str
    volume_id: str
    kind: str
    status: str
    reason: str | None
    pinned: bool
    size_bytes: int | None
    sha256: str | None
    blocked_ms: int | None
    created_at: str
    finished_at: str | None


@dataclass(frozen=True, slots=True)
class Restore:
    id: str
    tenant_id: str
    volume_id: str
    backup_id: str
    status: str
    reason: str | None
    created_at: str
    finished_at: str | None


def mount_path(value: str) -> str:
    """An absolute, normal path that is not the root or a system tree."""
    if not value.startswith("/"):
        raise ValueError("must be an absolute path (starting with '/')")
    if len(value) > 255 or any(ord(c) < 32 or c in "\\:," for c in value):
        raise ValueError("must be at most 255 characters, without control characters, '\\', ':' or ','")
    if posixpath.normpath(value) != value or "//" in value:
        raise ValueError("must be a normal path (no '.', '..', '//' or trailing '/')")
    if value == "/":
        raise ValueError("cannot be '/': a volume cannot hide the whole image")
    for forbidden in FORBIDDEN_MOUNTS:
        if value == forbidden or value.startswith(forbidden + "/"):
            raise ValueError(f"cannot be in {forbidden}: that path belongs to the kernel or the runtime")
    return value


def overlapping(paths: Iterable[str]) -> list[str]:
    """Mount paths that are the same as or inside another one of the same service."""
    given = list(paths)
    return sorted(
        {b for i, a in enumerate(given) for j, b in enumerate(given) if i != j and (b == a or b.startswith(a + "/"))}
    )


def schedule(value: str, min_gap_minutes: int = 0) -> str:
    """`daily@HH:MM` (UTC) or a five-field cron line; returned as the cron line. Its runs
    must lie at least `min_gap_minutes` apart (a backup a minute fills a disk)."""
    daily = DAILY.match(value.strip())
    line = f"{int(daily[2])} {int(daily[1])} * * *" if daily else " ".join(value.split())
    try:
        trigger = CronTrigger.from_crontab(line, timezone="UTC")
    except ValueError as exc:
        raise ValueError(f"must be 'daily@HH:MM' (UTC) or a five-field cron line: {exc}") from None
    gap = shortest_gap(trigger)
    if gap < timedelta(minutes=min_gap_minutes):
        raise ValueError(
            f"has runs {int(gap.total_seconds() // 60)} minutes apart; backups may run at most once every "
            f"{min_gap_minutes} minutes (volumes.min_backup_interval_minutes)"
        )
    return line


GAP_SAMPLE = datetime(2027, 1, 1, tzinfo=UTC)


def shortest_gap(trigger: CronTrigger) -> timedelta:
    """The shortest time between two of its next 400 runs: minutes and hours are the same
    on every day a schedule runs, so 400 runs (several days of the densest schedules) show
    its gaps within a day and from one day to the next."""
    shortest = timedelta(days=366)
    previous = trigger.get_next_fire_time(None, GAP_SAMPLE)
    for _ in range(400):
        if previous is None:
            break
        following = trigger.get_next_fire_time(previous, previous + timedelta(seconds=1))
        if following is None:
            break
        shortest = min(shortest, following - previous)
        previous = following
    return shortest


def due(cron: str, last: datetime | None, created: datetime, now: datetime) -> bool:
    """Whether a scheduled backup fell due since the last one (or since the volume was made)."""
    trigger = CronTrigger.from_crontab(cron, timezone="UTC")
    after = (last or created) + timedelta(seconds=1)  # the fire time that queued `last` is done
    fire = trigger.get_next_fire_time(None, after)
    return fire is not None and fire <= now


def to_prune(newest_first: Sequence[Backup], keep_last: int) -> list[Backup]:
    """Succeeded, unpinned backups beyond the newest `keep_last` of them; pinned ones and
    failed attempts are never counted or pruned here. The order is the store's (the order
    they were made in: two backups can share a created_at second)."""
    kept = [b for b in newest_first if b.status == JobStatus.SUCCEEDED and not b.pinned]
    return kept[keep_last:]


@dataclass(frozen=True)
class HostVolumes:
    """This instance's host volumes that no live tenant mounts, sorted for the operator."""

    retained: tuple[str, ...] = ()  # recorded for their provider (GET /volumes?retained=true)
    unrecorded: tuple[str, ...] = ()  # retained before the record: the operator's to keep or remove
    foreign: tuple[str, ...] = ()  # under a staxad name without staxad's labels: never used


def sort_host_volumes(
    listing: dict[str, dict[str, str]], tenants: set[str], known: set[str], recorded: set[str]
) -> HostVolumes:
    """`listing`: host volume name -> labels; `tenants`, `known`, `recorded`: the store's
    tenant, volume and retained-volume ids. A volume of a live tenant whose id the store
    no longer knows is one deleted through the API, which the next sweep removes."""
    retained, unrecorded, foreign = [], [], []
    for name, labels in sorted(listing.items()):
        volume_id, tenant_id = labels.get(f"{LABEL}.volume"), labels.get(f"{LABEL}.tenant")
        if not volume_id or not tenant_id:
            foreign.append(name)
        elif volume_id in known:
            continue
        elif volume_id in recorded:
            retained.append(name)
        elif tenant_id not in tenants:
            unrecorded.append(name)
    return HostVolumes(tuple(retained), tuple(unrecorded), tuple(foreign))
