"""The /github endpoints against the loopback GitHub stand-in: installation, repositories,
branches, another provider's installation, and a host without a GitHub App. Who may
claim an installation is tested in test_claims.py."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from staxad.adapters.github_http import GitHubApp, app_jwt, load_key
from staxad.daemon import Daemon
from staxad.model.clock import FrozenClock
from tests.api.helpers import assert_error, assert_resource
from tests.conftest import Keys, make_settings
from tests.github.conftest import APP_ID, INSTALLATION, OTHER_INSTALLATION, Certs, register
from tests.github.standin import GitHubStandIn, jwt_error


async def test_an_installation_is_registered_read_and_deleted(
    client: httpx.AsyncClient, auth: dict[str, str], standin: GitHubStandIn
) -> None:
    assert_error(await client.get("/github/installation", headers=auth), 404, "not_found")
    made = assert_resource(await register(client, auth, standin), 201)
    assert made == {
        "installation_id": INSTALLATION,
        "account": "acme-org",
        "status": "active",
        "created_at": made["created_at"],
    }
    assert made["created_at"].endswith("Z")
    assert assert_resource(await client.get("/github/installation", headers=auth)) == made
    assert_error(await register(client, auth, standin), 409, "conflict")
    deleted = await client.delete("/github/installation", headers=auth)
    assert deleted.status_code == 204 and not deleted.content
    assert_error(await client.get("/github/installation", headers=auth), 404, "not_found")
    assert_error(await client.delete("/github/installation", headers=auth), 404, "not_found")


async def test_bad_installation_ids_and_codes_are_4xx_never_500(
    client: httpx.AsyncClient, auth: dict[str, str], standin: GitHubStandIn
) -> None:
    code = standin.grant("someone", INSTALLATION)
    for body in (
        {},
        {"installation_id": "12"},
        {"installation_id": 0},
        {"installation_id": True},
        {"x": 1},
        {"installation_id": INSTALLATION, "code": 12},
        {"installation_id": INSTALLATION, "code": ""},
        {"installation_id": INSTALLATION, "code": "x" * 101},
        {"installation_id": INSTALLATION, "code": "a&client_id=evil"},
        {"installation_id": INSTALLATION, "code": code + "\n"},
    ):
        refused = await client.post("/github/installation", headers=auth, json=body)
        assert code not in str(assert_error(refused, 400, "validation_error"))
    assert code in standin.codes  # nothing was sent to GitHub
    # an id GitHub does not know is among nobody's installations
    state = (await client.get("/github/install", headers=auth)).json()["data"]["state"]
    body = {"installation_id": 999, "code": code, "state": state}
    unknown = await client.post("/github/installation", headers=auth, json=body)
    assert "999" in assert_error(unknown, 403, "forbidden")["message"]


async def test_repos_and_branches_come_from_the_installation(
    client: httpx.AsyncClient, auth: dict[str, str], standin: GitHubStandIn
) -> None:
    assert_error(await client.get("/github/repos", headers=auth), 404, "not_found")  # nothing registered yet
    assert_resource(await register(client, auth, standin), 201)
    repos = assert_resource(await client.get("/github/repos", headers=auth))
    assert repos == [
        {"full_name": "acme-org/webapp", "private": True, "default_branch": "main", "language": "TypeScript"},
        {"full_name": "acme-org/site", "private": False, "default_branch": "main", "language": None},
    ]
    branches = assert_resource(await client.get("/github/repos/acme-org/webapp/branches", headers=auth))
    assert branches == [{"name": "main", "protected": True}, {"name": "develop", "protected": False}]
    assert_error(await client.get("/github/repos/other-org/secret/branches", headers=auth), 404, "not_found")
    assert_error(await client.get("/github/repos/-bad/x/branches", headers=auth), 400, "validation_error")
    assert_error(await client.get("/github/repos/a/../branches", headers=auth), 404, "not_found")
    # one token served every listing: it is cached until shortly before it expires
    assert standin.minted() == 1
    listings = [a for m, p, a in standin.requests if p.startswith(("/installation/", "/repos/"))]
    assert listings and all(a.startswith("token ghs_") for a in listings)


async def test_another_provider_can_neither_see_nor_delete_nor_share_an_installation(
    client: httpx.AsyncClient, auth: dict[str, str], keys: Keys, standin: GitHubStandIn
) -> None:
    assert_resource(await register(client, auth, standin), 201)
    other = await keys.make("other@example.com")
    assert_error(await client.get("/github/installation", headers=other), 404, "not_found")
    assert_error(await client.delete("/github/installation", headers=other), 404, "not_found")
    assert_error(await client.get("/github/repos", headers=other), 404, "not_found")
    # even a GitHub user who can access it (an admin of both teams) cannot share it
    assert_error(await register(client, other, standin), 409, "conflict")
    assert assert_resource(await client.get("/github/installation", headers=auth))["installation_id"] == INSTALLATION
    mine = await register(client, other, standin, OTHER_INSTALLATION)
    assert assert_resource(mine, 201)["account"] == "other-org"
    assert [r["full_name"] for r in assert_resource(await client.get("/github/repos", headers=other))] == [
        "other-org/secret"
    ]


async def test_a_test_key_may_look_but_not_change_the_installation(
    client: httpx.AsyncClient, auth: dict[str, str], keys: Keys, standin: GitHubStandIn
) -> None:
    assert_resource(await register(client, auth, standin), 201)
    test_key = await keys.make("team@example.com", mode="test")
    shown = assert_resource(await client.get("/github/installation", headers=test_key))
    assert shown["installation_id"] == INSTALLATION
    refused = assert_error(await client.delete("/github/installation", headers=test_key), 403, "forbidden")
    assert "live key" in refused["message"]
    assert_resource(await client.get("/github/installation", headers=auth))


async def test_odd_owner_and_repo_names_are_400_never_500(
    client: httpx.AsyncClient, auth: dict[str, str], standin: GitHubStandIn
) -> None:
    assert_resource(await register(client, auth, standin), 201)
    for path in ("octo%0A/webapp", "acme-org/webapp%0A", "-acme/webapp", "acme%20org/webapp"):
        assert_error(await client.get(f"/github/repos/{path}/branches", headers=auth), 400, "validation_error")


async def test_the_github_scope_is_needed(client: httpx.AsyncClient, keys: Keys) -> None:
    narrow = await keys.make("narrow@example.com", scopes=("tenants:read",))
    refused = assert_error(await client.get("/github/installation", headers=narrow), 403, "forbidden")
    assert refused["details"]["required_scope"] == "github"


async def test_without_an_app_the_endpoints_say_what_to_configure(
    tmp_path: Path, clock: FrozenClock, keys: Keys
) -> None:
    bare = Daemon(make_settings(tmp_path / "bare"), clock=clock)
    await bare.start()
    try:
        auth = await Keys(bare).make()
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=bare.app), base_url="http://testserver/api/v1"
        ) as c:
            for method, path in (("POST", "/github/installation"), ("GET", "/github/repos")):
                body = {"installation_id": 1} if method == "POST" else None
                error = assert_error(
                    await c.request(method, path, headers=auth, json=body), 422, "unprocessable_entity"
                )
                assert "github.app_id" in error["message"] and "github.private_key_file" in error["message"]
            hook = await c.post("/github/webhook", content=b"{}", headers={"X-Hub-Signature-256": "sha256=00"})
            assert "webhook_secret" in assert_error(hook, 401, "unauthorized")["message"]
    finally:
        await bare.stop()


async def test_the_stand_in_refuses_a_jwt_that_github_would_refuse(
    standin: GitHubStandIn, certs: Certs, key_file: Path
) -> None:
    key = load_key(str(key_file))
    now = time.time()
    assert jwt_error(app_jwt(APP_ID, key, now), standin.public_key, APP_ID) is None
    assert jwt_error(app_jwt(APP_ID, key, now - 3600), standin.public_key, APP_ID)  # expired
    assert jwt_error(app_jwt(APP_ID + 1, key, now), standin.public_key, APP_ID)  # another app
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    assert jwt_error(app_jwt(APP_ID, stranger, now), standin.public_key, APP_ID)  # not the app's key
    # staxad's adapter, speaking for another app id, is refused as GitHub would refuse it
    wrong = GitHubApp(standin.url, APP_ID + 1, str(key_file), str(certs.cert))
    with pytest.raises(ValueError, match="401"):
        await wrong.installation_account(INSTALLATION)
