"""Real components: the service user's rootless podman, a managed Caddy with the
internal issuer, and staxad served by uvicorn on a loopback socket (Caddy calls its
`ask` endpoint). Every test gets its own instance name; everything it made is removed
afterwards by id, found through that instance's label."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from staxad.config import load
from staxad.daemon import Daemon
from tests.images import build_web_images, podman


@pytest.fixture(scope="session")
def web_image() -> str:
    return build_web_images()


@pytest.fixture(scope="session")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A plain-HTTP image registry on loopback (Debian's docker-registry), as host:port."""
    folder = tmp_path_factory.mktemp("registry")
    address = f"127.0.0.1:{free_port()}"
    config = folder / "config.yml"
    config.write_text(
        f"version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {folder / 'data'}\n"
        f"http:\n  addr: {address}\n"
    )
    process = subprocess.Popen(
        ["docker-registry", "serve", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(address.split(":"), timeout=0.2):  # type: ignore[arg-type]
                break
            time.sleep(0.05)
        yield address
    finally:
        process.terminate()
        process.wait(timeout=10)


def push(image: str, registry: str, name: str) -> str:
    """Copy a local image into the test registry; the local storage gets no new tag."""
    ref = f"{registry}/{name}"
    podman("push", "-q", "--tls-verify=false", image, ref)
    return ref


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Live:
    daemon: Daemon
    client: httpx.AsyncClient
    auth: dict[str, str]
    https_port: int
    base_domain: str
    server: uvicorn.Server
    task: asyncio.Task[None]

    async def wait_status(self, tenant_id: str, want: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        data: dict[str, Any] = {}
        while time.monotonic() < deadline:
            response = await self.client.get(f"/tenants/{tenant_id}", headers=self.auth)
            if response.status_code == 404 and want == "gone":
                return {}
            data = response.json().get("data", {})
            if data.get("status") == want:
                return data
            await asyncio.sleep(0.2)
        raise AssertionError(f"tenant {tenant_id} did not become {want}: {data}")

    def https(self, host: str, path: str = "/") -> subprocess.CompletedProcess[str]:
        """curl through Caddy with the name resolved to loopback and Caddy's root CA trusted."""
        assert self.daemon.managed_caddy is not None
        ca = self.daemon.managed_caddy.root_certificate
        return subprocess.run(
            [
                "curl",
                "-sS",
                "--max-time",
                "10",
                "--resolve",
                f"{host}:{self.https_port}:127.0.0.1",
                "--cacert",
                str(ca),
                "-o",
                "-",
                "-w",
                "\n%{http_code}",
                f"https://{host}:{self.https_port}{path}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )

    def host(self, tenant: str) -> str:
        return f"{tenant}.{self.base_domain}"


def environ_for(tmp_path: Path, instance: str) -> dict[str, str]:
    """A whole staxad configuration on free loopback ports, as STAXAD_* variables."""
    return {
        "STAXAD_INSTANCE": instance,
        "STAXAD_STORE_DATA_DIR": str(tmp_path / "data"),
        "STAXAD_STORE_SYNCHRONOUS": "NORMAL",
        "STAXAD_SERVER_PORT": str(free_port()),
        "STAXAD_DOMAINS_BASE_DOMAIN": "staxa.test",
        "STAXAD_DOMAINS_HTTPS_PORT": str(free_port()),
        "STAXAD_CADDY_HTTP_PORT": str(free_port()),
        "STAXAD_RUNTIME_HEALTH_TIMEOUT_SECONDS": "20",
        "STAXAD_RUNTIME_RECONCILE_INTERVAL_SECONDS": "2",
        "STAXAD_RATE_LIMITS_DEFAULT": "100000",
        "STAXAD_RATE_LIMITS_GET_TENANT": "100000",
    }


async def start_live(tmp_path: Path, instance: str, **overrides: str) -> Live:
    settings = load(None, {**environ_for(tmp_path, instance), **overrides})
    port, https_port = settings.server.port, settings.domains.https_port
    daemon = Daemon(settings)
    server = uvicorn.Server(uvicorn.Config(daemon.app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(60):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.05)
    provider, _ = await daemon.platform.accounts.register("ops@example.com", None)
    _, raw = await daemon.platform.keys.create(provider.id, "it", "live", ["*"], None)
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}/api/v1", timeout=30)
    return Live(daemon, client, {"Authorization": f"Bearer {raw}"}, https_port, "staxa.test", server, task)


async def stop_live(live: Live) -> None:
    await live.client.aclose()
    live.server.should_exit = True
    await live.task


def remove_instance_objects(instance: str) -> None:
    label = f"label=io.staxa.instance={instance}"
    ids = podman("ps", "-a", "-q", "--filter", label, check=False).stdout.decode().split()
    if ids:
        podman("rm", "-f", *ids, check=False)
    networks = podman("network", "ls", "-q", "--filter", label, check=False).stdout.decode().split()
    if networks:
        podman("network", "rm", "-f", *networks, check=False)
    built = podman(
        "images",
        "--format",
        "{{.Repository}}:{{.Tag}}",
        "--filter",
        f"reference=localhost/staxa-{instance}/*",
        check=False,
    )
    if built.stdout.split():
        podman("rmi", "-f", *built.stdout.decode().split(), check=False)
    table = f"staxad-{instance}"  # the firewall tables the daemon leaves in place when it stops
    subprocess.run(["nft", "delete", "table", "ip", table], capture_output=True, check=False)
    subprocess.run(["nft", "delete", "table", "inet", f"{table}-sandbox"], capture_output=True, check=False)
    work = Path("/var/lib/staxad-work") / instance  # root-owned by then: the daemon removed the checkouts
    subprocess.run(["rm", "-rf", "--one-file-system", "--", str(work)], check=False)
    netns = ["runuser", "-u", "staxa", "--", "podman", "unshare", "--rootless-netns"]
    subprocess.run([*netns, "nft", "delete", "table", "ip", table], capture_output=True, check=False, cwd="/")


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


@contextlib.asynccontextmanager
async def running_daemon(tmp_path: Path, instance: str, **overrides: str) -> AsyncIterator[Live]:
    if os.geteuid() != 0:
        pytest.skip("host tests need root (they drive the service user's podman)")
    running = await start_live(tmp_path, instance, **overrides)
    try:
        yield running
    finally:
        await stop_live(running)
        remove_instance_objects(instance)


@pytest.fixture
async def live(tmp_path: Path, web_image: str, instance: str) -> AsyncIterator[Live]:
    async with running_daemon(tmp_path, instance) as running:
        yield running


@pytest.fixture
async def live_without_sweep(tmp_path: Path, web_image: str, instance: str) -> AsyncIterator[Live]:
    """A daemon whose periodic pass runs only at start: repairs must come from events."""
    async with running_daemon(tmp_path, instance, STAXAD_RUNTIME_RECONCILE_INTERVAL_SECONDS="3600") as running:
        yield running
