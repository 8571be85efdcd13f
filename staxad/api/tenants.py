"""List, Create, Get, Update, Delete tenants."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from staxad.api import render, responses
from staxad.api.endpoint import Call, Routes
from staxad.core.tenants import LIST_PARAMS, parse_list_params
from staxad.model import validation as v
from staxad.model.records import Tenant

routes = Routes()

_SOURCE = {
    "source_type": {"type": "string", "enum": list(v.SOURCE_TYPES)},
    "repo_url": {"type": "string", "maxLength": 2048},
    "branch": {"type": "string", "pattern": v.BRANCH.pattern, "default": "main"},
    "image_url": {"type": "string", "maxLength": 512},
    "port": {"type": "integer", "minimum": 1, "maximum": 65535},
    "app_port": {"type": "integer", "minimum": 1, "maximum": 65535},
    "resource_size": {"type": "string", "enum": list(v.RESOURCE_SIZES)},
}
VOLUME_PATH = {"type": "string", "pattern": "^/", "maxLength": 255}
VOLUME_FIELDS: dict[str, Any] = {
    "name": {"type": "string", "pattern": v.NAME.pattern},
    "mount_path": VOLUME_PATH,
    "size_mb": {"type": "integer", "minimum": 1},
    "retain": {"type": "boolean", "description": "Keep the volume on the host when the tenant is deleted."},
    "backup_schedule": {"type": "string", "description": "'daily@HH:MM' (UTC) or a five-field cron line."},
    "keep_last": {"type": "integer", "minimum": 1, "maximum": 1000},
}
SERVICE_VOLUME = {
    "type": "object",
    "required": ["name", "mount_path", "size_mb"],
    "additionalProperties": False,
    "properties": VOLUME_FIELDS,
}
_SOURCE_AND_VOLUMES = {
    "volumes": {"type": "array", "items": SERVICE_VOLUME},
    "registry_id": {"type": "string", "description": "The registry credential to pull image_url with."},
    "auto_deploy": {"type": "boolean", "description": "Deploy on a push to the branch (GitHub App). Default true."},
}
SERVICE_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["name", "source_type"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": v.NAME.pattern},
        **_SOURCE,
        **_SOURCE_AND_VOLUMES,
        "is_routable": {"type": "boolean"},
        "is_primary": {"type": "boolean"},
    },
}
CREATE_BODY = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": v.NAME.pattern, "not": {"enum": sorted(v.RESERVED_TENANT_NAMES)}},
        "display_name": {"type": "string", "maxLength": 100},
        "template_id": {
            "type": "string",
            "description": "Fill source, port and env from a template; given fields win.",
        },
        **_SOURCE,
        **_SOURCE_AND_VOLUMES,
        "egress_mode": {"type": "string", "enum": list(v.EGRESS_MODES)},
        "services": {"type": "array", "items": SERVICE_BODY, "minItems": 1},
        "env": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
PATCH_BODY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "display_name": {"type": ["string", "null"], "maxLength": 100},
        "branch": {"type": "string", "pattern": v.BRANCH.pattern},
        "resource_size": {"type": "string", "enum": list(v.RESOURCE_SIZES)},
        "app_port": {"type": "integer", "minimum": 1, "maximum": 65535},
        "egress_mode": {"type": "string", "enum": list(v.EGRESS_MODES)},
    },
}


def events_url(tenant_id: str) -> str:
    return f"/api/v1/tenants/{tenant_id}/events"


@routes.add(
    "GET",
    "/tenants",
    scope="tenants:read",
    rate="list_tenants",
    query=LIST_PARAMS,
    summary="List tenants with status filter, search, sort and pagination.",
)
async def list_tenants(call: Call) -> Response:
    params = parse_list_params(call.query())
    found, total = await call.platform.tenants.page(call.who, params)
    return call.listing([render.tenant_summary(call.settings, t) for t in found], total, params.limit, params.offset)


@routes.add(
    "POST",
    "/tenants",
    scope="tenants:write",
    rate="create_tenant",
    errors=(409, 422),
    status=202,
    body=CREATE_BODY,
    summary="Create a tenant (asynchronous; follow events_url).",
)
async def create_tenant(call: Call) -> Response:
    tenant = await call.platform.tenants.create(call.who, await call.body())
    return call.ok({**render.tenant(call.settings, tenant), "events_url": events_url(tenant.id)}, 202)


@routes.add(
    "GET",
    "/tenants/{tenant_id}",
    scope="tenants:read",
    rate="get_tenant",
    summary="A tenant with its services, domains and recent deployments.",
)
async def get_tenant(call: Call) -> Response:
    reads = call.platform.reads
    key = ("tenant", call.who.provider_id, call.who.mode, call.param("tenant_id"))
    cached = reads.get(key)
    if cached is not None:
        return call.ok_encoded(cached)
    version = call.platform.ctx.db.commits
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    data = responses.encoded(await _whole(call, tenant))
    reads.put(key, data, version)
    return call.ok_encoded(data)


async def _whole(call: Call, tenant: Tenant) -> dict[str, Any]:
    """The tenant as GET shows it: with its domains and its five newest deployments."""
    recent, _ = await call.platform.deployments.page(tenant, 5, 0)
    domains = call.platform.domains
    shown = [render.domain(d, tenant, domains.expected(tenant, d)) for d in await domains.of(tenant)]
    return {
        **render.tenant(call.settings, tenant, shown),
        "deployments": [render.deployment(d, tenant.id) for d in recent],
    }


@routes.add(
    "PATCH",
    "/tenants/{tenant_id}",
    scope="tenants:write",
    body=PATCH_BODY,
    errors=(409, 422),
    summary="Change only the given fields of a tenant.",
)
async def update_tenant(call: Call) -> Response:
    tenant = await call.platform.tenants.update(call.who, call.param("tenant_id"), await call.body())
    return call.ok(await _whole(call, tenant))


@routes.add(
    "DELETE",
    "/tenants/{tenant_id}",
    scope="tenants:write",
    status=202,
    errors=(409,),
    summary="Delete a tenant and everything of it on the host (asynchronous).",
)
async def delete_tenant(call: Call) -> Response:
    await call.platform.tenants.delete(call.who, call.param("tenant_id"))
    return call.empty(202)
