from __future__ import annotations

import re

import httpx

from staxad.api.app import BASE, all_endpoints
from staxad.daemon import Daemon


async def test_openapi_lists_exactly_the_routes_the_app_serves(client: httpx.AsyncClient, daemon: Daemon) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    documented = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    served = {
        (method, route.path)
        for route in daemon.app.routes
        for method in (getattr(route, "methods", None) or ())
        if method != "HEAD" and route.path.startswith(BASE) and "{path:path}" not in route.path
    }
    assert documented == served
    assert len(documented) == len(all_endpoints())


async def test_every_documented_operation_is_routed(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    document = (await client.get("/openapi.json")).json()
    for path, operations in document["paths"].items():
        concrete = re.sub(r"{\w+}", "x", path)
        for method, operation in operations.items():
            response = await client.request(method.upper(), "http://testserver" + concrete, headers=auth)
            body = response.json() if response.content else {}
            if "error" in body:
                assert body["error"]["code"] != "method_not_allowed"
                assert not body["error"]["message"].startswith("No route"), (method, path)
            assert operation["responses"], path
            assert path.startswith(BASE)
