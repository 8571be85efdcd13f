"""The GitHub App group: the provider's installation, its repositories and branches, and
the webhook GitHub delivers pushes to (authenticated by its signature, not by a key)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from staxad.api.endpoint import Call, Routes, parse_json, read_bytes
from staxad.model.github import OAUTH_CODE, Installation

routes = Routes()
# GitHub's push payloads carry every commit's metadata; 25 MB is GitHub's own cap, a push
# of a few hundred commits fits in far less.
MAX_PAYLOAD = 4 << 20
REGISTER_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["installation_id"],
    "additionalProperties": False,
    "properties": {
        "installation_id": {"type": "integer", "minimum": 1, "description": "From the app's installation callback."},
        "code": {
            "type": "string",
            "maxLength": 100,
            "pattern": f"^{OAUTH_CODE.pattern}$",
            "description": (
                "The OAuth code GitHub adds to the app's callback URL beside installation_id (single use, "
                "ten minutes). Required when the host has the app's OAuth client (github.client_id): its "
                "GitHub user must be able to access the installation, else 403."
            ),
        },
        "state": {
            "type": "string",
            "maxLength": 1000,
            "description": "The state GET /github/install gave this key, as GitHub hands it back; required with code.",
        },
    },
}


def installation(found: Installation) -> dict[str, Any]:
    return {
        "installation_id": found.installation_id,
        "account": found.account,
        "status": found.status,
        "created_at": found.created_at,
    }


@routes.add("GET", "/github/installation", scope="github", summary="The provider's GitHub App installation.")
async def get_installation(call: Call) -> Response:
    return call.ok(installation(await call.platform.github.get(call.who)))


@routes.add(
    "GET",
    "/github/install",
    scope="github",
    summary="A state bound to this key for the installation's callback, and the links to GitHub that carry it.",
)
async def install_state(call: Call) -> Response:
    return call.ok(call.platform.github.install_state(call.who))


@routes.add(
    "POST",
    "/github/installation",
    scope="github",
    status=201,
    body=REGISTER_BODY,
    errors=(409, 422),
    summary="Register the provider's GitHub App installation, proven by the install's OAuth code; "
    "its account is read from GitHub.",
)
async def register_installation(call: Call) -> Response:
    return call.ok(installation(await call.platform.github.register(call.who, await call.body())), 201)


@routes.add("DELETE", "/github/installation", scope="github", status=204, summary="Forget the installation.")
async def delete_installation(call: Call) -> Response:
    await call.platform.github.delete(call.who)
    return call.empty(204)


@routes.add("GET", "/github/repos", scope="github", errors=(422,), summary="Repositories the installation can reach.")
async def list_repos(call: Call) -> Response:
    return call.ok(await call.platform.github.repositories(call.who))


@routes.add(
    "GET",
    "/github/repos/{owner}/{repo}/branches",
    scope="github",
    errors=(422,),
    summary="Branches of one of the installation's repositories.",
)
async def list_branches(call: Call) -> Response:
    return call.ok(await call.platform.github.branches(call.who, call.param("owner"), call.param("repo")))


@routes.add(
    "POST",
    "/github/webhook",
    scope=None,
    status=202,
    errors=(401,),
    summary="GitHub's deliveries, signed (X-Hub-Signature-256); a push deploys the services it names.",
)
async def webhook(call: Call) -> Response:
    raw = await read_bytes(call.request, MAX_PAYLOAD)
    headers = {k.lower(): value for k, value in call.request.headers.items()}
    return call.ok(await call.platform.github.webhook(headers, raw, parse_json), 202)
