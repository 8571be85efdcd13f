"""Who may claim a custom domain, and what a verification or the passing of time removes.

Several tenants (of any provider) may hold unverified claims on one name: a claim
proves nothing, so it must not lock the real owner out. A claim verified now blocks
new ones. When one claim verifies, every other claim that is not verified now goes (a
claim whose DNS moved away included: the new one just proved ownership). Unverified
claims expire after `domains.unverified_claim_hours`.

Pure: the claims come from staxad.store.domains.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from staxad.model.clock import iso
from staxad.model.records import Domain


def refusal(claims: Iterable[Domain], tenant_id: str) -> str | None:
    """Why `tenant_id` may not claim a name that `claims` already hold; None when it may."""
    held = list(claims)
    if any(c.tenant_id == tenant_id for c in held):
        return "is already claimed by this tenant"
    if any(c.verified for c in held):
        return "is claimed and verified by another tenant"
    return None


def displaced(claims: Iterable[Domain], winner: Domain) -> tuple[bool, list[Domain]]:
    """(whether `winner` may become the verified claim, the claims that verification removes)."""
    others = [c for c in claims if c.id != winner.id]
    if any(c.verified for c in others):
        return False, []
    return True, others


def stale_before(now: datetime, hours: int) -> str:
    """Unverified claims created before this moment have expired."""
    return iso(now - timedelta(hours=hours))


def is_stale(claim: Domain, cutoff: str) -> bool:
    return claim.verified_at is None and claim.created_at < cutoff
