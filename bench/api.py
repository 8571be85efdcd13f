"""GET /api/v1/tenants/{id} with 1,000 tenants in the store, against a bare Starlette
JSON endpoint served the same way (uvicorn, one process) in the same run.

Usage: .venv/bin/python -m bench.api [--seconds 10] [--connections 16]  (needs wrk)
Rate limits are raised for the run (the bench is one key hammering one endpoint). The
runtime is off: the seeded tenants name images no host has, and the bench measures the
API, not 1,000 failing deploys (nor does it touch podman, Caddy or nft).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import subprocess
import sys
import tempfile
from pathlib import Path

from bench.harness import Row, spawn, stop_all
from bench.loadgen import free_port, run_wrk, wait_for_port
from staxad.config import load
from staxad.core.context import Context
from staxad.core.platform import Platform
from staxad.store.db import Database
from staxad.store.secretbox import SecretBox

TENANTS = 1000


async def seed(config: Path) -> tuple[str, list[str]]:
    settings = load(config, {})
    db = Database(settings.database_path, settings.store.synchronous)
    await db.open()
    try:
        platform = Platform(Context(db=db, box=SecretBox.from_file(settings.secret_key_path), settings=settings))
        provider, _ = await platform.accounts.register("bench@example.com", "Bench")
        _, raw = await platform.keys.create(provider.id, "bench", "live", ["*"], None)
        who = await platform.keys.authenticate(f"Bearer {raw}")
        ids = []
        for i in range(TENANTS):
            body = {"name": f"tenant-{i}", "source_type": "image", "image_url": "localhost/app:1", "port": 8080}
            ids.append((await platform.tenants.create(who, body)).id)
        return raw, ids
    finally:
        await db.close()


def serve(argv: list[str], port: int) -> subprocess.Popen[bytes]:
    process = spawn(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_port(port, process)
    return process


def options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=16)
    return parser


async def measure(args: argparse.Namespace) -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        port, bare_port = free_port(), free_port()
        config = Path(tmp) / "staxad.toml"
        config.write_text(
            f'instance = "benchapi"\n[server]\nport = {port}\nlog_level = "warning"\n[store]\ndata_dir = "{tmp}/data"\n'
            f"[limits]\ntenants_per_provider = {TENANTS}\n"
            "[rate_limits]\nget_tenant = 100000000\nunauthenticated = 100000000\n"
            "[runtime]\nenabled = false\n"
        )
        key, ids = await seed(config)
        print(f"seeded {len(ids)} tenants; wrk, {args.connections} connections, {args.seconds} s per server")
        results = []
        try:
            serve([sys.executable, "-m", "staxad", "serve", "--config", str(config)], port)
            serve([sys.executable, "-m", "bench.bare_app", str(bare_port)], bare_port)
            rng = random.Random(7)
            paths = [f"/api/v1/tenants/{rng.choice(ids)}" for _ in range(500)]
            for name, target, headers in [
                ("bare Starlette JSON endpoint", bare_port, {}),
                ("staxad GET /api/v1/tenants/{id}", port, {"Authorization": f"Bearer {key}"}),
            ]:
                run_wrk("warm-up", target, paths, headers, 2, 4)
                results.append(run_wrk(name, target, paths, headers, args.seconds, args.connections))
        finally:
            stop_all()  # both servers, whatever failed
    for result in results:
        print(result.line())
    bare_result, staxad_result = results
    print(
        f"ratio staxad/bare: throughput {staxad_result.rps / bare_result.rps:.2f}x, "
        f"p50 {staxad_result.p50_ms / bare_result.p50_ms:.2f}x, p99 {staxad_result.p99_ms / bare_result.p99_ms:.2f}x"
    )
    figure = f"API GET tenant, {TENANTS} tenants, {args.connections} conns"
    return [
        Row(
            figure + " (req/s)",
            f"{staxad_result.rps:.0f}",
            f"bare Starlette {bare_result.rps:.0f}",
            staxad_result.rps / bare_result.rps,
            ">= 0.6x",
        ),
        Row(
            figure + " (p99 ms)",
            f"{staxad_result.p99_ms:.1f}",
            f"bare Starlette {bare_result.p99_ms:.1f}",
            staxad_result.p99_ms / bare_result.p99_ms,
            "<= 2x",
        ),
    ]


if __name__ == "__main__":
    asyncio.run(measure(options().parse_args()))
