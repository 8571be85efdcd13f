"""What the host tests share: a live daemon on the real components (Live,
running_daemon, cleaning up an instance), creating tenants, naming their containers,
waiting for conditions, network rules, git tenants. One module, so no test module
imports another or a conftest."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from staxad.config import load
from staxad.daemon import Daemon
from tests.images import SERVICE_USER, podman
from tests.netns import NetHost
from tests.served import uvicorn_on


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
        return await self.wait_status_as(tenant_id, want, self.auth, timeout)

    async def wait_status_as(
        self, tenant_id: str, want: str, auth: dict[str, str], timeout: float = 60
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        data: dict[str, Any] = {}
        while time.monotonic() < deadline:
            response = await self.client.get(f"/tenants/{tenant_id}", headers=auth)
            if response.status_code == 404 and want == "gone":
                return {}
            data = response.json().get("data", {})
            if data.get("status") == want:
                return data
            await asyncio.sleep(0.2)
        raise AssertionError(f"tenant {tenant_id} did not become {want}: {data}")

    def https(self, host: str, path: str = "/", *extra: str) -> subprocess.CompletedProcess[str]:
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
                *extra,
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
    server, task = await uvicorn_on(daemon.app, port, "on", 60)
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
    volumes = podman("volume", "ls", "-q", "--filter", label, check=False).stdout.decode().split()
    if volumes:  # retained ones, and any a failing test left
        podman("volume", "rm", "-f", *volumes, check=False)
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
    netns = ["runuser", "-u", SERVICE_USER, "--", "podman", "unshare", "--rootless-netns"]
    subprocess.run([*netns, "nft", "delete", "table", "ip", table], capture_output=True, check=False, cwd="/")


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


async def create(live: Live, body: dict[str, Any]) -> dict[str, Any]:
    response = await live.client.post("/tenants", headers=live.auth, json=body)
    assert response.status_code == 202, response.text
    return dict(response.json()["data"])


def container_of(tenant: dict[str, Any], service: str = "web") -> str:
    live_deployments = [d for d in tenant["deployments"] if d["service_name"] == service and d["status"] == "succeeded"]
    return f"staxa-{{instance}}-{tenant['name']}-{service}-{live_deployments[0]['id'][4:]}"


async def read_events(live: Live, tenant_id: str, until: str, last_event_id: int = 0) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    headers = {**live.auth, "Accept": "text/event-stream", "Last-Event-ID": str(last_event_id)}
    async with (
        asyncio.timeout(30),
        live.client.stream("GET", f"/tenants/{tenant_id}/events", headers=headers) as response,
    ):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        async for line in response.aiter_lines():
            if line.startswith("data: "):
                found.append(json.loads(line[6:]))
                if found[-1]["type"] == until:
                    return found
    return found


def curl(host: NetHost, address: str, port: int) -> str:
    return host.run("curl", "-sS", "--max-time", "2", f"http://{address}:{port}/", timeout=10).stdout


async def until(check: Callable[[], bool], timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await asyncio.to_thread(check):
            return True
        await asyncio.sleep(0.2)
    return False


async def rule(live: Live, tenant: dict[str, Any], **body: Any) -> dict[str, Any]:
    response = await live.client.post(f"/tenants/{tenant['id']}/network-rules", headers=live.auth, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json()["data"])


async def inbound(
    live: Live, tenant: dict[str, Any], protocol: str, service: str, source: NetHost, **extra: Any
) -> dict[str, Any]:
    """An inbound rule that lets exactly one test host in."""
    return await rule(
        live,
        tenant,
        direction="inbound",
        protocol=protocol,
        target_service=service,
        source_cidrs=[f"{source.address}/32"],
        **extra,
    )


async def settled(live: Live, tenant_id: str, deployment_id: str) -> dict[str, Any]:
    for _ in range(600):
        response = await live.client.get(f"/tenants/{tenant_id}/deployments/{deployment_id}", headers=live.auth)
        data: dict[str, Any] = response.json()["data"]
        if data["status"] in ("succeeded", "failed", "cancelled"):
            return data
        await asyncio.sleep(0.1)
    raise AssertionError(f"deployment {deployment_id} did not finish: {data}")


def git_tenant(name: str, repo: Path) -> dict[str, Any]:
    return {"name": name, "source_type": "github", "repo_url": str(repo), "branch": "main", "port": 8080}
