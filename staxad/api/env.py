"""A tenant's env variables: the contract's bulk read and replace, and one at a time."""

from __future__ import annotations

from starlette.responses import Response

from staxad.api import render
from staxad.api.endpoint import Call, Routes
from staxad.core.env import MAX_VALUE
from staxad.model.query import BoolParam
from staxad.model.validation import ENV_KEY

routes = Routes()
APPLY = BoolParam("apply")
REVEAL = BoolParam("reveal")
ENV_BODY = {
    "type": "object",
    "propertyNames": {"pattern": ENV_KEY.pattern},
    "additionalProperties": {"type": "string", "maxLength": MAX_VALUE, "pattern": "^[^\\x00]*$"},
}
VARIABLE_BODY = {
    "type": "object",
    "properties": {
        "value": {"type": "string", "maxLength": MAX_VALUE, "description": "Left out or '****': keep the value."},
        "is_secret": {"type": "boolean", "description": "Default: from the name (KEY, TOKEN, ...) or kept."},
        "services": {
            "type": ["array", "null"],
            "items": {"type": "string"},
            "description": "The service names it applies to; null or left out: every service.",
        },
        "apply": {"type": "boolean", "description": "Deploy the services it changes now (default false)."},
    },
    "additionalProperties": False,
}


@routes.add("GET", "/tenants/{tenant_id}/env", scope="tenants:read", summary="Env vars; secret values masked.")
async def get_env(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    return call.ok(await call.platform.env.listing(tenant))


@routes.add(
    "PUT",
    "/tenants/{tenant_id}/env",
    scope="tenants:write",
    body=ENV_BODY,
    query=(APPLY,),
    errors=(409, 422),
    summary="Replace all env vars (a flat string map); applied on the next deploy, or now with apply=true.",
)
async def put_env(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    apply = call.read(APPLY)
    return call.ok(await call.platform.env.replace_all(tenant, await call.body(), apply))


@routes.add(
    "GET",
    "/tenants/{tenant_id}/env/{key}",
    scope="tenants:read",
    query=(REVEAL,),
    summary="One env var with is_secret and services; reveal=true shows a secret (needs secrets:read).",
)
async def get_variable(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    return call.ok(await call.platform.env.get(call.who, tenant, call.param("key"), call.read(REVEAL)))


@routes.add(
    "PUT",
    "/tenants/{tenant_id}/env/{key}",
    scope="tenants:write",
    body=VARIABLE_BODY,
    errors=(422,),
    summary="Set one env var, its secrecy and the services it applies to.",
)
async def put_variable(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    shown, queued = await call.platform.env.put(tenant, call.param("key"), await call.body())
    return call.ok({**shown, "deployments": [render.deployment(d, tenant.id) for d in queued]})


@routes.add(
    "DELETE",
    "/tenants/{tenant_id}/env/{key}",
    scope="tenants:write",
    query=(APPLY,),
    status=204,
    summary="Remove one env var; with apply=true the services it reached deploy again.",
)
async def delete_variable(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    await call.platform.env.delete(tenant, call.param("key"), call.read(APPLY))
    return call.empty(204)
