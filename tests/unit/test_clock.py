from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from staxad.model.clock import iso, iso_ms

CASES = [
    (datetime(2026, 11, 23, 20, 43, 34, 123456, UTC), "2026-11-23T20:43:34.123Z", "2026-11-23T20:43:34Z"),
    (datetime(2026, 11, 23, 20, 43, 34, tzinfo=UTC), "2026-11-23T20:43:34.000Z", "2026-11-23T20:43:34Z"),
    (datetime(2026, 11, 23, 21, 43, 34, 999999, timezone(timedelta(hours=1))), "2026-11-23T20:43:34.999Z", None),
]


@pytest.mark.parametrize(("moment", "with_ms", "seconds"), CASES)
def test_event_and_record_timestamps(moment: datetime, with_ms: str, seconds: str | None) -> None:
    assert iso_ms(moment) == with_ms
    if seconds is not None:
        assert iso(moment) == seconds
