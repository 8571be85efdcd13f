from __future__ import annotations

import asyncio

import httpx
import pytest

from staxad.model.clock import FrozenClock
from tests.api.helpers import IMAGE_TENANT, assert_error, create_tenant
from tests.conftest import Keys

CONTRACT = [
    ("POST", "/tenants", 10),
    ("GET", "/tenants", 60),
    ("GET", "/tenants/{id}", 120),
    ("POST", "/api-keys", 5),
    ("GET", "/account", 60),
    ("GET", "/api-keys", 60),
]


@pytest.mark.parametrize(("method", "path", "limit"), CONTRACT)
async def test_a_concurrent_burst_lets_exactly_the_limit_through(
    client: httpx.AsyncClient, keys: Keys, method: str, path: str, limit: int
) -> None:
    owner = await keys.make("owner@example.com")
    tenant = await create_tenant(client, owner, "target")
    auth = await keys.make("owner@example.com")
    url = path.replace("{id}", tenant["id"])

    def body(i: int) -> dict[str, object] | None:
        if path == "/tenants" and method == "POST":
            return {"name": f"n{i}", **IMAGE_TENANT}
        if path == "/api-keys" and method == "POST":
            return {"name": f"k{i}"}
        return None

    responses = await asyncio.gather(
        *[client.request(method, url, headers=auth, json=body(i)) for i in range(limit + 7)]
    )
    codes = [r.status_code for r in responses]
    assert codes.count(429) == 7, codes
    assert all(c < 400 or c == 429 or (c == 422 and path == "/tenants") for c in codes), codes
    for response in responses:
        assert response.headers["X-RateLimit-Limit"] == str(limit)
        assert int(response.headers["X-RateLimit-Remaining"]) >= 0
        assert int(response.headers["X-RateLimit-Reset"]) > 0
    limited = next(r for r in responses if r.status_code == 429)
    assert_error(limited, 429, "rate_limited")
    assert 1 <= int(limited.headers["Retry-After"]) <= 60


async def test_the_window_slides_and_keys_are_counted_apart(
    client: httpx.AsyncClient, keys: Keys, clock: FrozenClock
) -> None:
    first = await keys.make()
    second = await keys.make()
    for _ in range(60):
        assert (await client.get("/account", headers=first)).status_code == 200
    assert (await client.get("/account", headers=first)).status_code == 429
    assert (await client.get("/account", headers=second)).status_code == 200
    clock.advance(30)
    assert (await client.get("/account", headers=first)).status_code == 429
    clock.advance(31)
    response = await client.get("/account", headers=first)
    assert response.status_code == 200
    assert response.headers["X-RateLimit-Remaining"] == "59"


async def test_headers_are_on_errors_too(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    for response in [
        await client.get("/tenants/ten_nothere", headers=auth),
        await client.post("/tenants", headers=auth, json={}),
        await client.get("/account"),
        await client.get("/nope"),
    ]:
        assert response.status_code >= 400
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset", "x-request-id"} <= set(
            response.headers
        )


async def test_unauthenticated_guessing_is_rate_limited_per_client(client: httpx.AsyncClient) -> None:
    bad = {"Authorization": "Bearer sk_live_" + "g" * 43}
    codes = [(await client.get("/account", headers=bad)).status_code for _ in range(125)]
    assert codes.count(401) == 120 and codes.count(429) == 5
    assert_error(await client.get("/account", headers=bad), 429, "rate_limited")


DEPLOY_ENDPOINTS = [  # (path under the tenant, the contract's limit)
    ("/deploy", 20),
    ("/services/web/deploy", 60),
    ("/deployments", 60),
    ("/deployments/dep_nope/rollback", 60),
]


async def test_each_deploy_endpoint_has_its_own_count(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    tenant = await create_tenant(client, auth, "deployer")
    base = f"/tenants/{tenant['id']}"
    for path, limit in DEPLOY_ENDPOINTS:
        codes = [(await client.post(base + path, headers=auth)).status_code for _ in range(limit)]
        assert 429 not in codes, (path, codes)  # the endpoints before it took nothing from this one
        last = await client.post(base + path, headers=auth)
        assert_error(last, 429, "rate_limited")
        assert last.headers["X-RateLimit-Limit"] == str(limit), path
