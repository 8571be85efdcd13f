"""Private images on the real host: a registry that requires a login (Debian's
docker-registry with htpasswd), credentials verified by a real login, repos and tags
listed, pulls that authenticate, and a cached private image another provider cannot use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.gitrepos import commit
from tests.images import podman
from tests.integration.helpers import Live, git_tenant, running_daemon


async def post(live: Live, path: str, body: dict[str, Any], auth: dict[str, str] | None = None) -> dict[str, Any]:
    response = await live.client.post(path, headers=auth or live.auth, json=body)
    assert response.status_code in (200, 201, 202), response.text
    return dict(response.json()["data"])


async def test_a_private_image_pulls_with_its_providers_credential_only(
    tmp_path: Path, instance: str, web_image: str, private_registry: tuple[str, str, str], repos: Path
) -> None:
    address, user, password = private_registry
    ref = f"{address}/team/private:1"
    podman("push", "-q", "--tls-verify=false", "--creds", f"{user}:{password}", web_image, ref)
    try:
        await _run(tmp_path, instance, ref, address, user, password, repos)
    finally:
        podman("rmi", "-f", ref, check=False)  # the pulled copy, by its own name


async def _run(tmp_path: Path, instance: str, ref: str, address: str, user: str, password: str, folder: Path) -> None:
    overrides = {
        "STAXAD_RUNTIME_INSECURE_REGISTRIES": address,
        "STAXAD_RUNTIME_PRIVATE_REGISTRIES": address,  # 198.18.0.0/15 is a private range
        "STAXAD_GIT_ALLOW_LOCAL_REPOS": "true",
    }
    async with running_daemon(tmp_path, instance, **overrides) as live:
        url = f"http://{address}"
        wrong = await post(
            live, "/registries", {"name": "wrong", "registry_url": url, "username": user, "password": "nope"}
        )
        checked = await post(live, f"/registries/{wrong['id']}/verify", {})
        assert checked["status"] == "failed" and "refused" in checked["error"]
        await live.client.delete(f"/registries/{wrong['id']}", headers=live.auth)
        cred = await post(
            live, "/registries", {"name": "ours", "registry_url": url, "username": user, "password": password}
        )
        assert (await post(live, f"/registries/{cred['id']}/verify", {})) == {"status": "verified"}
        repos = (
            await live.client.get(f"/registries/{cred['id']}/repos", headers=live.auth, params={"q": "priv"})
        ).json()
        assert repos["data"] == [{"name": "team/private", "tag_count": 1}]
        tags = (await live.client.get(f"/registries/{cred['id']}/repos/team/private/tags", headers=live.auth)).json()
        [tag] = tags["data"]
        assert tag["name"] == "1" and tag["digest"].startswith("sha256:") and tag["size"] > 0

        body = {"name": "secretapp", "source_type": "image", "image_url": ref, "port": 8080}
        tenant = await post(live, "/tenants", body)
        await live.wait_status(tenant["id"], "ready")
        events = (await live.client.get(f"/tenants/{tenant['id']}/deployments", headers=live.auth)).text
        assert password not in events

        # another provider names the same image: the local copy is not theirs to run
        provider, _ = await live.daemon.platform.accounts.register("other@example.com", None)
        _, raw = await live.daemon.platform.keys.create(provider.id, "o", "live", ["*"], None)
        other = {"Authorization": f"Bearer {raw}"}
        theirs = await post(live, "/tenants", {**body, "name": "freeloader"}, other)
        failed = await live.wait_status_as(theirs["id"], "failed", other)
        assert "private" in failed["status_reason"] and "registries" in failed["status_reason"]

        # ... nor under any other spelling: short names podman finds locally, its digest,
        # and as a build's base or COPY source
        digest = tag["digest"]
        for n, spelling in enumerate(("team/private:1", "private:1", f"{address}/team/private@{digest}")):
            again = await post(live, "/tenants", {**body, "name": f"spelling{n}", "image_url": spelling}, other)
            failed = await live.wait_status_as(again["id"], "failed", other)
            assert "private to another team" in failed["status_reason"], (spelling, failed)
        for name, containerfile in (
            ("base", "FROM private:1\n"),
            ("copier", "FROM localhost/staxatest/web:1\nCOPY --from=team/private:1 /www /stolen\n"),
        ):
            commit(folder / name, {"Containerfile": containerfile}, name)
            built = await post(live, "/tenants", git_tenant(name, folder / name), other)
            failed = await live.wait_status_as(built["id"], "failed", other)
            assert "private to another team" in failed["status_reason"], (name, failed)
