"""Who may claim a custom domain, and what verification and time remove."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from staxad.model import claims
from staxad.model.records import Domain


def claim(cid: str, tenant: str, verified: bool = False, verified_at: str | None = None, created: str = "") -> Domain:
    return Domain(
        id=cid,
        tenant_id=tenant,
        service_id=None,
        domain="shop.example.com",
        is_primary=False,
        verified=verified,
        ssl_status="pending",
        token="t",
        verified_at=verified_at or ("2026-01-01T00:00:00Z" if verified else None),
        last_checked_at=None,
        check_error=None,
        created_at=created or "2026-01-01T00:00:00Z",
    )


LOST = claim("lost", "ten_y", verified=False, verified_at="2026-01-01T00:00:00Z")  # DNS moved away


@pytest.mark.parametrize(
    ("held", "tenant", "refused"),
    [
        ([], "ten_x", None),
        ([claim("a", "ten_y")], "ten_x", None),  # unverified claims never block
        ([claim("a", "ten_y"), claim("b", "ten_z")], "ten_x", None),
        ([LOST], "ten_x", None),  # verified once, not now: the real owner may still claim it
        ([claim("a", "ten_y", verified=True)], "ten_x", "verified by another tenant"),
        ([claim("a", "ten_x")], "ten_x", "already claimed by this tenant"),
        ([claim("a", "ten_x", verified=True)], "ten_x", "already claimed by this tenant"),
    ],
)
def test_who_may_claim_a_name(held: list[Domain], tenant: str, refused: str | None) -> None:
    answer = claims.refusal(held, tenant)
    assert (answer is None) if refused is None else (answer is not None and refused in answer)


@pytest.mark.parametrize(
    ("held", "allowed", "removed"),
    [
        ([claim("me", "ten_x")], True, []),
        ([claim("me", "ten_x"), claim("a", "ten_y"), claim("b", "ten_z")], True, ["a", "b"]),
        ([claim("me", "ten_x"), LOST], True, ["lost"]),
        ([claim("me", "ten_x"), claim("a", "ten_y", verified=True)], False, []),
    ],
)
def test_a_verification_removes_the_other_unverified_claims(
    held: list[Domain], allowed: bool, removed: list[str]
) -> None:
    ok, losers = claims.displaced(held, held[0])
    assert ok is allowed and [c.id for c in losers] == removed


@pytest.mark.parametrize(
    ("created", "verified_at", "stale"),
    [
        ("2026-01-01T00:00:00Z", None, True),  # 4 days old, never verified
        ("2026-01-03T00:00:01Z", None, False),  # younger than 72 hours
        ("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z", False),  # verified once: never expires
    ],
)
def test_unverified_claims_expire(created: str, verified_at: str | None, stale: bool) -> None:
    cutoff = claims.stale_before(datetime(2026, 1, 5, tzinfo=UTC), 72)
    assert cutoff == "2026-01-02T00:00:00Z"
    assert claims.is_stale(claim("a", "ten_x", verified_at=verified_at, created=created), cutoff) is stale
