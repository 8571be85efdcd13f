"""The contract's three envelopes, and the one table from error class to status."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from staxad.model import errors

STATUS: dict[type[errors.ApiError], int] = {
    errors.ValidationError: 400,
    errors.Unauthorized: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.MethodNotAllowed: 405,
    errors.Conflict: 409,
    errors.Unprocessable: 422,
    errors.LimitExceeded: 422,
    errors.RateLimited: 429,
}


def _json(payload: Any, status: int, headers: Mapping[str, str] | None) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status, headers=dict(headers or {}), media_type="application/json")


def resource(data: Any, request_id: str, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    return _json({"data": data, "meta": {"request_id": request_id}}, status, headers)


def encoded(data: Any) -> bytes:
    """`data` as it goes into an envelope, for answers kept encoded (staxad.core.reads)."""
    return json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()


def resource_encoded(data: bytes, request_id: str, headers: Mapping[str, str] | None = None) -> Response:
    """`resource` for data already encoded; the envelope around it is the same bytes."""
    body = b'{"data":' + data + b',"meta":{"request_id":' + json.dumps(request_id).encode() + b"}}"
    return Response(body, 200, headers=dict(headers or {}), media_type="application/json")


def listing(data: list[Any], total: int, limit: int, offset: int, headers: Mapping[str, str] | None = None) -> Response:
    return _json({"data": data, "meta": {"total": total, "limit": limit, "offset": offset}}, 200, headers)


def error(exc: errors.ApiError, headers: Mapping[str, str] | None = None) -> Response:
    return _json(
        {"error": {"code": exc.code, "message": exc.message, "details": exc.details}},
        STATUS.get(type(exc), 400),
        headers,
    )


def internal_error(request_id: str, headers: Mapping[str, str] | None = None) -> Response:
    payload = {
        "error": {
            "code": "internal_error",
            "message": f"Internal error; the daemon log has the details under request id {request_id}.",
            "details": {"request_id": request_id},
        }
    }
    return _json(payload, 500, headers)


def empty(status: int, headers: Mapping[str, str] | None = None) -> Response:
    return Response(None, status, headers=dict(headers or {}))
