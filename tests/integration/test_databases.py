"""One-click databases on the real host, with engines built offline from Debian's
postgresql-15 and redis-tools: an app's URL reaches them, data survives a redeploy and a
daemon restart, a backup brings a deleted row back, and a deleted tenant leaves nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.dbimages import build_postgres_image, build_redis_image
from tests.images import podman
from tests.integration.helpers import Live, create, settled, start_live, stop_live
from tests.integration.test_volumes import backup, live_container, wait_job

PSQL = "/usr/lib/postgresql/15/bin/psql"


def container_env(container: str) -> dict[str, str]:
    lines = podman("inspect", "--format", '{{join .Config.Env "\\n"}}', container).stdout.decode().splitlines()
    return dict(line.split("=", 1) for line in lines if "=" in line)


def sql(container: str, url: str, statement: str) -> str:
    done = podman("exec", container, PSQL, url, "-tAc", statement, check=False)
    return (done.stdout + done.stderr).decode().strip()


async def post(live: Live, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    response = await live.client.post(path, headers=live.auth, json=body or {})
    assert response.status_code in (200, 201, 202), response.text
    return dict(response.json()["data"])


async def test_databases_connect_keep_their_data_and_restore_it(tmp_path: Path, instance: str, web_image: str) -> None:
    images = {
        "STAXAD_DATABASES_POSTGRES_IMAGE": build_postgres_image(),
        "STAXAD_DATABASES_REDIS_IMAGE": build_redis_image(),
    }
    live = await start_live(tmp_path, instance, **images)
    try:
        tenant = await create(live, {"name": "shop", "source_type": "image", "image_url": web_image, "port": 8080})
        base = f"/tenants/{tenant['id']}"
        pg = await post(live, f"{base}/databases", {"engine": "postgres", "name": "db"})
        assert pg["url"] == "postgresql://app:****@db:5432/db" and pg["password"] == "****"
        assert (await settled(live, tenant["id"], pg["deployment"]["id"]))["status"] == "succeeded"
        cache = await post(live, f"{base}/databases", {"engine": "redis", "name": "cache"})
        assert (await settled(live, tenant["id"], cache["deployment"]["id"]))["status"] == "succeeded"

        linked = await post(live, f"{base}/databases/{pg['id']}/connections", {"service": "web"})
        assert (await settled(live, tenant["id"], linked["deployment"]["id"]))["status"] == "succeeded"
        linked = await post(live, f"{base}/databases/{cache['id']}/connections", {"service": "web"})
        assert (await settled(live, tenant["id"], linked["deployment"]["id"]))["status"] == "succeeded"
        env = container_env(await live_container(live, tenant["id"]))
        url, redis_url = env["DATABASE_URL"], env["REDIS_URL"]
        assert url.startswith("postgresql://app:") and url.endswith("@db:5432/db")
        await live.wait_status(tenant["id"], "ready")

        # the URL the app got works over the tenant's network (from the engine's own client)
        db = await live_container(live, tenant["id"], "db")
        assert sql(db, url, "CREATE TABLE rows (v text); INSERT INTO rows VALUES ('kept')").endswith("INSERT 0 1")
        redis = await live_container(live, tenant["id"], "cache")
        said = podman("exec", redis, "redis-cli", "-u", redis_url, "--no-auth-warning", "SET", "k", "v").stdout
        assert said.strip() == b"OK"

        redeploy = await post(live, f"{base}/services/db/deploy")
        assert (await settled(live, tenant["id"], redeploy["id"]))["status"] == "succeeded"
        db = await live_container(live, tenant["id"], "db")
        assert sql(db, url, "SELECT v FROM rows") == "kept"

        volume = f"{base}/volumes/{pg['volume_id']}"
        assert (await backup(live, volume))["status"] == "succeeded"
        assert sql(db, url, "DELETE FROM rows") == "DELETE 1"
        listing = (await live.client.get(f"{volume}/backups", headers=live.auth)).json()["data"]
        restore = await post(live, f"{volume}/backups/{listing[0]['id']}/restore")
        assert (await wait_job(live, f"{volume}/restores/{restore['id']}"))["status"] == "succeeded"
        await live.wait_status(tenant["id"], "ready")
        assert sql(db, url, "SELECT v FROM rows") == "kept"

        await stop_live(live)
        live = await start_live(tmp_path, instance, **images)
        await live.wait_status(tenant["id"], "ready")
        assert sql(await live_container(live, tenant["id"], "db"), url, "SELECT v FROM rows") == "kept"
        got = podman("exec", redis, "redis-cli", "-u", redis_url, "--no-auth-warning", "GET", "k").stdout
        assert got.strip() == b"v"

        assert (await live.client.delete(base, headers=live.auth)).status_code == 202
        await live.wait_status(tenant["id"], "gone")
        left = podman("volume", "ls", "-q", "--filter", f"label=io.staxa.tenant={tenant['id']}").stdout
        assert left.strip() == b""
    finally:
        await stop_live(live)
        from tests.integration.helpers import remove_instance_objects

        remove_instance_objects(instance)
