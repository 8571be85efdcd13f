"""A tenant's log: every service's output merged by time, the newest `lines` in all.

Each service's output comes with podman's timestamps (RFC 3339 with up to nine digits of
fraction, which do not sort as text); a line without one (a continuation, or a reader
without timestamps) goes with the line before it.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterator
from datetime import datetime

STAMP = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d) ")

Key = tuple[int, int]  # (seconds since the epoch, nanoseconds)


def stamped(line: bytes) -> tuple[Key | None, bytes]:
    """The line's time and its text without the timestamp; None when it has none."""
    found = STAMP.match(line)
    if found is None:
        return None, line
    whole, fraction, zone = found.groups()
    offset = "+00:00" if zone == b"Z" else zone.decode()
    seconds = int(datetime.fromisoformat(whole.decode() + offset).timestamp())
    return (seconds, int((fraction or b"").ljust(9, b"0"))), line[found.end() :]


def _keyed(index: int, name: str, output: bytes) -> Iterator[tuple[Key, int, int, str, bytes]]:
    key: Key = (0, 0)
    for position, line in enumerate(output.splitlines()):
        when, text = stamped(line)
        key = when or key
        yield key, index, position, name, text


def merge(outputs: list[tuple[str, bytes]], lines: int) -> bytes:
    """The newest `lines` of every (service, output), oldest first, each `[service] text`.
    Lines of the same time keep their service's order, then their own."""
    merged = heapq.merge(*(_keyed(i, name, output) for i, (name, output) in enumerate(outputs)))
    newest = list(merged)[-lines:] if lines > 0 else []
    return b"".join(f"[{name}] ".encode() + text + b"\n" for _, _, _, name, text in newest)
