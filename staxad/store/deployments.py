"""Deployments: one record per attempt to run a version of a service."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from staxad.model.lifecycle import DeploymentStatus
from staxad.model.records import Deployment
from staxad.store.db import Database, Row, Transaction

_SELECT = "SELECT d.*, s.name AS service_name FROM deployments d JOIN services s ON s.id = d.service_id"


def _deployment(row: Row) -> Deployment:
    return Deployment(
        id=row["id"],
        tenant_id=row["tenant_id"],
        service_id=row["service_id"],
        service_name=row["service_name"],
        status=row["status"],
        stage=row["stage"],
        reason=row["reason"],
        branch=row["branch"],
        commit_sha=row["commit_sha"],
        commit_message=row["commit_message"],
        framework=row["framework"],
        build_seconds=row["build_seconds"],
        image_ref=row["image_ref"],
        container_name=row["container_id"],
        host_port=row["host_port"],
        rollback_from=row["rollback_from"],
        created_at=row["created_at"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
    )


async def insert(tx: Transaction, d: Deployment) -> None:
    await tx.execute(
        "INSERT INTO deployments (id, tenant_id, service_id, status, stage, branch, commit_sha, commit_message,"
        " framework, image_ref, rollback_from, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            d.id,
            d.tenant_id,
            d.service_id,
            d.status,
            d.stage,
            d.branch,
            d.commit_sha,
            d.commit_message,
            d.framework,
            d.image_ref,
            d.rollback_from,
            d.created_at,
        ),
    )


async def get(db: Database | Transaction, tenant_id: str, deployment_id: str) -> Deployment | None:
    row = await db.fetch_one(f"{_SELECT} WHERE d.tenant_id = ? AND d.id = ?", (tenant_id, deployment_id))
    return _deployment(row) if row else None


async def for_tenant(
    db: Database | Transaction, tenant_id: str, limit: int = 20, offset: int = 0, service_id: str | None = None
) -> tuple[list[Deployment], int]:
    where, params = "d.tenant_id = ?", [tenant_id]
    if service_id:
        where += " AND d.service_id = ?"
        params.append(service_id)
    rows = await db.fetch_all(
        f"{_SELECT} WHERE {where} ORDER BY d.created_at DESC, d.rowid DESC LIMIT ? OFFSET ?",
        [*params, limit, offset],
    )
    total = await db.fetch_value(f"SELECT count(*) FROM deployments d WHERE {where}", params)  # noqa: S608
    return [_deployment(r) for r in rows], int(total)


async def with_status(db: Database | Transaction, tenant_id: str, statuses: tuple[str, ...]) -> list[Deployment]:
    marks = ", ".join("?" for _ in statuses)
    rows = await db.fetch_all(
        f"{_SELECT} WHERE d.tenant_id = ? AND d.status IN ({marks}) ORDER BY s.priority, d.created_at, d.rowid",
        (tenant_id, *statuses),
    )
    return [_deployment(r) for r in rows]


FIELDS = (
    "spec",
    "status",
    "stage",
    "reason",
    "image_ref",
    "container_id",
    "host_port",
    "started_at",
    "finished_at",
    "commit_sha",
    "commit_message",
    "framework",
    "build_seconds",
)


async def update(tx: Transaction, deployment_id: str, **changes: Any) -> None:
    assert set(changes) <= set(FIELDS), changes
    sets = ", ".join(f"{column} = ?" for column in changes)
    await tx.execute(f"UPDATE deployments SET {sets} WHERE id = ?", (*changes.values(), deployment_id))  # noqa: S608


async def update_if(tx: Transaction, deployment_id: str, statuses: Sequence[str], **changes: Any) -> bool:
    """Update the deployment only while its status is one of `statuses`; whether it was.
    Two writers may move one deployment (the pipeline starting it, a user cancelling it):
    the check and the write in one statement let exactly one of them win."""
    assert set(changes) <= set(FIELDS), changes
    sets = ", ".join(f"{column} = ?" for column in changes)
    marks = ", ".join("?" for _ in statuses)
    sql = f"UPDATE deployments SET {sets} WHERE id = ? AND status IN ({marks})"  # noqa: S608
    return await tx.execute(sql, (*changes.values(), deployment_id, *statuses)) > 0


async def live_for(db: Database | Transaction, tenant_id: str) -> dict[str, Deployment]:
    """service_id -> the deployment serving it now."""
    rows = await db.fetch_all(
        f"{_SELECT} WHERE s.tenant_id = ? AND s.live_deployment_id = d.id",
        (tenant_id,),
    )
    return {r["service_id"]: _deployment(r) for r in rows}


async def set_live(tx: Transaction, service_id: str, deployment_id: str | None) -> None:
    await tx.execute("UPDATE services SET live_deployment_id = ? WHERE id = ?", (deployment_id, service_id))


async def sealed_spec(db: Database | Transaction, deployment_id: str) -> bytes | None:
    row = await db.fetch_one("SELECT spec FROM deployments WHERE id = ?", (deployment_id,))
    return bytes(row["spec"]) if row is not None and row["spec"] is not None else None


async def recent_reasons(db: Database, service_id: str, limit: int) -> list[str]:
    """The failure reasons of a service's newest deployments ('' where none), newest first."""
    rows = await db.fetch_all(
        "SELECT reason FROM deployments WHERE service_id = ? ORDER BY created_at DESC, rowid DESC LIMIT ?",
        (service_id, limit),
    )
    return [row["reason"] or "" for row in rows]


async def beyond_newest(db: Database | Transaction, keep: int, service_id: str | None = None) -> list[str]:
    """Deployments of a service (or of every one) older than its newest `keep`."""
    rows = await db.fetch_all(
        "SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY service_id ORDER BY created_at DESC, rowid DESC)"
        " AS newer FROM deployments WHERE ? IS NULL OR service_id = ?) WHERE newer > ?",
        (service_id, service_id, keep),
    )
    return [r["id"] for r in rows]


async def ids_for_tenant(db: Database | Transaction, tenant_id: str) -> list[str]:
    rows = await db.fetch_all("SELECT id FROM deployments WHERE tenant_id = ?", (tenant_id,))
    return [r["id"] for r in rows]


async def all_ids(db: Database | Transaction) -> set[str]:
    return {r["id"] for r in await db.fetch_all("SELECT id FROM deployments")}


async def latest_per_service(db: Database | Transaction, tenant_id: str) -> dict[str, Deployment]:
    """Each service's newest deployment."""
    rows = await db.fetch_all(
        f"{_SELECT} WHERE d.tenant_id = ? AND d.rowid = (SELECT x.rowid FROM deployments x"  # noqa: S608
        " WHERE x.service_id = d.service_id ORDER BY x.created_at DESC, x.rowid DESC LIMIT 1)",
        (tenant_id,),
    )
    return {d.service_id: d for d in map(_deployment, rows)}


async def supersede_queued(tx: Transaction, service_id: str, now: str) -> None:
    """A newer deployment of the service was queued: the ones still waiting never run."""
    await tx.execute(
        "UPDATE deployments SET status = ?, reason = 'superseded by a newer deployment',"
        " finished_at = ? WHERE service_id = ? AND status = ?",
        (DeploymentStatus.CANCELLED, now, service_id, DeploymentStatus.QUEUED),
    )
