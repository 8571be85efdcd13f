"""A router that tries only the routes a path can match, in Starlette's order.

Starlette's router tries every route in turn, a regular expression each: with about a
hundred routes, `GET /api/v1/tenants/{id}` went through ten of them and routing was a
fifth of the request's CPU time under load. This router files each route under its
first `KEY_SEGMENTS` path segments (when they are all literal) and its number of
segments (unless a `{name:path}` parameter can hold slashes); a route with a parameter
among the first segments (`/t/{tenant_id}`, the fallback `/{path:path}`) is filed under
every key. A path is tried against its key's routes only, in the original order, so the
first full match, and the first partial one (405), are the ones Starlette would find.
Anything else (no route at all) goes to Starlette's own scan, redirects included.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send

KEY_SEGMENTS = 3


def key_of(path: str) -> str:
    """The first KEY_SEGMENTS segments of a path: `/api/v1/tenants/x` -> `api/v1/tenants`."""
    return "/".join(path.split("/", KEY_SEGMENTS + 1)[1 : KEY_SEGMENTS + 1])


Key = tuple[str, int | None]  # a path's first segments, and its number of slashes (None: any)


def route_key(route: BaseRoute) -> Key | None:
    """What every path this route matches has in common, or None when it is not fixed:
    the first segments when they are literal, and the number of segments unless a
    `{name:path}` parameter can hold slashes."""
    if not isinstance(route, Route):
        return None
    prefix = key_of(route.path)
    if "{" in prefix:
        return None
    return prefix, None if ":path}" in route.path else route.path.count("/")


def index(routes: Sequence[BaseRoute]) -> tuple[dict[Key, list[BaseRoute]], list[BaseRoute]]:
    """For each key some route has (and each prefix with any count), the routes a path
    with that key may match, in the routes' order; and the unkeyed routes, for a path
    whose prefix no route has."""
    keys = {key for key in map(route_key, routes) if key is not None}
    lists: dict[Key, list[BaseRoute]] = {key: [] for key in keys}
    lists.update({(prefix, None): [] for prefix, _ in keys})
    unkeyed: list[BaseRoute] = []
    for route in routes:
        key = route_key(route)
        if key is None:
            unkeyed.append(route)
        for (prefix, count), listed in lists.items():
            if key is None or (key[0] == prefix and key[1] in (None, count)):
                listed.append(route)
    return lists, unkeyed


def choose(routes: Sequence[BaseRoute], scope: Scope) -> tuple[BaseRoute, Scope] | None:
    """Starlette's choice among `routes`: the first full match, else the first partial one."""
    partial: tuple[BaseRoute, Scope] | None = None
    for route in routes:
        match, child_scope = route.matches(scope)
        if match is Match.FULL:
            return route, child_scope
        if match is Match.PARTIAL and partial is None:
            partial = (route, child_scope)
    return partial


def candidates(lists: dict[Key, list[BaseRoute]], unkeyed: list[BaseRoute], path: str) -> list[BaseRoute]:
    prefix = key_of(path)
    found = lists.get((prefix, path.count("/")))
    if found is None:
        found = lists.get((prefix, None), unkeyed)
    return found


class IndexedRouter(Router):
    _count = -1  # how many routes the index was made from: a route added later remakes it

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await super().app(scope, receive, send)
            return
        if len(self.routes) != self._count:
            self._by_key, self._unkeyed = index(self.routes)
            self._count = len(self.routes)
        scope.setdefault("router", self)
        chosen = choose(candidates(self._by_key, self._unkeyed, get_route_path(scope)), scope)
        if chosen is None:
            await super().app(scope, receive, send)
            return
        route, child_scope = chosen
        scope["route"] = route
        scope.update(child_scope)
        await route.handle(scope, receive, send)
