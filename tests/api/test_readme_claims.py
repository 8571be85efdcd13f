"""README's API claims that no other test checked, one test each, runtime off.

Each docstring quotes the README sentence it holds the code to; claims that need the
real host (podman, Caddy, nft, DNS) are tested in tests/integration and tests/security.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import math
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from staxad.api import streams
from staxad.api.app import all_endpoints
from staxad.api.openapi import shown_path
from staxad.daemon import Daemon
from staxad.model.clock import FrozenClock
from staxad.store import events as event_store
from tests.api.helpers import IMAGE_TENANT, assert_error, assert_resource, create_tenant
from tests.conftest import Keys

README = Path(__file__).parents[2] / "README.md"
INBOUND = {"direction": "inbound", "protocol": "tcp", "target_service": "web", "source_cidrs": ["203.0.113.0/24"]}


def readme_routes() -> dict[tuple[str, str], tuple[str, str]]:
    """(method, path under /api/v1) -> (Scope, Status) from README's route table."""
    row = re.compile(r"^\| `(GET|POST|PUT|PATCH|DELETE) /api/v1(\S+)` \| ([^|]+) \| ([^|]+) \|$")
    found = (row.match(line) for line in README.read_text().splitlines())
    return {(m[1], m[2]): (m[3].strip(), m[4].strip()) for m in found if m}


async def insert_deployment(daemon: Daemon, tenant: dict[str, Any], service: str, **columns: Any) -> str:
    """A deployment row as the reconciler leaves it, made live for its service."""
    service_id = next(s["id"] for s in tenant["services"] if s["name"] == service)
    row = {"status": "succeeded", "stage": "ready", "created_at": "2026-01-01T00:00:00Z", **columns}
    deployment_id = f"dep_{tenant['name']}_{service}"
    names = ", ".join(row)
    async with daemon.db.transaction() as tx:
        await tx.execute(
            f"INSERT INTO deployments (id, tenant_id, service_id, {names}) VALUES (?, ?, ?{', ?' * len(row)})",
            (deployment_id, tenant["id"], service_id, *row.values()),
        )
        await tx.execute("UPDATE services SET live_deployment_id = ? WHERE id = ?", (deployment_id, service_id))
    return deployment_id


async def end_stream(daemon: Daemon, tenant: dict[str, Any], clock: FrozenClock) -> None:
    async with daemon.db.transaction() as tx:  # as a finished delete does
        await event_store.append(tx, tenant["id"], "tenant.deleted", "gone", clock.now())


def sse_events(text: str) -> list[dict[str, str]]:
    found = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if line and not line.startswith(":"))
        if fields:
            found.append(fields)
    return found


# --- the API section and its route table -------------------------------------------------


def test_the_route_tables_scopes_and_first_statuses_are_the_codes() -> None:
    """README: "| Endpoint | Scope | Status |" for every route; `none` needs no key."""
    documented = readme_routes()
    for endpoint in all_endpoints():
        scope, status = documented[(endpoint.method, shown_path(endpoint.path))]
        assert scope == (endpoint.scope or "none"), endpoint.path
        first = re.search(r"\b[1-5]\d\d\b", status)
        assert (int(first[0]) if first else 200) == endpoint.status, (endpoint.path, status)
    assert len(documented) == len(all_endpoints())


async def test_validation_errors_list_every_bad_field_at_once(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    """README: "Validation errors list every bad field at once in `details.fields`."""
    body = {"name": "Bad_Name", "source_type": "image", "image_url": "x/y:1", "port": 0, "resource_size": "huge"}
    error = assert_error(await client.post("/tenants", headers=auth, json=body), 400, "validation_error")
    assert {"name", "port", "resource_size"} <= set(error["details"]["fields"])


async def test_an_unexpected_failure_is_a_500_naming_the_request_id(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: "an unexpected failure is a 500 whose message carries the request id to find
    in the log"."""

    async def broken(*_: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(daemon.platform.accounts, "get", broken)
    response = await client.get("/account", headers=auth)
    error = assert_error(response, 500, "internal_error")
    request_id = response.headers["X-Request-Id"]
    assert request_id.startswith("req_") and request_id in error["message"]
    assert "disk on fire" not in response.text


async def test_every_kind_of_response_carries_the_rate_limit_headers(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon, clock: FrozenClock
) -> None:
    """README: "Every response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and
    `X-RateLimit-Reset`" (empty bodies, plain text, streams and the public document too)."""
    tenant = await create_tenant(client, auth, "headers")
    await end_stream(daemon, tenant, clock)
    key = assert_resource(await client.post("/api-keys", headers=auth, json={"name": "gone"}), 201)
    for response in [
        await client.get("/openapi.json"),
        await client.delete(f"/api-keys/{key['id']}", headers=auth),
        await client.delete(f"/tenants/{tenant['id']}", headers=auth),
        await client.get(f"/tenants/{tenant['id']}/logs", headers=auth),
        await client.get(f"/tenants/{tenant['id']}/events", headers=auth),
        await client.put("/account", headers=auth),
    ]:
        assert {"x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"} <= set(response.headers), (
            response.request.url,
            response.status_code,
        )


# --- keys, scopes and test mode ---------------------------------------------------------


async def test_keys_are_32_random_bytes_stored_only_as_a_sha256_digest(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    """README: "Keys are 32 random bytes, stored only as a SHA-256 digest with a 12-character
    display prefix; the raw key is returned once."""
    created = assert_resource(await client.post("/api-keys", headers=auth, json={"name": "ci"}), 201)
    raw = created["key"]
    secret = raw.removeprefix("sk_live_")
    assert len(base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))) == 32
    assert created["prefix"] == raw[:12] and len(created["prefix"]) == 12
    row = await daemon.db.fetch_one("SELECT * FROM api_keys WHERE id = ?", (created["id"],))
    assert row is not None and row["digest"] == hashlib.sha256(raw.encode()).hexdigest()
    assert secret not in json.dumps(dict(row))
    shown = (await client.get("/api-keys", headers=auth)).json()["data"]
    assert all(
        set(k) == {"id", "name", "prefix", "mode", "scopes", "expires_at", "created_at", "parent_key_id"} for k in shown
    )


async def test_a_test_key_cannot_hold_admin(client: httpx.AsyncClient, keys: Keys) -> None:
    """README: test keys "cannot hold `admin`", even minted by an admin key."""
    admin = await keys.make("ops@example.com", scopes=("*", "admin"))
    body = {"name": "ci", "mode": "test", "scopes": ["*", "admin"]}
    error = assert_error(await client.post("/api-keys", headers=admin, json=body), 400, "validation_error")
    assert "scopes" in error["details"]["fields"]
    made = assert_resource(await client.post("/api-keys", headers=admin, json={**body, "scopes": ["*"]}), 201)
    assert made["mode"] == "test" and made["scopes"] == ["*"]


async def test_test_keys_have_three_tenants_by_default(client: httpx.AsyncClient, keys: Keys) -> None:
    """README: test keys create tenants "under `limits.test_tenants_per_provider` (default 3)"."""
    test = await keys.make(mode="test")
    for name in ("t-one", "t-two", "t-three"):
        await create_tenant(client, test, name)
    error = assert_error(
        await client.post("/tenants", headers=test, json={"name": "t-four", **IMAGE_TENANT}),
        422,
        "limit_exceeded",
    )
    assert (error["details"]["used"], error["details"]["limit"]) == (3, 3)


async def test_another_providers_anything_is_a_404_on_every_tenant_route(
    client: httpx.AsyncClient, keys: Keys, daemon: Daemon
) -> None:
    """README: "Another provider's tenant, key or anything else is a 404."""
    alice = await keys.make("alice@example.com")
    bob = await keys.make("bob@example.com", scopes=("*", "exec"))  # every scope a tenant route needs
    hers = await create_tenant(client, alice, "hers")
    his = await create_tenant(client, bob, "his")
    [deployment] = (await client.get(f"/tenants/{hers['id']}/deployments", headers=alice)).json()["data"]
    domain = assert_resource(
        await client.post(f"/tenants/{hers['id']}/domains", headers=alice, json={"domain": "hers.example.com"}), 201
    )
    rule = assert_resource(await client.post(f"/tenants/{hers['id']}/network-rules", headers=alice, json=INBOUND), 201)
    volume = assert_resource(
        await client.post(f"/tenants/{hers['id']}/volumes", headers=alice, json={"name": "data", "size_mb": 10}), 201
    )
    ids = {
        "service_name": "web",
        "deployment_id": deployment["id"],
        "domain_id": domain["id"],
        "rule_id": rule["id"],
        "key": "API_TOKEN",
        "volume_id": volume["id"],
        "backup_id": "bak_000000000000",
        "restore_id": "rst_000000000000",
        "database_id": "db_000000000000",
        "connection_id": "con_000000000000",
    }

    def url(path: str, tenant: dict[str, Any]) -> str:
        return re.sub(r"{(\w+)}", lambda m: tenant["id"] if m[1] == "tenant_id" else ids[m[1]], path)

    tenant_routes = [ep for ep in all_endpoints() if "{tenant_id}" in ep.path]
    assert len(tenant_routes) > 25
    for ep in tenant_routes:
        body = {} if ep.method in ("POST", "PUT", "PATCH") else None
        response = await client.request(ep.method, url(ep.path, hers), headers=bob, json=body)
        assert_error(response, 404, "not_found")
        if re.search(r"{(deployment_id|domain_id|rule_id|volume_id)}", ep.path):  # her ids under his own tenant
            response = await client.request(ep.method, url(ep.path, his), headers=bob, json=body)
            assert_error(response, 404, "not_found")
    still = assert_resource(await client.get(f"/tenants/{hers['id']}/network-rules/{rule['id']}", headers=alice))
    assert still["status"] == "active"


# --- tenants ----------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["api", "www", "admin", "staxa", "staxad", "caddy", "localhost"])
async def test_reserved_tenant_names_are_refused(client: httpx.AsyncClient, auth: dict[str, str], name: str) -> None:
    """README: `name` is "not `api`, `www`, `admin`, `staxa`, `staxad`, `caddy`, `localhost`"."""
    error = assert_error(
        await client.post("/tenants", headers=auth, json={"name": name, **IMAGE_TENANT}), 400, "validation_error"
    )
    assert "reserved" in error["details"]["fields"]["name"]


async def test_a_63_character_name_is_accepted(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    """README: `name` is "a DNS label: lowercase letters, digits, single hyphens, at most 63"."""
    name = "a1-" + "b" * 60
    assert (await create_tenant(client, auth, name))["name"] == name


async def test_defaults_of_the_single_service_form(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    """README: "The default port is 3000"; `port`/`app_port` name the same thing; a new
    service is "`pending` (nothing deployed yet)"."""
    plain = await create_tenant(client, auth, "plain")
    [web] = plain["services"]
    assert web["port"] == 3000 and plain["app_port"] == 3000 and web["status"] == "pending"
    aliased = await create_tenant(client, auth, "aliased", app_port=8080)
    assert aliased["services"][0]["port"] == 8080 and aliased["app_port"] == 8080


async def test_in_the_multi_service_form_the_first_service_is_primary_by_default(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    """README: "in the multi-service form the first service is primary unless one says
    `is_primary`. The default port is 3000."""
    services = [{"name": "front", **IMAGE_TENANT}, {"name": "back", **IMAGE_TENANT, "port": 8080}]
    data = assert_resource(
        await client.post("/tenants", headers=auth, json={"name": "pair", "services": services}), 202
    )
    by_name = {s["name"]: s for s in data["services"]}
    assert by_name["front"]["is_primary"] and not by_name["back"]["is_primary"]
    assert by_name["front"]["port"] == 3000 and by_name["back"]["port"] == 8080


async def test_list_sorts_by_every_documented_key_default_newest_first(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon, clock: FrozenClock
) -> None:
    """README: "List sorts by `created_at`, `updated_at`, `name` or `status`, ascending or with
    a leading `-` descending (default `-created_at`); `search` matches name and display name."""
    for name, shown in [("bravo", "Zulu Shop"), ("alpha", None), ("charlie", "Kilo")]:
        await create_tenant(client, auth, name, **({"display_name": shown} if shown else {}))
        clock.advance(2)
    alpha = next(t for t in (await client.get("/tenants", headers=auth)).json()["data"] if t["name"] == "alpha")
    assert_resource(await client.patch(f"/tenants/{alpha['id']}", headers=auth, json={"display_name": "Later"}))
    async with daemon.db.transaction() as tx:
        await tx.execute("UPDATE tenants SET status = 'ready' WHERE name = 'charlie'")

    async def names(**params: str) -> list[str]:
        body = (await client.get("/tenants", headers=auth, params=params)).json()
        return [t["name"] for t in body["data"]]

    assert await names() == ["charlie", "alpha", "bravo"]
    assert await names(sort="-created_at") == ["charlie", "alpha", "bravo"]
    assert await names(sort="created_at") == ["bravo", "alpha", "charlie"]
    assert (await names(sort="-updated_at"))[0] == "alpha"
    assert (await names(sort="updated_at"))[-1] == "alpha"
    assert (await names(sort="status"))[-1] == "charlie" and (await names(sort="-status"))[0] == "charlie"
    assert await names(search="zulu") == ["bravo"]
    assert await names(search="KILO") == ["charlie"]


async def test_delete_marks_the_tenant_deleting_first(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon, monkeypatch: pytest.MonkeyPatch
) -> None:
    """README: "`DELETE /api/v1/tenants/{tenant_id}` | 202; status `deleting`, then gone"."""
    tenant = await create_tenant(client, auth, "leaving")
    async with asyncio.timeout(10):
        await daemon.reconciler.idle()
    monkeypatch.setattr(daemon.reconciler, "kick", lambda *_: None)  # hold the pass that removes it
    assert (await client.delete(f"/tenants/{tenant['id']}", headers=auth)).status_code == 202
    assert assert_resource(await client.get(f"/tenants/{tenant['id']}", headers=auth))["status"] == "deleting"
    listed = (await client.get("/tenants", headers=auth, params={"status": "deleting"})).json()["data"]
    assert [t["id"] for t in listed] == [tenant["id"]]


# --- services and deployments -----------------------------------------------------------


async def test_deploy_all_queues_every_service_in_priority_order_and_lists_newest_first(
    client: httpx.AsyncClient, auth: dict[str, str], clock: FrozenClock
) -> None:
    """README: "`POST .../deploy` | 202; every service in priority order"; "`GET
    .../deployments` | 200 list, newest first"; creating a tenant "queues one deployment per
    service"."""
    services = [
        {"name": "web", **IMAGE_TENANT, "is_primary": True},
        {"name": "api", **IMAGE_TENANT},
        {"name": "db", **IMAGE_TENANT},
    ]
    tenant = assert_resource(
        await client.post("/tenants", headers=auth, json={"name": "trio", "services": services}), 202
    )
    base = f"/tenants/{tenant['id']}"
    created = (await client.get(f"{base}/deployments", headers=auth)).json()
    assert created["meta"]["total"] == 3
    service = {"name": "worker", **IMAGE_TENANT}
    assert_resource(await client.post(f"{base}/services", headers=auth, json=service), 202)
    clock.advance(5)
    everything = assert_resource(await client.post(f"{base}/deploy", headers=auth), 202)
    assert everything["services"] == ["web", "api", "db", "worker"]
    assert [d["service_name"] for d in everything["deployments"]] == everything["services"]
    listed = (await client.get(f"{base}/deployments", headers=auth, params={"limit": 100})).json()["data"]
    stamps = [d["created_at"] for d in listed]
    assert stamps == sorted(stamps, reverse=True) and stamps[0] > stamps[-1]
    assert {d["id"] for d in listed[:4]} == {d["id"] for d in everything["deployments"]}
    shown = assert_resource(await client.get(base, headers=auth))  # "200 with ... recent deployments"
    assert shown["deployments"] and shown["deployments"][0]["id"] == listed[0]["id"]


async def test_a_deployment_shows_stage_reason_commit_framework_and_build_time(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    """README: "`GET .../deployments/{deployment_id}` | 200 with stage, reason, commit,
    framework, build time"."""
    body = {"name": "built", "source_type": "github", "repo_url": "https://git.example.com/a/b"}
    tenant = assert_resource(await client.post("/tenants", headers=auth, json=body), 202)
    deployment_id = await insert_deployment(
        daemon,
        tenant,
        "web",
        status="failed",
        stage="build",
        reason="npm ci failed",
        commit_sha="a" * 40,
        commit_message="Fix it",
        framework="node",
    )
    shown = assert_resource(await client.get(f"/tenants/{tenant['id']}/deployments/{deployment_id}", headers=auth))
    assert (shown["stage"], shown["reason"], shown["commit_sha"]) == ("build", "npm ci failed", "a" * 40)
    assert shown["framework"] == "node" and "build_duration_seconds" in shown


async def test_rollback_is_a_new_deployment_on_the_earlier_image(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    """README: "`POST .../deployments/{deployment_id}/rollback` | deploy | 202; a new
    deployment on the earlier image, no rebuild"."""
    tenant = await create_tenant(client, auth, "backwards")
    earlier = await insert_deployment(daemon, tenant, "web", image_ref="localhost/staxatest/web:0")
    url = f"/tenants/{tenant['id']}/deployments/{earlier}/rollback"
    queued = assert_resource(await client.post(url, headers=auth), 202)
    assert queued["id"] != earlier and queued["status"] == "queued"
    assert queued["rollback_from"] == earlier and queued["image"] == "localhost/staxatest/web:0"


async def test_rollback_to_a_pruned_image_is_422_naming_the_commit(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    """README: rollback "answers 422 naming the commit to deploy when that image was pruned"."""
    body = {"name": "pruned", "source_type": "github", "repo_url": "https://git.example.com/a/b"}
    tenant = assert_resource(await client.post("/tenants", headers=auth, json=body), 202)
    earlier = await insert_deployment(
        daemon, tenant, "web", image_ref="localhost/staxa-default/pruned-web:1", commit_sha="b" * 40
    )
    url = f"/tenants/{tenant['id']}/deployments/{earlier}/rollback"
    error = assert_error(await client.post(url, headers=auth), 422, "unprocessable_entity")
    assert "b" * 40 in error["message"]


class FakeLogs:
    """Container output by container name, as podman would give it."""

    def __init__(self, output: dict[str, bytes]) -> None:
        self.output = output

    async def logs(self, name: str, lines: int, timestamps: bool = False) -> bytes:
        return self.output[name]

    async def follow(self, name: str, lines: int) -> AsyncIterator[bytes]:
        for line in self.output[name].splitlines(keepends=True):
            yield line


async def test_tenant_logs_prefix_every_service_unless_one_is_picked(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    """README: "`GET .../logs` | 200 text/plain (`lines`, `service`) ... every service's lines
    prefixed `[name] ` unless `service=` picks one"; a service's own logs are text/plain."""
    services = [{"name": "web", **IMAGE_TENANT}, {"name": "api", **IMAGE_TENANT}]
    tenant = assert_resource(
        await client.post("/tenants", headers=auth, json={"name": "loud", "services": services}), 202
    )
    await insert_deployment(daemon, tenant, "web", container_id="c-web")
    await insert_deployment(daemon, tenant, "api", container_id="c-api")
    daemon.ctx.logs = FakeLogs({"c-web": b"GET /\nGET /about\n", "c-api": b"listening\n"})
    base = f"/tenants/{tenant['id']}"
    both = await client.get(f"{base}/logs", headers=auth)
    assert both.status_code == 200 and both.headers["content-type"].startswith("text/plain")
    assert sorted(both.text.splitlines()) == ["[api] listening", "[web] GET /", "[web] GET /about"]
    picked = await client.get(f"{base}/logs", headers=auth, params={"service": "web"})
    assert picked.text == "GET /\nGET /about\n"
    own = await client.get(f"{base}/services/api/logs", headers=auth)
    assert own.headers["content-type"].startswith("text/plain") and own.text == "listening\n"
    assert_error(await client.get(f"{base}/services/nope/logs", headers=auth), 404, "not_found")
    followed = await client.get(f"{base}/logs", headers=auth, params={"follow": "true"})
    assert followed.headers["content-type"].startswith("text/event-stream")
    assert sorted(e["data"] for e in sse_events(followed.text)) == [
        "[api] listening",
        "[web] GET /",
        "[web] GET /about",
    ]


# --- events -----------------------------------------------------------------------------


async def test_events_replay_after_last_event_id_with_documented_fields(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon, clock: FrozenClock
) -> None:
    """README: "`id:` is the event id, `event:` its type ..., `data:` JSON with `stage`,
    `message`, `deployment_id`, `service`, `timestamp`"; "A reconnect with `Last-Event-ID`
    replays what was missed"."""
    tenant = await create_tenant(client, auth, "replayed")
    await end_stream(daemon, tenant, clock)
    url = f"/tenants/{tenant['id']}/events"
    first = sse_events((await client.get(url, headers=auth)).text)
    assert [e["event"] for e in first][:2] == ["tenant.created", "deployment.queued"]
    assert first[-1]["event"] == "tenant.deleted"
    for event in first:
        data = json.loads(event["data"])
        assert int(event["id"]) == data["id"] and event["event"] == data["type"]
        assert {"stage", "message", "deployment_id", "service", "timestamp"} <= set(data)
    queued = json.loads(first[1]["data"])
    assert queued["service"] == "web" and queued["deployment_id"].startswith("dep_")
    replay = sse_events((await client.get(url, headers={**auth, "Last-Event-ID": first[0]["id"]})).text)
    assert [e["id"] for e in replay] == [e["id"] for e in first[1:]]


async def test_idle_event_streams_get_keep_alives(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    daemon: Daemon,
    clock: FrozenClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """README: "`GET .../events` | SSE; replays after `Last-Event-ID`; keep-alives"."""
    monkeypatch.setattr(streams, "KEEPALIVE_SECONDS", 0.1)
    monkeypatch.setattr(streams, "POLL_SECONDS", 0.05)
    tenant = await create_tenant(client, auth, "idle")
    stream = asyncio.ensure_future(client.get(f"/tenants/{tenant['id']}/events", headers=auth))
    await asyncio.sleep(0.5)
    await end_stream(daemon, tenant, clock)
    response = await asyncio.wait_for(stream, timeout=5)
    assert response.headers["content-type"].startswith("text/event-stream")
    assert ": keep-alive\n\n" in response.text


# --- rate limits ------------------------------------------------------------------------


async def test_the_events_endpoint_allows_ten_a_minute(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon, clock: FrozenClock
) -> None:
    """README: "`GET /tenants/{id}/events` 10"."""
    tenant = await create_tenant(client, auth, "watched")
    await end_stream(daemon, tenant, clock)  # each stream ends at once
    url = f"/tenants/{tenant['id']}/events"
    codes = [(await client.get(url, headers=auth)).status_code for _ in range(10)]
    assert codes == [200] * 10
    limited = await client.get(url, headers=auth)
    assert_error(limited, 429, "rate_limited")
    assert limited.headers["X-RateLimit-Limit"] == "10" and "Retry-After" in limited.headers


async def test_reset_is_when_the_oldest_counted_request_leaves_the_window(
    client: httpx.AsyncClient, auth: dict[str, str], clock: FrozenClock
) -> None:
    """README: "`X-RateLimit-Reset` (Unix time when the oldest counted request leaves the
    window)"."""
    oldest = clock.time()
    first = await client.get("/account", headers=auth)
    clock.advance(20)
    second = await client.get("/account", headers=auth)
    expected = str(math.ceil(oldest + 60))
    assert first.headers["X-RateLimit-Reset"] == expected and second.headers["X-RateLimit-Reset"] == expected
    assert second.headers["X-RateLimit-Remaining"] == "58"
    clock.advance(41)  # the first left the window: the second is now the oldest
    third = await client.get("/account", headers=auth)
    assert third.headers["X-RateLimit-Reset"] == str(math.ceil(oldest + 20 + 60))


# --- custom domains and network rules ---------------------------------------------------


async def test_domains_are_stored_as_ascii_and_local_or_mixed_script_names_refused(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    """README: "`POST .../domains` stores the name (lowercased, IDNA to ASCII; ...
    `.local`/`.localhost`, labels that mix scripts such as a Cyrillic `a` among Latin
    letters ... are refused)"."""
    tenant = await create_tenant(client, auth, "intl")
    url = f"/tenants/{tenant['id']}/domains"
    added = assert_resource(await client.post(url, headers=auth, json={"domain": "Bücher.Example.com"}), 201)
    assert added["domain"] == "xn--bcher-kva.example.com"
    for bad in ["printer.local", "app.localhost", "p\u0430ypal.example.com"]:
        error = assert_error(await client.post(url, headers=auth, json={"domain": bad}), 400, "validation_error")
        assert "domain" in error["details"]["fields"], bad


async def test_network_rules_list_every_status_with_all(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    """README: "Lists filter by `direction` and `status` (`active` by default, `failed`,
    `expired`, `deleted`, `all`)."""
    tenant = await create_tenant(client, auth, "ported")
    url = f"/tenants/{tenant['id']}/network-rules"
    kept = assert_resource(await client.post(url, headers=auth, json=INBOUND), 201)
    dropped = assert_resource(await client.post(url, headers=auth, json={**INBOUND, "protocol": "udp"}), 201)
    assert (await client.delete(f"{url}/{dropped['id']}", headers=auth)).status_code == 204
    everything = assert_resource(await client.get(url, headers=auth, params={"status": "all"}))
    assert {r["id"]: r["status"] for r in everything} == {kept["id"]: "active", dropped["id"]: "deleted"}
    inbound = assert_resource(await client.get(url, headers=auth, params={"status": "all", "direction": "inbound"}))
    assert len(inbound) == 2
    async with daemon.db.transaction() as tx:  # what a rule the kernel refused becomes
        await tx.execute("UPDATE network_rules SET status = 'failed' WHERE id = ?", (kept["id"],))
    failed = assert_resource(await client.get(url, headers=auth, params={"status": "failed"}))
    assert [r["id"] for r in failed] == [kept["id"]]
    assert assert_resource(await client.get(url, headers=auth)) == []
