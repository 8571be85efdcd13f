"""Tenant code against the host: builds and containers reach package registries and the
outside (here: a test host in a network namespace of the test's own), never this host's
loopback, its own addresses or the host's filesystem; a build is bounded.

Every attack below must fail: a canary listener on the host's 127.0.0.1 and on the host's
own veth address counts what reaches it, and must count nothing."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.gitrepos import commit
from tests.images import IMAGE, podman
from tests.integration.helpers import Live, container_of, create, git_tenant, running_daemon, settled, until
from tests.netns import NetHost, net_host

pytestmark = pytest.mark.host


class Canary:
    """A TCP listener that records every connection it accepts."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((address, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.address, self.port = address, self.sock.getsockname()[1]
        self.hits: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(1)
                with contextlib.suppress(OSError):
                    self.hits.append(conn.recv(200) or b"(connected)")
                    conn.sendall(b"HTTP/1.0 200 OK\r\n\r\nCANARY\n")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@contextlib.contextmanager
def canary(address: str) -> Iterator[Canary]:
    listener = Canary(address)
    try:
        yield listener
    finally:
        listener.close()


@pytest.fixture
async def builder(tmp_path: Path, instance: str, web_image: str) -> AsyncIterator[Live]:
    overrides = {
        "STAXAD_GIT_ALLOW_LOCAL_REPOS": "true",
        "STAXAD_BUILD_STATIC_IMAGE": IMAGE,
        "STAXAD_BUILD_MAX_LOG_MB": "1",
        "STAXAD_BUILD_TIMEOUT_SECONDS": "120",
        "STAXAD_RATE_LIMITS_CREATE_TENANT": "40",  # one tenant per hostile Containerfile
    }
    async with running_daemon(tmp_path, instance, **overrides) as live:
        yield live


def probe(target: str, port: int) -> str:
    """A shell line that sends one request and prints what came back (or nothing)."""
    return f"printf 'GET /probe HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {target} {port}"


async def build(live: Live, repos: Path, name: str, containerfile: str, **files: str) -> dict[str, Any]:
    repo = repos / name
    links = {key: value for key, value in files.items() if key.startswith("link")}
    plain = {key: value for key, value in files.items() if not key.startswith("link")}
    commit(repo, {"Containerfile": containerfile, **plain}, name, links=links or None)
    tenant = await create(live, git_tenant(name, repo))
    deployment = (await live.client.get(f"/tenants/{tenant['id']}", headers=live.auth)).json()["data"]["deployments"][0]
    return await settled(live, tenant["id"], deployment["id"])


async def build_log(live: Live, tenant_name: str, deployment: dict[str, Any]) -> str:
    tenants = (await live.client.get("/tenants", headers=live.auth)).json()["data"]
    tenant = next(t for t in tenants if t["name"] == tenant_name)
    url = f"/tenants/{tenant['id']}/deployments/{deployment['id']}/logs"
    return (await live.client.get(url, headers=live.auth)).text


async def test_build_steps_reach_the_outside_but_never_this_host(builder: Live, repos: Path) -> None:
    with net_host() as outside, canary("127.0.0.1") as loopback, canary(outside.gateway) as own_address:
        server = outside.popen("python3", "-m", "http.server", "8000", "--bind", outside.address)
        try:
            await until(lambda: "200" in outside_answer(outside))
            steps = "\n".join(
                f"RUN ({probe(target, port)}; echo) > /www/{name}.txt"
                for name, target, port in (
                    ("outside", outside.address, 8000),
                    ("loopback", "10.0.2.2", loopback.port),
                    ("own", outside.gateway, own_address.port),
                )
            )
            done = await build(builder, repos, "probe", f"FROM {IMAGE}\n{steps}\n")
            assert done["status"] == "succeeded", done
            image = f"localhost/staxa-{builder.daemon.settings.instance}/probe-web:{done['id'].removeprefix('dep_')}"
            read = podman("run", "--rm", image, "cat", "/www/outside.txt", "/www/loopback.txt", "/www/own.txt")
            seen = read.stdout.decode()
            assert "SimpleHTTP" in seen, seen  # the outside was reached
            assert "CANARY" not in seen
            assert loopback.hits == [] and own_address.hits == []
        finally:
            server.terminate()
            server.wait(timeout=10)


def outside_answer(host: NetHost) -> str:
    import subprocess

    done = subprocess.run(
        ["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", f"http://{host.address}:8000/"],
        capture_output=True,
        text=True,
        check=False,
    )
    return done.stdout


async def test_containers_with_open_egress_never_reach_this_host(live: Live, web_image: str) -> None:
    tenant = await create(live, {"name": "roamer", "source_type": "image", "image_url": web_image, "port": 8080})
    ready = await live.wait_status(tenant["id"], "ready")
    container = container_of(ready).format(instance=live.daemon.settings.instance)
    with net_host() as outside, canary("127.0.0.1") as loopback, canary(outside.gateway) as own_address:
        server = outside.popen("python3", "-m", "http.server", "8000", "--bind", outside.address)
        try:

            def fetch(target: str, port: int) -> str:
                return podman("exec", container, "sh", "-c", probe(target, port), check=False).stdout.decode()

            assert await until(lambda: "SimpleHTTP" in fetch(outside.address, 8000))
            for target, port in (("10.0.2.2", loopback.port), (outside.gateway, own_address.port)):
                assert "CANARY" not in fetch(target, port)
            assert loopback.hits == [] and own_address.hits == []
        finally:
            server.terminate()
            server.wait(timeout=10)


@pytest.fixture
def trapped_base(instance: str, repos: Path) -> Iterator[str]:
    """A base image whose ONBUILD trigger bind-mounts a link to the host's / (as a registry
    image could carry): podman's own inspect does not show such triggers."""
    ref = f"localhost/staxatest/onbuild-{instance}:1"
    context = repos / "trap"
    context.mkdir()
    (context / "Containerfile").write_text(
        f"FROM {IMAGE}\nONBUILD RUN --mount=type=bind,source=linkroot,target=/h ls /h/root\n"
    )
    context.chmod(0o755)
    built = podman("build", "--format", "docker", "-q", "-t", ref, str(context), check=False)
    assert built.returncode == 0, built.stderr
    try:
        yield ref
    finally:
        podman("rmi", "-f", ref, check=False)


async def test_hostile_containerfiles_are_refused_before_they_run(
    builder: Live, repos: Path, trapped_base: str
) -> None:
    marker = Path("/root/staxad-canary-untouched")
    attacks = {
        "trigger": (f"FROM {trapped_base}\nRUN true\n", {"linkroot": "/"}, "ONBUILD trigger staxad cannot build"),
        "mountroot": (
            f"FROM {IMAGE}\nRUN --mount=type=bind,source=linkroot,target=/h ls /h/root > /www/root.txt\n",
            {"linkroot": "/"},
            "RUN --mount is not allowed",
        ),
        "hostnet": (f"FROM {IMAGE}\nRUN --network=host {probe('127.0.0.1', 2019)}\n", {}, "RUN --network"),
        "tabbed": (
            f"FROM {IMAGE}\nRUN\t--mount=type=bind,source=linkroot,target=/h ls /h/root > /www/root.txt\n",
            {"linkroot": "/"},
            "RUN --mount is not allowed",
        ),
        "nbsp": (
            f"FROM {IMAGE}\nENV A=1 \\\u00a0\nRUN --mount=type=bind,source=linkroot,target=/h ls /h/root\n",
            {"linkroot": "/"},
            "RUN --mount is not allowed",
        ),
        "onbuild": (f"FROM {IMAGE}\nONBUILD RUN --mount=type=bind,source=/,target=/h true\n", {}, "RUN --mount"),
        "thief": (
            f"FROM localhost/staxa-{builder.daemon.settings.instance}/victim-web:1\n",
            {},
            "another tenant's image",
        ),
    }
    leak = "RUN --mount=type=bind,source=linkroot,target=/h cat /h/root/staxad-canary-untouched > /www/leak\n"
    for name, space in (("nbsp", "\u00a0"), ("nel", "\u0085"), ("lsep", "\u2028"), ("ideo", "\u3000")):
        attacks[f"lead-{name}"] = (f"FROM {IMAGE}\n{space}{leak}", {"linkroot": "/"}, "leading whitespace")
    attacks["escaped"] = (
        f"# escape=` x\nFROM {IMAGE}\nENV A=1 \\\n{leak}",
        {"linkroot": "/"},
        "escape parser directive",
    )
    marker.write_text("root's\n")
    try:
        for name, (containerfile, links, says) in attacks.items():
            done = await build(builder, repos, name, containerfile, **links)
            assert done["status"] == "failed" and says in done["reason"], done
            built = f"reference=localhost/staxa-{builder.daemon.settings.instance}/{name}-*"
            assert podman("images", "-q", "--filter", built).stdout.strip() == b""
        assert marker.read_text() == "root's\n"
    finally:
        marker.unlink()


async def test_what_is_built_is_staxads_rendering_and_keeps_utf8(builder: Live, repos: Path) -> None:
    """Commands, labels and variables in UTF-8 survive the parse and the rendering, and the
    base image is pinned by id."""
    containerfile = (
        f"# syntax=docker/dockerfile:1\nFROM {IMAGE}\n"
        'ENV GREETING="héllo wörld"\n'
        'RUN echo "$GREETING ünïcode \\\n'
        '    continued" > /www/index.html\n'
        'CMD exec httpd -f -p "$PORT" -h /www\n'
    )
    done = await build(builder, repos, "utf8", containerfile)
    assert done["status"] == "succeeded", done
    log = await build_log(builder, "utf8", done)
    image_id = podman("image", "inspect", "--format", "{{.Id}}", IMAGE).stdout.decode().strip()
    assert f"FROM {image_id}" in log, log
    want = "héllo wörld ünïcode     continued\n\n200"
    assert await until(lambda: builder.https(builder.host("utf8")).stdout == want), builder.https(builder.host("utf8"))


async def test_a_build_that_floods_its_log_is_cut_and_stopped(builder: Live, repos: Path) -> None:
    began = asyncio.get_running_loop().time()
    done = await build(builder, repos, "flood", f"FROM {IMAGE}\nRUN yes staxad-flood\n")
    assert done["status"] == "failed" and "build.max_log_mb" in done["reason"], done
    assert asyncio.get_running_loop().time() - began < 60
    log = await build_log(builder, "flood", done)
    assert len(log.encode()) < (1 << 20) + 4096
    assert "build log cut at 1 MiB" in log
    assert builder.daemon.tenant_reconciler.pipeline is not None
    assert builder.daemon.tenant_reconciler.pipeline.builder.workspace.names() == []
    assert not flooders(), flooders()  # the step's own process went with the build


async def test_a_stopped_build_kills_only_its_own_steps(builder: Live, repos: Path) -> None:
    """A build that floods its log is stopped while a neighbour's RUN step, started after
    it, still runs: the neighbour's build goes on and succeeds."""

    async def neighbour() -> dict[str, Any]:
        await asyncio.sleep(1.5)  # the flood's build has begun; this step starts after it
        return await build(builder, repos, "steady", f"FROM {IMAGE}\nRUN sleep 6 && echo done > /www/done\n")

    flooding = f"FROM {IMAGE}\nRUN sleep 4; yes staxad-flood\n"
    flood, steady = await asyncio.gather(build(builder, repos, "flood2", flooding), neighbour())
    assert flood["status"] == "failed" and "build.max_log_mb" in flood["reason"], flood
    assert steady["status"] == "succeeded", steady
    assert not flooders()


def flooders() -> list[int]:
    """Processes still running the flooding step (outside podman: a RUN step's container)."""
    found = []
    for entry in Path("/proc").iterdir():
        with contextlib.suppress(OSError):
            if entry.name.isdigit() and b"staxad-flood" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
    return found


async def test_builds_wait_for_a_slot(tmp_path: Path, instance: str, web_image: str, repos: Path) -> None:
    overrides = {
        "STAXAD_GIT_ALLOW_LOCAL_REPOS": "true",
        "STAXAD_BUILD_MAX_CONCURRENT": "1",
    }
    async with running_daemon(tmp_path, instance, **overrides) as live:
        for name in ("first", "second"):
            commit(repos / name, {"Containerfile": f"FROM {IMAGE}\nRUN sleep 2\n"}, name)
        made = [await create(live, git_tenant(name, repos / name)) for name in ("first", "second")]
        ready = [await live.wait_status(t["id"], "ready", timeout=120) for t in made]
        assert all(r["status"] == "ready" for r in ready)
        rows = await live.daemon.db.fetch_all(
            "SELECT message FROM events WHERE tenant_id IN (?, ?)", (made[0]["id"], made[1]["id"])
        )
        assert any("Waiting for a build slot" in row["message"] for row in rows), [row["message"] for row in rows]
