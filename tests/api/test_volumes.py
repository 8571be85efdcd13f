"""Volumes and backups through the API without a runtime: records, refusals, nothing
half-made."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from staxad.daemon import Daemon
from staxad.model.clock import FrozenClock
from staxad.model.volumes import JobStatus
from staxad.store import volumes as volume_store
from tests.api.helpers import IMAGE_TENANT, assert_error, assert_resource, create_tenant
from tests.conftest import Keys, make_settings

DATA = {"name": "data", "mount_path": "/data", "size_mb": 100}


async def volumes_of(client: httpx.AsyncClient, auth: dict[str, str], tenant: dict[str, Any]) -> list[dict[str, Any]]:
    return list((await client.get(f"/tenants/{tenant['id']}/volumes", headers=auth)).json()["data"])


async def test_a_service_declares_its_volumes_at_create(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    tenant = await create_tenant(client, auth, "keeper", volumes=[DATA, {**DATA, "name": "cache", "mount_path": "/c"}])
    listed = await volumes_of(client, auth, tenant)
    assert [(v["name"], v["service"], v["mount_path"], v["used_bytes"]) for v in listed] == [
        ("cache", "web", "/c", None),
        ("data", "web", "/data", None),
    ]
    assert listed[1]["keep_last"] == 7 and listed[1]["retain"] is False
    one = assert_resource(await client.get(f"/tenants/{tenant['id']}/volumes/{listed[1]['id']}", headers=auth))
    assert one == listed[1]
    busy = await client.delete(f"/tenants/{tenant['id']}/volumes/{listed[1]['id']}", headers=auth)
    assert "mounted by web" in assert_error(busy, 409, "conflict")["message"]


async def test_bad_volumes_are_400_with_every_field_and_nothing_is_created(
    client: httpx.AsyncClient, auth: dict[str, str]
) -> None:
    bad = [
        {"name": "Bad_Name", "mount_path": "relative", "size_mb": 0},
        {"name": "root", "mount_path": "/", "size_mb": 10},
        {"name": "proc", "mount_path": "/proc", "size_mb": 10_000_000},
        {"name": "x", "mount_path": "/x", "size_mb": 10, "backup_schedule": "hourly", "extra": 1},
    ]
    body = {"name": "broken", "source_type": "image", "image_url": "localhost/app:1", "port": 8080, "volumes": bad}
    error = assert_error(await client.post("/tenants", headers=auth, json=body), 400, "validation_error")
    fields = set(error["details"]["fields"])
    assert {
        "volumes[0].name",
        "volumes[0].mount_path",
        "volumes[0].size_mb",
        "volumes[1].mount_path",
        "volumes[2].mount_path",
        "volumes[2].size_mb",
        "volumes[3].backup_schedule",
        "volumes[3].extra",
    } <= fields, fields
    nested = {**body, "volumes": [DATA, {**DATA, "name": "inner", "mount_path": "/data/inner"}]}
    error = assert_error(await client.post("/tenants", headers=auth, json=nested), 400, "validation_error")
    assert "/data/inner" in error["details"]["fields"]["volumes"]
    assert (await client.get("/tenants", headers=auth)).json()["meta"]["total"] == 0


async def test_own_volumes_attach_detach_and_delete(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    tenant = await create_tenant(client, auth, "attach")
    url = f"/tenants/{tenant['id']}/volumes"
    loose = assert_resource(await client.post(url, headers=auth, json={"name": "loose", "size_mb": 5}), 201)
    assert loose["service"] is None and loose["deployment"] is None
    assert_error(await client.post(url, headers=auth, json={"name": "loose", "size_mb": 5}), 409, "conflict")
    error = assert_error(
        await client.post(url, headers=auth, json={"name": "half", "size_mb": 5, "service": "web"}),
        400,
        "validation_error",
    )
    assert set(error["details"]["fields"]) == {"mount_path"}
    error = assert_error(
        await client.post(
            url, headers=auth, json={"name": "ghost", "size_mb": 5, "service": "nope", "mount_path": "/g"}
        ),
        400,
        "validation_error",
    )
    assert "no service 'nope'" in error["details"]["fields"]["service"]
    mounted = assert_resource(
        await client.patch(f"{url}/{loose['id']}", headers=auth, json={"service": "web", "mount_path": "/srv"})
    )
    assert mounted["service"] == "web" and mounted["deployment"]["service_name"] == "web"
    clash = await client.post(
        url, headers=auth, json={"name": "over", "size_mb": 5, "service": "web", "mount_path": "/srv/x"}
    )
    assert "inside another volume" in assert_error(clash, 400, "validation_error")["details"]["fields"]["mount_path"]
    assert_error(await client.delete(f"{url}/{loose['id']}", headers=auth), 409, "conflict")
    detached = assert_resource(await client.patch(f"{url}/{loose['id']}", headers=auth, json={"service": None}))
    assert detached["service"] is None and detached["mount_path"] is None
    tuned = assert_resource(
        await client.patch(
            f"{url}/{loose['id']}",
            headers=auth,
            json={"backup_schedule": "daily@04:15", "keep_last": 3, "retain": True},
        )
    )
    assert (tuned["backup_schedule"], tuned["keep_last"], tuned["retain"]) == ("15 4 * * *", 3, True)
    assert (await client.delete(f"{url}/{loose['id']}", headers=auth)).status_code == 204
    assert_error(await client.get(f"{url}/{loose['id']}", headers=auth), 404, "not_found")


async def test_backups_are_queued_pinned_and_guarded(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    tenant = await create_tenant(client, auth, "backed", volumes=[DATA])
    [volume] = await volumes_of(client, auth, tenant)
    url = f"/tenants/{tenant['id']}/volumes/{volume['id']}/backups"
    queued = assert_resource(await client.post(url, headers=auth), 202)
    assert queued["status"] == "queued" and queued["kind"] == "manual" and queued["sha256"] is None
    restore = await client.post(f"{url}/{queued['id']}/restore", headers=auth)
    assert "only a succeeded backup" in assert_error(restore, 422, "unprocessable_entity")["message"]
    assert_error(await client.delete(f"{url}/{queued['id']}", headers=auth), 409, "conflict")  # still queued
    async with daemon.db.transaction() as tx:  # as the pass would have finished it
        await volume_store.update_backup(tx, queued["id"], status=JobStatus.SUCCEEDED, sha256="0" * 64, size_bytes=1)
    pinned = assert_resource(await client.post(f"{url}/{queued['id']}/pin", headers=auth))
    assert pinned["pinned"] is True
    assert (
        "unpin it first"
        in assert_error(await client.delete(f"{url}/{queued['id']}", headers=auth), 409, "conflict")["message"]
    )
    assert_resource(await client.post(f"{url}/{queued['id']}/unpin", headers=auth))
    started = assert_resource(await client.post(f"{url}/{queued['id']}/restore", headers=auth), 202)
    assert started["status"] == "queued" and started["backup_id"] == queued["id"]
    seen = assert_resource(
        await client.get(f"/tenants/{tenant['id']}/volumes/{volume['id']}/restores/{started['id']}", headers=auth)
    )
    assert seen == started
    assert [b["id"] for b in (await client.get(url, headers=auth)).json()["data"]] == [queued["id"]]
    assert_error(await client.get(f"{url}/bak_nope", headers=auth), 404, "not_found")


async def test_backups_stop_at_the_providers_quota_and_schedules_at_the_shortest_gap(
    tmp_path: Path, clock: FrozenClock
) -> None:
    daemon = Daemon(make_settings(tmp_path, STAXAD_VOLUMES_BACKUP_QUOTA_MB="1"), clock=clock)
    await daemon.start()
    try:
        transport = httpx.ASGITransport(app=daemon.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver/api/v1") as client:
            keys = Keys(daemon)
            auth, other = await keys.make("a@example.com"), await keys.make("b@example.com")
            every_minute = {**DATA, "backup_schedule": "*/5 * * * *"}
            refused = await client.post(
                "/tenants", headers=auth, json={"name": "often", **IMAGE_TENANT, "volumes": [every_minute]}
            )
            assert (
                "minutes apart"
                in assert_error(refused, 400, "validation_error")["details"]["fields"]["volumes[0].backup_schedule"]
            )

            tenant = await create_tenant(client, auth, "full", volumes=[{**DATA, "backup_schedule": "0 * * * *"}])
            [volume] = await volumes_of(client, auth, tenant)
            url = f"/tenants/{tenant['id']}/volumes/{volume['id']}/backups"
            queued = assert_resource(await client.post(url, headers=auth), 202)
            async with daemon.db.transaction() as tx:  # a pinned archive of 2 MiB fills the 1 MiB quota
                await volume_store.update_backup(
                    tx, queued["id"], status=JobStatus.SUCCEEDED, sha256="0" * 64, size_bytes=2 << 20, pinned=1
                )
            full = assert_error(await client.post(url, headers=auth), 422, "limit_exceeded")
            assert full["details"] == {"used_bytes": 2 << 20, "limit_bytes": 1 << 20}
            assert "2 MiB of this provider's 1 MiB" in full["message"]

            clock.advance(3600)  # the hourly schedule falls due: recorded as failed, never run
            assert await daemon.platform.backups.queue_due() == 1
            listed = (await client.get(url, headers=auth)).json()["data"]
            assert [(b["kind"], b["status"]) for b in listed] == [("scheduled", "failed"), ("manual", "succeeded")]
            assert "volumes.backup_quota_mb" in listed[0]["reason"]

            theirs = await create_tenant(client, other, "roomy", volumes=[DATA])  # another provider's quota
            [their_volume] = await volumes_of(client, other, theirs)
            their_url = f"/tenants/{theirs['id']}/volumes/{their_volume['id']}/backups"
            assert_resource(await client.post(their_url, headers=other), 202)
    finally:
        await daemon.stop()


async def test_build_logs_are_kept_for_each_services_newest_deployments(tmp_path: Path, clock: FrozenClock) -> None:
    daemon = Daemon(make_settings(tmp_path, STAXAD_BUILD_KEEP_LOGS="2"), clock=clock)
    await daemon.start()
    try:
        transport = httpx.ASGITransport(app=daemon.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver/api/v1") as client:
            auth = await Keys(daemon).make()
            tenant = await create_tenant(client, auth, "chatty")
            for _ in range(3):
                clock.advance(1)
                assert_resource(await client.post(f"/tenants/{tenant['id']}/services/web/deploy", headers=auth), 202)
            deployments = (await client.get(f"/tenants/{tenant['id']}/deployments", headers=auth)).json()["data"]
            assert len(deployments) == 4
            for d in deployments:
                daemon.settings.build_log(d["id"]).parent.mkdir(parents=True, exist_ok=True)
                daemon.settings.build_log(d["id"]).write_text("==> built\n")
            await daemon.platform.tenants.prune_history()
            kept = [d["id"] for d in deployments if daemon.settings.build_log(d["id"]).exists()]
            assert kept == [d["id"] for d in deployments[:2]]  # newest first
    finally:
        await daemon.stop()


async def test_a_retained_volume_is_attached_within_the_tenants_limits_and_only_by_its_provider(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon, keys: Keys
) -> None:
    gone = await create_tenant(
        client, auth, "gone", volumes=[{**DATA, "retain": True}, {**DATA, "name": "tmp", "mount_path": "/tmp"}]
    )
    assert (await client.delete(f"/tenants/{gone['id']}", headers=auth)).status_code == 202
    await daemon.platform.tenants.forget(gone["id"])  # what the tenant pass does once the host is clean
    [kept] = (await client.get("/volumes?retained=true", headers=auth)).json()["data"]
    assert kept["name"] == "data" and kept["size_mb"] == 100 and kept["retained_from"]["tenant_name"] == "gone"
    _, raw = await daemon.platform.keys.create(auth["X-Provider-Id"], "t", "test", ["*"], None)
    test = {"Authorization": f"Bearer {raw}"}
    assert (await client.get("/volumes?retained=true", headers=test)).json()["data"] == []
    assert_error(await client.delete(f"/volumes/{kept['id']}", headers=test), 404, "not_found")
    stranger = await keys.make("stranger@example.com")
    theirs = await create_tenant(client, stranger, "theirs")
    url = f"/volumes/{kept['id']}/attach"
    assert_error(await client.post(url, headers=stranger, json={"tenant_id": theirs["id"]}), 404, "not_found")

    full = await create_tenant(
        client,
        auth,
        "full",
        volumes=[{**DATA, "name": f"v{i}", "mount_path": f"/v{i}"} for i in range(daemon.settings.volumes.per_tenant)],
    )
    refused = assert_error(await client.post(url, headers=auth, json={"tenant_id": full["id"]}), 422, "limit_exceeded")
    assert refused["details"]["used"] == daemon.settings.volumes.per_tenant
    taken = await create_tenant(client, auth, "taken", volumes=[DATA])
    assert_error(await client.post(url, headers=auth, json={"tenant_id": taken["id"]}), 409, "conflict")
    given = await client.post(url, headers=auth, json={"tenant_id": taken["id"], "name": "old", "size_mb": 200})
    shown = assert_resource(given, 201)
    assert (shown["id"], shown["name"], shown["size_mb"], shown["retain"]) == (kept["id"], "old", 200, True)
    assert shown["deployment"] is None  # not mounted: nothing to deploy
    assert (await client.get("/volumes?retained=true", headers=auth)).json()["data"] == []
    everywhere = (await client.get("/volumes", headers=auth)).json()["data"]
    assert {(v["tenant_id"], v["name"]) for v in everywhere} >= {(taken["id"], "old"), (taken["id"], "data")}
    assert all(v["tenant_id"] != theirs["id"] for v in everywhere)
