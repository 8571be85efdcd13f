"""Time from `POST /api/v1/tenants` to the first HTTPS 200 through Caddy, against
`podman run` plus the first HTTP 200 done by hand, in the same run, same image, same
service user. Runs each several times and reports the medians.

Usage (root, after scripts/bootstrap): .venv/bin/python -m bench.time_to_live [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from bench.loadgen import free_port
from staxad.cli import _create_key
from staxad.config import load
from tests.images import IMAGE, build_web_images, podman


async def first_200(url: str, *, host: str | None = None, context: ssl.SSLContext | bool = False) -> None:
    headers = {"Host": host} if host else {}
    extensions = {"sni_hostname": host} if host else {}
    async with httpx.AsyncClient(verify=context, timeout=2) as client:
        for _ in range(3000):
            try:
                if (await client.get(url, headers=headers, extensions=extensions)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.005)
    raise TimeoutError(url)


async def by_hand() -> float:
    name, port = f"staxa-bench-{secrets.token_hex(4)}", free_port()
    began = time.perf_counter()
    podman("run", "-d", "--name", name, "-e", "PORT=8080", "-p", f"127.0.0.1:{port}:8080", IMAGE)
    try:
        await first_200(f"http://127.0.0.1:{port}/")
        return time.perf_counter() - began
    finally:
        podman("rm", "-f", name, check=False)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    build_web_images()
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
                ca = Path(tmp) / "data" / "caddy" / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
                staxad_times, hand_times = [], []
                for run in range(args.runs + 1):  # the first run of each warms caches and the CA
                    hand = await by_hand()
                    name = f"ttl-{run}"
                    began = time.perf_counter()
                    response = await api.post(
                        "/tenants", json={"name": name, "source_type": "image", "image_url": IMAGE, "port": 8080}
                    )
                    assert response.status_code == 202, response.text
                    host = f"{name}.staxa.test"
                    for _ in range(600):
                        if ca.exists():
                            break
                        await asyncio.sleep(0.05)
                    context = ssl.create_default_context(cafile=str(ca))
                    await first_200(f"https://127.0.0.1:{settings.domains.https_port}/", host=host, context=context)
                    elapsed = time.perf_counter() - began
                    if run:
                        staxad_times.append(elapsed)
                        hand_times.append(hand)
                    await api.delete(f"/tenants/{response.json()['data']['id']}")
        finally:
            server.terminate()
            server.wait(30)
            labelled = podman(
                "ps", "-a", "-q", "--filter", f"label=io.staxa.instance={instance}", check=False
            ).stdout.split()
            if labelled:
                podman("rm", "-f", *[i.decode() for i in labelled], check=False)
    s, h = statistics.median(staxad_times), statistics.median(hand_times)
    print(f"runs: {args.runs} (after one warm-up each)")
    for label, value, times in [
        ("podman run + first HTTP 200 (by hand)  ", h, hand_times),
        ("staxad POST /tenants -> first HTTPS 200", s, staxad_times),
    ]:
        print(f"{label} median {value * 1000:7.0f} ms   all {[round(t * 1000) for t in times]}")
    print(f"ratio staxad/by hand: {s / h:.2f}x")


if __name__ == "__main__":
    asyncio.run(main())
