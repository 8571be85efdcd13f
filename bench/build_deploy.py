"""Time from `POST /deployments` of a new commit to HTTPS serving it, for a static git
repository, against `git clone && podman build && podman run` + the first HTTP 200 done
by hand, in the same run, with the same base image and service user. Medians of runs.

Usage (root, after scripts/bootstrap): .venv/bin/python -m bench.build_deploy [--runs 5]
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from bench.harness import Row, first_200, median_ms, print_stages, report, staxad, unmapped_block
from bench.loadgen import free_port
from staxad.model.userns import BLOCK
from tests.gitrepos import commit
from tests.images import IMAGE, build_web_images, podman

CONTAINERFILE = f'FROM {IMAGE}\nCOPY . /www\nCMD ["/bin/sh", "-c", "exec httpd -f -p \\"$PORT\\" -h /www"]\n'


async def by_hand(repo: Path, run: int, network: str | None = None, ids: int | None = None) -> float:
    """With `network`, the container joins that network (a tenant's, with its old version
    running): the bridge set-up a redeploy pays; with `ids`, the container runs in the
    block of ids at that base, as a tenant's does (podman copies the new image for it)."""
    work = repo.parent / f"hand-{secrets.token_hex(4)}"  # root's files, which the service user reads
    name, port, tag = f"staxa-bench-{secrets.token_hex(4)}", free_port(), f"localhost/staxa-bench/hand:{run}"
    began = time.perf_counter()
    try:
        subprocess.run(["git", "clone", "--quiet", "--depth", "1", f"file://{repo}", str(work)], check=True)
        shutil.rmtree(work / ".git")
        (work.parent / f"{work.name}.Containerfile").write_text(CONTAINERFILE)
        podman("build", "-q", "-f", str(work.parent / f"{work.name}.Containerfile"), "-t", tag, str(work))
        joins = ["--network", network] if network else []
        joins += [f"--uidmap=0:{ids}:{BLOCK}", f"--gidmap=0:{ids}:{BLOCK}"] if ids is not None else []
        podman("run", "-d", "--name", name, *joins, "-e", "PORT=8080", "-p", f"127.0.0.1:{port}:8080", tag)
        await first_200(f"http://127.0.0.1:{port}/")
        return time.perf_counter() - began
    finally:
        podman("rm", "-f", name, check=False)
        podman("rmi", "-f", tag, check=False)
        shutil.rmtree(work, ignore_errors=True)
        (work.parent / f"{work.name}.Containerfile").unlink(missing_ok=True)


def options() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    return parser


async def measure(args: argparse.Namespace) -> list[Row]:
    build_web_images()
    # git runs as the service user: the repository must be readable by it (not /tmp's 0700)
    with tempfile.TemporaryDirectory(prefix="staxad-bench-", dir="/var/tmp") as tmp:
        Path(tmp).chmod(0o755)
        repo = Path(tmp) / "site"
        commit(repo, {"index.html": "v0\n"}, "v0")
        network = f"staxa-bench-{secrets.token_hex(4)}"
        podman("network", "create", network)
        podman("run", "-d", "--name", network, "--network", network, "-e", "PORT=8080", IMAGE)  # the old version
        try:
            return await _measure(args, repo, network)
        finally:
            podman("rm", "-f", "-t", "0", network, check=False)
            podman("network", "rm", "-f", network, check=False)


async def _measure(args: argparse.Namespace, repo: Path, network: str) -> list[Row]:
    extra = {"STAXAD_GIT_ALLOW_LOCAL_REPOS": "true", "STAXAD_BUILD_STATIC_IMAGE": IMAGE}
    async with staxad(extra) as running:
        body = {"name": "built", "source_type": "github", "repo_url": str(repo), "branch": "main", "port": 8080}
        created = await running.api.post("/tenants", json=body)
        assert created.status_code == 202, created.text
        tenant_id = created.json()["data"]["id"]
        await running.first_https_200("built.staxa.test")
        staxad_times, hand_times, joined_times, mapped_times, stages = [], [], [], [], []
        block = unmapped_block() * BLOCK  # one for all runs, as a tenant keeps its block
        for run in range(1, args.runs + 1):
            commit(repo, {"index.html": f"v{run}\n"}, f"v{run}")
            hand_times.append(await by_hand(repo, run))
            joined_times.append(await by_hand(repo, run, network))
            mapped_times.append(await by_hand(repo, run, network, block))
            began = time.perf_counter()
            response = await running.api.post(f"/tenants/{tenant_id}/deployments")
            assert response.status_code == 202, response.text
            # the events say when it is done, as a command's return does by hand: polling
            # HTTPS all along would load this 2-core host during the build
            stages.append(await running.stages(tenant_id, response.json()["data"]["id"]))
            await running.first_https_200("built.staxa.test", text=f"v{run}\n")
            staxad_times.append(time.perf_counter() - began)
            await asyncio.sleep(1.5)  # let the old container drain before the next run
    ratio = report(
        f"build and deploy, {args.runs} runs (static repo, one new commit each)",
        ("git clone + podman build + run + first HTTP 200 (by hand)", hand_times),
        ("staxad POST /deployments -> new commit served over HTTPS", staxad_times),
    )
    like_for_like = report(
        "the same with the container on a network of its own where the old version runs, as a tenant's",
        ("git clone + podman build + run --network + first HTTP 200", joined_times),
        ("staxad POST /deployments -> new commit served over HTTPS", staxad_times),
    )
    with_ids = report(
        "the same with the container also in a block of ids of its own, as a tenant's",
        ("git clone + podman build + run --network --uidmap + first HTTP 200", mapped_times),
        ("staxad POST /deployments -> new commit served over HTTPS", staxad_times),
    )
    print_stages(stages)
    median, hand, joined = median_ms(staxad_times), median_ms(hand_times), median_ms(joined_times)
    return [
        Row("build and deploy a new commit", median, f"by hand {hand}", ratio, "<= 1.3x"),
        Row("build and deploy, on a network of its own", median, f"by hand {joined}", like_for_like, "-"),
        Row(
            "build and deploy, network and ids of its own", median, f"by hand {median_ms(mapped_times)}", with_ids, "-"
        ),
    ]


if __name__ == "__main__":
    asyncio.run(measure(options().parse_args()))
