"""List, Create, Delete API keys."""

from __future__ import annotations

from starlette.responses import Response

from staxad.api import render
from staxad.api.endpoint import Call, Routes
from staxad.model.query import PAGE

routes = Routes()

KEY_BODY = {
    "type": "object",
    "required": ["name"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "maxLength": 100},
        "scopes": {"type": "array", "items": {"type": "string"}, "default": ["*"]},
        "mode": {"type": "string", "enum": ["live", "test"], "default": "live"},
        "expires_at": {
            "type": "string",
            "format": "date-time",
            "description": "In the future, and no later than the creating key's own expiry.",
        },
    },
}


@routes.add(
    "GET",
    "/api-keys",
    scope="keys",
    query=PAGE,
    summary="List the provider's API keys (prefix only, never the key).",
)
async def list_keys(call: Call) -> Response:
    limit, offset = call.page()
    keys, total = await call.platform.keys.page(call.who, limit, offset)
    return call.listing([render.api_key(k) for k in keys], total, limit, offset)


@routes.add(
    "POST",
    "/api-keys",
    scope="keys",
    rate="create_key",
    errors=(422,),
    status=201,
    body=KEY_BODY,
    summary="Create an API key; the raw key is in the response once.",
)
async def create_key(call: Call) -> Response:
    key, raw = await call.platform.keys.create_body(call.who, await call.body())
    return call.ok({**render.api_key(key), "key": raw}, 201)


@routes.add(
    "DELETE",
    "/api-keys/{key_id}",
    scope="keys",
    status=204,
    summary="Revoke an API key; it fails from the next request on.",
)
async def delete_key(call: Call) -> Response:
    await call.platform.keys.delete(call.who, call.param("key_id"))
    return call.empty(204)
