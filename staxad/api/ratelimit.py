"""Per-key rate limits as the contract's table: a sliding log per (identity, bucket).

`hit` checks and records in one synchronous step, so on one event loop a concurrent
burst lets exactly `limit` requests through. Memory is bounded: a log never holds more
than `limit` times, and idle logs are swept.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

from staxad.config import RateLimitSettings
from staxad.model.clock import Clock

CLASSES = ("create_tenant", "deploy", "list_tenants", "get_tenant", "events", "create_key", "exec", "default")


@dataclass(slots=True)  # not frozen: a frozen init costs a setattr call per field, per request
class Decision:
    allowed: bool
    limit: int
    remaining: int
    reset: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class RateLimiter:
    SWEEP_EVERY = 10_000

    def __init__(self, settings: RateLimitSettings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.window = float(settings.window_seconds)
        self._logs: dict[tuple[str, str], deque[float]] = {}
        self._calls = 0
        self.rejected = 0

    def limit_of(self, rate_class: str) -> int:
        value: int = getattr(self.settings, rate_class)
        return value

    def hit(self, identity: str, bucket: str, limit: int) -> Decision:
        now = self.clock.time()
        self._calls += 1
        if self._calls % self.SWEEP_EVERY == 0:
            self._sweep(now)
        log = self._logs.setdefault((identity, bucket), deque())
        while log and log[0] <= now - self.window:
            log.popleft()
        if len(log) >= limit:
            reset = log[0] + self.window
            self.rejected += 1
            return Decision(False, limit, 0, math.ceil(reset), max(1, math.ceil(reset - now)))
        log.append(now)
        reset = log[0] + self.window
        return Decision(True, limit, limit - len(log), math.ceil(reset), 0)

    def _sweep(self, now: float) -> None:
        stale = [k for k, log in self._logs.items() if not log or log[-1] <= now - self.window]
        for key in stale:
            del self._logs[key]
