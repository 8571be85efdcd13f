"""Events (SSE, replayable from Last-Event-ID) and container logs (text, or SSE with follow).

Every stream is capped, re-checks its key and encodes output as staxad.api.sse says."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
from collections import Counter
from collections.abc import AsyncGenerator, AsyncIterator

from starlette.responses import Response

from staxad.api import sse
from staxad.api.endpoint import Call, Routes
from staxad.model import query
from staxad.model.errors import PermanentError, RateLimited, TemporaryError, ValidationError
from staxad.model.lifecycle import DeploymentStatus
from staxad.model.validation import ascii_int

routes = Routes()
KEEPALIVE_SECONDS = 15.0
POLL_SECONDS = 0.2
# An event stream wakes when this process appends one of its tenant's events; this long
# without one it reads again anyway (an event written by another process).
EVENTS_WAIT_SECONDS = 1.0
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


# Streams being served now, by kind; each one's generator ends when its client goes.
OPEN_STREAMS: Counter[str] = Counter()


def _sse(call: Call, kind: str, body: AsyncGenerator[bytes, None]) -> Response:
    slots: sse.StreamSlots = call.request.app.state.stream_slots
    try:
        release = slots.take(call.who.provider_id)
    except RateLimited:
        call.headers["Retry-After"] = str(sse.RETRY_AFTER_SECONDS)
        raise
    authorization = call.request.headers.get("authorization")

    async def key_still_valid() -> None:
        await call.platform.keys.authenticate(authorization)

    async def tracked() -> AsyncIterator[bytes]:
        OPEN_STREAMS[kind] += 1
        try:
            async for chunk in sse.while_valid(body, key_still_valid):
                yield chunk
        finally:
            OPEN_STREAMS[kind] -= 1

    return sse.HeldStream(tracked(), {**call.headers, **SSE_HEADERS}, release)


TENANT_LINES, SERVICE_LINES = query.lines(200), query.lines(100)
REPLAY_EVENTS = 100  # what a stream without Last-Event-ID or `since` shows of the past
# Event-stream schemas describe one event's fields (OpenAPI 3.2's reading of text/event-stream).
LINE_EVENT = {"type": "object", "properties": {"data": {"type": "string"}, "event": {"const": "end"}}}
TEXT_OR_LINES = {"text/plain": {"type": "string"}, "text/event-stream": LINE_EVENT}  # SSE: a line each
PAYLOAD = {  # the data of each tenant event, as `tenant_events` writes it
    "type": "object",
    "required": ["id", "type", "message", "tenant_id", "timestamp"],
    "properties": {
        "id": {"type": "integer"},
        "type": {"type": "string"},
        "stage": {"type": ["string", "null"]},
        "message": {"type": "string"},
        "deployment_id": {"type": ["string", "null"]},
        "service": {"type": ["string", "null"]},
        "tenant_id": {"type": "string"},
        "timestamp": {"type": "string", "format": "date-time"},
    },
}
EVENT = {
    "type": "object",
    "required": ["id", "event", "data"],
    "properties": {
        "id": {"type": "string", "pattern": "^[0-9]+$"},
        "event": {"type": "string"},
        "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": PAYLOAD},
    },
}


@routes.add(
    "GET",
    "/tenants/{tenant_id}/events",
    scope="tenants:read",
    rate="events",
    content={"text/event-stream": EVENT},
    query=(query.SINCE,),
    summary="Server-Sent Events of every stage change; replays after Last-Event-ID or since, else the newest 100.",
)
async def tenant_events(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    last_event_id = call.request.headers.get("last-event-id")
    since = call.read(query.SINCE) if last_event_id is None else ascii_int(last_event_id)
    if last_event_id is None and "since" not in call.query():  # no start named: the recent ones
        since = await call.platform.tenants.recent_events_start(tenant, REPLAY_EVENTS)
    if since is None:
        raise ValidationError("Last-Event-ID must be an event id (an integer).", {"fields": {"since": "event id"}})

    async def stream() -> AsyncGenerator[bytes, None]:
        loop = asyncio.get_running_loop()
        last = since
        quiet_since = loop.time()
        yield b": connected\n\n"
        while True:
            keepalive_due = quiet_since + KEEPALIVE_SECONDS - loop.time()
            wait = min(EVENTS_WAIT_SECONDS, max(keepalive_due, 0.0))
            batch = await call.platform.tenants.events_since(tenant, last, wait=wait)
            for event in batch:
                last = event.id
                payload = {
                    "id": event.id,
                    "type": event.type,
                    "stage": event.stage,
                    "message": event.message,
                    "deployment_id": event.deployment_id,
                    "service": event.service_name,
                    "tenant_id": event.tenant_id,
                    "timestamp": event.created_at,
                }
                yield f"id: {event.id}\nevent: {event.type}\n".encode() + sse.data_lines(json.dumps(payload).encode())
                if event.type == "tenant.deleted":
                    return
            if batch:
                quiet_since = loop.time()
            elif loop.time() - quiet_since >= KEEPALIVE_SECONDS:
                quiet_since = loop.time()
                yield b": keep-alive\n\n"

    return _sse(call, "events", stream())


async def logs_response(call: Call, lines_param: query.IntParam, service_name: str | None) -> Response:
    """One service's output, or (no service named) every service's, lines prefixed `[name] `."""
    lines, follow = call.read(lines_param), call.read(query.FOLLOW)
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    services = call.platform.services
    service = services.find(tenant, service_name) if service_name else None
    if not follow:
        text = await services.logs(tenant, lines, service)
        return Response(text, media_type="text/plain; charset=utf-8", headers=call.headers)

    async def stream() -> AsyncGenerator[bytes, None]:
        yield b": following\n\n"
        async for line in services.follow(tenant, lines, service):
            yield sse.data_lines(line.rstrip(b"\r\n"))

    return _sse(call, "logs", stream())


SERVICE = query.TextParam("service", 63)


@routes.add(
    "GET",
    "/tenants/{tenant_id}/logs",
    scope="tenants:read",
    query=(TENANT_LINES, query.FOLLOW, SERVICE),
    content=TEXT_OR_LINES,
    summary="Container output of every service, each line prefixed [service] (text/plain; SSE with "
    "follow=true); service= picks one.",
)
async def tenant_logs(call: Call) -> Response:
    return await logs_response(call, TENANT_LINES, call.read(SERVICE))


@routes.add(
    "GET",
    "/tenants/{tenant_id}/services/{service_name}/logs",
    scope="tenants:read",
    query=(SERVICE_LINES, query.FOLLOW),
    content=TEXT_OR_LINES,
    summary="One service's container output (text/plain; SSE with follow=true).",
)
async def service_logs(call: Call) -> Response:
    return await logs_response(call, SERVICE_LINES, call.param("service_name"))


@routes.add(
    "GET",
    "/tenants/{tenant_id}/deployments/{deployment_id}/logs",
    scope="tenants:read",
    query=(query.FOLLOW,),
    content=TEXT_OR_LINES,
    summary="A deployment's build log (text/plain; SSE with follow=true until the build ends).",
)
async def build_logs(call: Call) -> Response:
    follow = call.read(query.FOLLOW)
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    deployments = call.platform.deployments
    found = await deployments.get(call.who, tenant, call.param("deployment_id"))
    if not follow:
        return Response(deployments.build_log(found), media_type="text/plain; charset=utf-8", headers=call.headers)

    async def stream() -> AsyncGenerator[bytes, None]:
        offset, pending = 0, b""
        yield b": following\n\n"
        while True:
            current = await deployments.get(call.who, tenant, found.id)
            chunk = deployments.build_log(found, offset)
            offset += len(chunk)
            *complete, pending = (pending + chunk).split(b"\n")
            for line in complete:
                yield sse.data_lines(line)
            if not chunk and current.status not in (DeploymentStatus.QUEUED, DeploymentStatus.BUILDING):
                if pending:
                    yield sse.data_lines(pending)
                yield b"event: end\n" + sse.data_lines(current.status.encode())
                return
            if not chunk:
                await asyncio.sleep(POLL_SECONDS)

    return _sse(call, "build-logs", stream())


EXEC_BODY = {
    "type": "object",
    "required": ["command"],
    "additionalProperties": False,
    "properties": {
        "command": {
            "type": "array",
            "minItems": 1,
            "maxItems": 64,
            "items": {"type": "string", "maxLength": 4096},
            "description": 'An argv, run as it is (no shell; use ["sh", "-c", "..."] for one).',
        },
        "timeout_seconds": {"type": "integer", "minimum": 1, "description": "Default and most: exec.timeout_seconds."},
    },
}
EXEC_EVENT = {
    "type": "object",
    "properties": {
        "event": {"enum": ["stdout", "stderr", "exit", "error"]},
        "data": {
            "type": "string",
            "description": 'Output as it came; exit: {"exit_code", "stopped"}; error: {"code", "message"}.',
        },
    },
}


@routes.add(
    "POST",
    "/tenants/{tenant_id}/services/{service_name}/exec",
    scope="exec",
    rate="exec",
    body=EXEC_BODY,
    content={"text/event-stream": EXEC_EVENT},
    errors=(409, 422),
    summary="Run a command in the service's running container; its output as SSE (stdout, stderr, then exit). "
    "Needs the exec scope, which * does not give.",
)
async def exec_command(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    output = await call.platform.execs.run(call.who, tenant, call.param("service_name"), await call.body())

    async def stream() -> AsyncGenerator[bytes, None]:
        decoders = {kind: codecs.getincrementaldecoder("utf-8")("replace") for kind in ("stdout", "stderr")}
        try:
            async with contextlib.aclosing(output) as chunks:
                async for kind, chunk in chunks:
                    if kind in decoders:
                        yield f"event: {kind}\n".encode() + sse.data_lines(decoders[kind].decode(chunk).encode())
                        continue
                    code = int(chunk) if kind == "exit" and chunk.lstrip(b"-").isdigit() else None
                    stopped = chunk.decode() if kind == "stopped" else None
                    yield b"event: exit\n" + sse.data_lines(
                        json.dumps({"exit_code": code, "stopped": stopped}).encode()
                    )
        except (PermanentError, TemporaryError) as exc:
            error = {"code": "exec_failed", "message": str(exc)}
            yield b"event: error\n" + sse.data_lines(json.dumps(error).encode())

    return _sse(call, "exec", stream())
