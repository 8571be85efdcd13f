"""A staxad process on free loopback ports with a managed Caddy, for benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import ssl
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx

from bench.loadgen import free_port
from staxad.cli import _create_key
from staxad.config import Settings, load
from tests.images import podman


@dataclass
class Staxad:
    api: httpx.AsyncClient
    settings: Settings
    folder: Path

    @property
    def root_ca(self) -> Path:
        return self.folder / "data" / "caddy" / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"

    async def first_https_200(self, host: str, text: str | None = None) -> None:
        for _ in range(600):
            if self.root_ca.exists():
                break
            await asyncio.sleep(0.05)
        context = ssl.create_default_context(cafile=str(self.root_ca))
        url = f"https://127.0.0.1:{self.settings.domains.https_port}/"
        await first_200(url, host=host, context=context, text=text)


async def first_200(
    url: str, *, host: str | None = None, context: ssl.SSLContext | bool = False, text: str | None = None
) -> None:
    """Poll until `url` answers 200 (with body `text`, when given)."""
    headers = {"Host": host} if host else {}
    extensions = {"sni_hostname": host} if host else {}
    async with httpx.AsyncClient(verify=context, timeout=2) as client:
        for _ in range(12000):
            try:
                response = await client.get(url, headers=headers, extensions=extensions)
                if response.status_code == 200 and (text is None or response.text == text):
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.005)
    raise TimeoutError(url)


@contextlib.asynccontextmanager
async def staxad(**extra: str) -> AsyncIterator[Staxad]:
    """`staxad serve` in a subprocess; every container of its instance is removed afterwards."""
    instance = "bench" + secrets.token_hex(3)
    with tempfile.TemporaryDirectory() as tmp:
        environ = {
            "STAXAD_INSTANCE": instance,
            "STAXAD_STORE_DATA_DIR": f"{tmp}/data",
            "STAXAD_SERVER_PORT": str(free_port()),
            "STAXAD_DOMAINS_BASE_DOMAIN": "staxa.test",
            "STAXAD_DOMAINS_HTTPS_PORT": str(free_port()),
            "STAXAD_CADDY_HTTP_PORT": str(free_port()),
            "STAXAD_CADDY_ADMIN": f"127.0.0.1:{free_port()}",
            "STAXAD_SERVER_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "warning"),
            **extra,
        }
        settings = load(None, environ)

        class Args:
            email, provider_name, scopes, name, mode, expires_at = "bench@example.com", None, "*", "bench", "live", None

        key = (await _create_key(settings, Args()))[-1]  # type: ignore[arg-type]
        server = subprocess.Popen([sys.executable, "-m", "staxad", "serve"], env={**os.environ, **environ})
        base = f"http://127.0.0.1:{settings.server.port}/api/v1"
        try:
            async with httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
                for _ in range(300):
                    try:
                        await api.get("/openapi.json")
                        break
                    except httpx.HTTPError:
                        await asyncio.sleep(0.1)
                yield Staxad(api, settings, Path(tmp))
        finally:
            server.terminate()
            server.wait(30)
            label = f"label=io.staxa.instance={instance}"
            labelled = podman("ps", "-a", "-q", "--filter", label, check=False).stdout.split()
            if labelled:
                podman("rm", "-f", *[i.decode() for i in labelled], check=False)
            built = f"reference=localhost/staxa-{instance}/*"
            listed = podman("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter", built, check=False)
            images = listed.stdout.split()  # by name: podman 4.3 misses these by short id
            if images:
                podman("rmi", "-f", *[i.decode() for i in images], check=False)
            # the firewall table a stopped daemon leaves in place
            subprocess.run(["nft", "delete", "table", "ip", f"staxad-{instance}"], capture_output=True, check=False)
            sandbox = f"staxad-{instance}-sandbox"
            subprocess.run(["nft", "delete", "table", "inet", sandbox], capture_output=True, check=False)
