"""Registry credentials (the contract's Registry Credentials group)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from staxad.api.endpoint import Call, Routes
from staxad.model.query import IntParam, TextParam
from staxad.model.registries import Registry

routes = Routes()
QUERY = TextParam("q", 100)
LIMIT = IntParam("limit", 25, 1, 100)
BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "maxLength": 100},
        "registry_url": {"type": "string", "maxLength": 512},
        "username": {"type": "string", "maxLength": 255},
        "password": {"type": "string", "maxLength": 4096, "writeOnly": True},
    },
}
CREATE_BODY = {**BODY, "required": ["name", "registry_url", "username", "password"]}


def registry(r: Registry, listing: bool = True) -> dict[str, Any]:
    shown: dict[str, Any] = {
        "id": r.id,
        "name": r.name,
        "registry_url": r.registry_url,
        "username": r.username,
        "verified": r.verified,
        "mode": r.mode,
    }
    if listing:
        shown["created_at"] = r.created_at
    else:
        shown["verify_error"] = r.verify_error
    return shown


@routes.add("GET", "/registries", scope="registries", summary="Saved registry credentials (never a password).")
async def list_registries(call: Call) -> Response:
    data = [registry(r) for r in await call.platform.registries.of(call.who)]
    return call.listing(data, len(data), len(data), 0)


@routes.add(
    "POST",
    "/registries",
    scope="registries",
    status=201,
    body=CREATE_BODY,
    errors=(422,),
    summary="Save a credential; the password is sealed at rest and never shown again.",
)
async def create_registry(call: Call) -> Response:
    return call.ok(registry(await call.platform.registries.create(call.who, await call.body())), 201)


@routes.add("GET", "/registries/{cred_id}", scope="registries", summary="One credential (never its password).")
async def get_registry(call: Call) -> Response:
    return call.ok(registry(await call.platform.registries.get(call.who, call.param("cred_id")), listing=False))


@routes.add(
    "PATCH",
    "/registries/{cred_id}",
    scope="registries",
    body=BODY,
    summary="Change a credential; verified goes back to false until verified again.",
)
async def update_registry(call: Call) -> Response:
    changed = await call.platform.registries.update(call.who, call.param("cred_id"), await call.body())
    return call.ok(registry(changed, listing=False))


@routes.add("DELETE", "/registries/{cred_id}", scope="registries", status=204, summary="Delete a credential.")
async def delete_registry(call: Call) -> Response:
    await call.platform.registries.delete(call.who, call.param("cred_id"))
    return call.empty(204)


@routes.add(
    "POST",
    "/registries/{cred_id}/verify",
    scope="registries",
    errors=(422,),
    summary="Log in to the registry with the credential and record whether it worked.",
)
async def verify_registry(call: Call) -> Response:
    ok, error = await call.platform.registries.verify(call.who, call.param("cred_id"))
    return call.ok({"status": "verified" if ok else "failed", **({"error": error} if error else {})})


@routes.add(
    "GET",
    "/registries/{cred_id}/repos",
    scope="registries",
    query=(QUERY, LIMIT),
    errors=(422,),
    summary="Repositories in the registry whose name contains q, with their tag counts.",
)
async def list_repos(call: Call) -> Response:
    found = await call.platform.registries.repositories(
        call.who, call.param("cred_id"), call.read(QUERY) or "", call.read(LIMIT)
    )
    return call.ok([{"name": name, "tag_count": count} for name, count in found])


@routes.add(
    "GET",
    "/registries/{cred_id}/repos/{repo:path}/tags",
    scope="registries",
    errors=(422,),
    summary="Tags of a repository (its path may contain slashes) with digest and size.",
)
async def list_tags(call: Call) -> Response:
    found = await call.platform.registries.tags(call.who, call.param("cred_id"), call.param("repo"))
    return call.ok([{"name": name, "digest": digest, "size": size} for name, digest, size in found])
