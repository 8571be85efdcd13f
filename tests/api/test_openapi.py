from __future__ import annotations

import re

import httpx

from staxad.api.app import BASE, all_endpoints
from staxad.api.openapi import shown_path
from staxad.daemon import Daemon


async def test_openapi_lists_exactly_the_routes_the_app_serves(client: httpx.AsyncClient, daemon: Daemon) -> None:
    response = await client.get("/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    documented = {(method.upper(), path) for path, ops in document["paths"].items() for method in ops}
    served = {
        (method, shown_path(route.path))
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


def test_the_documented_tenant_and_service_bodies_are_the_fields_the_parsers_take() -> None:
    """The request schemas are written beside the parsers in core/specs.py; they must name
    the same fields, or the document promises what a request gets a 400 for."""
    from staxad.api.tenants import CREATE_BODY, PATCH_BODY, SERVICE_BODY
    from staxad.core.specs import PATCH_FIELDS, SERVICE_FIELDS, TENANT_FIELDS

    # template_id is read by the template catalog (core/templates.py), which fills the rest
    assert set(CREATE_BODY["properties"]) == {*TENANT_FIELDS, "template_id"}
    assert set(SERVICE_BODY["properties"]) == set(SERVICE_FIELDS)
    assert set(PATCH_BODY["properties"]) == set(PATCH_FIELDS)
