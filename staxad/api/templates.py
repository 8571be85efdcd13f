"""The template catalog (the contract's Templates group)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from staxad.api.endpoint import Call, Routes
from staxad.model.templates import Template

routes = Routes()


def template(t: Template, detail: bool = False) -> dict[str, Any]:
    """The contract's fields: the list shows the first five, one template all of them."""
    shown: dict[str, Any] = {"id": t.id, "name": t.name, "framework": t.framework, "description": t.description}
    shown["repo_url" if t.repo_url else "image_url"] = t.repo_url or t.image_url
    if detail:
        shown["default_env"] = dict(t.default_env)
        shown["default_port"] = t.default_port
    return shown


@routes.add("GET", "/templates", scope="tenants:read", summary="Templates for quick-start tenants.")
async def list_templates(call: Call) -> Response:
    data = [template(t) for t in call.platform.templates.all()]
    return call.listing(data, len(data), len(data), 0)


@routes.add("GET", "/templates/{template_id}", scope="tenants:read", summary="One template with its defaults.")
async def get_template(call: Call) -> Response:
    return call.ok(template(call.platform.templates.get(call.param("template_id")), detail=True))
