"""Real components: the service user's rootless podman, a managed Caddy with the
internal issuer, and staxad served by uvicorn on a loopback socket (Caddy calls its
`ask` endpoint). Every test gets its own instance name; everything it made is removed
afterwards by id, found through that instance's label. The harness itself (Live,
running_daemon, ...) is in helpers.py; this module holds the fixtures."""

from __future__ import annotations

import contextlib
import secrets
import shutil
import socket
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.images import build_web_images
from tests.integration.helpers import Live, running_daemon
from tests.netns import net_host


@pytest.fixture(scope="session")
def web_image() -> str:
    return build_web_images()


@contextlib.contextmanager
def _registry(folder: Path, auth: str = "") -> Iterator[str]:
    """Debian's docker-registry in a network namespace of its own (198.18.0.0/15), stopped
    and removed afterwards; its address:port. Not on loopback: every staxad instance's
    sandbox keeps the service user off this host's own addresses, so a development
    instance running here (`scripts/run`) would block a loopback registry from the tests."""
    with net_host() as host:
        address = f"{host.address}:5000"
        config = folder / "config.yml"
        config.write_text(
            f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {folder / 'data'}\n"
            f"http:\n  addr: {address}\n{auth}"
        )
        process = host.popen("docker-registry", "serve", str(config))
        try:
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                with contextlib.suppress(OSError), socket.create_connection((host.address, 5000), timeout=0.2):
                    break
                time.sleep(0.05)
            yield address
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A plain-HTTP image registry of the test's own, as address:port."""
    with _registry(tmp_path_factory.mktemp("registry")) as address:
        yield address


@pytest.fixture(scope="session")
def private_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """A registry of the test's own that requires a login (htpasswd, bcrypt): (address:port, user, password)."""
    import bcrypt

    folder = tmp_path_factory.mktemp("private-registry")
    user, password = "team", secrets.token_urlsafe(12)
    (folder / "htpasswd").write_text(f"{user}:{bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()}\n")
    auth = f"auth:\n  htpasswd:\n    realm: staxa-test\n    path: {folder / 'htpasswd'}\n"
    with _registry(folder, auth) as address:
        yield address, user, password


@pytest.fixture
def repos() -> Iterator[Path]:
    """A folder for test repositories that the service user can read (git runs as that
    user, and pytest's own tmp folders are root's alone)."""
    folder = Path(tempfile.mkdtemp(prefix="staxad-test-repos-", dir="/var/tmp"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture
def instance() -> str:
    return "t" + secrets.token_hex(4)


@pytest.fixture
async def live(tmp_path: Path, web_image: str, instance: str) -> AsyncIterator[Live]:
    async with running_daemon(tmp_path, instance) as running:
        yield running


@pytest.fixture
async def live_without_sweep(tmp_path: Path, web_image: str, instance: str) -> AsyncIterator[Live]:
    """A daemon whose periodic pass runs only at start: repairs must come from events."""
    async with running_daemon(tmp_path, instance, STAXAD_RUNTIME_RECONCILE_INTERVAL_SECONDS="3600") as running:
        yield running
