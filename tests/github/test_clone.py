"""Private clones with the real adapters/git.py (git run as an unprivileged user via
runuser) from the loopback http-backend server that wants an installation token: the
token opens it, nothing else does, it goes to no other host, and it is kept nowhere.

git runs as `nobody`, not as the service user `staxa`: on a host set up by bootstrap the
sandbox table (staxad.model.sandbox) drops every connection `staxa` makes to this host,
loopback included, so a loopback stand-in of GitHub is unreachable for it by design. The
Git class, its argv, environment and runuser prefix are the ones builds use."""

from __future__ import annotations

import logging
import os
import pwd
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from staxad.adapters.git import Git, HostToken, Limits
from staxad.daemon import Daemon
from staxad.model.errors import PermanentError
from tests.github.conftest import Certs, register
from tests.github.gitserver import GitServer
from tests.github.standin import GitHubStandIn

CLONE_USER = "nobody"
LIMITS = Limits(max_bytes=50 << 20, max_files=1000, timeout=60)


@pytest.fixture
def dest(certs: Certs) -> Iterator[Path]:
    """An empty folder the service user owns, as the build workspace gives git, beside
    `git`, the one for the history."""
    user = pwd.getpwnam(CLONE_USER)
    folder = certs.folder / "work"
    for made in (folder, folder / "repo", folder / "git"):
        made.mkdir()
        os.chown(made, user.pw_uid, user.pw_gid)
    yield folder / "repo"
    shutil.rmtree(folder, ignore_errors=True)


def service_git() -> Git:
    return Git(CLONE_USER, allow_local=False, local_config=None)


async def test_a_clone_with_the_installation_token_succeeds_and_without_it_fails(
    gitserver: GitServer, certs: Certs, dest: Path
) -> None:
    gitserver.tokens.add("ghs_valid_token_for_the_test")
    url = f"{gitserver.url}/acme-org/webapp.git"
    with pytest.raises(PermanentError, match="cloning") as refused:
        await service_git().clone(url, "main", None, dest.parent, LIMITS, HostToken(gitserver.url, "", str(certs.cert)))
    assert "ghs_" not in str(refused.value)
    wrong = HostToken(gitserver.url, "ghs_wrong", str(certs.cert))
    with pytest.raises(PermanentError) as refused:
        await service_git().clone(url, "main", None, dest.parent, LIMITS, wrong)
    assert "ghs_wrong" not in str(refused.value)
    token = HostToken(gitserver.url, "ghs_valid_token_for_the_test", str(certs.cert))
    commit = await service_git().clone(url, "main", None, dest.parent, LIMITS, token)
    assert commit.message == "first page" and len(commit.sha) == 40
    assert (dest / "index.html").read_text() == "<h1>private</h1>\n" and not (dest / ".git").exists()


async def test_a_token_for_one_host_never_goes_to_another(gitserver: GitServer, certs: Certs, dest: Path) -> None:
    """Two walls: clone() applies a token only to URLs under its site, and even when its
    config is in git's environment git sends the header only to that site. Here the
    token's site is another port of 127.0.0.1 and the server is asked without it."""
    gitserver.tokens.add("ghs_for_the_github_host_only")
    token = HostToken("https://127.0.0.1:1", "ghs_for_the_github_host_only", str(certs.cert))
    url = f"{gitserver.url}/acme-org/webapp.git"
    assert not token.covers(url)
    git = service_git()
    trust = {"GIT_CONFIG_KEY_9": "http.sslCAInfo", "GIT_CONFIG_VALUE_9": str(certs.cert)}
    env = {**git.env, **token.config(), **trust, "GIT_CONFIG_COUNT": "10"}
    for index in range(int(token.config()["GIT_CONFIG_COUNT"]), 9):  # fill the gap with harmless keys
        env |= {f"GIT_CONFIG_KEY_{index}": "core.quotePath", f"GIT_CONFIG_VALUE_{index}": "true"}
    with pytest.raises(PermanentError, match="cloning"):
        await git._clone(url, "main", None, dest.parent, LIMITS, env)
    assert gitserver.seen_auth and not any(gitserver.seen_auth)  # asked, never given anything


def test_the_token_is_in_git_config_env_not_argv() -> None:
    token = HostToken("https://github.com", "ghs_secret")
    env = token.config()
    assert env["GIT_CONFIG_KEY_0"] == "http.https://github.com/.extraHeader"
    assert env["GIT_CONFIG_VALUE_0"].startswith("Authorization: Basic ")
    assert ("http.followRedirects", "false") in [
        (env[f"GIT_CONFIG_KEY_{i}"], env[f"GIT_CONFIG_VALUE_{i}"]) for i in range(int(env["GIT_CONFIG_COUNT"]))
    ]
    assert "ghs_secret" not in repr(token)
    for url in ("https://github.com.evil.example/a/b", "https://github.com@evil.example/a/b", "http://github.com/a/b"):
        assert not token.covers(url), url


async def test_the_build_gets_a_token_only_for_the_github_host_and_keeps_it_nowhere(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    daemon: Daemon,
    gitserver: GitServer,
    standin: GitHubStandIn,
    certs: Certs,
    dest: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The core's clone_token, then the clone as the build makes it; afterwards the token is
    in no event, log line, deployment or database byte."""
    caplog.set_level(logging.DEBUG)
    assert (await register(client, auth, standin)).status_code == 201
    provider = auth["X-Provider-Id"]
    github = daemon.platform.github
    url = f"{gitserver.url}/acme-org/webapp.git"
    for elsewhere in (
        "https://git.example.org/acme-org/webapp",
        f"{gitserver.url.replace('127.0.0.1', 'localhost')}/acme-org/webapp",
        f"http://127.0.0.1:{gitserver.port}/acme-org/webapp",
    ):
        assert await github.clone_token(provider, elsewhere) is None, elsewhere
    other = await client.post(
        "/tenants", headers=auth, json={"name": "x", "source_type": "image", "image_url": "a/b:1"}
    )
    assert other.status_code == 202
    assert await github.clone_token("prv_nobody", url) is None  # no installation, no token
    token = await github.clone_token(provider, url)
    assert token and token.startswith("ghs_")
    assert await github.clone_token(provider, url) == token  # cached, not minted again
    gitserver.tokens.add(token)
    commit = await service_git().clone(
        url, "main", None, dest.parent, LIMITS, HostToken(gitserver.url, token, str(certs.cert))
    )
    assert commit.message == "first page"
    tenant = await client.post(
        "/tenants", headers=auth, json={"name": "webapp", "source_type": "github", "repo_url": url}
    )
    assert token not in tenant.text and token not in caplog.text
    raw = b"".join(
        path.read_bytes()
        for path in daemon.settings.data_dir.rglob("*")
        if path.is_file() and path.name.startswith("staxad.db")
    )
    assert token.encode() not in raw and b"ghs_" not in raw
    assert standin.user_tokens and b"ghu_" not in raw  # nor the user token registration bought
    assert not any(user_token in caplog.text for user_token in standin.user_tokens)
    events = await daemon.db.fetch_all("SELECT * FROM events")
    assert token not in str([tuple(e) for e in events])
