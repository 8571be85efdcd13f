from __future__ import annotations

from staxad.api.ratelimit import RateLimiter
from staxad.config import RateLimitSettings
from staxad.model.clock import FrozenClock


def test_sliding_log_counts_reset_and_retry_after() -> None:
    clock = FrozenClock(1000.0)
    limiter = RateLimiter(RateLimitSettings(), clock)
    decisions = [limiter.hit("key", "b", 3) for _ in range(4)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[3].reset == 1060 and decisions[3].retry_after == 60
    assert decisions[3].headers()["Retry-After"] == "60"
    clock.advance(59.5)
    assert not limiter.hit("key", "b", 3).allowed
    clock.advance(0.5)
    assert limiter.hit("key", "b", 3).allowed
    assert limiter.rejected == 2


def test_idle_logs_are_swept() -> None:
    clock = FrozenClock(0.0)
    limiter = RateLimiter(RateLimitSettings(), clock)
    limiter.SWEEP_EVERY = 10
    for i in range(9):
        limiter.hit(f"k{i}", "b", 5)
    clock.advance(61)
    limiter.hit("last", "b", 5)
    assert set(limiter._logs) == {("last", "b")}
