"""Time from `POST /api/v1/tenants` to the first HTTPS 200 through Caddy, against
`podman run` plus the first HTTP 200 done by hand, in the same run, same image, same
service user. Runs each several times and reports the medians.

Usage (root, after scripts/bootstrap): .venv/bin/python -m bench.time_to_live [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import time

from bench.harness import Row, first_200, median_ms, print_stages, report, staxad, unmapped_block
from bench.loadgen import free_port
from staxad.model.userns import BLOCK
from tests.images import IMAGE, build_web_images, podman


async def by_hand(own_network: bool = False, own_ids: int | None = None) -> float:
    """`podman run` and the first HTTP 200; with `own_network`, on a network created for
    it first, as staxad gives each tenant (podman sets up a new bridge for its first
    container: the part of staxad's time that isolation costs); with `own_ids`, in a
    block of ids not used before (podman copies the image's layers for a new mapping)."""
    name, port = f"staxa-bench-{secrets.token_hex(4)}", free_port()
    network = ["--network", name] if own_network else []
    ids = [] if own_ids is None else [f"--uidmap=0:{own_ids}:{BLOCK}", f"--gidmap=0:{own_ids}:{BLOCK}"]
    began = time.perf_counter()
    if own_network:
        podman("network", "create", name)
    podman("run", "-d", "--name", name, *network, *ids, "-e", "PORT=8080", "-p", f"127.0.0.1:{port}:8080", IMAGE)
    try:
        await first_200(f"http://127.0.0.1:{port}/")
        return time.perf_counter() - began
    finally:
        podman("rm", "-f", name, check=False)
        if own_network:
            podman("network", "rm", "-f", name, check=False)


def options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    return parser


async def measure(args: argparse.Namespace) -> list[Row]:
    build_web_images()
    async with staxad() as running:
        staxad_times, hand_times, isolated_times, mapped_times, stages = [], [], [], [], []
        for run in range(args.runs + 1):  # the first run of each warms caches and the CA
            hand, isolated = await by_hand(), await by_hand(own_network=True)
            mapped = await by_hand(own_network=True, own_ids=unmapped_block() * BLOCK)
            name = f"ttl-{run}"
            began = time.perf_counter()
            response = await running.api.post(
                "/tenants", json={"name": name, "source_type": "image", "image_url": IMAGE, "port": 8080}
            )
            assert response.status_code == 202, response.text
            tenant_id = response.json()["data"]["id"]
            marks = await running.stages(tenant_id)  # done when its events say so, then served
            await running.first_https_200(f"{name}.staxa.test")
            elapsed = time.perf_counter() - began
            if run:
                staxad_times.append(elapsed)
                hand_times.append(hand)
                isolated_times.append(isolated)
                mapped_times.append(mapped)
                stages.append(marks)
            await running.gone(tenant_id)  # its teardown would share podman with the next run
    ratio = report(
        f"time to live, {args.runs} runs after one warm-up each",
        ("podman run + first HTTP 200 (by hand)", hand_times),
        ("staxad POST /tenants -> first HTTPS 200", staxad_times),
    )
    like_for_like = report(
        "the same against a network of its own for the container, as staxad makes per tenant",
        ("podman network create + run + first HTTP 200", isolated_times),
        ("staxad POST /tenants -> first HTTPS 200", staxad_times),
    )
    with_ids = report(
        "the same with a network and a block of ids of its own, as staxad gives each new tenant",
        ("podman network create + run --uidmap + first HTTP 200", mapped_times),
        ("staxad POST /tenants -> first HTTPS 200", staxad_times),
    )
    print_stages(stages)
    return [
        Row(
            "time to live (POST -> first HTTPS 200)",
            median_ms(staxad_times),
            f"podman run {median_ms(hand_times)}",
            ratio,
            "<= 1.5x",
        ),
        Row(
            "time to live, against a network of its own",
            median_ms(staxad_times),
            f"podman run {median_ms(isolated_times)}",
            like_for_like,
            "-",
        ),
        Row(
            "time to live, against a network and ids of its own",
            median_ms(staxad_times),
            f"podman run {median_ms(mapped_times)}",
            with_ids,
            "-",
        ),
    ]


if __name__ == "__main__":
    asyncio.run(measure(options().parse_args()))
