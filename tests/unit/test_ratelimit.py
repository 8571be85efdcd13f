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


# The contract's rate-limit table; every endpoint not named in it gets "All other endpoints".
CONTRACT_TABLE = {
    ("POST", "/tenants"): 10,
    ("POST", "/tenants/{tenant_id}/deploy"): 20,
    ("GET", "/tenants"): 60,
    ("GET", "/tenants/{tenant_id}"): 120,
    ("GET", "/tenants/{tenant_id}/events"): 10,
    ("POST", "/api-keys"): 5,
}
ALL_OTHER_ENDPOINTS = 60
# Endpoints the contract does not have, whose limit staxad sets tighter.
OWN_TABLE = {("POST", "/tenants/{tenant_id}/services/{service_name}/exec"): 10}


def test_every_endpoint_has_the_contracts_limit() -> None:
    from staxad.api.app import all_endpoints

    limiter = RateLimiter(RateLimitSettings(), FrozenClock())
    endpoints = all_endpoints()
    assert set(CONTRACT_TABLE) <= {(ep.method, ep.path) for ep in endpoints}
    for ep in endpoints:
        expected = {**CONTRACT_TABLE, **OWN_TABLE}.get((ep.method, ep.path), ALL_OTHER_ENDPOINTS)
        assert limiter.limit_of(ep.rate) == expected, (ep.method, ep.path)
