"""The OpenAPI 3.1 document, generated from the same endpoint list the router uses."""

from __future__ import annotations

import re
from typing import Any

from staxad import __version__
from staxad.api.endpoint import Endpoint
from staxad.model.query import LIMIT
from staxad.model.scopes import SCOPES

ERROR = {"$ref": "#/components/schemas/Error"}
ERROR_CODES = {
    "400": "Validation error",
    "401": "Missing, invalid, revoked or expired key",
    "403": "The key lacks the endpoint's scope",
    "404": "Not found (or another provider's)",
    "429": "Rate limited; see Retry-After",
}


def shown_path(path: str) -> str:
    """A route's path as documents show it: `{repo:path}` (Starlette's convertor) is `{repo}`."""
    return re.sub(r"{(\w+):\w+}", r"{\1}", path)


def document(endpoints: list[Endpoint], base: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for ep in endpoints:
        operation: dict[str, Any] = {
            "operationId": ep.handler.__name__,
            "summary": ep.summary,
            "parameters": [
                {"name": name, "in": "path", "required": True, "schema": {"type": "string", "minLength": 1}}
                for name in re.findall(r"{(\w+)(?::\w+)?}", ep.path)
            ]
            + [{"name": param.name, "in": "query", "schema": param.schema()} for param in ep.query],
            "responses": _responses(ep),
        }
        if ep.scope is None:
            operation["security"] = []
        else:
            operation["x-staxad-scope"] = ep.scope
        operation["x-staxad-rate-class"] = ep.rate
        if ep.body is not None:
            operation["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": ep.body}},
            }
        paths.setdefault(base + shown_path(ep.path), {})[ep.method.lower()] = operation
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "staxad API",
            "version": __version__,
            "description": "The Staxa API, served by staxad on one host. Scopes: "
            + "; ".join(f"{k}: {v}" for k, v in SCOPES.items()),
        },
        "paths": paths,
        "components": {
            "securitySchemes": {
                "apiKey": {"type": "http", "scheme": "bearer", "bearerFormat": "sk_live_... / sk_test_..."}
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {
                        "error": {
                            "type": "object",
                            "required": ["code", "message", "details"],
                            "properties": {
                                "code": {"type": "string"},
                                "message": {"type": "string"},
                                "details": {"type": "object"},
                            },
                        }
                    },
                },
                "Resource": {
                    "type": "object",
                    "required": ["data", "meta"],
                    "properties": {
                        "data": {},
                        "meta": {"type": "object", "properties": {"request_id": {"type": "string"}}},
                    },
                },
                "List": {
                    "type": "object",
                    "required": ["data", "meta"],
                    "properties": {
                        "data": {"type": "array"},
                        "meta": {
                            "type": "object",
                            "properties": {
                                "total": {"type": "integer"},
                                "limit": {"type": "integer"},
                                "offset": {"type": "integer"},
                            },
                        },
                    },
                },
            },
        },
        "security": [{"apiKey": []}],
    }


ERROR_CODES_BY_CHOICE = {
    409: "Conflicts with the current state (a name or port taken, a tenant being deleted)",
    422: "Not possible in the current state (a limit reached, a tenant not deployable)",
    401: "Not signed, or signed with another secret (endpoints authenticated by a signature, not a key)",
}


def _success_content(ep: Endpoint) -> dict[str, Any]:
    if ep.content is not None:  # text and event streams
        return {media: {"schema": schema} for media, schema in ep.content.items()}
    if ep.path == "/openapi.json":
        return {"application/json": {"schema": {"type": "object"}}}
    schema = "List" if LIMIT in ep.query else "Resource"
    return {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}}


def _responses(ep: Endpoint) -> dict[str, Any]:
    if ep.status in (202, 204) and ep.method == "DELETE":
        success: dict[str, Any] = {"description": "Accepted" if ep.status == 202 else "No Content"}
    else:
        success = {"description": "Success", "content": _success_content(ep)}
    out: dict[str, Any] = {str(ep.status): success}
    if ep.method == "POST" and ep.status == 201 and ep.path == "/register":
        out["200"] = {"description": "The provider already existed", "content": success["content"]}
    if ep.method == "DELETE" and ep.path.endswith("/network-rules/{rule_id}"):
        out["202"] = {"description": "Deleted; the firewall has not removed it yet (an event follows)"}
    error = {"content": {"application/json": {"schema": ERROR}}}
    for code, text in ERROR_CODES.items():
        if code in ("401", "403") and ep.scope is None:
            continue
        out[code] = {"description": text, **error}
    for status in ep.errors:
        out[str(status)] = {"description": ERROR_CODES_BY_CHOICE[status], **error}
    return out
