"""Who may register an installation: installation ids are guessable, so provider B must
not be able to claim team A's. With the app's OAuth client configured, a claim needs a
fresh code whose GitHub user is the installation's user account or an active admin of its
organization: GitHub lists an installation to anyone who can read one of its repositories,
so access alone proves nothing. Without a client, claims are refused unless the operator
trusts every claim (a single-team host). The user token a code buys is in no log line and
no database byte."""

from __future__ import annotations

import base64
import itertools
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest

from staxad.daemon import Daemon
from staxad.model.clock import FrozenClock
from tests.api.helpers import assert_error, assert_resource
from tests.conftest import Keys, make_settings, offline_resolve
from tests.github.conftest import INSTALLATION, OTHER_INSTALLATION, Certs, github_settings, register
from tests.github.gitserver import GitServer
from tests.github.standin import CLIENT_ID, CLIENT_SECRET, GitHubStandIn

USER_INSTALLATION = 4321  # on a user's own account, not an organization's

Host = Callable[..., AbstractAsyncContextManager[tuple[httpx.AsyncClient, Keys, Daemon]]]


@pytest.fixture
def host(
    tmp_path: Path, clock: FrozenClock, certs: Certs, key_file: Path, standin: GitHubStandIn, gitserver: GitServer
) -> Host:
    """Another daemon on the same stand-ins, with its [github] settings changed by `extra`."""
    started = itertools.count()

    @asynccontextmanager
    async def start(**extra: str) -> AsyncIterator[tuple[httpx.AsyncClient, Keys, Daemon]]:
        env = github_settings(tmp_path, certs, key_file, standin.url, gitserver.url, **extra)
        d = Daemon(make_settings(tmp_path / f"host-{next(started)}", **env), clock=clock)
        d.ctx.resolve_host = offline_resolve
        await d.start()
        try:
            transport = httpx.ASGITransport(app=d.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver/api/v1") as c:
                yield c, Keys(d), d
        finally:
            await d.stop()

    return start


async def post_claim(client: httpx.AsyncClient, who: dict[str, str], body: dict[str, object]) -> httpx.Response:
    """POST the claim as the dashboard's callback page does: with the state GitHub hands
    back, which GET /github/install gave this key (a claim without a code needs none)."""
    if body.get("code") is not None:
        started = await client.get("/github/install", headers=who)
        assert started.status_code == 200, started.text
        body = {**body, "state": started.json()["data"]["state"]}
    return await client.post("/github/installation", headers=who, json=body)


def claim(installation: int, code: str | None = None) -> dict[str, object]:
    return {"installation_id": installation} | ({"code": code} if code is not None else {})


async def stored(daemon: Daemon) -> list[tuple[str, int]]:
    rows = await daemon.db.fetch_all("SELECT provider_id, installation_id FROM github_installations")
    return [(r[0], r[1]) for r in rows]


async def test_only_a_user_who_can_access_the_installation_registers_it(
    client: httpx.AsyncClient, auth: dict[str, str], keys: Keys, standin: GitHubStandIn, daemon: Daemon
) -> None:
    intruder = await keys.make("intruder@example.com")
    # B's GitHub user administers B's own installation only, and guesses A's id
    code = standin.grant("team-b-admin", OTHER_INSTALLATION)
    refused = await post_claim(client, intruder, claim(INSTALLATION, code))
    message = assert_error(refused, 403, "forbidden")["message"]
    assert f"cannot access installation {INSTALLATION}" in message
    assert await stored(daemon) == []
    assert_error(await client.get("/github/installation", headers=intruder), 404, "not_found")
    assert_error(await client.get("/github/repos", headers=intruder), 404, "not_found")
    # A's admin proves access and registers it: B's attempt took nothing
    made = assert_resource(await register(client, auth, standin), 201)
    assert made["installation_id"] == INSTALLATION and made["account"] == "acme-org"
    assert await stored(daemon) == [(auth["X-Provider-Id"], INSTALLATION)]


async def test_a_callback_link_made_for_another_key_registers_nothing(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    keys: Keys,
    standin: GitHubStandIn,
    daemon: Daemon,
    clock: FrozenClock,
) -> None:
    """OAuth CSRF: the attacker installs the app on its own account and sends the victim
    its callback URL (installation id, code and the attacker's state); the victim's tab
    posts them with the victim's key. The state was bound to the attacker's key: refused,
    and the code is not spent."""
    attacker = await keys.make("attacker@example.com")
    code = standin.grant(f"admin-of-{INSTALLATION}", INSTALLATION)
    theirs = (await client.get("/github/install", headers=attacker)).json()["data"]
    assert theirs["authorize_url"].endswith("state=" + theirs["state"].replace("=", "%3D"))
    body = {"installation_id": INSTALLATION, "code": code}
    missing = assert_error(await client.post("/github/installation", headers=auth, json=body), 400, "validation_error")
    assert "state" in missing["details"]["fields"]
    for state in (theirs["state"], "not-a-state", ""):
        refused = await client.post("/github/installation", headers=auth, json={**body, "state": state})
        assert refused.status_code in (400, 403), refused.text
    ours = (await client.get("/github/install", headers=auth)).json()["data"]
    clock.advance(3601)  # an hour later the link has expired
    expired = await client.post("/github/installation", headers=auth, json={**body, "state": ours["state"]})
    assert "expired" in assert_error(expired, 403, "forbidden")["message"]
    assert code in standin.codes and await stored(daemon) == []  # nothing was asked of GitHub, nothing kept
    fresh = (await client.get("/github/install", headers=auth)).json()["data"]["state"]
    assert_resource(await client.post("/github/installation", headers=auth, json={**body, "state": fresh}), 201)


async def test_a_collaborator_of_an_organization_cannot_claim_its_installation(
    client: httpx.AsyncClient, auth: dict[str, str], keys: Keys, standin: GitHubStandIn, daemon: Daemon
) -> None:
    outsider = await keys.make("outsider@example.com")
    # each of them sees acme-org's installation in /user/installations, none administers acme-org
    for login, role, state in (
        ("outside-reader", None, "active"),  # an outside collaborator: no membership at all
        ("acme-member", "member", "active"),
        ("acme-billing", "billing_manager", "active"),
        ("invited-admin", "admin", "pending"),  # an invitation not accepted yet
    ):
        code = standin.grant(login, INSTALLATION, role=role, state=state)
        refused = assert_error(
            await post_claim(client, outsider, claim(INSTALLATION, code)),
            403,
            "forbidden",
        )
        assert "organization acme-org" in refused["message"] and login in refused["message"]
        assert "account itself, or an active admin of its organization" in refused["message"]
        assert "/login/oauth/authorize?client_id=" in refused["details"]["authorize_url"]
    assert await stored(daemon) == []
    assert_error(await client.get("/github/repos", headers=outsider), 404, "not_found")
    # acme-org's own admin is not met by a 409: the attempts took nothing
    made = assert_resource(await register(client, auth, standin), 201)
    assert made["account"] == "acme-org"
    assert await stored(daemon) == [(auth["X-Provider-Id"], INSTALLATION)]


async def test_one_code_exchange_answers_who_the_user_is_and_their_role(
    client: httpx.AsyncClient, auth: dict[str, str], standin: GitHubStandIn
) -> None:
    assert_resource(await register(client, auth, standin), 201)
    asked = [path for method, path, _ in standin.requests if method == "GET" and path.startswith("/user")]
    assert asked == ["/user", "/user/installations", "/user/memberships/orgs/acme-org"]
    assert len(standin.user_tokens) == 1  # one code exchange (the git server forwards it, unrecorded here)
    user_auth = {a for _, p, a in standin.requests if p.startswith("/user")}
    assert len(user_auth) == 1 and user_auth == {f"Bearer {next(iter(standin.user_tokens))}"}
    # and once it has answered, the token is revoked at GitHub with the client's credentials
    assert standin.revoked == set(standin.user_tokens)
    assert [m for m, p, _ in standin.requests if p == f"/applications/{CLIENT_ID}/token"] == ["DELETE"]


async def test_a_token_github_would_not_revoke_changes_no_answer_and_is_logged_without_it(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    standin: GitHubStandIn,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(standin, "revoke", lambda *_: (500, {"message": "Server Error"}))
    assert_resource(await register(client, auth, standin), 201)
    assert "did not revoke the user token from a code exchange: 500" in caplog.text
    assert not standin.revoked and all(token not in caplog.text for token in standin.user_tokens)


async def test_an_organization_that_blocks_the_app_shows_no_membership_and_nothing_is_registered(
    client: httpx.AsyncClient, auth: dict[str, str], standin: GitHubStandIn, daemon: Daemon
) -> None:
    standin.blocked.add("acme-org")
    refused = assert_error(await register(client, auth, standin), 403, "forbidden")
    assert "would not show" in refused["message"] and "Members: read" in refused["message"]
    assert await stored(daemon) == []


async def test_a_user_account_s_installation_is_claimed_by_that_user_only(
    client: httpx.AsyncClient, auth: dict[str, str], keys: Keys, standin: GitHubStandIn, daemon: Daemon
) -> None:
    standin.installations[USER_INSTALLATION] = "alice"
    outsider = await keys.make("outsider@example.com")
    # bob collaborates on one of alice's repositories, so her installation is among his
    for code in (standin.grant("bob", USER_INSTALLATION), standin.grant("bob", USER_INSTALLATION, role=None)):
        refused = await post_claim(client, outsider, claim(USER_INSTALLATION, code))
        message = assert_error(refused, 403, "forbidden")["message"]
        assert "on the GitHub user account alice, not on bob" in message
        assert "account itself, or an active admin of its organization" in message
    assert await stored(daemon) == []
    assert not any("/user/memberships" in p for _, p, _ in standin.requests)  # a user account has no members
    code = standin.grant("alice", USER_INSTALLATION)
    made = assert_resource(await post_claim(client, auth, claim(USER_INSTALLATION, code)), 201)
    assert made["account"] == "alice"
    assert await stored(daemon) == [(auth["X-Provider-Id"], USER_INSTALLATION)]


async def test_a_code_works_once(
    client: httpx.AsyncClient, auth: dict[str, str], keys: Keys, standin: GitHubStandIn, daemon: Daemon
) -> None:
    code = standin.grant("acme-admin", INSTALLATION)
    assert_resource(await post_claim(client, auth, claim(INSTALLATION, code)), 201)
    assert (await client.delete("/github/installation", headers=auth)).status_code == 204
    # a code seen once (in a log, a browser history) proves nothing for anyone after
    for who in (auth, await keys.make("replayer@example.com")):
        again = await post_claim(client, who, claim(INSTALLATION, code))
        error = assert_error(again, 403, "forbidden")
        assert "bad_verification_code" in error["message"] and "incorrect or expired" in error["message"]
        assert "/login/oauth/authorize?client_id=" in error["details"]["authorize_url"]
    assert await stored(daemon) == []


async def test_without_a_code_a_host_with_a_client_refuses_and_says_how(
    client: httpx.AsyncClient, auth: dict[str, str], standin: GitHubStandIn, daemon: Daemon
) -> None:
    for body in (claim(INSTALLATION), {"installation_id": INSTALLATION, "code": None}):
        refused = assert_error(await post_claim(client, auth, body), 403, "forbidden")
        assert "'code'" in refused["message"] and "callback URL" in refused["message"]
        authorize = refused["details"]["authorize_url"]
        assert authorize == f"{daemon.settings.github.web_url}/login/oauth/authorize?client_id={CLIENT_ID}"
    assert await stored(daemon) == []
    assert not any(p == "/login/oauth/access_token" for _, p, _ in standin.requests)


async def test_without_a_client_claims_are_refused_unless_the_operator_trusts_them(
    host: Host, standin: GitHubStandIn
) -> None:
    unset = {"STAXAD_GITHUB_CLIENT_ID": "", "STAXAD_GITHUB_CLIENT_SECRET": ""}
    async with host(**unset) as (c, keys, d):
        auth = await keys.make()
        for body in (claim(INSTALLATION), claim(INSTALLATION, standin.grant("acme-admin", INSTALLATION))):
            refused = assert_error(await post_claim(c, auth, body), 403, "forbidden")
            message = refused["message"]
            assert "github.client_id" in message and "github.trust_installation_claims = true" in message
            assert "single team" in message
        assert await stored(d) == []
    async with host(**unset, STAXAD_GITHUB_TRUST_INSTALLATION_CLAIMS="true") as (c, keys, d):
        auth = await keys.make()
        made = assert_resource(await post_claim(c, auth, claim(INSTALLATION)), 201)
        assert made["account"] == "acme-org"
        # trust is the old first-come rule, no more: a second claim is still a 409
        other = await keys.make("other@example.com")
        assert_error(await post_claim(c, other, claim(INSTALLATION)), 409, "conflict")


async def test_the_installation_may_be_on_a_later_page_of_the_user_s(
    client: httpx.AsyncClient, auth: dict[str, str], standin: GitHubStandIn
) -> None:
    many = range(1_000_000, 1_000_150)
    standin.installations.update({i: f"org-{i}" for i in many})
    code = standin.grant("busy-admin", *many, INSTALLATION)
    assert_resource(await post_claim(client, auth, claim(INSTALLATION, code)), 201)
    pages = [p for _, p, _ in standin.requests if p == "/user/installations"]
    assert len(pages) == 2


async def test_github_s_refusals_and_silence_are_4xx_never_500(
    host: Host, standin: GitHubStandIn, tmp_path: Path
) -> None:
    async with host(STAXAD_GITHUB_CLIENT_SECRET="not-the-app-s-secret") as (c, keys, _):
        auth = await keys.make()
        code = standin.grant("acme-admin", INSTALLATION)
        refused = await post_claim(c, auth, claim(INSTALLATION, code))
        assert "incorrect_client_credentials" in assert_error(refused, 422, "unprocessable_entity")["message"]
    async with host(STAXAD_GITHUB_WEB_URL="https://127.0.0.1:1") as (c, keys, _):
        auth = await keys.make()
        code = standin.grant("acme-admin", INSTALLATION)
        silent = await post_claim(c, auth, claim(INSTALLATION, code))
        assert "did not answer" in assert_error(silent, 422, "unprocessable_entity")["message"]
    secret_file = tmp_path / "client-secret"
    secret_file.write_text("rotated-later\n")
    secret_file.chmod(0o600)
    by_file = {"STAXAD_GITHUB_CLIENT_SECRET": "", "STAXAD_GITHUB_CLIENT_SECRET_FILE": str(secret_file)}
    async with host(**by_file) as (c, keys, _):
        auth = await keys.make()
        wrong = await post_claim(c, auth, claim(INSTALLATION, standin.grant("a", 1)))
        assert_error(wrong, 422, "unprocessable_entity")
        secret_file.write_text(CLIENT_SECRET + "\n")  # read at each use: no restart after a rotation
        code = standin.grant("acme-admin", INSTALLATION)
        assert_resource(await post_claim(c, auth, claim(INSTALLATION, code)), 201)


async def test_the_user_token_is_in_no_log_line_and_no_database_byte(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    keys: Keys,
    standin: GitHubStandIn,
    daemon: Daemon,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    assert_resource(await register(client, auth, standin), 201)
    intruder = await keys.make("intruder@example.com")
    intruder_code = standin.grant("team-b-admin", OTHER_INSTALLATION)
    refused = await post_claim(client, intruder, claim(INSTALLATION, intruder_code))
    assert_error(refused, 403, "forbidden")
    reader_code = standin.grant("acme-reader", INSTALLATION, role=None)  # refused after the membership check
    read_only = await post_claim(client, intruder, claim(INSTALLATION, reader_code))
    assert_error(read_only, 403, "forbidden")
    assert len(standin.user_tokens) == 3  # each code bought a token, which staxad used and dropped
    assert standin.revoked == set(standin.user_tokens)  # and revoked, the refused ones too
    basic = base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
    raw = b"".join(
        path.read_bytes()
        for path in daemon.settings.data_dir.rglob("*")
        if path.is_file() and path.name.startswith("staxad.db")
    )
    assert raw and b"ghu_" not in raw and CLIENT_SECRET.encode() not in raw
    logged = caplog.text + "".join(str(r.args) for r in caplog.records)
    for path in ("/login/oauth/access_token", "/user/installations", "/user/memberships/orgs/acme-org"):
        assert path in logged  # httpx's lines were seen
    for secret in (*standin.user_tokens, CLIENT_SECRET, basic, intruder_code, reader_code):
        assert secret not in logged
        assert secret not in refused.text and secret not in read_only.text
    events = await daemon.db.fetch_all("SELECT * FROM events")
    assert not any(t in str([tuple(e) for e in events]) for t in standin.user_tokens)
