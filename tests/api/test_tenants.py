from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx
import pytest

from staxad.daemon import Daemon
from staxad.model.clock import FrozenClock
from staxad.model.envvars import EnvVar
from staxad.model.lifecycle import TenantStatus
from staxad.reconcile.plan import SetTenantStatus
from staxad.store import env as env_store
from staxad.store import tenants as tenant_store
from tests.api.helpers import IMAGE_TENANT, assert_error, assert_resource, create_tenant
from tests.conftest import Keys


async def test_create_single_service_tenant_answers_202_with_events_url(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    data = await create_tenant(client, auth, "acme-corp", display_name="Acme Corp", port=8080)
    assert data["id"].startswith("ten_")
    assert data["status"] == "provisioning"
    assert data["url"] == "https://acme-corp.localhost"
    assert data["events_url"] == f"/api/v1/tenants/{data['id']}/events"
    [service] = data["services"]
    assert service["name"] == "web" and service["is_primary"] and service["is_routable"]
    assert service["port"] == 8080 and service["image_url"] == IMAGE_TENANT["image_url"]
    got = assert_resource(await client.get(f"/tenants/{data['id']}", headers=auth))
    assert got["display_name"] == "Acme Corp"
    assert {"services", "domains", "deployments", "created_at", "updated_at"} <= set(got)


async def test_create_multi_service_tenant(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    body = {
        "name": "shop",
        "services": [
            {"name": "api", "source_type": "image", "image_url": "localhost/api:1", "port": 8080},
            {
                "name": "web",
                "source_type": "github",
                "repo_url": "https://git.example.com/shop/web",
                "branch": "release/2",
                "port": 3000,
                "is_routable": True,
                "is_primary": True,
            },
        ],
    }
    data = assert_resource(await client.post("/tenants", headers=auth, json=body), 202)
    by_name = {s["name"]: s for s in data["services"]}
    assert by_name["web"]["is_primary"] and not by_name["api"]["is_primary"]
    assert not by_name["api"]["is_routable"]
    assert data["branch"] == "release/2"


async def test_create_validation_errors_name_every_bad_field(
    client: httpx.AsyncClient, auth: dict[str, str], clock: FrozenClock
) -> None:
    cases = [
        {},
        {"name": "ok"},
        {"name": "UPPER", **IMAGE_TENANT},
        {"name": "double--hyphen", **IMAGE_TENANT},
        {"name": "-lead", **IMAGE_TENANT},
        {"name": "a" * 64, **IMAGE_TENANT},
        {"name": "api", **IMAGE_TENANT},
        {"name": 12, **IMAGE_TENANT},
        {"name": "ok", "source_type": "ftp"},
        {"name": "ok", "source_type": "github"},
        {"name": "ok", "source_type": "github", "repo_url": "http://plain.example.com/x"},
        {"name": "ok", "source_type": "github", "repo_url": "ext::sh -c touch% /tmp/pwned"},
        {"name": "ok", "source_type": "github", "repo_url": "https://h.example.com/r\nx"},
        {"name": "ok", "source_type": "github", "repo_url": "/srv/repo"},
        {"name": "ok", "source_type": "github", "repo_url": "https://h.example.com/r", "branch": "--upload-pack=evil"},
        {"name": "ok", "source_type": "github", "repo_url": "https://h.example.com/r", "branch": "a..b"},
        {"name": "ok", "source_type": "image", "image_url": "--privileged"},
        {"name": "ok", "source_type": "image", "image_url": "UPPER/case"},
        {"name": "ok", **IMAGE_TENANT, "port": 0},
        {"name": "ok", **IMAGE_TENANT, "port": "80"},
        {"name": "ok", **IMAGE_TENANT, "port": True},
        {"name": "ok", **IMAGE_TENANT, "resource_size": "huge"},
        {"name": "ok", **IMAGE_TENANT, "env": {"1BAD": "x"}},
        {"name": "ok", **IMAGE_TENANT, "env": {"GOOD": 1}},
        {"name": "ok", **IMAGE_TENANT, "env": ["A=1"]},
        {"name": "ok", **IMAGE_TENANT, "unknown_field": 1},
        {"name": "ok", **IMAGE_TENANT, "services": [{"name": "x", **IMAGE_TENANT}]},
        {"name": "ok", "services": []},
        {"name": "ok", "services": "web"},
        {"name": "ok", "services": [{"name": "a", **IMAGE_TENANT}, {"name": "a", **IMAGE_TENANT}]},
        {
            "name": "ok",
            "services": [
                {"name": "a", **IMAGE_TENANT, "is_primary": True},
                {"name": "b", **IMAGE_TENANT, "is_primary": True},
            ],
        },
        {"name": "ok", "services": [{"name": "a"}]},
        {"name": "ok", "services": [5]},
        {"name": "ok", "display_name": "x" * 101, **IMAGE_TENANT},
        {"name": "ok", "display_name": "bell\x07", **IMAGE_TENANT},
    ]
    for body in cases:
        clock.advance(61)  # stay under the create limit of 10 a minute
        error = assert_error(await client.post("/tenants", headers=auth, json=body), 400, "validation_error")
        assert error["details"]["fields"], body
    for body in ["[1, 2]", '"just a string"', "{not json", "", "null"]:
        clock.advance(61)
        response = await client.post("/tenants", headers={**auth, "Content-Type": "application/json"}, content=body)
        assert_error(response, 400, "validation_error")
    assert (await client.get("/tenants", headers=auth)).json()["meta"]["total"] == 0


async def test_huge_and_deeply_nested_bodies_are_refused_without_500(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    huge = {"name": "big", **IMAGE_TENANT, "env": {f"K{i}": "v" * 1000 for i in range(200)}}
    error = assert_error(await client.post("/tenants", headers=auth, json=huge), 400, "validation_error")
    assert "larger than" in error["message"]
    deep = "[" * 100_000 + "]" * 100_000
    response = await client.post("/tenants", headers={**auth, "Content-Type": "application/json"}, content=deep)
    assert response.status_code == 400


async def test_name_taken_is_409_across_providers(client: httpx.AsyncClient, keys: Keys) -> None:
    alice = await keys.make("alice@example.com")
    bob = await keys.make("bob@example.com")
    await create_tenant(client, alice, "shared-name")
    for headers in (alice, bob):
        response = await client.post("/tenants", headers=headers, json={"name": "shared-name", **IMAGE_TENANT})
        assert_error(response, 409, "conflict")


async def test_concurrent_creates_of_one_name_make_exactly_one(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    responses = await asyncio.gather(
        *[client.post("/tenants", headers=auth, json={"name": "race", **IMAGE_TENANT}) for _ in range(5)]
    )
    assert sorted(r.status_code for r in responses) == [202, 409, 409, 409, 409]


async def test_tenant_limit_is_422(tmp_path, clock) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import make_settings

    daemon = Daemon(
        make_settings(tmp_path, STAXAD_LIMITS_TENANTS_PER_PROVIDER="2", STAXAD_LIMITS_TEST_TENANTS_PER_PROVIDER="1"),
        clock=clock,
    )
    await daemon.start()
    try:
        keys = Keys(daemon)
        live, test = await keys.make(), await keys.make(mode="test")
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=daemon.app), base_url="http://t/api/v1"
        ) as client:
            await create_tenant(client, test, "t-one")
            error = assert_error(
                await client.post("/tenants", headers=test, json={"name": "t-two", **IMAGE_TENANT}),
                422,
                "limit_exceeded",
            )
            assert error["details"]["setting"] == "limits.test_tenants_per_provider"
            await create_tenant(client, live, "l-one")
            error = assert_error(
                await client.post("/tenants", headers=live, json={"name": "l-two", **IMAGE_TENANT}),
                422,
                "limit_exceeded",
            )
            assert error["details"] == {"used": 2, "limit": 2, "count": 2, "setting": "limits.tenants_per_provider"}
    finally:
        await daemon.stop()


async def test_test_keys_see_and_create_only_test_tenants(client: httpx.AsyncClient, keys: Keys) -> None:
    live = await keys.make()
    test = await keys.make(mode="test")
    live_tenant = await create_tenant(client, live, "live-app")
    test_tenant = await create_tenant(client, test, "test-app")
    assert test_tenant["mode"] == "test" and live_tenant["mode"] == "live"
    assert [t["name"] for t in (await client.get("/tenants", headers=test)).json()["data"]] == ["test-app"]
    assert (await client.get("/tenants", headers=live)).json()["meta"]["total"] == 2
    assert_error(await client.get(f"/tenants/{live_tenant['id']}", headers=test), 404, "not_found")
    assert assert_resource(await client.get("/account", headers=test))["tenant_count"] == 1


async def test_list_filters_sorts_searches_and_pages(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    for name in ["delta", "alpha", "charlie", "bravo", "alpha-two"]:
        await create_tenant(client, auth, name)
    async with daemon.db.transaction() as tx:
        await tx.execute("UPDATE tenants SET status = 'ready' WHERE name IN ('alpha', 'bravo')")
    body = (await client.get("/tenants", headers=auth, params={"sort": "name", "limit": 2, "offset": 1})).json()
    assert [t["name"] for t in body["data"]] == ["alpha-two", "bravo"]
    assert body["meta"] == {"total": 5, "limit": 2, "offset": 1}
    body = (await client.get("/tenants", headers=auth, params={"status": "ready", "sort": "-name"})).json()
    assert [t["name"] for t in body["data"]] == ["bravo", "alpha"]
    body = (await client.get("/tenants", headers=auth, params={"search": "alp"})).json()
    assert {t["name"] for t in body["data"]} == {"alpha", "alpha-two"}
    body = (await client.get("/tenants", headers=auth, params={"search": "%"})).json()
    assert body["data"] == [] and body["meta"]["total"] == 0
    body = (await client.get("/tenants", headers=auth, params={"offset": 50})).json()
    assert body["data"] == [] and body["meta"]["total"] == 5
    for params in [
        {"status": "sleeping"},
        {"limit": 0},
        {"limit": 101},
        {"limit": "x"},
        {"offset": -1},
        {"sort": "id; drop"},
    ]:
        assert_error(await client.get("/tenants", headers=auth, params=params), 400, "validation_error")


async def test_patch_changes_only_given_fields(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    tenant = await create_tenant(client, auth, "patchy", display_name="Before")
    added = await client.post(f"/tenants/{tenant['id']}/domains", headers=auth, json={"domain": "patchy.example.com"})
    assert added.status_code == 201, added.text
    updated = assert_resource(
        await client.patch(
            f"/tenants/{tenant['id']}",
            headers=auth,
            json={"resource_size": "medium", "app_port": 9000, "egress_mode": "restricted"},
        )
    )
    assert updated["display_name"] == "Before"
    assert (
        updated["resource_size"] == "medium" and updated["app_port"] == 9000 and updated["egress_mode"] == "restricted"
    )
    assert updated["services"][0]["port"] == 9000
    # the answer is the whole tenant, as GET shows it
    shown = assert_resource(await client.get(f"/tenants/{tenant['id']}", headers=auth))
    assert [d["domain"] for d in updated["domains"]] == ["patchy.example.com"]
    assert updated["domains"] == shown["domains"] and updated["deployments"] == shown["deployments"] != []
    for body in [
        {"resource_size": "xl"},
        {"app_port": 70000},
        {"branch": "-x"},
        {"name": "rename"},
        {"egress_mode": None},
    ]:
        assert_error(await client.patch(f"/tenants/{tenant['id']}", headers=auth, json=body), 400, "validation_error")
    assert_error(await client.patch("/tenants/ten_missing", headers=auth, json={"display_name": "x"}), 404, "not_found")


async def test_patch_branch_and_size_carry_over_to_the_services_that_inherit_them(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    repo = "https://git.example.com/shop/web"
    body = {
        "name": "inherit",
        "resource_size": "small",
        "services": [
            {"name": "web", "source_type": "github", "repo_url": repo, "is_primary": True, "port": 3000},
            {"name": "api", "source_type": "image", "image_url": "localhost/api:1", "port": 8080},
            {"name": "big", "source_type": "image", "image_url": "localhost/big:1", "resource_size": "large"},
            {"name": "pinned", "source_type": "github", "repo_url": repo, "branch": "stable"},
        ],
    }
    tenant = assert_resource(await client.post("/tenants", headers=auth, json=body), 202)
    patch = {"branch": "release/3", "resource_size": "medium"}
    updated = assert_resource(await client.patch(f"/tenants/{tenant['id']}", headers=auth, json=patch))
    by_name = {s["name"]: s for s in updated["services"]}
    assert by_name["web"]["branch"] == "release/3" and by_name["pinned"]["branch"] == "stable"
    sizes = {name: s["resource_size"] for name, s in by_name.items()}
    assert sizes == {"web": "medium", "api": "medium", "big": "large", "pinned": "medium"}
    # a size change redeploys the resized services (it supersedes what was queued)
    response = await client.get(f"/tenants/{tenant['id']}/deployments", headers=auth, params={"limit": 100})
    listed = response.json()["data"]
    queued = {d["service_name"]: d for d in listed if d["status"] == "queued"}
    assert set(queued) == {"web", "api", "big", "pinned"}
    assert queued["web"]["branch"] == "release/3" and queued["pinned"]["branch"] == "stable"
    # the next deploy of the primary uses the new branch
    deployed = assert_resource(await client.post(f"/tenants/{tenant['id']}/deployments", headers=auth, json={}), 202)
    assert deployed["branch"] == "release/3"


async def test_the_multi_service_forms_top_level_fields_are_the_defaults_of_its_services(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    repo = "https://git.example.com/shop/web"
    body = {
        "name": "defaults",
        "branch": "develop",
        "resource_size": "medium",
        "app_port": 8080,
        "auto_deploy": False,
        "volumes": [{"name": "data", "mount_path": "/data", "size_mb": 64}],
        "services": [
            {"name": "web", "source_type": "github", "repo_url": repo},
            {"name": "api", "source_type": "image", "image_url": "localhost/api:1", "port": 9000},
            {"name": "big", "source_type": "github", "repo_url": repo, "branch": "stable", "resource_size": "large"},
        ],
    }
    tenant = assert_resource(await client.post("/tenants", headers=auth, json=body), 202)
    by_name = {s["name"]: s for s in tenant["services"]}
    assert {n: (s["branch"], s["resource_size"], s["port"]) for n, s in by_name.items() if n != "api"} == {
        "web": ("develop", "medium", 8080),
        "big": ("stable", "large", 8080),
    }
    assert (by_name["api"]["resource_size"], by_name["api"]["port"]) == ("medium", 9000)
    assert all(s["auto_deploy"] is False for s in tenant["services"])
    # the primary (the first, unmarked) is routable, so the tenant's URL is served; the others are not
    assert [n for n, s in by_name.items() if s["is_routable"]] == ["web"] and tenant["url"]
    volumes = (await client.get(f"/tenants/{tenant['id']}/volumes", headers=auth)).json()["data"]
    assert [(v["name"], v["service"]) for v in volumes] == [("data", "web")]
    # a later PATCH reaches the services that took the default, as in the single-service form
    patch = {"resource_size": "small", "app_port": 8000}
    updated = assert_resource(await client.patch(f"/tenants/{tenant['id']}", headers=auth, json=patch))
    by_name = {s["name"]: s for s in updated["services"]}
    assert {n: (s["resource_size"], s["port"]) for n, s in by_name.items()} == {
        "web": ("small", 8000),
        "api": ("small", 9000),
        "big": ("large", 8000),
    }


async def test_the_multi_service_form_names_each_field_it_cannot_take_and_a_tenant_without_routes_has_no_url(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    service = {"name": "worker", "source_type": "image", "image_url": "localhost/w:1"}
    body = {
        "name": "mixed",
        "source_type": "image",
        "image_url": "a/b:1",
        "repo_url": "https://x.example/r",
        "services": [service],
    }
    error = assert_error(await client.post("/tenants", headers=auth, json=body), 400, "validation_error")
    assert {"source_type", "image_url", "repo_url"} <= set(error["details"]["fields"])
    both = {"name": "twice", "volumes": [{"name": "a", "mount_path": "/a"}], "services": [{**service, "volumes": []}]}
    error = assert_error(await client.post("/tenants", headers=auth, json=both), 400, "validation_error")
    assert "volumes" in error["details"]["fields"]
    hidden = {"name": "hidden", "services": [{**service, "is_routable": False}]}
    tenant = assert_resource(await client.post("/tenants", headers=auth, json=hidden), 202)
    assert tenant["url"] is None and tenant["services"][0]["is_routable"] is False


async def test_delete_is_async_and_the_tenant_disappears(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    tenant = await create_tenant(client, auth, "doomed", env={"DATABASE_PASSWORD": "hunter2"})
    response = await client.delete(f"/tenants/{tenant['id']}", headers=auth)
    assert response.status_code == 202 and response.content == b""
    async with asyncio.timeout(10):
        await daemon.reconciler.idle()
    assert_error(await client.get(f"/tenants/{tenant['id']}", headers=auth), 404, "not_found")
    assert await env_store.read(daemon.db, daemon.ctx.box, tenant["id"]) == []
    # the name is free again
    await create_tenant(client, auth, "doomed")


async def test_a_deleted_tenant_leaves_no_build_log_and_its_events_go_after_retention(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon, clock: FrozenClock
) -> None:
    tenant = await create_tenant(client, auth, "forgotten")
    [deployment] = (await client.get(f"/tenants/{tenant['id']}/deployments", headers=auth)).json()["data"]
    settings = daemon.settings
    settings.build_logs.mkdir(parents=True, exist_ok=True)
    settings.build_log(deployment["id"]).write_text("==> building\n")
    settings.build_log("dep_orphan").write_text("left by a crash\n")
    assert (await client.delete(f"/tenants/{tenant['id']}", headers=auth)).status_code == 202
    async with asyncio.timeout(10):
        await daemon.reconciler.idle()
    assert not settings.build_log(deployment["id"]).exists()
    count = "SELECT count(*) FROM events WHERE tenant_id = ?"
    await daemon.platform.tenants.prune_history()
    assert await daemon.db.fetch_value(count, (tenant["id"],)) > 0  # kept for retention_days
    assert not settings.build_log("dep_orphan").exists()
    clock.advance(settings.events.retention_days * 86400 + 60)
    await daemon.platform.tenants.prune_history()
    assert await daemon.db.fetch_value(count, (tenant["id"],)) == 0


async def test_env_from_create_is_stored_encrypted(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    tenant = await create_tenant(client, auth, "with-env", env={"NODE_ENV": "production", "API_TOKEN": "s3cr3t-value"})
    stored = await env_store.read(daemon.db, daemon.ctx.box, tenant["id"])
    assert stored == [EnvVar("API_TOKEN", "s3cr3t-value", True), EnvVar("NODE_ENV", "production", False)]
    raw = daemon.settings.database_path.read_bytes() + daemon.settings.database_path.with_suffix(".db-wal").read_bytes()
    assert b"s3cr3t-value" not in raw


async def test_unknown_routes_and_methods_use_the_error_envelope(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    assert_error(await client.get("/nope", headers=auth), 404, "not_found")
    assert_error(await client.get("/tenants/a/b/c", headers=auth), 404, "not_found")
    response = await client.put("/tenants", headers=auth)
    assert_error(response, 405, "method_not_allowed")
    assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}
    for method in ("TRACE", "PROPFIND", "BREW"):  # methods no route names
        response = await client.request(method, "/tenants", headers=auth)
        assert_error(response, 405, "method_not_allowed")
        assert set(response.headers["allow"].split(", ")) == {"GET", "POST"}
        assert_error(await client.request(method, "/nope", headers=auth), 404, "not_found")
    outside = await client.get("http://testserver/robots.txt")
    assert_error(outside, 404, "not_found")


async def test_a_delete_asked_while_a_pass_writes_its_status_is_not_undone(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    """A pass saw the tenant deploying and decides `ready`; the delete lands before the
    pass writes. The write must not turn `deleting` back (the delete would be lost), and
    a redeploy queued meanwhile must not either."""
    tenant = await create_tenant(client, auth, "racing")
    seen = await tenant_store.get_any(daemon.db, tenant["id"])
    assert seen is not None
    async with daemon.db.transaction() as tx:  # what DELETE writes, without its kick
        await tenant_store.update(tx, tenant["id"], "now", status=TenantStatus.DELETING)
    await daemon.tenant_reconciler._write_statuses(seen, [SetTenantStatus(TenantStatus.READY, None)])
    async with daemon.db.transaction() as tx:
        settled = (TenantStatus.READY, TenantStatus.FAILED, TenantStatus.STOPPED)
        assert not await tenant_store.set_status(tx, tenant["id"], "now", TenantStatus.DEPLOYING, only_from=settled)
    row = await daemon.db.fetch_one("SELECT status FROM tenants WHERE id = ?", (tenant["id"],))
    assert row is not None and row["status"] == TenantStatus.DELETING
    types = await daemon.db.fetch_all("SELECT type FROM events WHERE tenant_id = ?", (tenant["id"],))
    assert "tenant.ready" not in [t["type"] for t in types]


async def test_a_client_gone_mid_body_is_no_server_error(
    daemon: Daemon, auth: dict[str, str], caplog: pytest.LogCaptureFixture
) -> None:
    """A client that disconnects while sending its body changes nothing and is not logged
    as a failure (nor counted as a 500): nobody is there to answer."""
    messages = [
        {"type": "http.request", "body": b'{"name": "half', "more_body": True},
        {"type": "http.disconnect"},
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = [(b"authorization", auth["Authorization"].encode()), (b"content-type", b"application/json")]
    headers.append((b"content-length", b"1000"))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/v1/tenants",
        "raw_path": b"/api/v1/tenants",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }
    with caplog.at_level(logging.INFO):
        await daemon.app(scope, receive, send)
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert "went away" in caplog.text
    assert sent[0]["status"] == 499
    assert await tenant_store.count_by_status(daemon.db) == {}


async def test_a_routable_service_whose_hostname_label_is_too_long_is_refused(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    """`<service>--<tenant>` is one DNS label: past 63 characters no certificate can name
    it, so the service could never be served. Said at once, with the fix."""
    tenant, service = "t" * 40, "s" * 30
    web = {"name": "web", **IMAGE_TENANT}
    long = {"name": service, **IMAGE_TENANT, "is_routable": True}
    response = await client.post("/tenants", headers=auth, json={"name": tenant, "services": [web, long]})
    fields = assert_error(response, 400, "validation_error")["details"]["fields"]
    assert "72 characters" in fields["services[1].name"] and "is_routable: false" in fields["services[1].name"]
    internal = {**long, "is_routable": False}
    created = assert_resource(
        await client.post("/tenants", headers=auth, json={"name": tenant, "services": [web, internal]}), 202
    )
    response = await client.post(f"/tenants/{created['id']}/services", headers=auth, json={**long, "name": "x" * 30})
    assert "characters" in assert_error(response, 400, "validation_error")["details"]["fields"]["name"]
