"""Volumes on the real host: data that survives redeploys, rollbacks, restarts and
repairs; backups that restore it; pruning that spares pinned backups; nothing left of a
deleted tenant but what it asked to retain."""

from __future__ import annotations

import asyncio
import json
import stat
from pathlib import Path
from typing import Any

from staxad import doctor
from tests.images import podman
from tests.integration.helpers import Live, create, settled, start_live, stop_live, until

SIZE_MB = 1


def exec_in(container: str, script: str) -> str:
    done = podman("exec", container, "sh", "-c", script, check=False)
    return done.stdout.decode() + done.stderr.decode()


async def live_container(live: Live, tenant_id: str, service: str = "web") -> str:
    data = (await live.client.get(f"/tenants/{tenant_id}", headers=live.auth)).json()["data"]
    [d] = [d for d in data["deployments"] if d["service_name"] == service and d["status"] == "succeeded"][:1]
    return f"staxa-{live.daemon.settings.instance}-{data['name']}-{service}-{d['id'][4:]}"


async def wait_job(live: Live, url: str) -> dict[str, Any]:
    for _ in range(600):
        data: dict[str, Any] = (await live.client.get(url, headers=live.auth)).json()["data"]
        if data["status"] in ("succeeded", "failed"):
            return data
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} did not finish: {data}")


async def backup(live: Live, base: str) -> dict[str, Any]:
    queued = (await live.client.post(f"{base}/backups", headers=live.auth)).json()["data"]
    return await wait_job(live, f"{base}/backups/{queued['id']}")


def host_volumes(tenant_id: str) -> list[str]:
    found = podman("volume", "ls", "-q", "--filter", f"label=io.staxa.tenant={tenant_id}").stdout.decode()
    return found.split()


async def test_volume_data_survives_and_a_backup_brings_it_back(
    tmp_path: Path, instance: str, live: Live, web_image: str
) -> None:
    volume = {"name": "data", "mount_path": "/data", "size_mb": SIZE_MB, "keep_last": 1}
    body = {"name": "vault", "source_type": "image", "image_url": web_image, "port": 8080, "volumes": [volume]}
    tenant = await create(live, body)
    await live.wait_status(tenant["id"], "ready")
    first = await live_container(live, tenant["id"])
    assert exec_in(first, "echo one > /data/row && head -c 2097152 /dev/zero > /data/big && echo ok") == "ok\n"

    # a redeploy mounts the same data
    deploy = (await live.client.post(f"/tenants/{tenant['id']}/services/web/deploy", headers=live.auth)).json()
    assert (await settled(live, tenant["id"], deploy["data"]["id"]))["status"] == "succeeded"
    second = await live_container(live, tenant["id"])
    assert second != first and exec_in(second, "cat /data/row") == "one\n"

    # measured, and over its size: an event (not enforced by this filesystem)
    await live.daemon.tenant_reconciler.measure_volumes()
    [shown] = (await live.client.get(f"/tenants/{tenant['id']}/volumes", headers=live.auth)).json()["data"]
    assert shown["used_bytes"] >= 2 << 20 and shown["over_limit"] is True
    base = f"/tenants/{tenant['id']}/volumes/{shown['id']}"

    kept = await backup(live, base)
    assert kept["status"] == "succeeded", kept
    assert len(kept["sha256"]) == 64 and kept["size_bytes"] > 0 and kept["blocked_ms"] >= 0
    archive = live.daemon.settings.backups_dir / f"{kept['id']}.tar.gz"
    assert stat.S_IMODE(archive.stat().st_mode) == 0o600
    await live.wait_status(tenant["id"], "ready")  # started again after the copy

    assert exec_in(second, "rm /data/row && echo two > /data/other && echo ok") == "ok\n"
    started = (await live.client.post(f"{base}/backups/{kept['id']}/restore", headers=live.auth)).json()["data"]
    restored = await wait_job(live, f"{base}/restores/{started['id']}")
    assert restored["status"] == "succeeded", restored
    await live.wait_status(tenant["id"], "ready")
    assert exec_in(second, "cat /data/row; ls /data") == "one\nbig\nrow\n"

    # a rollback to the first deployment keeps the data
    history = (await live.client.get(f"/tenants/{tenant['id']}/deployments", headers=live.auth)).json()["data"]
    oldest = history[-1]["id"]
    back = (await live.client.post(f"/tenants/{tenant['id']}/deployments/{oldest}/rollback", headers=live.auth)).json()
    assert (await settled(live, tenant["id"], back["data"]["id"]))["status"] == "succeeded"
    assert exec_in(await live_container(live, tenant["id"]), "cat /data/row") == "one\n"

    # pinned survives pruning by keep_last 1; the unpinned older one goes
    await live.client.post(f"{base}/backups/{kept['id']}/pin", headers=live.auth)
    middle, newest = await backup(live, base), await backup(live, base)
    listed = [b["id"] for b in (await live.client.get(f"{base}/backups", headers=live.auth)).json()["data"]]
    assert listed == [newest["id"], kept["id"]], (listed, middle["id"])
    assert not (live.daemon.settings.backups_dir / f"{middle['id']}.tar.gz").exists()

    # a daemon restart changes nothing
    await stop_live(live)
    again = await start_live(tmp_path, instance)
    try:
        await again.wait_status(tenant["id"], "ready")
        assert exec_in(await live_container(again, tenant["id"]), "cat /data/row") == "one\n"
        assert (await again.client.delete(f"/tenants/{tenant['id']}", headers=again.auth)).status_code == 202
        await again.wait_status(tenant["id"], "gone")
        assert host_volumes(tenant["id"]) == []
        assert not archive.exists() and not list(again.daemon.settings.backups_dir.glob("*"))
    finally:
        await stop_live(again)


async def test_a_retained_volume_outlives_its_tenant_and_a_deleted_one_goes(live: Live, web_image: str) -> None:
    volumes = [
        {"name": "keep", "mount_path": "/keep", "size_mb": 10, "retain": True},
        {"name": "scratch", "mount_path": "/scratch", "size_mb": 10},
    ]
    body = {"name": "leaver", "source_type": "image", "image_url": web_image, "port": 8080, "volumes": volumes}
    tenant = await create(live, body)
    await live.wait_status(tenant["id"], "ready")
    listed = (await live.client.get(f"/tenants/{tenant['id']}/volumes", headers=live.auth)).json()["data"]
    by_id = {v["name"]: f"staxa-{live.daemon.settings.instance}--{v['id'].replace('_', '-')}" for v in listed}
    assert sorted(host_volumes(tenant["id"])) == sorted(by_id.values())
    scratch = next(v for v in listed if v["name"] == "scratch")
    url = f"/tenants/{tenant['id']}/volumes/{scratch['id']}"
    detached = await live.client.patch(url, headers=live.auth, json={"service": None})
    await settled(live, tenant["id"], detached.json()["data"]["deployment"]["id"])
    assert (await live.client.delete(url, headers=live.auth)).status_code == 204
    await live.daemon.tenant_reconciler.sweep()
    assert await until(lambda: len(host_volumes(tenant["id"])) == 1, timeout=30)

    assert (await live.client.delete(f"/tenants/{tenant['id']}", headers=live.auth)).status_code == 202
    await live.wait_status(tenant["id"], "gone")
    left = host_volumes(tenant["id"])
    assert left == [by_id["keep"]]
    labels = json.loads(podman("volume", "inspect", "--format", "{{json .Labels}}", left[0]).stdout)
    assert labels["io.staxa.tenant"] == tenant["id"]
    await live.daemon.tenant_reconciler.sweep()
    assert host_volumes(tenant["id"]) == left  # the sweep leaves a retained volume alone


async def test_a_retained_volume_is_its_providers_to_list_attach_and_delete(live: Live, web_image: str) -> None:
    """A retained volume of a deleted tenant is listed for its provider only, given with its
    data to another of that provider's tenants, and removed from the host when deleted;
    another provider sees nothing of it and cannot attach it."""
    volume = {"name": "keep", "mount_path": "/data", "size_mb": 10, "retain": True}
    body = {"name": "depot", "source_type": "image", "image_url": web_image, "port": 8080, "volumes": [volume]}
    first = await create(live, body)
    await live.wait_status(first["id"], "ready")
    assert exec_in(await live_container(live, first["id"]), "echo kept-row > /data/row && echo ok") == "ok\n"
    assert (await live.client.delete(f"/tenants/{first['id']}", headers=live.auth)).status_code == 202
    await live.wait_status(first["id"], "gone")
    listed = (await live.client.get("/volumes?retained=true", headers=live.auth)).json()["data"]
    [kept] = [x for x in listed if x["retained_from"]["tenant_id"] == first["id"]]
    assert kept["name"] == "keep" and kept["retained_from"]["tenant_name"] == "depot"

    provider, _ = await live.daemon.platform.accounts.register("neighbour@example.com", None)
    _, raw = await live.daemon.platform.keys.create(provider.id, "b", "live", ["*"], None)
    other = {"Authorization": f"Bearer {raw}"}
    assert (await live.client.get("/volumes?retained=true", headers=other)).json()["data"] == []
    theirs = await live.client.post("/tenants", headers=other, json={**body, "name": "depot-b", "volumes": []})
    stolen = await live.client.post(
        f"/volumes/{kept['id']}/attach", headers=other, json={"tenant_id": theirs.json()["data"]["id"]}
    )
    assert stolen.status_code == 404, stolen.text
    assert (await live.client.delete(f"/volumes/{kept['id']}", headers=other)).status_code == 404

    second = await create(live, {**body, "name": "depot-two", "volumes": []})
    await live.wait_status(second["id"], "ready")
    attach = {"tenant_id": second["id"], "service": "web", "mount_path": "/data"}
    response = await live.client.post(f"/volumes/{kept['id']}/attach", headers=live.auth, json=attach)
    assert response.status_code == 201, response.text
    attached = response.json()["data"]
    assert attached["id"] == kept["id"] and attached["deployment"] is not None
    assert (await settled(live, second["id"], attached["deployment"]["id"]))["status"] == "succeeded"
    # moved to the second tenant's ids: its root owns the files and may write them
    moved = "cat /data/row && echo more >> /data/row && ls -ln /data/row | awk '{print $3}'"
    assert exec_in(await live_container(live, second["id"]), moved) == "kept-row\n0\n"
    assert (await live.client.get("/volumes?retained=true", headers=live.auth)).json()["data"] == []
    again = await live.client.post(f"/volumes/{kept['id']}/attach", headers=live.auth, json=attach)
    assert again.status_code == 404  # it is the second tenant's now

    assert (await live.client.delete(f"/tenants/{second['id']}", headers=live.auth)).status_code == 202
    await live.wait_status(second["id"], "gone")
    [back] = (await live.client.get("/volumes?retained=true", headers=live.auth)).json()["data"]
    assert back["id"] == kept["id"] and back["retained_from"]["tenant_name"] == "depot-two"
    assert len(host_volumes(first["id"])) == 1
    assert (await live.client.delete(f"/volumes/{kept['id']}", headers=live.auth)).status_code == 204
    await live.daemon.tenant_reconciler.sweep()
    assert host_volumes(first["id"]) == []
    assert (await live.client.get("/volumes?retained=true", headers=live.auth)).json()["data"] == []
    assert (await live.client.delete(f"/tenants/{theirs.json()['data']['id']}", headers=other)).status_code == 202
    await live.wait_status_as(theirs.json()["data"]["id"], "gone", other)


async def test_a_retained_volume_never_goes_to_another_providers_tenant_of_the_same_name(
    live: Live, web_image: str
) -> None:
    """Provider A's tenant `shop` retains volume `data` and is deleted; provider B's new
    tenant `shop` with a volume `data` gets a volume of its own, empty. A volume planted
    under the name staxad once made from those names is neither mounted nor removed."""
    instance = live.daemon.settings.instance
    planted = f"staxa-{instance}-shop--data"
    podman("volume", "create", "--label", f"io.staxa.instance={instance}", planted)
    try:
        volume = {"name": "data", "mount_path": "/data", "size_mb": 10, "retain": True}
        body = {"name": "shop", "source_type": "image", "image_url": web_image, "port": 8080, "volumes": [volume]}
        first = await create(live, body)
        await live.wait_status(first["id"], "ready")
        assert exec_in(await live_container(live, first["id"]), "echo A-secret > /data/row && echo ok") == "ok\n"
        assert (await live.client.delete(f"/tenants/{first['id']}", headers=live.auth)).status_code == 202
        await live.wait_status(first["id"], "gone")
        [kept] = host_volumes(first["id"])

        provider, _ = await live.daemon.platform.accounts.register("other@example.com", None)
        _, raw = await live.daemon.platform.keys.create(provider.id, "b", "live", ["*"], None)
        other = {"Authorization": f"Bearer {raw}"}
        response = await live.client.post("/tenants", headers=other, json=body)
        assert response.status_code == 202, response.text
        second = response.json()["data"]
        await live.wait_status_as(second["id"], "ready", other)
        [mine] = host_volumes(second["id"])
        assert mine not in (kept, planted)
        labels = json.loads(podman("volume", "inspect", "--format", "{{json .Labels}}", mine).stdout)
        assert labels["io.staxa.provider"] == provider.id
        data = (await live.client.get(f"/tenants/{second['id']}", headers=other)).json()["data"]
        [d] = [d for d in data["deployments"] if d["status"] == "succeeded"][:1]
        container = f"staxa-{instance}-shop-web-{d['id'][4:]}"
        assert exec_in(container, "ls -A /data; echo end") == "end\n"
        assert (await live.client.delete(f"/tenants/{second['id']}", headers=other)).status_code == 202
        await live.wait_status_as(second["id"], "gone", other)
        assert podman("volume", "exists", planted, check=False).returncode == 0  # not staxad's to delete
        told = await asyncio.to_thread(doctor._host_volumes, live.daemon.settings)
        assert planted in told.what and "retained for their providers" in told.what and not told.ok
        podman("volume", "rm", kept, mine)
    finally:
        podman("volume", "rm", "-f", planted, check=False)
