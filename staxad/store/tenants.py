"""Tenants and their services."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from staxad.model.records import Service, Tenant
from staxad.store.db import Database, Row, Transaction

SORTS = {
    "created_at": "created_at ASC, rowid ASC",
    "-created_at": "created_at DESC, rowid DESC",
    "updated_at": "updated_at ASC, rowid ASC",
    "-updated_at": "updated_at DESC, rowid DESC",
    "name": "name ASC",
    "-name": "name DESC",
    "status": "status ASC, name ASC",
    "-status": "status DESC, name ASC",
}


def _service(row: Row | dict[str, Any]) -> Service:
    return Service(
        id=row["id"],
        tenant_id=row["tenant_id"],
        name=row["name"],
        source_type=row["source_type"],
        repo_url=row["repo_url"],
        branch=row["branch"],
        image_url=row["image_url"],
        port=row["port"],
        is_primary=bool(row["is_primary"]),
        is_routable=bool(row["is_routable"]),
        resource_size=row["resource_size"],
        priority=row["priority"],
        status=row["status"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        desired_state=row["desired_state"],
        restart_requested_at=row["restart_requested_at"],
        registry_id=row["registry_id"],
        auto_deploy=bool(row["auto_deploy"]),
    )


def _tenant(row: Row, services: tuple[Service, ...] = ()) -> Tenant:
    return Tenant(
        id=row["id"],
        provider_id=row["provider_id"],
        name=row["name"],
        display_name=row["display_name"],
        mode=row["mode"],
        status=row["status"],
        status_reason=row["status_reason"],
        branch=row["branch"],
        resource_size=row["resource_size"],
        egress_mode=row["egress_mode"],
        generation=row["generation"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        services=services,
        primary_domain=row["primary_domain"],
        userns_slot=row["userns_slot"],
    )


@dataclass(frozen=True)
class TenantQuery:
    """A page of a provider's tenants, as `GET /tenants` asks for it."""

    status: str | None
    search: str | None
    sort: str
    limit: int
    offset: int


_PRIMARY_DOMAIN = (
    "(SELECT domain FROM domains WHERE tenant_id = tenants.id AND is_primary = 1 AND verified_at IS NOT NULL)"
    " AS primary_domain"
)

_SERVICES_JSON = """(SELECT json_group_array(json_object(
    'id', id, 'tenant_id', tenant_id, 'name', name, 'source_type', source_type, 'repo_url', repo_url,
    'branch', branch, 'image_url', image_url, 'port', port, 'is_primary', is_primary,
    'is_routable', is_routable, 'resource_size', resource_size, 'priority', priority, 'status', status,
    'created_at', created_at, 'updated_at', updated_at, 'desired_state', desired_state,
    'restart_requested_at', restart_requested_at, 'registry_id', registry_id,
    'auto_deploy', auto_deploy))
  FROM (SELECT * FROM services WHERE tenant_id = tenants.id ORDER BY priority, created_at, name)) AS services_json"""


async def get(db: Database | Transaction, provider_id: str, tenant_id: str, test_only: bool = False) -> Tenant | None:
    """A tenant with its services, in one query: the API's hottest read."""
    sql = (
        f"SELECT *, {_PRIMARY_DOMAIN}, {_SERVICES_JSON} FROM tenants"  # noqa: S608 - constants
        " WHERE id = ? AND provider_id = ? AND (mode = 'test' OR NOT ?)"
    )
    row = await db.fetch_one(sql, (tenant_id, provider_id, test_only))
    if row is None:
        return None
    return _tenant(row, tuple(_service(s) for s in json.loads(row["services_json"])))


async def get_any(db: Database | Transaction, tenant_id: str) -> Tenant | None:
    row = await db.fetch_one(f"SELECT *, {_PRIMARY_DOMAIN} FROM tenants WHERE id = ?", (tenant_id,))  # noqa: S608
    return _tenant(row, await services_of(db, tenant_id)) if row else None


async def services_of(db: Database | Transaction, tenant_id: str) -> tuple[Service, ...]:
    rows = await db.fetch_all(
        "SELECT * FROM services WHERE tenant_id = ? ORDER BY priority, created_at, name",
        (tenant_id,),
    )
    return tuple(_service(r) for r in rows)


async def search(db: Database, provider_id: str, test_only: bool, query: TenantQuery) -> tuple[list[Tenant], int]:
    where = ["provider_id = ?"]
    params: list[Any] = [provider_id]
    if test_only:
        where.append("mode = 'test'")
    if query.status:
        where.append("status = ?")
        params.append(query.status)
    if query.search:
        escaped = query.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        where.append("(name LIKE ? ESCAPE '\\' OR display_name LIKE ? ESCAPE '\\')")
        params += [f"%{escaped}%", f"%{escaped}%"]
    clause = " AND ".join(where)
    rows = await db.fetch_all(
        f"SELECT *, {_PRIMARY_DOMAIN}, count(*) OVER () AS total FROM tenants WHERE {clause}"  # noqa: S608
        f" ORDER BY {SORTS[query.sort]} LIMIT ? OFFSET ?",
        [*params, query.limit, query.offset],
    )
    if rows:
        total = rows[0]["total"]
    else:
        total = await db.fetch_value(f"SELECT count(*) FROM tenants WHERE {clause}", params)  # noqa: S608
    return [_tenant(r) for r in rows], int(total)


async def count_for(db: Database | Transaction, provider_id: str, mode: str | None = None) -> int:
    if mode is None:
        value = await db.fetch_value("SELECT count(*) FROM tenants WHERE provider_id = ?", (provider_id,))
    else:
        value = await db.fetch_value(
            "SELECT count(*) FROM tenants WHERE provider_id = ? AND mode = ?", (provider_id, mode)
        )
    return int(value)


async def next_userns_slot(tx: Transaction, tenant_id: str, now: str) -> int:
    """The lowest released slot whose block owns no volume's files, else a new one; the
    transaction's rollback gives it back."""
    free = await tx.fetch_value(
        "SELECT slot FROM userns_slots s WHERE released = 1"
        " AND NOT EXISTS (SELECT 1 FROM volumes v WHERE v.userns_slot = s.slot)"
        " AND NOT EXISTS (SELECT 1 FROM retained_volumes r WHERE r.userns_slot = s.slot)"
        " ORDER BY slot LIMIT 1"
    )
    if free is not None:
        await tx.execute(
            "UPDATE userns_slots SET tenant_id = ?, assigned_at = ?, released = 0 WHERE slot = ?",
            (tenant_id, now, free),
        )
        return int(free)
    slot = await tx.fetch_value(
        "INSERT INTO userns_slots (tenant_id, assigned_at) VALUES (?, ?) RETURNING slot", (tenant_id, now)
    )
    return int(slot)


async def release_userns_slot(tx: Transaction, tenant_id: str) -> None:
    """The tenant's teardown is done: its slot may be given again once no volume's files
    are in its block."""
    await tx.execute("UPDATE userns_slots SET released = 1 WHERE tenant_id = ? AND released = 0", (tenant_id,))


async def name_taken(db: Database | Transaction, name: str) -> bool:
    return await db.fetch_value("SELECT 1 FROM tenants WHERE name = ?", (name,)) is not None


async def insert(tx: Transaction, tenant: Tenant) -> None:
    await tx.execute(
        "INSERT INTO tenants (id, provider_id, name, display_name, mode, status, status_reason,"
        " branch, resource_size, egress_mode, generation, created_at, updated_at, userns_slot)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            tenant.id,
            tenant.provider_id,
            tenant.name,
            tenant.display_name,
            tenant.mode,
            tenant.status,
            tenant.status_reason,
            tenant.branch,
            tenant.resource_size,
            tenant.egress_mode,
            tenant.generation,
            tenant.created_at,
            tenant.updated_at,
            tenant.userns_slot,
        ),
    )
    for service in tenant.services:
        await insert_service(tx, service)


async def insert_service(tx: Transaction, service: Service) -> None:
    await tx.execute(
        "INSERT INTO services (id, tenant_id, name, source_type, repo_url, branch, image_url,"
        " port, is_primary, is_routable, resource_size, priority, status, created_at, updated_at, registry_id,"
        " auto_deploy) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            service.id,
            service.tenant_id,
            service.name,
            service.source_type,
            service.repo_url,
            service.branch,
            service.image_url,
            service.port,
            int(service.is_primary),
            int(service.is_routable),
            service.resource_size,
            service.priority,
            service.status,
            service.created_at,
            service.updated_at,
            service.registry_id,
            int(service.auto_deploy),
        ),
    )


TENANT_FIELDS = ("display_name", "branch", "resource_size", "egress_mode", "status", "status_reason")


async def update(tx: Transaction, tenant_id: str, now: str, **changes: Any) -> None:
    """Set the given columns, bump the generation, touch updated_at."""
    assert set(changes) <= set(TENANT_FIELDS), changes
    sets = "".join(f"{column} = ?, " for column in changes)
    await tx.execute(
        f"UPDATE tenants SET {sets}generation = generation + 1, updated_at = ? WHERE id = ?",  # noqa: S608
        (*changes.values(), now, tenant_id),
    )


async def status_of(db: Database | Transaction, tenant_id: str) -> str | None:
    value = await db.fetch_value("SELECT status FROM tenants WHERE id = ?", (tenant_id,))
    return str(value) if value is not None else None


async def set_status(
    tx: Transaction, tenant_id: str, now: str, status: str, reason: str | None = None, only_from: Sequence[str] = ()
) -> bool:
    """Set a tenant's status (while it is one of `only_from`, if given), unless a delete
    was asked since the caller looked; whether it was set. `deleting` records a request,
    not an observation: a pass that finished a deploy as the delete came must not turn
    it back into `ready`, or the delete is lost."""
    sql = (
        "UPDATE tenants SET status = ?, status_reason = ?, generation = generation + 1, updated_at = ?"
        " WHERE id = ? AND status != 'deleting'"
    )
    if only_from:
        sql += f" AND status IN ({', '.join('?' for _ in only_from)})"
    return await tx.execute(sql, (status, reason, now, tenant_id, *only_from)) > 0


SERVICE_FIELDS = ("port", "status", "resource_size", "branch", "desired_state", "restart_requested_at")


async def update_service(tx: Transaction, service_id: str, now: str, **changes: Any) -> None:
    assert set(changes) <= set(SERVICE_FIELDS), changes
    sets = "".join(f"{column} = ?, " for column in changes)
    await tx.execute(
        f"UPDATE services SET {sets}updated_at = ? WHERE id = ?",  # noqa: S608
        (*changes.values(), now, service_id),
    )


async def delete(tx: Transaction, tenant_id: str) -> None:
    await tx.execute("DELETE FROM tenants WHERE id = ?", (tenant_id,))


async def delete_service(tx: Transaction, service_id: str) -> None:
    await tx.execute("DELETE FROM services WHERE id = ?", (service_id,))


async def count_by_status(db: Database) -> dict[str, int]:
    rows = await db.fetch_all("SELECT status, count(*) AS n FROM tenants GROUP BY status")
    return {row["status"]: int(row["n"]) for row in rows}
