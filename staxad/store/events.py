"""Tenant events: every stage change and host action, in order, for SSE replay.

An event's time is stamped here, to the millisecond (other records keep whole seconds,
as the contract shows them).
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import datetime

from staxad.model import events as event_types
from staxad.model.clock import iso_ms
from staxad.model.records import Event
from staxad.store import webhooks
from staxad.store.db import Database, Row, Transaction


def _event(row: Row) -> Event:
    return Event(
        id=row["id"],
        tenant_id=row["tenant_id"],
        type=row["type"],
        stage=row["stage"],
        message=row["message"],
        deployment_id=row["deployment_id"],
        service_name=row["service_name"],
        created_at=row["created_at"],
    )


async def append(
    tx: Transaction,
    tenant_id: str,
    type_: str,
    message: str,
    at: datetime,
    *,
    stage: str | None = None,
    deployment_id: str | None = None,
    service_name: str | None = None,
) -> None:
    if not event_types.known(type_):
        raise ValueError(f"event type {type_!r} is not in staxad.model.events: add it there")
    stamp = iso_ms(at)
    await tx.execute(
        "INSERT INTO events (tenant_id, type, stage, message, deployment_id, service_name,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (tenant_id, type_, stage, message, deployment_id, service_name, stamp),
    )
    await webhooks.enqueue(tx, tenant_id, type_, stamp, message, stage, deployment_id, service_name)
    tx.announce(_topic(tenant_id))


def _topic(tenant_id: str) -> str:
    return f"events:{tenant_id}"


async def since(db: Database, tenant_id: str, after_id: int, limit: int = 500, wait: float = 0.0) -> list[Event]:
    """The tenant's events after `after_id`. With `wait`, none yet waits up to that long
    for this process to append one; the caller's next read sees another process's."""
    appended = db.bell(_topic(tenant_id))
    query = "SELECT * FROM events WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?"
    rows = await db.fetch_all(query, (tenant_id, after_id, limit))
    if not rows and wait > 0:
        rang = False
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait):
                rang = await appended.wait()
        if rang:
            rows = await db.fetch_all(query, (tenant_id, after_id, limit))
    return [_event(r) for r in rows]


async def before_last(db: Database, tenant_id: str, count: int) -> int:
    """The id after which the tenant's newest `count` events come (0 when it has fewer)."""
    found = await db.fetch_value(
        "SELECT id FROM events WHERE tenant_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?", (tenant_id, count)
    )
    return int(found or 0)


async def prune_deleted(tx: Transaction, deleted_before: str) -> int:
    """Drop every event of the tenants deleted before `deleted_before` (their last event
    is `tenant.deleted`); returns how many went."""
    return await tx.execute(
        "DELETE FROM events WHERE tenant_id IN (SELECT tenant_id FROM events"
        " WHERE type = 'tenant.deleted' AND created_at < ?) AND tenant_id NOT IN (SELECT id FROM tenants)",
        (deleted_before,),
    )
