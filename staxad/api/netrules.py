"""Network rules of a tenant: inbound NodePorts and outbound allowances."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from staxad.api.endpoint import Call, Routes
from staxad.core.netrules import LIST_PARAMS, NetworkRules
from staxad.model.netrules import NetworkRule
from staxad.model.records import Tenant

routes = Routes()
RULE_BODY = {
    "type": "object",
    "required": ["direction", "protocol"],
    "properties": {
        "direction": {"enum": ["inbound", "outbound"]},
        "protocol": {"enum": ["tcp", "udp"]},
        "target_service": {"type": "string", "description": "Service name (inbound)."},
        "target_port": {"type": "integer", "description": "The service's port (inbound; default it)."},
        "source_cidrs": {"type": "array", "items": {"type": "string"}, "description": "Allowed sources (inbound)."},
        "destination_cidrs": {"type": "array", "items": {"type": "string"}, "description": "Destinations (outbound)."},
        "destination_port": {"type": "integer", "description": "Destination port (outbound)."},
        "ttl_hours": {"type": "integer", "description": "Expire after this many hours."},
        "description": {"type": "string"},
    },
}


def render(rule: NetworkRule, tenant: Tenant, rules: NetworkRules) -> dict[str, Any]:
    service = next((s.name for s in tenant.services if s.id == rule.target_service_id), None)
    return {
        "id": rule.id,
        "direction": rule.direction,
        "protocol": rule.protocol,
        "target_service": service,
        "target_port": rule.target_port,
        "allocated_port": rule.allocated_port,
        "source_cidrs": list(rule.source_cidrs),
        "destination_cidrs": list(rule.destination_cidrs),
        "destination_port": rule.destination_port,
        "description": rule.description,
        "status": rule.status,
        "failure": rule.failure,
        "connection_string": rules.connection_string(rule),
        "expires_at": rule.expires_at,
        "created_at": rule.created_at,
    }


@routes.add(
    "GET",
    "/tenants/{tenant_id}/network-rules",
    scope="tenants:read",
    query=LIST_PARAMS,
    summary="Network rules; `direction` filter, `status` default active (or expired, deleted, failed, all).",
)
async def list_rules(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    rules = call.platform.netrules
    found = await rules.of(tenant, call.query())
    return call.ok([render(r, tenant, rules) for r in found])


@routes.add(
    "POST",
    "/tenants/{tenant_id}/network-rules",
    scope="network",
    errors=(409, 422),
    status=201,
    body=RULE_BODY,
    summary="Create a rule: inbound allocates a node port; outbound needs egress_mode restricted.",
)
async def create_rule(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    rule = await call.platform.netrules.create(tenant, await call.body())
    return call.ok(render(rule, tenant, call.platform.netrules), 201)


@routes.add(
    "GET",
    "/tenants/{tenant_id}/network-rules/{rule_id}",
    scope="tenants:read",
    summary="One network rule, in any status.",
)
async def get_rule(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    rules = call.platform.netrules
    return call.ok(render(await rules.get(tenant, call.param("rule_id")), tenant, rules))


@routes.add(
    "DELETE",
    "/tenants/{tenant_id}/network-rules/{rule_id}",
    scope="network",
    errors=(409, 422),
    status=204,
    summary="Delete a rule: 204 once the kernel no longer forwards it (202 if the firewall lags).",
)
async def delete_rule(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    rule_id = call.param("rule_id")
    await call.platform.netrules.delete(tenant, rule_id)
    # 204 once the kernel no longer forwards for it; a firewall that lags answers 202,
    # and the rule's port is handed out again only after its removal reached the kernel.
    return call.empty(204 if await call.platform.netrules.removed_from_host(rule_id) else 202)
