"""Push to deploy through POST /github/webhook: signed deliveries deploy the matching
services once, at the pushed commit; unsigned, replayed or foreign ones do nothing."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import httpx

from staxad.daemon import Daemon
from staxad.model.github import signature
from tests.api.helpers import assert_error, assert_resource
from tests.conftest import Keys
from tests.github.conftest import INSTALLATION, OTHER_INSTALLATION, SECRET, register
from tests.github.gitserver import GitServer
from tests.github.standin import GitHubStandIn

SHA = "a" * 40


def push(
    repo: str = "acme-org/webapp", branch: str = "main", installation: int = INSTALLATION, sha: str = SHA
) -> dict[str, Any]:
    return {
        "ref": f"refs/heads/{branch}",
        "before": "0" * 39 + "1",
        "after": sha,
        "repository": {"full_name": repo, "clone_url": f"https://github.com/{repo}.git", "pushed_at": int(time.time())},
        "installation": {"id": installation},
        "head_commit": {"id": sha, "message": "ship it"},
    }


async def deliver(
    client: httpx.AsyncClient, payload: object, event: str = "push", secret: str = SECRET, delivery: str | None = None
) -> httpx.Response:
    body = json.dumps(payload).encode()
    headers = {
        "X-GitHub-Event": event,
        "X-GitHub-Delivery": delivery or str(uuid.uuid4()),
        "X-Hub-Signature-256": signature(secret, body),
        "Content-Type": "application/json",
    }
    return await client.post("/github/webhook", content=body, headers=headers)


async def git_tenant(
    client: httpx.AsyncClient, auth: dict[str, str], name: str, repo_url: str, **extra: Any
) -> dict[str, Any]:
    body = {"name": name, "source_type": "github", "repo_url": repo_url, "branch": "main", **extra}
    return assert_resource(await client.post("/tenants", headers=auth, json=body), 202)


async def pushed(client: httpx.AsyncClient, auth: dict[str, str], tenant: dict[str, Any], sha: str = SHA) -> list[Any]:
    response = await client.get(f"/tenants/{tenant['id']}/deployments", headers=auth)
    assert response.status_code == 200, response.text
    listed = response.json()["data"]
    return [d for d in listed if d["commit_sha"] == sha]


async def test_a_signed_push_deploys_matching_services_at_the_commit_once(
    client: httpx.AsyncClient, auth: dict[str, str], gitserver: GitServer, daemon: Daemon, standin: GitHubStandIn
) -> None:
    assert (await register(client, auth, standin)).status_code == 201
    web = await git_tenant(client, auth, "webapp", f"{gitserver.url}/acme-org/webapp.git")
    assert web["services"][0]["auto_deploy"] is True
    same = await git_tenant(client, auth, "webapp-two", f"{gitserver.url}/Acme-Org/webapp")
    manual = await git_tenant(client, auth, "manual", f"{gitserver.url}/acme-org/webapp", auto_deploy=False)
    elsewhere = await git_tenant(client, auth, "elsewhere", "https://git.example.org/acme-org/webapp")
    delivery = str(uuid.uuid4())
    answer = assert_resource(await deliver(client, push(), delivery=delivery), 202)
    assert answer["status"] == "accepted" and len(answer["deployments"]) == 2
    for tenant in (web, same):
        [d] = await pushed(client, auth, tenant)
        assert d["id"] in answer["deployments"] and d["branch"] == "main" and d["status"] == "queued"
    for tenant in (manual, elsewhere):
        assert await pushed(client, auth, tenant) == []
    # GitHub redelivers, or someone replays the captured request: nothing more happens
    again = assert_resource(await deliver(client, push(), delivery=delivery), 202)
    assert again == {"status": "duplicate", "deployments": []}
    assert len(await pushed(client, auth, web)) == 1


async def test_pushes_that_name_nothing_of_ours_deploy_nothing(
    client: httpx.AsyncClient, auth: dict[str, str], gitserver: GitServer, standin: GitHubStandIn
) -> None:
    assert (await register(client, auth, standin)).status_code == 201
    web = await git_tenant(client, auth, "webapp", f"{gitserver.url}/acme-org/webapp")
    for payload in (
        push(branch="develop"),
        push(repo="acme-org/other"),
        push(installation=OTHER_INSTALLATION),  # another provider's (or nobody's) installation
        push(sha="0" * 40),  # the branch was deleted
        {**push(), "ref": "refs/tags/v1"},
        {"zen": "not a push"},
    ):
        assert assert_resource(await deliver(client, payload), 202)["deployments"] == []
    ping = assert_resource(await deliver(client, {"zen": "Keep it logically awesome.", "hook_id": 1}, "ping"), 202)
    assert ping == {"status": "ignored", "deployments": []}
    assert await pushed(client, auth, web) == []


async def test_bad_or_missing_signatures_are_401_and_do_nothing(
    client: httpx.AsyncClient, auth: dict[str, str], gitserver: GitServer, daemon: Daemon, standin: GitHubStandIn
) -> None:
    assert (await register(client, auth, standin)).status_code == 201
    web = await git_tenant(client, auth, "webapp", f"{gitserver.url}/acme-org/webapp")
    body = json.dumps(push()).encode()
    delivery = str(uuid.uuid4())
    base = {"X-GitHub-Event": "push", "X-GitHub-Delivery": delivery}
    for signed in (
        {},
        {"X-Hub-Signature-256": signature("not-the-secret", body)},
        {"X-Hub-Signature-256": signature(SECRET, body + b" ")},
        {"X-Hub-Signature-256": signature(SECRET, body).replace("sha256=", "sha1=")},
        {"X-Hub-Signature-256": ""},
    ):
        response = await client.post("/github/webhook", content=body, headers={**base, **signed})
        assert_error(response, 401, "unauthorized")
    assert await pushed(client, auth, web) == []
    # a refused delivery is not remembered: the genuine one with that id still works
    assert await daemon.db.fetch_value("SELECT count(*) FROM github_deliveries") == 0
    assert len(assert_resource(await deliver(client, push(), delivery=delivery), 202)["deployments"]) == 1
    # a missing delivery id is a 400 (after the signature is checked)
    no_id = await client.post(
        "/github/webhook",
        content=body,
        headers={"X-GitHub-Event": "push", "X-Hub-Signature-256": signature(SECRET, body)},
    )
    assert_error(no_id, 400, "validation_error")
    bad_json = b"{not json"
    hdrs = {**base, "X-GitHub-Delivery": str(uuid.uuid4()), "X-Hub-Signature-256": signature(SECRET, bad_json)}
    assert_error(await client.post("/github/webhook", content=bad_json, headers=hdrs), 400, "validation_error")


async def test_a_signed_body_replayed_under_a_new_delivery_id_or_stale_deploys_nothing(
    client: httpx.AsyncClient, auth: dict[str, str], gitserver: GitServer, standin: GitHubStandIn
) -> None:
    # The signature covers the body, not X-GitHub-Delivery: whoever saw one signed push could
    # resend it under fresh ids to roll a tenant back to that commit, again and again.
    assert (await register(client, auth, standin)).status_code == 201
    web = await git_tenant(client, auth, "webapp", f"{gitserver.url}/acme-org/webapp")
    payload = push()
    assert len(assert_resource(await deliver(client, payload), 202)["deployments"]) == 1
    replayed = assert_resource(await deliver(client, payload), 202)
    assert replayed == {"status": "duplicate", "deployments": []}
    month_old = {**payload, "repository": {**payload["repository"], "pushed_at": int(time.time()) - 31 * 86400}}
    assert assert_resource(await deliver(client, month_old), 202) == {"status": "stale", "deployments": []}
    assert len(await pushed(client, auth, web)) == 1


async def test_a_large_unsigned_body_is_refused_before_it_is_parsed(client: httpx.AsyncClient) -> None:
    body = b"[" + b"1," * (1 << 20) + b"1]"
    headers = {"X-GitHub-Event": "push", "X-GitHub-Delivery": "abc", "X-Hub-Signature-256": "sha256=" + "0" * 64}
    began = time.perf_counter()
    assert_error(await client.post("/github/webhook", content=body, headers=headers), 401, "unauthorized")
    assert time.perf_counter() - began < 5  # a hash of 2 MiB, not a parse


async def test_a_push_never_deploys_another_providers_services(
    client: httpx.AsyncClient, auth: dict[str, str], keys: Keys, gitserver: GitServer, standin: GitHubStandIn
) -> None:
    """Provider B names A's repository; only A's installation's pushes reach A's services,
    and B's installation's pushes reach only B's."""
    assert (await register(client, auth, standin)).status_code == 201
    other = await keys.make("other@example.com")
    assert (await register(client, other, standin, OTHER_INSTALLATION)).status_code == 201
    mine = await git_tenant(client, auth, "mine", f"{gitserver.url}/acme-org/webapp")
    theirs = await git_tenant(client, other, "theirs", f"{gitserver.url}/acme-org/webapp")
    assert len(assert_resource(await deliver(client, push(installation=OTHER_INSTALLATION)), 202)["deployments"]) == 1
    assert await pushed(client, auth, mine) == [] and len(await pushed(client, other, theirs)) == 1
    sha = "b" * 40
    assert len(assert_resource(await deliver(client, push(sha=sha)), 202)["deployments"]) == 1
    assert len(await pushed(client, auth, mine, sha)) == 1 and await pushed(client, other, theirs, sha) == []
