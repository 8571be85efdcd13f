"""Declaring endpoints, and the one pipeline every request goes through.

The pipeline: authenticate (401), rate-limit per key and bucket (429), check the
endpoint's scope (403), run the handler, and put the rate-limit headers and the
request id on whatever comes back, errors included. An unexpected exception becomes a
500 in the error envelope with the request id, and is logged with its traceback.
"""

from __future__ import annotations

import json
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from staxad.api import responses
from staxad.api.ratelimit import RateLimiter
from staxad.config import Settings
from staxad.core.platform import Platform
from staxad.core.tenants import parse_page
from staxad.model import scopes
from staxad.model.errors import ApiError, Forbidden, RateLimited, ValidationError
from staxad.model.query import BoolParam, IntParam, QueryParam, TextParam
from staxad.model.records import Principal
from staxad.model.validation import MAX_INT_DIGITS, ascii_int

log = logging.getLogger("staxad.api")


@dataclass
class Call:
    request: Request
    platform: Platform
    settings: Settings
    request_id: str
    who: Principal
    headers: dict[str, str] = field(default_factory=dict)

    def param(self, name: str) -> str:
        value: str = self.request.path_params[name]
        return value

    def query(self) -> dict[str, str]:
        return dict(self.request.query_params)

    def page(self) -> tuple[int, int]:
        """`limit` and `offset`, or a 400 naming the bad one."""
        errors: dict[str, str] = {}
        limit, offset = parse_page(self.query(), errors)
        if errors:
            raise ValidationError("Invalid query parameters.", {"fields": errors})
        return limit, offset

    def read(self, param: IntParam | BoolParam | TextParam) -> Any:
        """One query parameter, or a 400 naming it."""
        errors: dict[str, str] = {}
        value = param.read(self.query(), errors)
        if errors:
            raise ValidationError(f"Invalid {param.name}: {errors[param.name]}.", {"fields": errors})
        return value

    async def body(self, optional: bool = False) -> object:
        """The JSON body; with `optional`, an empty body reads as `{}`."""
        return await read_json(self.request, self.settings.server.max_body_bytes, optional)

    def ok(self, data: Any, status: int = 200) -> Response:
        return responses.resource(data, self.request_id, status, self.headers)

    def ok_encoded(self, data: bytes) -> Response:
        return responses.resource_encoded(data, self.request_id, self.headers)

    def listing(self, data: list[Any], total: int, limit: int, offset: int) -> Response:
        return responses.listing(data, total, limit, offset, self.headers)

    def empty(self, status: int) -> Response:
        return responses.empty(status, self.headers)


Handler = Callable[[Call], Awaitable[Response]]
ANONYMOUS = Principal(provider_id="", key_id="", mode="live", scopes=())
CLIENT_CLOSED_REQUEST = 499


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    scope: str | None  # None: no key needed
    rate: str
    summary: str
    status: int
    body: dict[str, Any] | None = None
    query: tuple[QueryParam, ...] = ()
    content: dict[str, Any] | None = None  # media type -> schema, when not a JSON envelope
    errors: tuple[int, ...] = ()  # statuses beyond every endpoint's 400/401/403/404/429


class Routes:
    """Endpoints of one resource group, declared with decorators."""

    def __init__(self) -> None:
        self.endpoints: list[Endpoint] = []

    def add(
        self,
        method: str,
        path: str,
        *,
        scope: str | None,
        summary: str,
        status: int = 200,
        rate: str = "default",
        body: dict[str, Any] | None = None,
        query: tuple[QueryParam, ...] = (),
        content: dict[str, Any] | None = None,
        errors: tuple[int, ...] = (),
    ) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(method, path, handler, scope, rate, summary, status, body, query, content, errors)
            )
            return handler

        return register


async def read_json(request: Request, max_bytes: int, optional: bool = False) -> object:
    raw = await read_bytes(request, max_bytes)
    if not raw.strip():
        if optional:
            return {}
        raise ValidationError("The request body is empty; send a JSON object.")
    return parse_json(raw)


def parse_json(raw: bytes) -> object:
    try:
        return json.loads(raw, parse_int=_bounded_int)
    except ValueError as exc:  # bad JSON, bad UTF-8, or a number _bounded_int refused
        raise ValidationError(f"The request body is not valid JSON: {exc}.") from None
    except RecursionError:
        raise ValidationError("The request body is nested too deeply.") from None


async def read_bytes(request: Request, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    size_declared = None if declared is None else ascii_int(declared.strip())
    if declared is not None and (size_declared is None or size_declared > max_bytes):
        raise _too_large(max_bytes)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise _too_large(max_bytes)
        chunks.append(chunk)
    return b"".join(chunks)


def _bounded_int(text: str) -> int:
    """JSON integers up to MAX_INT_DIGITS digits: longer ones cost time to convert (and past
    4300 digits Python refuses them), and no field takes them."""
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"a number has more than {MAX_INT_DIGITS} digits")
    return int(text)


def _too_large(max_bytes: int) -> ValidationError:
    return ValidationError(f"The request body is larger than {max_bytes} bytes.", {"max_body_bytes": max_bytes})


def new_request_id() -> str:
    # Correlates log lines; it guards nothing, so it skips the urandom syscall per request.
    return f"req_{random.getrandbits(64):016x}"


class Pipeline:
    def __init__(self, platform: Platform, settings: Settings, limiter: RateLimiter) -> None:
        self.platform = platform
        self.settings = settings
        self.limiter = limiter

    def wrap(self, endpoint: Endpoint) -> Served:
        # Every endpoint counts on its own, as the contract's table says; the rate class
        # only picks the limit, so two endpoints of one class never share a count.
        bucket = f"{endpoint.method} {endpoint.path}"
        limit_class = endpoint.rate
        metric_label = limit_class if limit_class != "default" else bucket  # the names dashboards know

        metrics = self.platform.ctx.metrics
        latency = metrics.latency.labels(endpoint.method, endpoint.path)
        counted: dict[int, Any] = {}  # status -> its counter: labels() costs a lock and a lookup per call

        async def run(request: Request) -> Response:
            began = time.perf_counter()
            response = await handle(request)
            counter = counted.get(response.status_code)
            if counter is None:
                counter = counted[response.status_code] = metrics.requests.labels(
                    endpoint.method, endpoint.path, str(response.status_code)
                )
            counter.inc()
            latency.observe(time.perf_counter() - began)
            if response.status_code == 429:
                metrics.rate_limited.labels(metric_label).inc()
            return response

        async def handle(request: Request) -> Response:
            request_id = new_request_id()
            headers = {"X-Request-Id": request_id}
            try:
                if endpoint.scope is None:
                    who = ANONYMOUS
                    decision = self.limiter.hit(
                        _client(request), "unauthenticated", self.limiter.limit_of("unauthenticated")
                    )
                else:
                    try:
                        who = await self.platform.keys.authenticate(request.headers.get("authorization"))
                    except ApiError:
                        decision = self.limiter.hit(
                            _client(request), "unauthenticated", self.limiter.limit_of("unauthenticated")
                        )
                        headers.update(decision.headers())
                        if not decision.allowed:
                            raise _rate_limited(decision.retry_after) from None
                        raise
                    decision = self.limiter.hit(who.key_id, bucket, self.limiter.limit_of(limit_class))
                headers.update(decision.headers())
                if not decision.allowed:
                    raise _rate_limited(decision.retry_after)
                if endpoint.scope is not None and not scopes.grants(who.scopes, endpoint.scope):
                    raise Forbidden(
                        f"This API key lacks the '{endpoint.scope}' scope needed for "
                        f"{endpoint.method} {endpoint.path}.",
                        {"required_scope": endpoint.scope},
                    )
                call = Call(request, self.platform, self.settings, request_id, who, headers)
                return await endpoint.handler(call)
            except ApiError as exc:
                return responses.error(exc, headers)
            except ClientDisconnect:
                # Nothing was changed (handlers read the whole body before they write), and
                # nobody is there to answer: 499, as nginx logs a client that closed early.
                log.info(
                    "request %s %s: the client went away before sending its body", request.method, request.url.path
                )
                return Response(None, CLIENT_CLOSED_REQUEST, headers)
            except Exception:
                log.exception("request %s %s failed (request id %s)", request.method, request.url.path, request_id)
                return responses.internal_error(request_id, headers)

        return Served(run, endpoint.handler.__name__)


class Served:
    """An endpoint as a plain ASGI app. Given a function, Starlette wraps each request in
    handlers for the exceptions it knows (two closures, and a wrapper around every send);
    the pipeline answers every exception itself, so those would only cost time."""

    def __init__(self, run: Callable[[Request], Awaitable[Response]], name: str) -> None:
        self.run = run
        self.__name__ = name  # the route's name, as Starlette takes it from a function

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self.run(Request(scope, receive, send))
        await response(scope, receive, send)


def _client(request: Request) -> str:
    return "ip:" + (request.client.host if request.client else "unknown")


def _rate_limited(retry_after: int) -> RateLimited:
    return RateLimited(f"Rate limit exceeded; retry in {retry_after} s.", {"retry_after": retry_after})
