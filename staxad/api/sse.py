"""Server-Sent Events: encoding that untrusted output cannot break out of, caps on open
streams, and streams that end when their key stops working.

Invariants:
- A `data:` field never carries a line break. SSE ends a line at `\\r\\n`, `\\r` or
  `\\n`, so container and build output is split on all three and each piece becomes
  its own `data:` line: a `\\revent: forged` in output stays data.
- At most `limits.streams_per_provider` streams per provider and `limits.streams_total`
  in all are open; one more is a 429 before anything streams. A slot is held from
  the check until the response ends, however it ends.
- Every KEY_RECHECK_SECONDS the stream's key is authenticated again through the same
  cache that revocation clears; a revoked or expired key's stream ends with an
  `event: error`.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from starlette.responses import StreamingResponse
from starlette.types import Receive, Scope, Send

from staxad.model.errors import ApiError, RateLimited

KEY_RECHECK_SECONDS = 2.0
RETRY_AFTER_SECONDS = 5
LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def data_lines(payload: bytes) -> bytes:
    """One SSE event whose data is `payload`, every line of it its own `data:` field."""
    return b"".join(b"data: " + line + b"\n" for line in LINE_BREAK.split(payload)) + b"\n"


def refusal(provider_open: int, total_open: int, per_provider: int, total: int) -> str | None:
    """Why one more stream may not open now; None when it may."""
    if total_open >= total:
        return f"This server has {total} event and log streams open, its limit"
    if provider_open >= per_provider:
        return f"This provider has {per_provider} event and log streams open, its limit; close one"
    return None


@dataclass
class StreamSlots:
    """Open streams per provider and in all (one per app: it lives in app.state)."""

    per_provider: int
    total: int
    by_provider: Counter[str] = field(default_factory=Counter)

    @property
    def open(self) -> int:
        return sum(self.by_provider.values())

    def take(self, provider_id: str) -> Callable[[], None]:
        """Hold a slot, or raise RateLimited. Returns the release, safe to call twice."""
        why = refusal(self.by_provider[provider_id], self.open, self.per_provider, self.total)
        if why:
            raise RateLimited(f"{why}; retry in {RETRY_AFTER_SECONDS} s.", {"retry_after": RETRY_AFTER_SECONDS})
        self.by_provider[provider_id] += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.by_provider[provider_id] -= 1
                if self.by_provider[provider_id] <= 0:
                    del self.by_provider[provider_id]

        return release


class HeldStream(StreamingResponse):
    """A StreamingResponse that gives its slot back when sending ends, even when it was
    cancelled before its body was ever iterated."""

    def __init__(self, body: AsyncIterator[bytes], headers: dict[str, str], release: Callable[[], None]) -> None:
        super().__init__(body, media_type="text/event-stream", headers=headers)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()


async def while_valid(
    body: AsyncGenerator[bytes, None], check: Callable[[], Awaitable[None]], every: float | None = None
) -> AsyncIterator[bytes]:
    """`body`'s chunks until it ends or `check()` raises ApiError (the key went)."""
    interval = KEY_RECHECK_SECONDS if every is None else every
    loop = asyncio.get_running_loop()
    due = loop.time() + interval
    pending: asyncio.Task[bytes] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(body.__anext__())
            done, _ = await asyncio.wait({pending}, timeout=max(0.0, due - loop.time()))
            if pending in done:
                try:
                    chunk = pending.result()
                except StopAsyncIteration:
                    return
                finally:
                    pending = None
                yield chunk
            if loop.time() >= due:
                due = loop.time() + interval
                try:
                    await check()
                except ApiError as exc:
                    error = {"code": exc.code, "message": exc.message}
                    yield b"event: error\n" + data_lines(json.dumps(error).encode())
                    return
    finally:
        if pending is not None:
            pending.cancel()
            await asyncio.gather(pending, return_exceptions=True)
        await body.aclose()
