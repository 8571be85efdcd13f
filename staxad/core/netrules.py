"""Network rules: inbound NodePorts and restricted egress, as the user manages them.

A rule is active until deleted or until its `ttl_hours` pass (then `expired`), or until
the kernel refuses its elements (then `failed`, with the reason); either way it leaves
the firewall on the next reconcile and never comes back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta

from staxad.core.context import Context
from staxad.model.clock import iso, new_id
from staxad.model.errors import AlreadyExists, Conflict, NotFound, Unprocessable, ValidationError, limit_reached
from staxad.model.lifecycle import TenantStatus
from staxad.model.netrules import DIRECTIONS, RULE_STATUSES, NetworkRule, RuleSpec, parse_rule
from staxad.model.query import ChoiceParam
from staxad.model.records import Tenant
from staxad.store import events
from staxad.store import netrules as store
from staxad.store.db import Transaction

DIRECTION = ChoiceParam("direction", DIRECTIONS)
STATUS = ChoiceParam("status", (*RULE_STATUSES, "all"), "active")
LIST_PARAMS = (DIRECTION, STATUS)


class NetworkRules:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def connection_string(self, rule: NetworkRule) -> str | None:
        return f"{self.ctx.server_ip}:{rule.allocated_port}" if rule.allocated_port else None

    async def of(self, tenant: Tenant, query: Mapping[str, str]) -> list[NetworkRule]:
        errors: dict[str, str] = {}
        direction, status = DIRECTION.read(query, errors), STATUS.read(query, errors)
        if errors:
            raise ValidationError("Invalid query parameters.", {"fields": errors})
        return await store.for_tenant(self.ctx.db, tenant.id, direction, None if status == "all" else status)

    async def create(self, tenant: Tenant, payload: object) -> NetworkRule:
        settings = self.ctx.settings.network
        spec = parse_rule(
            payload,
            min_prefix_v4=settings.min_prefix_v4,
            max_cidrs=settings.max_cidrs,
            min_prefix_v4_outbound=settings.min_prefix_v4_outbound,
            host_addresses=await self._host_addresses(),
        )
        if tenant.status == TenantStatus.DELETING:
            raise Unprocessable(f"Tenant '{tenant.name}' is being deleted.")
        target_service_id, target_port = self._target(tenant, spec)
        if spec.direction == "outbound" and tenant.egress_mode != "restricted":
            raise Unprocessable(
                'Outbound rules need egress_mode "restricted"; '
                'PATCH the tenant with {"egress_mode": "restricted"} first.'
            )
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as tx:
            if (used := await store.count_active(tx, tenant.id)) >= settings.rules_per_tenant:
                raise limit_reached(
                    "active network rules in this tenant", used, settings.rules_per_tenant, "network.rules_per_tenant"
                )
            port = await self._free_port(tx, spec.protocol) if spec.direction == "inbound" else None
            rule = NetworkRule(
                id=new_id("nr"),
                tenant_id=tenant.id,
                direction=spec.direction,
                protocol=spec.protocol,
                target_service_id=target_service_id,
                target_port=target_port,
                allocated_port=port,
                source_cidrs=spec.source_cidrs,
                destination_cidrs=spec.destination_cidrs,
                destination_port=spec.destination_port,
                description=spec.description,
                status="active",
                expires_at=iso(now + timedelta(hours=spec.ttl_hours)) if spec.ttl_hours else None,
                created_at=iso(now),
            )
            try:
                await store.insert(tx, rule)
            except AlreadyExists:
                raise Conflict("That node port was just taken; try again.") from None
            what = f"port {port} -> {spec.target_service}:{target_port}" if port else f"to {spec.destination_cidrs}"
            await events.append(tx, tenant.id, "network_rule.created", f"{spec.direction} rule {what}", now)
        self.ctx.changed(tenant.id)
        return rule

    async def _host_addresses(self) -> list[str]:
        """The host's own addresses, with the public one users are told to connect to."""
        found = await self.ctx.host_addresses() if self.ctx.host_addresses is not None else []
        return [*found, self.ctx.server_ip]

    @staticmethod
    def _target(tenant: Tenant, spec: RuleSpec) -> tuple[str | None, int | None]:
        if spec.direction != "inbound":
            return None, None
        service = next((s for s in tenant.services if s.name == spec.target_service), None)
        if service is None:
            names = ", ".join(s.name for s in tenant.services)
            raise ValidationError(
                f"Invalid target_service: no service '{spec.target_service}' in tenant '{tenant.name}' ({names}).",
                {"fields": {"target_service": f"one of: {names}"}},
            )
        port = spec.target_port or service.port
        if port != service.port:
            raise Unprocessable(
                f"Service '{service.name}' listens on port {service.port}; target_port {port} is not exposed by it."
            )
        return service.id, port

    async def _free_port(self, tx: Transaction, protocol: str) -> int:
        settings = self.ctx.settings.network
        taken = await store.ports_in_use(tx, protocol)
        for port in range(settings.node_port_min, settings.node_port_max + 1):
            if port not in taken:
                return port
        pool = settings.node_port_max - settings.node_port_min + 1
        raise limit_reached(
            f"node ports for {protocol} ({settings.node_port_min}-{settings.node_port_max})",
            pool,
            pool,
            "network.node_port_min/max",
            "Delete a rule or widen the range.",
        )

    async def get(self, tenant: Tenant, rule_id: str) -> NetworkRule:
        """One rule of this tenant in any status (lists show deleted ones too, on request)."""
        rule = await store.get(self.ctx.db, tenant.id, rule_id)
        if rule is None:
            raise NotFound(f"Network rule '{rule_id[:64]}' not found.")
        return rule

    async def delete(self, tenant: Tenant, rule_id: str) -> None:
        rule = await self.get(tenant, rule_id)
        if rule.status == "deleted":
            raise NotFound(f"Network rule '{rule_id[:64]}' not found.")
        async with self.ctx.db.transaction() as tx:
            await store.set_status(tx, rule.id, "deleted", hold_port=self.enforced)
            await events.append(
                tx, tenant.id, "network_rule.deleted", f"Network rule {rule.id} deleted", self.ctx.clock.now()
            )
        self.ctx.changed(tenant.id)

    @property
    def enforced(self) -> bool:
        """Whether a firewall applies rules here (else nothing holds a deleted rule's port)."""
        settings = self.ctx.settings
        return settings.runtime.enabled and settings.network.enabled

    async def removed_from_host(self, rule_id: str, timeout: float = 5.0) -> bool:
        """Wait until the firewall no longer forwards for this rule; False if it has not yet."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while await store.port_held(self.ctx.db, rule_id):
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(0.05)
        return True

    async def fail(self, rule: NetworkRule, reason: str) -> None:
        """The firewall refused the rule: it stops being enforced, and its owner is told why."""
        async with self.ctx.db.transaction() as tx:
            await store.set_failed(tx, rule.id, reason)
            await events.append(
                tx,
                rule.tenant_id,
                "network_rule.failed",
                f"Network rule {rule.id} failed: {reason}",
                self.ctx.clock.now(),
            )

    async def expire_due(self) -> list[NetworkRule]:
        """Rules whose TTL passed become `expired` (the scheduled job)."""
        expired = await store.due(self.ctx.db, self.ctx.now())
        for rule in expired:
            async with self.ctx.db.transaction() as tx:
                await store.set_status(tx, rule.id, "expired", hold_port=self.enforced)
                await events.append(
                    tx, rule.tenant_id, "network_rule.expired", f"Network rule {rule.id} expired", self.ctx.clock.now()
                )
            self.ctx.changed(rule.tenant_id)
        return expired
