"""The Starlette application: every endpoint under /api/v1 through one pipeline, and a
fallback that answers unknown paths (404) and methods (405) in the error envelope."""

from __future__ import annotations

import json
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from staxad.api import (
    accounts,
    databases,
    domains,
    env,
    github,
    keys,
    lifecycle,
    netrules,
    openapi,
    registries,
    services,
    streams,
    templates,
    tenants,
    volumes,
    webhooks,
)
from staxad.api.endpoint import Call, Endpoint, Pipeline, Routes
from staxad.api.ratelimit import RateLimiter
from staxad.api.routing import IndexedRouter
from staxad.api.sse import StreamSlots
from staxad.config import Settings
from staxad.core.platform import Platform
from staxad.model.errors import MethodNotAllowed, NotFound
from staxad.web import pages

BASE = "/api/v1"
GROUPS = (
    accounts.routes,
    keys.routes,
    tenants.routes,
    services.routes,
    env.routes,
    lifecycle.routes,
    domains.routes,
    netrules.routes,
    volumes.routes,
    databases.routes,
    streams.routes,
    webhooks.routes,
    templates.routes,
    registries.routes,
    github.routes,
)

meta = Routes()


@meta.add("GET", "/openapi.json", scope=None, summary="This document.")
async def openapi_document(call: Call) -> Response:
    return Response(call.request.app.state.openapi_json, media_type="application/json", headers=call.headers)


def all_endpoints() -> list[Endpoint]:
    return [ep for group in (*GROUPS, meta) for ep in group.endpoints]


def build_app(
    platform: Platform,
    settings: Settings,
    lifespan: Callable[[Starlette], AbstractAsyncContextManager[Any]] | None = None,
) -> Starlette:
    limiter = RateLimiter(settings.rate_limits, platform.ctx.clock)
    pipeline = Pipeline(platform, settings, limiter)
    endpoints = all_endpoints()
    routes = [Route(BASE + ep.path, pipeline.wrap(ep), methods=[ep.method]) for ep in endpoints]

    async def fallback(call: Call) -> Response:
        allowed = sorted(
            {
                method
                for route in routes
                for method in (route.methods or ())
                if route.matches(call.request.scope)[0] == Match.PARTIAL
            }
            - {"HEAD"}
        )
        if allowed:
            call.headers["Allow"] = ", ".join(allowed)
            raise MethodNotAllowed(
                f"{call.request.method} is not allowed on {call.request.url.path}; allowed: {', '.join(allowed)}.",
                {"allowed": allowed},
            )
        raise NotFound(f"No route {call.request.method} {call.request.url.path}. See {BASE}/openapi.json.")

    async def ask(request: Request) -> Response:
        domain = request.query_params.get("domain", "")
        return Response(None, 200 if await platform.domains.serves(domain) else 403)

    routes.append(Route("/internal/tls/ask", ask, methods=["GET"]))
    routes.extend(pages.routes())
    fallback_endpoint = Endpoint("ANY", "/{path:path}", fallback, None, "default", "fallback", 404)
    # No method list: every method (TRACE, or one nobody defined) reaches the fallback,
    # which answers 404 or 405 in the error envelope, not Starlette's plain text.
    routes.append(Route("/{path:path}", pipeline.wrap(fallback_endpoint), methods=None))

    app = Starlette(routes=routes, lifespan=lifespan)
    app.router = IndexedRouter(routes=routes, lifespan=lifespan)
    app.state.platform = platform
    app.state.limiter = limiter
    app.state.stream_slots = StreamSlots(settings.limits.streams_per_provider, settings.limits.streams_total)
    app.state.openapi_json = json.dumps(openapi.document(endpoints, BASE), indent=1).encode()
    return app
