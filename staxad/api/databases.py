"""One-click databases of a tenant and their connections."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from staxad.api import render
from staxad.api.endpoint import Call, Routes
from staxad.model.databases import ENGINES
from staxad.model.query import BoolParam

routes = Routes()
BASE = "/tenants/{tenant_id}/databases"
ONE = BASE + "/{database_id}"
REVEAL = BoolParam("reveal")
CREATE_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["engine", "name"],
    "additionalProperties": False,
    "properties": {
        "engine": {"type": "string", "enum": list(ENGINES)},
        "name": {"type": "string", "maxLength": 40, "description": "Also its service's name and host name."},
        "version": {"type": "string", "maxLength": 64, "description": "The image tag; default the configured one."},
        "size_mb": {"type": "integer", "minimum": 1, "description": "The data volume's size."},
    },
}
CONNECT_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["service"],
    "additionalProperties": False,
    "properties": {
        "service": {"type": "string"},
        "env_key": {"type": "string", "description": "Default DATABASE_URL (postgres) or REDIS_URL (redis)."},
    },
}


@routes.add("GET", BASE, scope="tenants:read", query=(REVEAL,), summary="The tenant's databases.")
async def list_databases(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    reveal = call.read(REVEAL)
    found = call.platform.databases
    data = [await found.shown(call.who, tenant, d, reveal) for d in await found.of(tenant)]
    return call.listing(data, len(data), len(data), 0)


@routes.add(
    "POST",
    BASE,
    scope="tenants:write",
    status=202,
    body=CREATE_BODY,
    errors=(409, 422),
    summary="Create a database: a private service with a data volume, credentials and daily backups.",
)
async def create_database(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    made, queued = await call.platform.databases.create(tenant, await call.body())
    tenant = await call.platform.tenants.get(call.who, tenant.id)
    shown = await call.platform.databases.shown(call.who, tenant, made, False)
    return call.ok({**shown, "deployment": render.deployment(queued, tenant.id)}, 202)


@routes.add(
    "GET",
    ONE,
    scope="tenants:read",
    query=(REVEAL,),
    summary="One database; reveal=true shows its password and URL (needs secrets:read).",
)
async def get_database(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    found = await call.platform.databases.get(tenant, call.param("database_id"))
    return call.ok(await call.platform.databases.shown(call.who, tenant, found, call.read(REVEAL)))


@routes.add(
    "DELETE",
    ONE,
    scope="tenants:write",
    status=204,
    summary="Delete a database with its data and backups; connected services deploy again without it.",
)
async def delete_database(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    await call.platform.databases.delete(tenant, call.param("database_id"))
    return call.empty(204)


@routes.add(
    "POST",
    ONE + "/connections",
    scope="tenants:write",
    status=202,
    body=CONNECT_BODY,
    errors=(409,),
    summary="Give a service the database's URL in its env (DATABASE_URL or REDIS_URL); it deploys again.",
)
async def connect(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    made, queued = await call.platform.databases.connect(tenant, call.param("database_id"), await call.body())
    data = {"id": made.id, "env_key": made.env_key, "deployment": render.deployment(queued, tenant.id)}
    return call.ok(data, 202)


@routes.add(
    "DELETE",
    ONE + "/connections/{connection_id}",
    scope="tenants:write",
    status=204,
    summary="Take the URL away from the service; it deploys again without it.",
)
async def disconnect(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    await call.platform.databases.disconnect(tenant, call.param("database_id"), call.param("connection_id"))
    return call.empty(204)
