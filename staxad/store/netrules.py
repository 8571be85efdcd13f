"""Network rules of tenants."""

from __future__ import annotations

import json

from staxad.model.lifecycle import TenantStatus
from staxad.model.netrules import NetworkRule
from staxad.store.db import Database, Row, Transaction


def _rule(row: Row) -> NetworkRule:
    return NetworkRule(
        id=row["id"],
        tenant_id=row["tenant_id"],
        direction=row["direction"],
        protocol=row["protocol"],
        target_service_id=row["target_service_id"],
        target_port=row["target_port"],
        allocated_port=row["allocated_port"],
        source_cidrs=tuple(json.loads(row["source_cidrs"])),
        destination_cidrs=tuple(json.loads(row["destination_cidrs"])),
        destination_port=row["destination_port"],
        description=row["description"],
        status=row["status"],
        expires_at=row["expires_at"],
        created_at=row["created_at"],
        failure=row["failure"],
    )


async def for_tenant(
    db: Database | Transaction, tenant_id: str, direction: str | None = None, status: str | None = "active"
) -> list[NetworkRule]:
    sql, params = "SELECT * FROM network_rules WHERE tenant_id = ?", [tenant_id]
    if direction:
        sql += " AND direction = ?"
        params.append(direction)
    if status:
        sql += " AND status = ?"
        params.append(status)
    rows = await db.fetch_all(sql + " ORDER BY created_at, rowid", params)
    return [_rule(r) for r in rows]


async def udp_targets(db: Database, tenant_id: str) -> dict[str, str]:
    """The services of this tenant an active inbound UDP rule forwards to, each with when
    the newest such rule was made."""
    rows = await db.fetch_all(
        "SELECT target_service_id, max(created_at) AS newest FROM network_rules WHERE tenant_id = ?"
        " AND direction = 'inbound' AND protocol = 'udp' AND status = 'active' AND target_service_id IS NOT NULL"
        " GROUP BY target_service_id",
        (tenant_id,),
    )
    return {str(r["target_service_id"]): str(r["newest"]) for r in rows}


async def get(db: Database | Transaction, tenant_id: str, rule_id: str) -> NetworkRule | None:
    row = await db.fetch_one("SELECT * FROM network_rules WHERE id = ? AND tenant_id = ?", (rule_id, tenant_id))
    return _rule(row) if row else None


async def active(db: Database) -> list[NetworkRule]:
    rows = await db.fetch_all(
        "SELECT r.* FROM network_rules r JOIN tenants t ON t.id = r.tenant_id"
        " WHERE r.status = 'active' AND t.status != ? ORDER BY r.created_at, r.rowid",
        (TenantStatus.DELETING,),
    )
    return [_rule(r) for r in rows]


async def ports_in_use(tx: Transaction, protocol: str) -> set[int]:
    rows = await tx.fetch_all(
        "SELECT allocated_port FROM network_rules WHERE (status = 'active' OR port_held = 1) AND protocol = ?"
        " AND allocated_port IS NOT NULL",
        (protocol,),
    )
    return {int(r["allocated_port"]) for r in rows}


async def count_active(tx: Transaction, tenant_id: str) -> int:
    value = await tx.fetch_value(
        "SELECT count(*) FROM network_rules WHERE tenant_id = ? AND status = 'active'", (tenant_id,)
    )
    return int(value)


async def insert(tx: Transaction, r: NetworkRule) -> None:
    await tx.execute(
        "INSERT INTO network_rules (id, tenant_id, direction, protocol, target_service_id, target_port,"
        " allocated_port, source_cidrs, destination_cidrs, destination_port, description, status, expires_at,"
        " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            r.id,
            r.tenant_id,
            r.direction,
            r.protocol,
            r.target_service_id,
            r.target_port,
            r.allocated_port,
            json.dumps(list(r.source_cidrs)),
            json.dumps(list(r.destination_cidrs)),
            r.destination_port,
            r.description,
            r.status,
            r.expires_at,
            r.created_at,
        ),
    )


async def set_status(tx: Transaction, rule_id: str, status: str, hold_port: bool = True) -> None:
    """A rule leaving `active` keeps its port held until the firewall confirms removal."""
    await tx.execute(
        "UPDATE network_rules SET status = ?, port_held = ? WHERE id = ?", (status, int(hold_port), rule_id)
    )


async def set_failed(tx: Transaction, rule_id: str, reason: str) -> None:
    await tx.execute(
        "UPDATE network_rules SET status = 'failed', failure = ?, port_held = 1 WHERE id = ?", (reason, rule_id)
    )


async def release_ports(tx: Transaction, enforced: set[str]) -> list[tuple[str, str]]:
    """The firewall no longer forwards for any rule outside `enforced` (the active rules it
    read before its last load): their ports may be handed out again. (rule id, tenant id)
    of each released."""
    rows = await tx.fetch_all("SELECT id, tenant_id FROM network_rules WHERE port_held = 1 AND status != 'active'")
    released = [(row["id"], row["tenant_id"]) for row in rows if row["id"] not in enforced]
    for rule_id, _ in released:
        await tx.execute("UPDATE network_rules SET port_held = 0 WHERE id = ?", (rule_id,))
    return released


async def port_held(db: Database, rule_id: str) -> bool:
    row = await db.fetch_one("SELECT port_held FROM network_rules WHERE id = ?", (rule_id,))
    return bool(row and row["port_held"])


async def due(db: Database, now: str) -> list[NetworkRule]:
    rows = await db.fetch_all(
        "SELECT * FROM network_rules WHERE status = 'active' AND expires_at IS NOT NULL AND expires_at <= ?", (now,)
    )
    return [_rule(r) for r in rows]
