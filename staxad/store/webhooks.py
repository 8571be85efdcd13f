"""Webhook endpoints and their delivery outbox."""

from __future__ import annotations

import json
from typing import Any

from staxad.model.apikeys import MODES
from staxad.model.events import matches
from staxad.model.webhooks import Delivery, DeliveryStatus, Webhook, payload
from staxad.store import tenants
from staxad.store.db import Database, Row, Transaction, mode_in
from staxad.store.secretbox import SecretBox

FIELDS = ("url", "events", "enabled", "failing_since", "disabled_reason")
# A tenant's events go to its provider's webhooks of the tenant's own mode: a test
# tenant's to test webhooks only, a live tenant's to live ones only.
_MATCHING = (
    "SELECT w.id, w.events FROM tenants t JOIN webhooks w ON w.provider_id = t.provider_id AND w.mode = t.mode"
    " WHERE t.id = ? AND w.enabled = 1"
)


def _webhook(r: Row) -> Webhook:
    return Webhook(
        id=r["id"],
        provider_id=r["provider_id"],
        url=r["url"],
        events=tuple(json.loads(r["events"])),
        enabled=bool(r["enabled"]),
        failing_since=r["failing_since"],
        disabled_reason=r["disabled_reason"],
        created_at=r["created_at"],
        updated_at=r["updated_at"],
        mode=r["mode"],
    )


def _delivery(r: Row) -> Delivery:
    return Delivery(
        id=r["id"],
        webhook_id=r["webhook_id"],
        event_id=r["event_id"],
        event_type=r["event_type"],
        payload=r["payload"],
        status=r["status"],
        attempts=r["attempts"],
        next_attempt_at=r["next_attempt_at"],
        response_code=r["response_code"],
        error=r["error"],
        duration_ms=r["duration_ms"],
        created_at=r["created_at"],
        finished_at=r["finished_at"],
    )


async def insert(tx: Transaction, box: SecretBox, w: Webhook, secret: str) -> None:
    await tx.execute(
        "INSERT INTO webhooks (id, provider_id, url, events, enabled, secret, created_at, updated_at, mode)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            w.id,
            w.provider_id,
            w.url,
            json.dumps(list(w.events)),
            int(w.enabled),
            box.seal(secret),
            w.created_at,
            w.updated_at,
            w.mode,
        ),
    )


async def update(tx: Transaction, webhook_id: str, now: str, **changes: Any) -> None:
    assert set(changes) <= set(FIELDS), changes
    if "events" in changes:
        changes["events"] = json.dumps(list(changes["events"]))
    sets = "".join(f"{column} = ?, " for column in changes)
    await tx.execute(f"UPDATE webhooks SET {sets}updated_at = ? WHERE id = ?", (*changes.values(), now, webhook_id))  # noqa: S608


async def rotate(tx: Transaction, box: SecretBox, webhook_id: str, secret: str, previous_until: str, now: str) -> None:
    await tx.execute(
        "UPDATE webhooks SET previous_secret = secret, previous_until = ?, secret = ?, updated_at = ? WHERE id = ?",
        (previous_until, box.seal(secret), now, webhook_id),
    )


async def secrets(db: Database | Transaction, box: SecretBox, webhook_id: str, now: str) -> list[str]:
    """The secrets that sign now: the current one, and a rotated one until it expires."""
    row = await db.fetch_one("SELECT secret, previous_secret, previous_until FROM webhooks WHERE id = ?", (webhook_id,))
    if row is None:
        return []
    found = [box.open(row["secret"])]
    if row["previous_secret"] is not None and row["previous_until"] and row["previous_until"] > now:
        found.append(box.open(row["previous_secret"]))
    return found


async def delete(tx: Transaction, webhook_id: str) -> None:
    await tx.execute("DELETE FROM webhooks WHERE id = ?", (webhook_id,))


async def get(
    db: Database | Transaction, provider_id: str, webhook_id: str, modes: tuple[str, ...] = MODES
) -> Webhook | None:
    row = await db.fetch_one(
        f"SELECT * FROM webhooks WHERE id = ? AND provider_id = ? AND {mode_in(modes)}",  # noqa: S608
        (webhook_id, provider_id, *modes),
    )
    return _webhook(row) if row else None


async def get_any(db: Database | Transaction, webhook_id: str) -> Webhook | None:
    row = await db.fetch_one("SELECT * FROM webhooks WHERE id = ?", (webhook_id,))
    return _webhook(row) if row else None


async def of_provider(db: Database, provider_id: str, modes: tuple[str, ...] = MODES) -> list[Webhook]:
    rows = await db.fetch_all(
        f"SELECT * FROM webhooks WHERE provider_id = ? AND {mode_in(modes)} ORDER BY created_at, id",  # noqa: S608
        (provider_id, *modes),
    )
    return [_webhook(r) for r in rows]


async def count(db: Database | Transaction, provider_id: str) -> int:
    return int(await db.fetch_value("SELECT count(*) FROM webhooks WHERE provider_id = ?", (provider_id,)))


async def enqueue(
    tx: Transaction,
    tenant_id: str,
    event_type: str,
    timestamp: str,
    message: str,
    stage: str | None,
    deployment_id: str | None,
    service_name: str | None,
) -> None:
    """Outbox rows for every enabled webhook of the tenant's provider and mode that wants
    the event just inserted, in the event's own transaction (so before the tenant's row
    goes, for `tenant.deleted`). The body is staxad.model.events's format."""
    wanted = [
        r["id"] for r in await tx.fetch_all(_MATCHING, (tenant_id,)) if matches(json.loads(r["events"]), event_type)
    ]
    tenant = await tenants.get_any(tx, tenant_id) if wanted else None
    if tenant is None:
        return
    data: dict[str, object] = {"message": message, "stage": stage, "url": tx.tenant_url(tenant)}
    if event_type.startswith("tenant."):
        data["status"] = "deleted" if event_type == "tenant.deleted" else tenant.status
    if deployment_id:
        data["deployment_id"] = deployment_id
        if event_type.startswith("deployment."):
            data["status"] = await tx.fetch_value("SELECT status FROM deployments WHERE id = ?", (deployment_id,))
    if service_name:
        data["service"] = data["service_name"] = service_name
    event_id = int(await tx.fetch_value("SELECT last_insert_rowid()"))
    body = payload(event_id, event_type, tenant_id, timestamp, data)
    await tx.execute_many(
        "INSERT INTO deliveries (webhook_id, event_id, event_type, payload, status, next_attempt_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        [(w, event_id, event_type, body, DeliveryStatus.PENDING, timestamp, timestamp) for w in wanted],
    )


async def next_due(db: Database, now: str, limit: int = 50) -> list[Delivery]:
    """The oldest pending delivery of each endpoint, when it is due: one endpoint's
    deliveries go out one at a time and in order."""
    rows = await db.fetch_all(
        "SELECT d.* FROM deliveries d JOIN (SELECT webhook_id, min(id) AS id FROM deliveries WHERE status = ?"
        " GROUP BY webhook_id) first ON first.id = d.id JOIN webhooks w ON w.id = d.webhook_id AND w.enabled = 1"
        " WHERE d.next_attempt_at <= ? ORDER BY d.id LIMIT ?",
        (DeliveryStatus.PENDING, now, limit),
    )
    return [_delivery(r) for r in rows]


async def record_attempt(tx: Transaction, delivery_id: int, **changes: Any) -> None:
    allowed = {"status", "attempts", "next_attempt_at", "response_code", "error", "duration_ms", "finished_at"}
    assert set(changes) <= allowed, changes
    sets = ", ".join(f"{column} = ?" for column in changes)
    await tx.execute(f"UPDATE deliveries SET {sets} WHERE id = ?", (*changes.values(), delivery_id))  # noqa: S608


async def fail_pending(tx: Transaction, webhook_id: str, reason: str, now: str) -> None:
    await tx.execute(
        "UPDATE deliveries SET status = ?, error = ?, finished_at = ? WHERE webhook_id = ? AND status = ?",
        (DeliveryStatus.FAILED, reason, now, webhook_id, DeliveryStatus.PENDING),
    )


async def deliveries_of(db: Database, webhook_id: str, limit: int, offset: int) -> tuple[list[Delivery], int]:
    rows = await db.fetch_all(
        "SELECT * FROM deliveries WHERE webhook_id = ? ORDER BY id DESC LIMIT ? OFFSET ?", (webhook_id, limit, offset)
    )
    total = int(await db.fetch_value("SELECT count(*) FROM deliveries WHERE webhook_id = ?", (webhook_id,)))
    return [_delivery(r) for r in rows], total


async def get_delivery(db: Database | Transaction, webhook_id: str, delivery_id: int) -> Delivery | None:
    row = await db.fetch_one("SELECT * FROM deliveries WHERE id = ? AND webhook_id = ?", (delivery_id, webhook_id))
    return _delivery(row) if row else None


async def requeue(tx: Transaction, source: Delivery, now: str) -> int:
    """A new pending copy of a delivery (a redeliver), sent after what is already queued."""
    await tx.execute(
        "INSERT INTO deliveries (webhook_id, event_id, event_type, payload, status, next_attempt_at, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?)",
        (source.webhook_id, source.event_id, source.event_type, source.payload, DeliveryStatus.PENDING, now, now),
    )
    return int(await tx.fetch_value("SELECT last_insert_rowid()"))
