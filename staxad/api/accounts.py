"""Register, Get Account, Update Account."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.responses import Response

from staxad.api import render
from staxad.api.endpoint import Call, Routes
from staxad.api.streams import OPEN_STREAMS
from staxad.core.accounts import NAME_MAX

routes = Routes()

REGISTER_BODY = {
    "type": "object",
    "required": ["email"],
    "additionalProperties": False,
    "properties": {"email": {"type": "string", "format": "email"}, "name": {"type": "string", "maxLength": NAME_MAX}},
}
ACCOUNT_BODY = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"name": {"type": ["string", "null"], "minLength": 1, "maxLength": NAME_MAX}},
}


@routes.add(
    "POST",
    "/register",
    scope="admin",
    status=201,
    body=REGISTER_BODY,
    summary="Register a provider (idempotent: 201 new, 200 existing). Needs the admin scope.",
)
async def register(call: Call) -> Response:
    provider, created = await call.platform.accounts.register_body(await call.body())
    return call.ok(render.provider(provider), 201 if created else 200)


@routes.add("GET", "/account", scope="account", summary="The caller's provider with its tenant count.")
async def get_account(call: Call) -> Response:
    provider, count = await call.platform.accounts.get(call.who)
    return call.ok(render.provider(provider, count))


@routes.add(
    "PATCH",
    "/account",
    scope="account",
    body=ACCOUNT_BODY,
    summary="Change only the given fields of the account (every one optional).",
)
async def update_account(call: Call) -> Response:
    provider, count = await call.platform.accounts.update(call.who, await call.body(optional=True))
    return call.ok(render.provider(provider, count))


@routes.add(
    "GET",
    "/metrics",
    scope="admin",
    content={"text/plain": {"type": "string"}},
    summary="Prometheus metrics of this staxad (text exposition format); admin keys only.",
)
async def metrics(call: Call) -> Response:
    ctx = call.platform.ctx
    ctx.metrics.set_tenants(await call.platform.tenants.count_by_status())
    for kind, count in OPEN_STREAMS.items():
        ctx.metrics.streams.labels(kind).set(count)
    return Response(ctx.metrics.render(), media_type=CONTENT_TYPE_LATEST, headers=call.headers)
