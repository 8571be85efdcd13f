"""A daemon wired to a GitHub App whose API is the loopback stand-in and whose git host
is the loopback http-backend server, both over TLS trusted through github.ca_file. The
app has its OAuth client configured, so registering an installation needs a code:
`register` gets one from the stand-in for an active admin of the installation's organization."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from staxad.daemon import Daemon
from staxad.model.clock import FrozenClock
from tests.conftest import make_settings, offline_resolve
from tests.github.gitserver import GitServer
from tests.github.standin import CLIENT_ID, CLIENT_SECRET, GitHubStandIn, Repo
from tests.github.tls import make_cert
from tests.gitrepos import ENV, commit

APP_ID = 4242
INSTALLATION = 12345678
OTHER_INSTALLATION = 777
SECRET = "gh-webhook-secret-for-tests"


@dataclass
class Certs:
    folder: Path  # the service user can read it
    cert: Path
    key: Path


@pytest.fixture
def certs() -> Iterator[Certs]:
    folder = Path(tempfile.mkdtemp(prefix="staxad-github-"))
    folder.chmod(0o755)
    cert, key = make_cert(folder)
    yield Certs(folder, cert, key)
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def app_key(tmp_path: Path) -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def key_file(tmp_path: Path, app_key: rsa.RSAPrivateKey) -> Path:
    path = tmp_path / "app.pem"
    path.write_bytes(
        app_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    path.chmod(0o600)
    return path


@pytest.fixture
def standin(certs: Certs, app_key: rsa.RSAPrivateKey) -> Iterator[GitHubStandIn]:
    server = GitHubStandIn(
        certs.folder,
        app_key.public_key(),
        APP_ID,
        installations={INSTALLATION: "acme-org", OTHER_INSTALLATION: "other-org"},
        orgs={"acme-org": {}, "other-org": {}},
        repos={
            INSTALLATION: [Repo("acme-org/webapp"), Repo("acme-org/site", private=False, language=None)],
            OTHER_INSTALLATION: [Repo("other-org/secret")],
        },
    )
    server.start(certs.cert, certs.key)
    yield server
    server.stop()


@pytest.fixture
def gitserver(certs: Certs, tmp_path: Path, standin: GitHubStandIn) -> Iterator[GitServer]:
    work = tmp_path / "webapp"
    commit(work, {"index.html": "<h1>private</h1>\n"}, "first page")
    root = certs.folder / "git"
    (root / "acme-org").mkdir(parents=True)
    subprocess.run(
        ["git", "clone", "--quiet", "--bare", str(work), str(root / "acme-org" / "webapp.git")], env=ENV, check=True
    )
    server = GitServer(root, login=standin.exchange)
    server.start(certs.cert, certs.key)
    yield server
    server.stop()


def github_settings(tmp_path: Path, certs: Certs, key_file: Path, api: str, web: str, **extra: str) -> dict[str, str]:
    return {
        "STAXAD_GITHUB_APP_ID": str(APP_ID),
        "STAXAD_GITHUB_PRIVATE_KEY_FILE": str(key_file),
        "STAXAD_GITHUB_WEBHOOK_SECRET": SECRET,
        "STAXAD_GITHUB_API_URL": api,
        "STAXAD_GITHUB_WEB_URL": web,
        "STAXAD_GITHUB_CA_FILE": str(certs.cert),
        "STAXAD_GITHUB_CLIENT_ID": CLIENT_ID,
        "STAXAD_GITHUB_CLIENT_SECRET": CLIENT_SECRET,
        **extra,
    }


async def register(
    client: httpx.AsyncClient, auth: dict[str, str], standin: GitHubStandIn, installation: int = INSTALLATION
) -> httpx.Response:
    """Register `installation` as its admin would after installing the app: with the code
    GitHub hands that admin."""
    code = standin.grant(f"admin-of-{installation}", installation)
    started = await client.get("/github/install", headers=auth)
    assert started.status_code == 200, started.text
    body = {"installation_id": installation, "code": code, "state": started.json()["data"]["state"]}
    return await client.post("/github/installation", headers=auth, json=body)


@pytest.fixture
async def daemon(
    tmp_path: Path, clock: FrozenClock, certs: Certs, key_file: Path, standin: GitHubStandIn, gitserver: GitServer
) -> AsyncIterator[Daemon]:
    env = github_settings(tmp_path, certs, key_file, standin.url, gitserver.url)
    d = Daemon(make_settings(tmp_path, **env), clock=clock)
    d.ctx.resolve_host = offline_resolve
    await d.start()
    yield d
    await d.stop()
