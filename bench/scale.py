"""Scale: what one more tenant costs with few and with many tenants routed, how a burst of
tenants created at once converges and goes away again, and the daemon's memory.

Usage (root, after scripts/bootstrap): .venv/bin/python -m bench.scale [--routed 1000] [--burst 30]

- Time to live of one more tenant (POST -> first HTTPS 200) with 10 and with `--routed`
  tenants routed in Caddy, and the time of one Caddy config load at each size: Caddy
  replaces its whole config on every change, so a load grows with the hosts routed
  (an entry each in the host map). Each tenant is deleted, and gone, before the next is made. The routed
  tenants are seeded in the store with live deployments on ports of their own, the last
  one on a real container (running `--routed` containers would measure podman, not
  staxad); the others' ports answer nothing and are never asked.
- The daemon's RSS with those tenants in the store and the runtime on, once idle.
- A burst: `--burst` image tenants created at once, the time until every one is ready and
  how many deployments failed (goal 0); then all deleted at once, and the delete rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import secrets
import statistics
import time
from collections.abc import Awaitable, Callable

from bench.harness import Row, Staxad, first_200, staxad
from bench.loadgen import free_port
from staxad.adapters.caddy import admin_client
from staxad.config import Settings
from staxad.core.context import Context
from staxad.core.platform import Platform
from staxad.store import deployments as deployment_store
from staxad.store import tenants as tenant_store
from staxad.store.db import Database
from staxad.store.secretbox import SecretBox
from tests.images import IMAGE, build_web_images, podman


def routed_tenants(count: int, port: int) -> Callable[[Settings], Awaitable[None]]:
    """Seed `count` ready tenants with live deployments; the last one answers on
    127.0.0.1:`port`, each other one has a port of its own that nothing answers on."""

    async def seed(settings: Settings) -> None:
        db = Database(settings.database_path, settings.store.synchronous)
        await db.open()
        try:
            platform = Platform(Context(db=db, box=SecretBox.from_file(settings.secret_key_path), settings=settings))
            provider, _ = await platform.accounts.register("seeded@example.com", None)
            _, raw = await platform.keys.create(provider.id, "seed", "live", ["*"], None)
            who = await platform.keys.authenticate(f"Bearer {raw}")
            now = platform.ctx.now()
            for i in range(count):
                body = {"name": f"seeded-{i}", "source_type": "image", "image_url": IMAGE, "port": 8080}
                tenant = await platform.tenants.create(who, body)
                (queued,) = await deployment_store.with_status(db, tenant.id, ("queued",))
                async with db.transaction() as tx:
                    await deployment_store.update(
                        tx,
                        queued.id,
                        status="succeeded",
                        stage="ready",
                        host_port=port if i == count - 1 else 20000 + i,
                        finished_at=now,
                    )
                    await deployment_store.set_live(tx, queued.service_id, queued.id)
                    await tenant_store.update(tx, tenant.id, now, status="ready")
        finally:
            await db.close()

    return seed


async def one_more_tenant(running: Staxad) -> float:
    name = f"more-{secrets.token_hex(3)}"
    began = time.perf_counter()
    response = await running.api.post("/tenants", json={"name": name, "source_type": "image", "image_url": IMAGE})
    assert response.status_code == 202, response.text
    await running.first_https_200(f"{name}.staxa.test")
    elapsed = time.perf_counter() - began
    await running.gone(response.json()["data"]["id"])  # a teardown would share podman with the next one
    return elapsed


async def caddy_load(running: Staxad) -> tuple[float, int]:
    """Seconds for Caddy to load its current config again (forced: Caddy skips a load of
    the config it runs), and the number of hosts routed."""
    async with admin_client(running.settings.caddy_admin, 60) as admin:
        config = (await admin.get("/config/")).content
        times = []
        for _ in range(5):
            began = time.perf_counter()
            headers = {"Content-Type": "application/json", "Cache-Control": "must-revalidate"}
            response = await admin.post("/load", content=config, headers=headers)
            assert response.status_code == 200, response.text
            times.append(time.perf_counter() - began)
    host_map = json.loads(config)["apps"]["http"]["servers"]["staxad"]["routes"][0]["handle"][0]
    return statistics.median(times), len(host_map["mappings"])


async def routed(count: int, backend_port: int) -> dict[str, float]:
    extra = {"STAXAD_LIMITS_TENANTS_PER_PROVIDER": str(count + 10), "STAXAD_RATE_LIMITS_CREATE_TENANT": "100000"}
    async with staxad(extra, seed=routed_tenants(count, backend_port)) as running:
        await running.first_https_200(f"seeded-{count - 1}.staxa.test")  # every route is loaded
        await asyncio.sleep(5)  # the first passes settle (each seeded tenant is looked at once)
        rss = running.rss_mib()
        await one_more_tenant(running)  # warm-up
        ttl = statistics.median([await one_more_tenant(running) for _ in range(3)])
        load, routes = await caddy_load(running)
    return {"ttl": ttl, "load": load, "routes": routes, "rss": rss}


async def burst(count: int) -> dict[str, float]:
    extra = {
        "STAXAD_LIMITS_TENANTS_PER_PROVIDER": str(count + 10),
        "STAXAD_RATE_LIMITS_CREATE_TENANT": "100000",
        "STAXAD_RATE_LIMITS_DEFAULT": "100000",
        "STAXAD_RATE_LIMITS_GET_TENANT": "100000",
    }
    async with staxad(extra) as running:
        body = {"source_type": "image", "image_url": IMAGE, "port": 8080}
        began = time.perf_counter()
        created = await asyncio.gather(
            *(running.api.post("/tenants", json={"name": f"burst-{i}", **body}) for i in range(count))
        )
        ids = [r.json()["data"]["id"] for r in created]
        pending = set(ids)
        while pending and time.perf_counter() - began < 900:
            for tenant_id in list(pending):
                status = (await running.api.get(f"/tenants/{tenant_id}")).json()["data"]["status"]
                if status in ("ready", "failed"):
                    pending.discard(tenant_id)
            await asyncio.sleep(0.5)
        converged = time.perf_counter() - began
        failed = retried = 0
        for tenant_id in ids:
            if (await running.api.get(f"/tenants/{tenant_id}")).json()["data"]["status"] != "ready":
                failed += 1
            deployments = (await running.api.get(f"/tenants/{tenant_id}/deployments")).json()["data"]
            retried += sum(1 for d in deployments if d["status"] == "failed")
        rss = running.rss_mib()
        began = time.perf_counter()
        await asyncio.gather(*(running.api.delete(f"/tenants/{tenant_id}") for tenant_id in ids))
        gone = set(ids)
        while gone and time.perf_counter() - began < 900:
            for tenant_id in list(gone):
                if (await running.api.get(f"/tenants/{tenant_id}")).status_code == 404:
                    gone.discard(tenant_id)
            await asyncio.sleep(0.2)
        deleted = time.perf_counter() - began
    return {
        "converged": converged,
        "failed": failed,
        "retried": retried,
        "left": len(pending),
        "rss": rss,
        "deleted": deleted,
    }


def options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--routed", type=int, default=1000)
    parser.add_argument("--burst", type=int, default=30)
    return parser


async def measure(args: argparse.Namespace) -> list[Row]:
    build_web_images()
    port = free_port()
    name = f"staxa-bench-backend-{secrets.token_hex(3)}"
    podman("run", "-d", "--name", name, "-e", "PORT=8080", "-p", f"127.0.0.1:{port}:8080", IMAGE)
    try:
        await first_200(f"http://127.0.0.1:{port}/")
        small = await routed(10, port)
        large = await routed(args.routed, port)
    finally:
        podman("rm", "-f", name, check=False)
    print("one more tenant, POST -> first HTTPS 200 (median of 3), with tenants routed in Caddy:")
    print(f"  {small['routes']:>5} hosts: {small['ttl'] * 1000:6.0f} ms   Caddy load {small['load'] * 1000:6.1f} ms")
    print(f"  {large['routes']:>5} hosts: {large['ttl'] * 1000:6.0f} ms   Caddy load {large['load'] * 1000:6.1f} ms")
    print(f"  ratio: {large['ttl'] / small['ttl']:.2f}x (Caddy load {large['load'] / small['load']:.1f}x)")
    rss = f"{small['rss']:.0f} MiB with 10 tenants, {large['rss']:.0f} MiB with {args.routed}"
    print(f"daemon RSS, runtime on, idle: {rss}")
    rows = [
        Row(
            f"one more tenant with {args.routed} routed",
            f"{large['ttl'] * 1000:.0f} ms",
            f"with 10: {small['ttl'] * 1000:.0f} ms",
            large["ttl"] / small["ttl"],
            "<= 1.2x",
        ),
        Row(
            f"daemon RSS idle, {args.routed} tenants, runtime on",
            f"{large['rss']:.0f} MiB",
            f"with 10: {small['rss']:.0f} MiB",
            None,
            "<= 80 MiB",
        ),
    ]
    if args.burst:
        b = await burst(args.burst)
        print(
            f"burst of {args.burst} tenants created at once: all settled in {b['converged']:.1f} s, "
            f"{b['failed']:.0f} not ready, {b['left']:.0f} not settled, {b['retried']:.0f} attempts failed and "
            f"were retried; RSS {b['rss']:.0f} MiB"
        )
        print(f"deleting all {args.burst} at once: {b['deleted']:.1f} s ({args.burst / b['deleted']:.1f} per second)")
        rows += [
            Row(
                f"{args.burst} tenants created at once",
                f"{b['failed']:.0f} not ready, {b['converged']:.0f} s",
                f"{b['retried']:.0f} attempts retried",
                None,
                "0 not ready",
            ),
            Row(f"{args.burst} tenants deleted at once", f"{args.burst / b['deleted']:.1f}/s", "-", None, ">= 1/s"),
        ]
    return rows


if __name__ == "__main__":
    asyncio.run(measure(options().parse_args()))
