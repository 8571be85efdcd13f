"""Volume requests checked before anything is stored: mount paths, schedules, retention."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from staxad.model.volumes import (
    Backup,
    HostVolumes,
    due,
    mount_path,
    overlapping,
    schedule,
    sort_host_volumes,
    to_prune,
)


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("/data", None),
        ("/var/lib/postgresql/data", None),
        ("/srv/.cache", None),
        ("data", "absolute"),
        ("", "absolute"),
        ("/", "cannot be '/'"),
        ("/proc", "/proc"),
        ("/proc/self", "/proc"),
        ("/sys/fs", "/sys"),
        ("/dev", "/dev"),
        ("/etc/resolv.conf", "/etc/resolv.conf"),
        ("/data/", "normal path"),
        ("/data/../etc", "normal path"),
        ("/data/./x", "normal path"),
        ("//data", "normal path"),
        ("/da\nta", "control"),
        ("/a:b", "':'"),
        ("/a,b", "','"),
        ("/" + "a" * 300, "255"),
    ],
)
def test_mount_paths(path: str, problem: str | None) -> None:
    if problem is None:
        assert mount_path(path) == path
    else:
        with pytest.raises(ValueError, match=problem if problem != "':'" else ":"):
            mount_path(path)


def test_a_mount_over_another_is_found() -> None:
    assert overlapping(["/data", "/data-x", "/data/x"]) == ["/data/x"]
    assert overlapping(["/a", "/a"]) == ["/a"]
    assert overlapping(["/a", "/b", "/ab"]) == []


@pytest.mark.parametrize(
    ("given", "cron"),
    [("daily@03:30", "30 3 * * *"), ("daily@00:00", "0 0 * * *"), ("*/15  *  * * *", "*/15 * * * *")],
)
def test_schedules(given: str, cron: str) -> None:
    assert schedule(given) == cron


@pytest.mark.parametrize("given", ["daily@24:00", "daily@3:30", "hourly", "* * *", "61 * * * *", "0 0 * * * *"])
def test_bad_schedules(given: str) -> None:
    with pytest.raises(ValueError, match="daily@HH:MM"):
        schedule(given)


def at(hour: int, minute: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 1, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("last", "now", "want"),
    [
        (None, at(3, 29), False),  # made at 01:00, not yet 03:30
        (None, at(3, 30), True),
        (at(3, 30), at(23, 59), False),  # already done today
        (at(3, 30), at(3, 30, day=2), True),
        (at(3, 30), at(9, 0, day=5), True),  # down for days: once, when back
    ],
)
def test_a_schedule_falls_due_once_after_each_fire_time(last: datetime | None, now: datetime, want: bool) -> None:
    assert due("30 3 * * *", last, at(1), now) is want


def backup(n: int, status: str = "succeeded", pinned: bool = False) -> Backup:
    return Backup(f"bak_{n}", "ten", "vol", "manual", status, None, pinned, 1, "x", 0, f"2026-01-0{n}T00:00:00Z", None)


def test_pruning_keeps_the_newest_and_every_pinned_one() -> None:
    backups = [backup(5), backup(4), backup(3, status="failed"), backup(2), backup(1, pinned=True)]  # newest first
    assert [b.id for b in to_prune(backups, 2)] == ["bak_2"]
    assert to_prune(backups, 5) == []


def _labels(tenant: str | None, volume: str | None) -> dict[str, str]:
    found = {"io.staxa.instance": "i"}
    found |= {"io.staxa.tenant": tenant} if tenant else {}
    return found | ({"io.staxa.volume": volume} if volume else {})


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        (_labels("ten_live", "vol_used"), HostVolumes()),  # mounted by a live tenant's volume
        (_labels("ten_live", "vol_gone"), HostVolumes()),  # deleted through the API: the sweep's
        (_labels("ten_dead", "vol_kept"), HostVolumes(retained=("v",))),
        (_labels("ten_dead", "vol_old"), HostVolumes(unrecorded=("v",))),  # from before the record
        (_labels(None, None), HostVolumes(foreign=("v",))),
        (_labels("ten_live", None), HostVolumes(foreign=("v",))),
        (_labels(None, "vol_used"), HostVolumes(foreign=("v",))),
    ],
)
def test_host_volumes_are_sorted_by_whose_they_are(labels: dict[str, str], expected: HostVolumes) -> None:
    assert sort_host_volumes({"v": labels}, {"ten_live"}, {"vol_used"}, {"vol_kept"}) == expected
