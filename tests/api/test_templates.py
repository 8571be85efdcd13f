"""The template catalog through the API: shipped and operator templates, a bad file
skipped (and named by doctor), tenants made from a template."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from staxad.daemon import Daemon
from staxad.doctor import _templates
from staxad.model.clock import FrozenClock
from tests.api.helpers import assert_error, assert_resource
from tests.conftest import Keys, make_settings

OWN = """
id = "tpl_own_app"
name = "Our app"
framework = "image"
description = "The team's base image"
image_url = "localhost/team/app:1"
default_port = 9090
default_env = { MODE = "prod", LOG = "info" }
"""


@pytest.fixture
async def templated(tmp_path: Path, clock: FrozenClock) -> AsyncIterator[tuple[Daemon, httpx.AsyncClient]]:
    folder = tmp_path / "templates.d"
    folder.mkdir()
    (folder / "own.toml").write_text(OWN)
    (folder / "broken.toml").write_text('id = "tpl_broken"\nname = ')
    d = Daemon(make_settings(tmp_path / "d", STAXAD_TEMPLATES_DIR=str(folder)), clock=clock)
    await d.start()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=d.app), base_url="http://testserver/api/v1") as c:
        yield d, c
    await d.stop()


async def test_the_catalog_lists_shipped_and_operator_templates(
    templated: tuple[Daemon, httpx.AsyncClient],
) -> None:
    daemon, client = templated
    auth = await Keys(daemon).make()
    listed = assert_resource_list(await client.get("/templates", headers=auth))
    ids = [t["id"] for t in listed]
    assert {"tpl_nextjs", "tpl_static", "tpl_python_asgi", "tpl_own_app"} <= set(ids) and "tpl_broken" not in ids
    nextjs = next(t for t in listed if t["id"] == "tpl_nextjs")
    assert nextjs == {
        "id": "tpl_nextjs",
        "name": "Next.js Starter",
        "framework": "nextjs",
        "description": "Production-ready Next.js application",
        "repo_url": "https://github.com/staxa/template-nextjs",
    }
    one = assert_resource(await client.get("/templates/tpl_nextjs", headers=auth))
    assert one["default_env"] == {"NODE_ENV": "production"} and one["default_port"] == 3000
    assert_error(await client.get("/templates/tpl_nope", headers=auth), 404, "not_found")
    finding = _templates(daemon.settings)
    assert not finding.ok and "broken.toml" in finding.what


def assert_resource_list(response: httpx.Response) -> list[dict[str, object]]:
    assert response.status_code == 200, response.text
    return list(response.json()["data"])


async def test_a_tenant_from_a_template_takes_its_defaults_and_what_was_asked(
    templated: tuple[Daemon, httpx.AsyncClient],
) -> None:
    daemon, client = templated
    auth = await Keys(daemon).make()
    body = {"name": "fromtpl", "template_id": "tpl_own_app", "env": {"LOG": "debug"}}
    made = assert_resource(await client.post("/tenants", headers=auth, json=body), 202)
    [web] = made["services"]
    assert (web["source_type"], web["image_url"], web["port"]) == ("image", "localhost/team/app:1", 9090)
    env = {e["key"]: e["value"] for e in assert_resource(await client.get(f"/tenants/{made['id']}/env", headers=auth))}
    assert env == {"LOG": "debug", "MODE": "prod"}
    for bad in ({"name": "x1", "template_id": "tpl_nope"}, {"name": "x2", "template_id": 5}):
        error = assert_error(await client.post("/tenants", headers=auth, json=bad), 400, "validation_error")
        assert "template_id" in error["details"]["fields"]
    multi = {"name": "x3", "template_id": "tpl_own_app", "services": [{"name": "a", "source_type": "image"}]}
    assert_error(await client.post("/tenants", headers=auth, json=multi), 400, "validation_error")
