"""A tenant's log merged by time across services: a table of outputs and what is shown."""

from __future__ import annotations

import pytest

from staxad.model.logs import merge, stamped


@pytest.mark.parametrize(
    ("line", "key", "text"),
    [
        (b"2026-12-07T10:00:00Z up", (1796637600, 0), b"up"),
        (b"2026-12-07T10:00:00.5Z half", (1796637600, 500_000_000), b"half"),
        (b"2026-12-07T10:00:00.000000001Z one", (1796637600, 1), b"one"),
        (b"2026-12-07T11:00:00+01:00 zoned", (1796637600, 0), b"zoned"),
        (b"no time here", None, b"no time here"),
        (b"2026-12-07T10:00:00Z", None, b"2026-12-07T10:00:00Z"),  # a time with no space after is text
    ],
)
def test_stamped(line: bytes, key: tuple[int, int] | None, text: bytes) -> None:
    assert stamped(line) == (key, text)


WEB = b"2026-12-07T10:00:00Z web 1\n2026-12-07T10:00:02Z web 2\n  continued\n2026-12-07T10:00:04Z web 3\n"
API = b"2026-12-07T10:00:00.5Z api 1\n2026-12-07T10:00:03.25Z api 2\n"


@pytest.mark.parametrize(
    ("lines", "shown"),
    [
        (
            10,
            [
                b"[web] web 1",
                b"[api] api 1",
                b"[web] web 2",
                b"[web]   continued",
                b"[api] api 2",
                b"[web] web 3",
            ],
        ),
        (2, [b"[api] api 2", b"[web] web 3"]),  # `lines` in all, not per service
        (0, []),
    ],
)
def test_merge_takes_the_newest_lines_of_all_services_in_time_order(lines: int, shown: list[bytes]) -> None:
    assert merge([("web", WEB), ("api", API)], lines).splitlines() == shown


def test_outputs_without_times_keep_their_services_order() -> None:
    assert merge([("web", b"a\nb\n"), ("api", b"c\n")], 10).splitlines() == [b"[web] a", b"[web] b", b"[api] c"]


def test_the_same_time_keeps_the_services_order() -> None:
    same = b"2026-12-07T10:00:00Z x\n"
    assert merge([("web", same), ("api", same)], 10).splitlines() == [b"[web] x", b"[api] x"]
