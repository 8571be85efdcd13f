"""SSE encoding, stream caps and the ASCII-integer check."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator

import pytest

from staxad.api import sse
from staxad.model.errors import RateLimited, Unauthorized
from staxad.model.validation import ascii_int


@pytest.mark.parametrize(
    ("payload", "encoded"),
    [
        (b"plain", b"data: plain\n\n"),
        (b"", b"data: \n\n"),
        (b"a\nb", b"data: a\ndata: b\n\n"),
        (b"a\rb", b"data: a\ndata: b\n\n"),
        (b"a\r\nb", b"data: a\ndata: b\n\n"),
        (b"x\revent: forged\r", b"data: x\ndata: event: forged\ndata: \n\n"),
    ],
)
def test_every_line_break_sse_knows_starts_a_new_data_field(payload: bytes, encoded: bytes) -> None:
    assert sse.data_lines(payload) == encoded


@pytest.mark.parametrize(
    ("provider_open", "total_open", "refused"),
    [
        (0, 0, None),
        (9, 199, None),
        (10, 10, "provider"),
        (0, 200, "server"),
        (10, 200, "server"),
    ],
)
def test_who_may_open_a_stream(provider_open: int, total_open: int, refused: str | None) -> None:
    why = sse.refusal(provider_open, total_open, per_provider=10, total=200)
    assert (why is None) if refused is None else (why is not None and refused in why)


def test_slots_are_taken_and_given_back_once() -> None:
    slots = sse.StreamSlots(per_provider=1, total=2)
    release = slots.take("prv_a")
    with pytest.raises(RateLimited):
        slots.take("prv_a")
    slots.take("prv_b")
    with pytest.raises(RateLimited):
        slots.take("prv_c")
    release()
    release()  # a second release must not free someone else's slot
    assert slots.open == 1 and dict(slots.by_provider) == {"prv_b": 1}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0", 0),
        ("42", 42),
        ("9" * 18, int("9" * 18)),
        ("9" * 19, None),
        ("1" * 5000, None),
        ("²", None),
        ("١٢٣", None),  # Arabic-Indic digits
        ("-1", None),
        ("+1", None),
        (" 1", None),
        ("", None),
        ("1e3", None),
    ],
)
def test_ascii_int(text: str, value: int | None) -> None:
    assert ascii_int(text) == value


async def test_a_stream_ends_when_its_key_check_fails() -> None:
    checks = 0

    async def forever() -> AsyncGenerator[bytes, None]:
        yield b"first"
        await asyncio.sleep(3600)  # a follower waiting for output that never comes
        yield b"never"

    async def check() -> None:
        nonlocal checks
        checks += 1
        if checks >= 2:
            raise Unauthorized("Invalid API key: it does not exist or was revoked.")

    chunks = [chunk async for chunk in sse.while_valid(forever(), check, every=0.05)]
    assert chunks[0] == b"first" and chunks[-1].startswith(b"event: error\ndata: ")
    assert len(chunks) == 2 and checks == 2
