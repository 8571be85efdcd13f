"""Webhook endpoints of the provider, their secrets and their deliveries."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from staxad.api.endpoint import Call, Routes
from staxad.model.events import PATTERNS
from staxad.model.query import PAGE
from staxad.model.webhooks import Delivery, Webhook

routes = Routes()
EVENTS = {
    "type": "array",
    "minItems": 1,
    "items": {"type": "string", "enum": list(PATTERNS)},
    "description": "Event types or patterns: 'deployment.*', 'tenant.ready', '*'.",
}
CREATE_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["url", "events"],
    "additionalProperties": False,
    "properties": {"url": {"type": "string", "maxLength": 2048}, "events": EVENTS, "enabled": {"type": "boolean"}},
}
PATCH_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"url": {"type": "string", "maxLength": 2048}, "events": EVENTS, "enabled": {"type": "boolean"}},
}


def webhook(w: Webhook) -> dict[str, Any]:
    return {
        "id": w.id,
        "url": w.url,
        "events": list(w.events),
        "enabled": w.enabled,
        "mode": w.mode,
        "failing_since": w.failing_since,
        "disabled_reason": w.disabled_reason,
        "created_at": w.created_at,
        "updated_at": w.updated_at,
    }


def delivery(d: Delivery) -> dict[str, Any]:
    return {
        "id": f"dlv_{d.id}",
        "event_id": f"evt_{d.event_id}",
        "event": d.event_type,
        "status": d.status,
        "attempts": d.attempts,
        "response_code": d.response_code,
        "error": d.error,
        "duration_ms": d.duration_ms,
        "next_attempt_at": d.next_attempt_at if d.status == "pending" else None,
        "created_at": d.created_at,
        "finished_at": d.finished_at,
    }


@routes.add("GET", "/webhooks", scope="webhooks", summary="The provider's webhook endpoints.")
async def list_webhooks(call: Call) -> Response:
    data = [webhook(w) for w in await call.platform.webhooks.of(call.who)]
    return call.listing(data, len(data), len(data), 0)


@routes.add(
    "POST",
    "/webhooks",
    scope="webhooks",
    status=201,
    body=CREATE_BODY,
    errors=(422,),
    summary="Register an endpoint; its signing secret is shown only in this answer.",
)
async def create_webhook(call: Call) -> Response:
    made, secret = await call.platform.webhooks.create(call.who, await call.body())
    return call.ok({**webhook(made), "secret": secret}, 201)


@routes.add("GET", "/webhooks/{webhook_id}", scope="webhooks", summary="One endpoint.")
async def get_webhook(call: Call) -> Response:
    return call.ok(webhook(await call.platform.webhooks.get(call.who, call.param("webhook_id"))))


@routes.add(
    "PATCH",
    "/webhooks/{webhook_id}",
    scope="webhooks",
    body=PATCH_BODY,
    summary="Change the URL, the events, or enable it again (which forgets past failures).",
)
async def update_webhook(call: Call) -> Response:
    changed = await call.platform.webhooks.update(call.who, call.param("webhook_id"), await call.body())
    return call.ok(webhook(changed))


@routes.add("DELETE", "/webhooks/{webhook_id}", scope="webhooks", status=204, summary="Delete an endpoint.")
async def delete_webhook(call: Call) -> Response:
    await call.platform.webhooks.delete(call.who, call.param("webhook_id"))
    return call.empty(204)


@routes.add(
    "POST",
    "/webhooks/{webhook_id}/rotate-secret",
    scope="webhooks",
    summary="A new signing secret, shown once; the old one also signs for 24 hours.",
)
async def rotate_secret(call: Call) -> Response:
    secret = await call.platform.webhooks.rotate(call.who, call.param("webhook_id"))
    return call.ok({"id": call.param("webhook_id"), "secret": secret})


@routes.add(
    "GET",
    "/webhooks/{webhook_id}/deliveries",
    scope="webhooks",
    query=PAGE,
    summary="Deliveries, newest first: status, response code, duration, attempts.",
)
async def list_deliveries(call: Call) -> Response:
    limit, offset = call.page()
    found, total = await call.platform.webhooks.deliveries(call.who, call.param("webhook_id"), limit, offset)
    return call.listing([delivery(d) for d in found], total, limit, offset)


@routes.add(
    "POST",
    "/webhooks/{webhook_id}/deliveries/{delivery_id}/redeliver",
    scope="webhooks",
    status=202,
    summary="Send a delivery again, after what is already queued for the endpoint.",
)
async def redeliver(call: Call) -> Response:
    again = await call.platform.webhooks.redeliver(call.who, call.param("webhook_id"), call.param("delivery_id"))
    return call.ok(delivery(again), 202)
