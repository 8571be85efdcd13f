"""Custom domains of a tenant."""

from __future__ import annotations

from starlette.responses import Response

from staxad.api import render
from staxad.api.endpoint import Call, Routes

routes = Routes()
DOMAIN_BODY = {
    "type": "object",
    "required": ["domain"],
    "properties": {
        "domain": {"type": "string", "description": "The custom hostname, e.g. app.example.com (IDNA allowed)."},
        "is_primary": {"type": "boolean", "description": "Make it what the tenant's url shows once verified."},
        "service_id": {"type": "string", "description": "Service (id or name) to route to; default the primary."},
    },
}


@routes.add(
    "GET",
    "/tenants/{tenant_id}/domains",
    scope="tenants:read",
    summary="The tenant's custom domains, with the server IP to point A records at.",
)
async def list_domains(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    found = await call.platform.domains.of(tenant)
    domains = call.platform.domains
    return call.ok(
        {
            "domains": [render.domain(d, tenant, domains.expected(tenant, d)) for d in found],
            "server_ip": call.platform.ctx.server_ip,
        }
    )


@routes.add(
    "POST",
    "/tenants/{tenant_id}/domains",
    scope="domains",
    errors=(409, 422),
    status=201,
    body=DOMAIN_BODY,
    summary="Add a custom domain (unverified and unrouted until verified).",
)
async def add_domain(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    added = await call.platform.domains.add(tenant, await call.body())
    return call.ok(render.domain(added, tenant, call.platform.domains.expected(tenant, added)), 201)


@routes.add(
    "POST",
    "/tenants/{tenant_id}/domains/{domain_id}/verify",
    scope="domains",
    errors=(409, 422),
    summary="Check the domain's DNS now; on success it is routed and gets a certificate.",
)
async def verify_domain(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    verified = await call.platform.domains.verify(tenant, call.param("domain_id"))
    return call.ok(render.domain(verified, tenant, call.platform.domains.expected(tenant, verified)))


@routes.add(
    "DELETE",
    "/tenants/{tenant_id}/domains/{domain_id}",
    scope="domains",
    errors=(409, 422),
    status=204,
    summary="Remove a custom domain; its route and certificate approval go at once.",
)
async def delete_domain(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    await call.platform.domains.delete(tenant, call.param("domain_id"))
    return call.empty(204)
