from __future__ import annotations

import asyncio
import json
import logging
import re
import subprocess
from pathlib import Path

import httpx
import pytest

from staxad.adapters.caddy import admin_client
from staxad.api import streams
from tests.images import IMAGE, podman
from tests.integration.helpers import Live, container_of, create, push, read_events, running_daemon, until


async def test_image_tenant_is_served_over_https_through_caddy(
    live: Live, web_image: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level: secrets must appear in none
    tenant = await create(
        live,
        {
            "name": "hello",
            "source_type": "image",
            "image_url": web_image,
            "port": 8080,
            "env": {"GREETING": "hi there", "API_TOKEN": "tok-123"},
        },
    )
    ready = await live.wait_status(tenant["id"], "ready")
    assert ready["url"] == f"https://hello.staxa.test:{live.https_port}"
    assert ready["services"][0]["status"] == "running"

    result = live.https(live.host("hello"))
    assert result.stdout == "hello from v1\n\n200", result.stdout + result.stderr
    env = live.https(live.host("hello"), "/cgi-bin/env")
    assert "GREETING=hi there" in env.stdout and "PORT=8080" in env.stdout and "API_TOKEN=tok-123" in env.stdout
    # Caddy's host map compares names exactly; one with capitals is made lowercase first
    shouted = live.https("HeLLo.staxa.test")
    assert shouted.stdout == "hello from v1\n\n200", shouted.stdout + shouted.stderr
    seen = live.https("HeLLo.staxa.test", "/cgi-bin/env")
    assert f"HTTP_HOST=hello.staxa.test:{live.https_port}" in seen.stdout, seen.stdout
    # and no request target or Host reaches staxad's own listener through Caddy (in a
    # thread: staxad answers on this event loop, and a stalled answer would hide it)
    for host in ("HeLLo.staxa.test", "NoSuch.staxa.test", "hello.staxa.test"):
        for target in (
            "x:http://a/api/v1/openapi.json",
            "/api/v1/openapi.json",
            "http://127.0.0.1/api/v1/openapi.json",
        ):
            attempt = ("--http1.1", "--request-target", target, "-H", f"Host: {host}")
            answer = await asyncio.to_thread(live.https, "hello.staxa.test", "/", *attempt)
            assert "openapi" not in answer.stdout and "/api/v1" not in answer.stdout, (host, target, answer.stdout)
    plain = f"http://127.0.0.1:{live.daemon.settings.caddy.http_port}/a?b=1"
    async with httpx.AsyncClient() as http:  # Caddy's plain HTTP port sends every name to HTTPS
        moved = await http.get(plain, headers={"Host": "hello.staxa.test"})
    # (on 443: Caddy takes its configured HTTPS port for an internal one, and names none)
    assert moved.status_code == 308 and moved.headers["location"] == "https://hello.staxa.test/a?b=1"

    name = container_of(ready).format(instance=live.daemon.settings.instance)
    inspect = json.loads(podman("inspect", name).stdout)[0]
    host = inspect["HostConfig"]
    assert host["Privileged"] is False
    assert inspect["Config"]["Labels"]["io.staxa.resources"] == "cpus=0.5,memory=256m,pids=256"
    if Path("/sys/fs/cgroup/cgroup.controllers").exists():  # cgroups v2: podman applies them
        assert host["PidsLimit"] == 256 and host["Memory"] == 256 * 1024 * 1024
    assert "no-new-privileges" in " ".join(host.get("SecurityOpt") or [])
    assert host["LogConfig"]["Type"] == "k8s-file" and host["LogConfig"]["Size"] in ("10MB", "10.49MB")
    assert {"CAP_NET_BIND_SERVICE", "CAP_CHOWN", "CAP_SETUID"}.isdisjoint(inspect["EffectiveCaps"] or [])
    assert all(b["HostIp"] == "127.0.0.1" for b in inspect["NetworkSettings"]["Ports"]["8080/tcp"])

    events = await read_events(live, tenant["id"], "tenant.ready")
    stages = [e["stage"] for e in events if e["type"].startswith("deployment.") and e["stage"]]
    assert stages[-6:] == ["provision", "build", "deploy", "route", "health", "ready"], stages
    replay = await read_events(live, tenant["id"], "tenant.ready", last_event_id=events[2]["id"])
    assert [e["id"] for e in replay] == [e["id"] for e in events[3:]]

    masked = (await live.client.get(f"/tenants/{tenant['id']}/env", headers=live.auth)).json()["data"]
    assert {"key": "API_TOKEN", "value": "****"} in masked and {"key": "GREETING", "value": "hi there"} in masked

    logs = await live.client.get(f"/tenants/{tenant['id']}/logs", headers=live.auth, params={"lines": 50})
    assert logs.status_code == 200 and logs.headers["content-type"].startswith("text/plain")
    assert "web starting on 8080" in logs.text
    service_logs = await live.client.get(f"/tenants/{tenant['id']}/services/web/logs", headers=live.auth)
    assert "web starting on 8080" in service_logs.text

    ask = f"http://127.0.0.1:{live.daemon.settings.server.port}/internal/tls/ask"
    async with httpx.AsyncClient() as client:
        assert (await client.get(ask, params={"domain": live.host("hello")})).status_code == 200
        for bad in [
            "other.staxa.test",
            "127.0.0.1",
            "hello.example.com",
            "HELLO.staxa.test",
            "x" * 300,
            "a.hello.staxa.test",
        ]:
            assert (await client.get(ask, params={"domain": bad})).status_code == 403, bad
    unknown = live.https("nobody.staxa.test")
    assert not unknown.stdout.endswith("\n200")
    raw_key = live.auth["Authorization"].removeprefix("Bearer ")
    for secret in ("tok-123", raw_key):
        assert secret not in caplog.text
    assert "hello" in caplog.text  # the capture did see the run


def http_get(container: str, address: str) -> str:
    request = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {address} 8080"
    return podman("exec", container, "sh", "-c", request, check=False).stdout.decode()


async def test_services_reach_each_other_by_name_and_tenants_are_isolated(live: Live, web_image: str) -> None:
    one = await create(
        live,
        {
            "name": "one",
            "services": [
                {"name": "web", "source_type": "image", "image_url": web_image, "port": 8080, "is_routable": True},
                {"name": "api", "source_type": "image", "image_url": "localhost/staxatest/web:2", "port": 8080},
            ],
        },
    )
    two = await create(live, {"name": "two", "source_type": "image", "image_url": web_image, "port": 8080})
    one = await live.wait_status(one["id"], "ready")
    two = await live.wait_status(two["id"], "ready")
    instance = live.daemon.settings.instance
    web_one = container_of(one, "web").format(instance=instance)
    api_one = container_of(one, "api").format(instance=instance)
    web_two = container_of(two, "web").format(instance=instance)

    # busybox-static's wget crashes here (static glibc NSS), so: nslookup, then HTTP over nc
    lookup = podman("exec", web_one, "nslookup", "api", check=False).stdout.decode()
    api_by_name = re.findall(r"Name:\s+api\S*\s+Address:\s+([0-9.]+)", lookup)
    assert api_by_name, lookup
    by_name = http_get(web_one, api_by_name[0])
    assert by_name.endswith("hello from v2\n"), by_name

    api_ip = json.loads(podman("inspect", api_one).stdout)[0]["NetworkSettings"]["Networks"][f"staxa-{instance}-one"][
        "IPAddress"
    ]
    assert "hello" not in http_get(web_two, api_ip)
    no_name = podman("exec", web_two, "nslookup", "api", check=False).stdout.decode()
    assert not re.findall(r"Name:\s+api\S*\s+Address", no_name), no_name
    # the internal service has no public route
    assert not live.https(f"api--one.{live.base_domain}").stdout.endswith("\n200")


async def test_delete_leaves_nothing_behind(live: Live, web_image: str) -> None:
    tenant = await create(live, {"name": "gone", "source_type": "image", "image_url": web_image, "port": 8080})
    await live.wait_status(tenant["id"], "ready")
    assert live.https(live.host("gone")).stdout.endswith("\n200")
    assert (await live.client.delete(f"/tenants/{tenant['id']}", headers=live.auth)).status_code == 202
    await live.wait_status(tenant["id"], "gone")
    instance = live.daemon.settings.instance
    label = f"label=io.staxa.tenant={tenant['id']}"
    assert podman("ps", "-a", "-q", "--filter", label).stdout.strip() == b""
    assert podman("network", "exists", f"staxa-{instance}-gone", check=False).returncode != 0
    assert not live.https(live.host("gone")).stdout.endswith("\n200")
    async with admin_client(live.daemon.settings.caddy_admin, 10) as client:
        config = (await client.get("/config/")).json()
    assert "gone" not in json.dumps(config["apps"]["http"]["servers"])


async def test_a_pulled_image_is_removed_with_its_tenant_and_a_local_one_is_kept(
    tmp_path: Path, instance: str, web_image: str, registry: str
) -> None:
    pulled = push(web_image, registry, f"staxa-test/pulled-{instance}:1")
    assert podman("image", "exists", pulled, check=False).returncode != 0
    async with running_daemon(tmp_path, instance, STAXAD_RUNTIME_INSECURE_REGISTRIES=registry) as live:
        one = await create(live, {"name": "puller", "source_type": "image", "image_url": pulled, "port": 8080})
        local = await create(live, {"name": "local", "source_type": "image", "image_url": web_image, "port": 8080})
        await live.wait_status(one["id"], "ready")
        await live.wait_status(local["id"], "ready")
        assert live.https(live.host("puller")).stdout == "hello from v1\n\n200"
        assert podman("image", "exists", pulled, check=False).returncode == 0
        for tenant in (one, local):
            assert (await live.client.delete(f"/tenants/{tenant['id']}", headers=live.auth)).status_code == 202
            await live.wait_status(tenant["id"], "gone")
    assert podman("image", "exists", pulled, check=False).returncode != 0
    assert podman("image", "exists", web_image, check=False).returncode == 0  # not staxad's to remove


async def test_a_broken_image_fails_the_deployment_with_a_reason(live: Live) -> None:
    tenant = await create(live, {"name": "broken", "source_type": "image", "image_url": "localhost/staxatest/absent:1"})
    failed = await live.wait_status(tenant["id"], "failed")
    assert "could not be pulled" in failed["status_reason"]
    [deployment] = failed["deployments"]
    assert deployment["status"] == "failed" and deployment["finished_at"]


def _podman_followers(container: str) -> list[str]:
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True).stdout
    return [line for line in ps.splitlines() if line.startswith("podman logs -f") and container in line]


async def test_follow_streams_new_output_and_every_stream_ends_with_its_client(live: Live) -> None:
    tenant = await create(live, {"name": "chatty", "source_type": "image", "image_url": IMAGE, "port": 8080})
    ready = await live.wait_status(tenant["id"], "ready")
    name = container_of(ready).format(instance=live.daemon.settings.instance)
    url = f"/tenants/{tenant['id']}/services/web/logs"
    seen: list[str] = []
    async with (
        asyncio.timeout(30),
        live.client.stream("GET", url, headers=live.auth, params={"follow": "true", "lines": 5}) as logs,
        live.client.stream("GET", f"/tenants/{tenant['id']}/events", headers=live.auth) as events,
    ):
        assert logs.headers["content-type"].startswith("text/event-stream")
        assert events.status_code == 200
        lines = logs.aiter_lines()
        async for line in lines:
            seen.append(line)
            if "web starting on 8080" in line:
                break
        # output written after the stream opened arrives on it
        await asyncio.to_thread(live.https, live.host("chatty"), "/no-such-page")
        async for line in lines:
            seen.append(line)
            if "response:404" in line:
                break
        assert streams.OPEN_STREAMS["logs"] == 1 and streams.OPEN_STREAMS["events"] == 1
        assert _podman_followers(name)  # podman and its user-namespace re-exec
    assert any(line.startswith("data: ") and "response:404" in line for line in seen), seen
    # the clients went: both generators end and the podman process following the logs is gone
    assert await until(lambda: streams.OPEN_STREAMS["logs"] == 0 and streams.OPEN_STREAMS["events"] == 0)
    assert await until(lambda: not _podman_followers(name)), _podman_followers(name)
