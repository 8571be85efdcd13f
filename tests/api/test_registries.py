"""Registry credentials through the API: sealed passwords, refusals, another provider's,
another registry's, another mode's."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from staxad.daemon import Daemon
from staxad.model.ports import RegistryLogin
from tests.api.helpers import assert_error, assert_resource, create_tenant
from tests.conftest import Keys

CRED = {"name": "Hub", "registry_url": "https://index.docker.io/v1/", "username": "acme", "password": "dckr_pat_s3cret"}


async def test_credentials_are_kept_sealed_and_never_shown(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon, keys: Keys
) -> None:
    made = assert_resource(await client.post("/registries", headers=auth, json=CRED), 201)
    assert made == {
        "id": made["id"],
        "name": "Hub",
        "registry_url": "https://index.docker.io/v1/",
        "username": "acme",
        "verified": False,
        "mode": "live",
        "created_at": made["created_at"],
    }
    shown = assert_resource(await client.get(f"/registries/{made['id']}", headers=auth))
    listed = (await client.get("/registries", headers=auth)).text
    assert "s3cret" not in str(shown) and "s3cret" not in listed and "password" not in shown
    raw = daemon.settings.database_path.read_bytes() + daemon.settings.database_path.with_suffix(".db-wal").read_bytes()
    assert b"dckr_pat_s3cret" not in raw
    async with daemon.db.transaction() as tx:
        await tx.execute("UPDATE registries SET verified = 1 WHERE id = ?", (made["id"],))
    changed = assert_resource(await client.patch(f"/registries/{made['id']}", headers=auth, json={"password": "new"}))
    assert changed["verified"] is False  # a change needs a new verify
    other = await keys.make("other@example.com")
    for method, path in (("GET", ""), ("PATCH", ""), ("DELETE", ""), ("POST", "/verify"), ("GET", "/repos")):
        response = await client.request(
            method, f"/registries/{made['id']}{path}", headers=other, json={} if method == "PATCH" else None
        )
        assert_error(response, 404, "not_found")
    # a service may name only its own provider's credential
    body = {"name": "stolen", "source_type": "image", "image_url": "ghcr.io/acme/app:1", "registry_id": made["id"]}
    error = assert_error(await client.post("/tenants", headers=other, json=body), 400, "validation_error")
    assert "registry_id" in error["details"]["fields"]
    mine = await create_tenant(client, auth, "withcred", image_url="docker.io/acme/app:1", registry_id=made["id"])
    assert mine["services"][0]["registry_id"] == made["id"]
    assert (await client.delete(f"/registries/{made['id']}", headers=auth)).status_code == 204


async def test_bad_credentials_are_400_with_every_field(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    error = assert_error(
        await client.post(
            "/registries", headers=auth, json={"registry_url": "http://registry.example.com", "password": ""}
        ),
        400,
        "validation_error",
    )
    assert set(error["details"]["fields"]) == {"name", "username", "password", "registry_url"}
    for url in ("https://169.254.169.254", "https://[fe80::1]:5000"):
        body = {**CRED, "registry_url": url}
        refused = assert_error(await client.post("/registries", headers=auth, json=body), 400, "validation_error")
        assert "link-local" in refused["details"]["fields"]["registry_url"], url
    git = {"name": "g", "source_type": "github", "repo_url": "https://github.com/a/b", "registry_id": "reg_x"}
    assert (
        "registry_id"
        in assert_error(await client.post("/tenants", headers=auth, json=git), 400, "validation_error")["details"][
            "fields"
        ]
    )


@dataclass
class Recorder:
    """A RegistryApi that logs in to nothing and keeps every login it was given."""

    logins: list[RegistryLogin] = field(default_factory=list)

    async def check(self, login: RegistryLogin) -> None:
        self.logins.append(login)

    async def repositories(self, login: RegistryLogin, query: str, limit: int) -> list[tuple[str, int]]:
        self.logins.append(login)
        return []

    async def tags(self, login: RegistryLogin, repo: str) -> list[tuple[str, str | None, int | None]]:
        self.logins.append(login)
        return []


async def test_moving_a_credential_to_another_registry_needs_a_new_password(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    recorder = Recorder()
    daemon.ctx.registry_api = recorder
    made = assert_resource(await client.post("/registries", headers=auth, json=CRED), 201)
    path = f"/registries/{made['id']}"
    moved = await client.patch(path, headers=auth, json={"registry_url": "https://registry.example.com"})
    error = assert_error(moved, 400, "validation_error")
    assert set(error["details"]["fields"]) == {"password"}
    assert "required" in error["details"]["fields"]["password"], error
    assert assert_resource(await client.get(path, headers=auth))["registry_url"] == CRED["registry_url"]
    # another name of the same registry keeps the password
    same = {"registry_url": "https://registry-1.docker.io"}
    assert assert_resource(await client.patch(path, headers=auth, json=same))["registry_url"] == same["registry_url"]
    assert (await client.post(f"{path}/verify", headers=auth)).status_code == 200
    assert (recorder.logins[-1].base, recorder.logins[-1].password) == (
        "https://registry-1.docker.io",
        "dckr_pat_s3cret",
    )
    new = {"registry_url": "https://registry.example.com", "password": "n3w"}
    assert_resource(await client.patch(path, headers=auth, json=new))
    for call in (client.post(f"{path}/verify", headers=auth), client.get(f"{path}/repos", headers=auth)):
        assert (await call).status_code == 200
    assert (await client.get(f"{path}/repos/team/app/tags", headers=auth)).status_code == 200
    to_new = [login for login in recorder.logins if login.base == "https://registry.example.com"]
    assert len(to_new) == 3 and {login.password for login in to_new} == {"n3w"}


async def test_a_credential_serves_only_its_own_registry(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    hub = assert_resource(await client.post("/registries", headers=auth, json=CRED), 201)
    ghcr_body = {**CRED, "name": "GHCR", "registry_url": "https://ghcr.io", "password": "ghp_s3cret"}
    ghcr = assert_resource(await client.post("/registries", headers=auth, json=ghcr_body), 201)
    registries, provider = daemon.platform.registries, auth["X-Provider-Id"]
    assert await registries.pull_login(provider, hub["id"], "docker.io", mode="live") == ("acme", "dckr_pat_s3cret")
    assert await registries.pull_login(provider, hub["id"], "ghcr.io", mode="live") is None  # goes anonymous
    assert await registries.pull_login(provider, None, "ghcr.io", mode="live") == ("acme", "ghp_s3cret")
    body = {"name": "mismatch", "source_type": "image", "image_url": "ghcr.io/acme/app:1", "registry_id": hub["id"]}
    error = assert_error(await client.post("/tenants", headers=auth, json=body), 400, "validation_error")
    message = error["details"]["fields"]["registry_id"]
    assert "docker.io" in message and "ghcr.io" in message, message
    tenant = await create_tenant(client, auth, "matched", image_url="ghcr.io/acme/app:1", registry_id=ghcr["id"])
    side = {"name": "side", "source_type": "image", "image_url": "ghcr.io/acme/side:1", "registry_id": hub["id"]}
    added = await client.post(f"/tenants/{tenant['id']}/services", headers=auth, json=side)
    assert "ghcr.io" in assert_error(added, 400, "validation_error")["details"]["fields"]["registry_id"]


async def test_test_keys_never_reach_live_credentials(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    daemon.ctx.registry_api = Recorder()
    provider = auth["X-Provider-Id"]
    _, raw = await daemon.platform.keys.create(provider, "t", "test", ["*"], None)
    test = {"Authorization": f"Bearer {raw}"}
    live = assert_resource(await client.post("/registries", headers=auth, json=CRED), 201)
    assert (await client.get("/registries", headers=test)).json()["data"] == []
    for method, path in (
        ("GET", ""),
        ("PATCH", ""),
        ("DELETE", ""),
        ("POST", "/verify"),
        ("GET", "/repos"),
        ("GET", "/repos/team/app/tags"),
    ):
        response = await client.request(
            method, f"/registries/{live['id']}{path}", headers=test, json={"name": "x"} if method == "PATCH" else None
        )
        assert_error(response, 404, "not_found")
    mine = assert_resource(await client.post("/registries", headers=test, json={**CRED, "password": "t3st"}), 201)
    assert mine["mode"] == "test" and live["mode"] == "live"
    listed = (await client.get("/registries", headers=auth)).json()["data"]
    assert {r["id"] for r in listed} == {live["id"], mine["id"]}  # a live key sees every one
    assert assert_resource(await client.get(f"/registries/{live['id']}", headers=auth))["name"] == "Hub"
    # a test tenant names and pulls with test credentials only
    body = {"name": "testapp", "source_type": "image", "image_url": "docker.io/acme/app:1", "registry_id": live["id"]}
    error = assert_error(await client.post("/tenants", headers=test, json=body), 400, "validation_error")
    assert "no registry credential" in error["details"]["fields"]["registry_id"]
    assert_resource(await client.post("/tenants", headers=test, json={**body, "registry_id": mine["id"]}), 202)
    registries = daemon.platform.registries
    assert await registries.pull_login(provider, None, "docker.io", mode="test") == ("acme", "t3st")
    assert await registries.pull_login(provider, live["id"], "docker.io", mode="test") is None
    assert await registries.pull_login(provider, None, "docker.io", mode="live") == ("acme", "dckr_pat_s3cret")
    assert await registries.pull_login(provider, mine["id"], "docker.io", mode="live") is None
