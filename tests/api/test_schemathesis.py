"""Schemathesis against the in-process app: cases generated from GET /api/v1/openapi.json
must never get a 5xx, and every answer must match the document (status, content type,
schema, headers).

The daemon runs on its own event loop in a thread (the API tests' daemon, runtime off);
schemathesis calls the app from its own loop, so a small ASGI bridge hands each call
over. Generation is derandomized (a fixed seed) and bounded, to stay well under a minute.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import httpx
import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from staxad.daemon import Daemon
from tests.conftest import make_settings

T = TypeVar("T")
TENANT_NAMES = itertools.count()
EXAMPLES_PER_OPERATION = 20
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
UNLIMITED = {  # every rate class out of the way: each case must reach its handler
    f"STAXAD_RATE_LIMITS_{name.upper()}": "1000000"
    for name in ("create_tenant", "deploy", "list_tenants", "get_tenant", "events", "create_key", "default")
}
Scope = dict[str, Any]
Message = dict[str, Any]
ASGI = Callable[[Scope, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]], Awaitable[None]]


class Served:
    """A daemon on an event loop of its own, in a thread."""

    def __init__(self, tmp_path: Path) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        settings = make_settings(tmp_path, STAXAD_LIMITS_TENANTS_PER_PROVIDER="10000", **UNLIMITED)
        self.daemon = Daemon(settings)
        self.run(self.daemon.start())

    def run(self, coroutine: Awaitable[T]) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)  # type: ignore[arg-type]
        return future.result(timeout=30)

    def app(self) -> ASGI:
        """The daemon's app, callable from any other event loop."""
        target, loop = self.daemon.app, self.loop

        async def bridge(scope: Scope, receive: Any, send: Any) -> None:
            if scope["type"] == "lifespan":  # the daemon is already started, on its own loop
                while (await receive())["type"] != "lifespan.shutdown":
                    await send({"type": "lifespan.startup.complete"})
                await send({"type": "lifespan.shutdown.complete"})
                return
            caller = asyncio.get_running_loop()

            async def receive_there() -> Message:
                return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(receive(), caller))

            async def send_there(message: Message) -> None:
                await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(send(message), caller))

            await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(target(scope, receive_there, send_there), loop))

        return bridge

    def close(self) -> None:
        self.run(self.daemon.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)
        self.loop.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    served = Served(tmp_path_factory.mktemp("schemathesis"))
    yield served
    served.close()


@pytest.fixture(scope="module")
def admin(served: Served) -> dict[str, str]:
    """A key with every scope and admin, so the authorized paths are exercised."""

    async def mint() -> str:
        platform = served.daemon.platform
        provider, _ = await platform.accounts.register("fuzz@example.com", None)
        _, raw = await platform.keys.create(provider.id, "fuzz", "live", ["*", "admin"], None)
        return raw

    return {"Authorization": f"Bearer {served.run(mint())}"}


def operations() -> list[str]:
    from staxad.api.app import BASE, all_endpoints
    from staxad.api.openapi import shown_path

    return [f"{ep.method} {BASE}{shown_path(ep.path)}" for ep in all_endpoints()]


@pytest.mark.parametrize("operation", operations())
def test_generated_cases_match_the_document(served: Served, admin: dict[str, str], operation: str) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", served.app())
    method, path = operation.split(" ", 1)
    endpoint = schema[path][method]
    tenant = served.run(_tenant(served, admin))  # a real tenant, so handlers get past the lookup
    streams = path.endswith(("/events", "/logs"))
    timeout = 0.5 if streams else 10.0  # an event stream never ends: it is cut at the deadline
    strategy = endpoint.as_strategy(path_parameters={"tenant_id": tenant} if "{tenant_id}" in path else None)

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
    )
    @hypothesis.given(case=strategy)
    def check(case: Any) -> None:
        response = case.call(headers=admin, timeout=timeout)
        case.validate_response(response, checks=CHECKS)

    check()


async def _tenant(served: Served, admin: dict[str, str]) -> str:
    transport = httpx.ASGITransport(app=served.daemon.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver/api/v1") as client:
        body = {"name": f"fuzz-{next(TENANT_NAMES)}", "source_type": "image", "image_url": "localhost/fuzz/web:1"}
        response = await client.post("/tenants", headers=admin, json=body)
        assert response.status_code == 202, response.text
        return str(response.json()["data"]["id"])
