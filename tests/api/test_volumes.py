"""Volumes and backups through the API without a runtime: records, refusals, nothing
half-made."""

from __future__ import annotations

from typing import Any

import httpx

from staxad.daemon import Daemon
from staxad.model.volumes import JobStatus
from staxad.store import volumes as volume_store
from tests.api.helpers import assert_error, assert_resource, create_tenant

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
