"""Git sources end to end: real repositories, real clones, podman builds as the service
user, served over HTTPS through Caddy; history, rollback and hostile repositories."""

from __future__ import annotations

import asyncio
import os
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.gitrepos import commit
from tests.images import IMAGE, SERVICE_USER, podman
from tests.integration.helpers import Live, create, git_tenant, running_daemon, settled, until


@pytest.fixture
async def builder(tmp_path: Path, instance: str, web_image: str) -> AsyncIterator[Live]:
    overrides = {
        "STAXAD_GIT_ALLOW_LOCAL_REPOS": "true",
        "STAXAD_BUILD_STATIC_IMAGE": IMAGE,  # busybox with httpd, built offline
        "STAXAD_BUILD_MAX_REPO_MB": "1",
        "STAXAD_BUILD_MAX_FILES": "50",
        "STAXAD_BUILD_KEEP_IMAGES": "2",
    }
    async with running_daemon(tmp_path, instance, **overrides) as live:
        yield live


async def fetch(live: Live, name: str) -> str:
    return (await asyncio.to_thread(live.https, live.host(name))).stdout


async def test_static_repo_history_rollback_and_pinned_commit(builder: Live, repos: Path) -> None:
    live = builder
    repo = repos / "site"
    first_sha = commit(repo, {"index.html": "static v1\n"}, "first page")
    tenant = await create(live, git_tenant("site", repo))
    ready = await live.wait_status(tenant["id"], "ready", timeout=120)
    assert await fetch(live, "site") == "static v1\n\n200"
    [first] = ready["deployments"]
    assert (first["commit_sha"], first["commit_message"], first["framework"]) == (first_sha, "first page", "static")
    assert first["build_duration_seconds"] > 0 and first["image"].startswith(
        f"localhost/staxa-{live.daemon.settings.instance}/"
    )
    log = await live.client.get(f"/tenants/{tenant['id']}/deployments/{first['id']}/logs", headers=live.auth)
    assert "detected static" in log.text and 'STEP 2/3: COPY [".", "/www"]' in log.text and first_sha in log.text

    commit(repo, {"index.html": "static v2\n"}, "second page")
    url = f"/tenants/{tenant['id']}/deployments"
    second = (await live.client.post(url, headers=live.auth)).json()["data"]
    followed: list[str] = []
    params = {"follow": "true"}
    async with live.client.stream("GET", f"{url}/{second['id']}/logs", headers=live.auth, params=params) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        async for line in stream.aiter_lines():  # the build streams as it happens, then the stream ends
            followed.append(line)
    assert "data: ==> detected static (generated Containerfile below)" in followed
    end = followed.index("event: end")  # once the build is over: the deployment goes on deploying
    assert followed[end + 1] in ("data: deploying", "data: succeeded") and "built localhost/" in followed[end - 2]
    assert (await settled(live, tenant["id"], second["id"]))["status"] == "succeeded"
    assert await fetch(live, "site") == "static v2\n\n200"

    rolled = await live.client.post(f"{url}/{first['id']}/rollback", headers=live.auth)
    assert rolled.status_code == 202 and rolled.json()["data"]["rollback_from"] == first["id"]
    done = await settled(live, tenant["id"], rolled.json()["data"]["id"])
    assert done["status"] == "succeeded" and done["image"] == first["image"] and done["build_duration_seconds"] is None
    assert await fetch(live, "site") == "static v1\n\n200"

    pinned = await live.client.post(url, headers=live.auth, json={"commit_sha": first_sha})
    built = await settled(live, tenant["id"], pinned.json()["data"]["id"])
    assert built["status"] == "succeeded" and built["commit_sha"] == first_sha and built["image"] != first["image"]
    listing = (await live.client.get(url, headers=live.auth)).json()
    assert listing["meta"]["total"] == 4 and [d["status"] for d in listing["data"]] == ["succeeded"] * 4
    # keep_images = 2: once the old container has drained, the first build's image is
    # pruned, and rolling back to it is refused with what to do instead
    for _ in range(100):
        if podman("image", "exists", first["image"], check=False).returncode != 0:
            break
        await asyncio.sleep(0.1)
    assert podman("image", "exists", first["image"], check=False).returncode != 0
    refused = await live.client.post(f"{url}/{first['id']}/rollback", headers=live.auth)
    assert refused.status_code == 422 and "pruned" in refused.json()["error"]["message"]
    assert first_sha in refused.json()["error"]["message"]


async def test_containerfile_repo_a_failing_build_and_hostile_repos(builder: Live, repos: Path) -> None:
    live = builder
    repo = repos / "app"
    containerfile = f"FROM {IMAGE}\nRUN echo 'built by containerfile' > /www/index.html\n"
    commit(repo, {"Containerfile": containerfile}, "app")
    tenant = await create(live, git_tenant("app", repo))
    ready = await live.wait_status(tenant["id"], "ready", timeout=120)
    assert ready["deployments"][0]["framework"] == "containerfile"
    assert await fetch(live, "app") == "built by containerfile\n\n200"

    commit(repo, {"Containerfile": f"FROM {IMAGE}\nRUN echo broken && exit 3\n"}, "break the build")
    url = f"/tenants/{tenant['id']}/deployments"
    failed = await settled(live, tenant["id"], (await live.client.post(url, headers=live.auth)).json()["data"]["id"])
    assert failed["status"] == "failed" and "image build failed" in failed["reason"] and "broken" in failed["reason"]
    log = await live.client.get(f"{url}/{failed['id']}/logs", headers=live.auth)
    assert "build failed" in log.text
    assert await fetch(live, "app") == "built by containerfile\n\n200"  # the old version still serves

    evil = repos / "evil"
    commit(evil, {"README": "x"}, "links out", links={"Dockerfile": "/etc/shadow"})
    huge = repos / "huge"
    commit(huge, {"index.html": "hi\n", "blob.bin": b"\0" * (3 << 20)}, "too big")  # a tiny pack, a big tree
    dense = repos / "dense"
    commit(dense, {"index.html": "hi\n", "noise.bin": os.urandom(3 << 20)}, "a big pack")  # stopped mid-download
    many = repos / "many"
    commit(many, {f"f/{n}": "" for n in range(60)}, "many files")
    deep = repos / "deep"  # few files, but a listing past what 50 files may take (50 KiB)
    commit(deep, {"/".join([f"{n:02}" + "d" * 198] * 10): "" for n in range(30)}, "long paths")
    cases = (
        ("evil", evil, "symbolic link"),
        ("huge", huge, "build.max_repo_mb"),
        ("dense", dense, "larger than build.max_repo_mb"),
        ("many", many, "build.max_files"),
        ("deep", deep, "KiB of paths"),
    )
    for name, repo_path, says in cases:
        made = await create(live, git_tenant(name, repo_path))
        failed_tenant = await live.wait_status(made["id"], "failed", timeout=60)
        assert says in failed_tenant["status_reason"], failed_tenant["status_reason"]
        built = f"reference=localhost/staxa-{live.daemon.settings.instance}/{name}-*"
        assert podman("images", "-q", "--filter", built).stdout.strip() == b""
    assert live.daemon.tenant_reconciler.pipeline is not None
    assert live.daemon.tenant_reconciler.pipeline.builder.workspace.names() == []  # no checkout outlives its build

    elsewhere = await live.client.post(url, headers=live.auth, json={"commit_sha": "0" * 40})
    gone = await settled(live, tenant["id"], elsewhere.json()["data"]["id"])
    assert gone["status"] == "failed" and f"commit {'0' * 40} is not on branch main" in gone["reason"], gone

    hostile = [
        {"branch": "--upload-pack=touch /tmp/pwned"},
        {"branch": "-b"},
        {"commit_sha": "HEAD~1"},
        {"commit_sha": "--all"},
    ]
    for body in hostile:
        response = await live.client.post(url, headers=live.auth, json=body)
        assert response.status_code == 400, (body, response.text)
    for bad_url in ("ext::sh -c touch% /tmp/pwned", "-uhttps://x", "https://example.com/a\nb", "ssh://git@host/x"):
        response = await live.client.post("/tenants", headers=live.auth, json=git_tenant("hostile", Path(bad_url)))
        assert response.status_code == 400, (bad_url, response.text)
    assert not Path("/tmp/pwned").exists()


async def test_cancelling_a_build_under_way_leaves_nothing_and_the_old_version_serving(
    builder: Live, repos: Path
) -> None:
    live = builder
    repo = repos / "slow"
    commit(repo, {"Containerfile": f"FROM {IMAGE}\nRUN echo v1 > /www/index.html\n"}, "v1")
    tenant = await create(live, git_tenant("slow", repo))
    await live.wait_status(tenant["id"], "ready", timeout=120)
    commit(repo, {"Containerfile": f"FROM {IMAGE}\nRUN sleep 300\nRUN echo v2 > /www/index.html\n"}, "slow v2")
    url = f"/tenants/{tenant['id']}/deployments"
    started = (await live.client.post(url, headers=live.auth)).json()["data"]
    for _ in range(300):  # until the slow step runs
        log = (await live.client.get(f"{url}/{started['id']}/logs", headers=live.auth)).text
        if 'RUN ["/bin/sh", "-c", "sleep 300"]' in log:
            break
        await asyncio.sleep(0.1)
    assert 'RUN ["/bin/sh", "-c", "sleep 300"]' in log, log
    response = await live.client.post(f"{url}/{started['id']}/cancel", headers=live.auth, timeout=90)
    assert response.status_code == 200, response.text
    cancelled = response.json()["data"]
    assert cancelled["status"] == "cancelled" and cancelled["reason"] == "cancelled by request"
    instance = live.daemon.settings.instance
    assert podman("images", "-q", f"localhost/staxa-{instance}/slow-web:{started['id'][4:]}", check=False).stdout == b""
    names = podman("ps", "-a", "--format", "{{.Names}}").stdout.decode()
    assert started["id"][4:] not in names
    assert live.daemon.tenant_reconciler.pipeline is not None
    assert live.daemon.tenant_reconciler.pipeline.builder.workspace.names() == []
    assert await fetch(live, "slow") == "v1\n\n200"  # the old version serves on
    assert (await live.wait_status(tenant["id"], "ready"))["status"] == "ready"
    assert await until(lambda: not _processes_running("sleep 300"), timeout=10)  # the build step was killed


def _processes_running(command: str) -> bool:
    """Whether any process of the service user runs exactly `command` (read only)."""
    found = subprocess.run(["pgrep", "-u", SERVICE_USER, "-x", "-f", command], capture_output=True, check=False)
    return found.returncode == 0


async def test_builds_from_one_base_while_tenants_built_from_it_are_deleted_all_succeed(
    builder: Live, repos: Path
) -> None:
    """Deleting a tenant removes its images while another tenant's build may be reading
    the store's layers for cached steps; the two never overlap (ImageGate), so no build
    fails with "layer not known"."""
    live = builder
    repo = repos / "steady"
    commit(repo, {"index.html": "steady 0\n"}, "0")
    steady = await create(live, git_tenant("steady", repo))
    await live.wait_status(steady["id"], "ready", timeout=120)
    url = f"/tenants/{steady['id']}/deployments"
    for round_ in range(1, 5):
        churn_repo = repos / f"churn{round_}"
        commit(churn_repo, {"index.html": f"churn {round_}\n"}, "churn")
        churn = await create(live, git_tenant(f"churn{round_}", churn_repo))
        await live.wait_status(churn["id"], "ready", timeout=120)
        commit(repo, {"index.html": f"steady {round_}\n"}, str(round_))
        queued = (await live.client.post(url, headers=live.auth)).json()["data"]
        assert (await live.client.delete(f"/tenants/{churn['id']}", headers=live.auth)).status_code == 202
        done = await settled(live, steady["id"], queued["id"])
        assert done["status"] == "succeeded", done
        await live.wait_status(churn["id"], "gone", timeout=120)
    assert await fetch(live, "steady") == "steady 4\n\n200"
