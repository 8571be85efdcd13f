"""The indexed router picks exactly the route Starlette's full scan would, for every
endpoint's path under every method and for paths no endpoint has."""

from __future__ import annotations

import re

import pytest
from starlette.routing import BaseRoute

from staxad.api.routing import candidates, choose, index, key_of
from staxad.daemon import Daemon
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def routes(tmp_path_factory: pytest.TempPathFactory) -> list[BaseRoute]:
    return list(Daemon(make_settings(tmp_path_factory.mktemp("routing"))).app.routes)


def scope(method: str, path: str) -> dict[str, object]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "query_string": b"", "headers": []}


def sample_paths(routes: list[BaseRoute]) -> list[str]:
    paths = {re.sub(r"\{[^}]+\}", "x", getattr(route, "path", "")) for route in routes}
    extra = {
        "/",
        "/new",
        "/t/ten_1",
        "/static/app.1.js",
        "/nope",
        "/api/v1",
        "/api/v1/",
        "/api/v1/nope",
        "/api/v1/tenants/",
        "/api/v1/tenants/x/y/z/w",
        "/api/v1/registries/c/repos/a/b/c/tags",
        "//api/v1",
    }
    return sorted(paths | extra)


def test_each_path_and_method_gets_the_route_a_full_scan_gets(routes: list[BaseRoute]) -> None:
    by_key, unkeyed = index(routes)
    checked = 0
    for path in sample_paths(routes):
        for method in ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"):
            want = choose(routes, scope(method, path))
            got = choose(candidates(by_key, unkeyed, path), scope(method, path))
            assert (got and got[0]) is (want and want[0]), (method, path)
            checked += 1
    assert checked > 500


def test_a_request_tries_a_few_routes_not_all(routes: list[BaseRoute]) -> None:
    by_key, unkeyed = index(routes)
    assert len(routes) > 80
    for path in ("/api/v1/tenants/ten_1", "/api/v1/tenants/ten_1/deployments/dep_1", "/api/v1/github/installation"):
        assert len(candidates(by_key, unkeyed, path)) <= 20, path


@pytest.mark.parametrize(
    ("path", "key"),
    [("/", ""), ("/new", "new"), ("/api/v1/tenants", "api/v1/tenants"), ("/api/v1/tenants/x/y", "api/v1/tenants")],
)
def test_key_of(path: str, key: str) -> None:
    assert key_of(path) == key
