"""GitHub App installations (one per provider) and the webhook deliveries already seen."""

from __future__ import annotations

from staxad.model.github import Installation
from staxad.store.db import Database, Row, Transaction


def _installation(r: Row) -> Installation:
    return Installation(r["provider_id"], r["installation_id"], r["account"], r["status"], r["created_at"])


async def get(db: Database | Transaction, provider_id: str) -> Installation | None:
    row = await db.fetch_one("SELECT * FROM github_installations WHERE provider_id = ?", (provider_id,))
    return _installation(row) if row else None


async def insert(tx: Transaction, found: Installation) -> None:
    """AlreadyExists when the provider has one, or another provider has this installation."""
    await tx.execute(
        "INSERT INTO github_installations (provider_id, installation_id, account, status, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (found.provider_id, found.installation_id, found.account, found.status, found.created_at),
    )


async def delete(tx: Transaction, provider_id: str) -> int:
    return await tx.execute("DELETE FROM github_installations WHERE provider_id = ?", (provider_id,))


async def remember_delivery(tx: Transaction, delivery_id: str, event: str, now: str) -> bool:
    """True the first time a delivery id is seen; False for a replay."""
    return bool(
        await tx.execute(
            "INSERT OR IGNORE INTO github_deliveries (id, event, received_at) VALUES (?, ?, ?)",
            (delivery_id, event, now),
        )
    )


async def forget_deliveries_before(tx: Transaction, cutoff: str) -> None:
    await tx.execute("DELETE FROM github_deliveries WHERE received_at < ?", (cutoff,))


async def push_targets(
    db: Database | Transaction, installation_id: int, branch: str
) -> list[tuple[str, str, str, str]]:
    """(provider_id, tenant_id, service_id, repo_url) of git services on `branch` that deploy
    on push, in tenants of the provider holding this installation."""
    rows = await db.fetch_all(
        "SELECT t.provider_id, s.tenant_id, s.id, s.repo_url FROM services s"
        " JOIN tenants t ON t.id = s.tenant_id"
        " JOIN github_installations g ON g.provider_id = t.provider_id"
        " WHERE g.installation_id = ? AND s.source_type = 'github' AND s.branch = ? AND s.auto_deploy = 1"
        " ORDER BY s.tenant_id, s.priority",
        (installation_id, branch),
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]
