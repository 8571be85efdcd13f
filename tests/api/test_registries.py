"""Registry credentials through the API: sealed passwords, refusals, another provider's."""

from __future__ import annotations

import httpx

from staxad.daemon import Daemon
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
    mine = await create_tenant(client, auth, "withcred", image_url="ghcr.io/acme/app:1", registry_id=made["id"])
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
