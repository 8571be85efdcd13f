"""One-off commands in a service's running container, streamed as SSE: output, exit
code, stops past time and output that kill the command in the container, and the scope
that `*` does not give."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.images import podman
from tests.integration.helpers import Live, create
from tests.integration.test_volumes import live_container


async def exec_key(live: Live, tenant_id: str) -> dict[str, str]:
    provider = await live.daemon.db.fetch_value("SELECT provider_id FROM tenants WHERE id = ?", (tenant_id,))
    _, raw = await live.daemon.platform.keys.create(str(provider), "ops", "live", ["*", "exec"], None)
    return {"Authorization": f"Bearer {raw}"}


async def run(live: Live, auth: dict[str, str], tenant_id: str, body: dict[str, Any]) -> list[tuple[str, str]]:
    """The stream's events as (event, data), data lines joined as SSE says."""
    found: list[tuple[str, str]] = []
    kind, data = "message", []
    url = f"/tenants/{tenant_id}/services/web/exec"
    async with live.client.stream("POST", url, headers=auth, json=body, timeout=60) as response:
        assert response.status_code == 200, await response.aread()
        async for line in response.aiter_lines():
            if line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: ") or line == "data:":
                data.append(line[6:])
            elif not line and data:
                found.append((kind, "\n".join(data)))
                kind, data = "message", []
    return found


async def test_exec_streams_output_and_the_exit_code_and_records_who_ran_what(live: Live, web_image: str) -> None:
    tenant = await create(live, {"name": "shell", "source_type": "image", "image_url": web_image, "port": 8080})
    await live.wait_status(tenant["id"], "ready")
    url = f"/tenants/{tenant['id']}/services/web/exec"
    refused = await live.client.post(url, headers=live.auth, json={"command": ["true"]})
    assert refused.status_code == 403  # `*` is not `exec`
    auth = await exec_key(live, tenant["id"])

    script = 'echo out; echo err >&2; printf "%s\\n" "$PORT"; exit 3'
    events = await run(live, auth, tenant["id"], {"command": ["sh", "-c", script]})
    out = "".join(d for k, d in events if k == "stdout")
    assert out.split("\n")[:2] == ["out", "8080"] and ("stderr", "err\n") in events
    assert events[-1] == ("exit", json.dumps({"exit_code": 3, "stopped": None}))

    bad = await live.client.post(url, headers=auth, json={"command": "ls -la"})
    assert bad.status_code == 400 and "command" in bad.json()["error"]["details"]["fields"]
    rows = await live.daemon.db.fetch_all(
        "SELECT message FROM events WHERE tenant_id = ? AND type = 'exec.run'", (tenant["id"],)
    )
    [row] = rows
    assert row["message"].endswith(f"ran sh -c {script} in web") and "out\n" not in row["message"]


async def test_a_command_past_its_time_or_output_is_killed_in_the_container(live: Live, web_image: str) -> None:
    tenant = await create(live, {"name": "slow", "source_type": "image", "image_url": web_image, "port": 8080})
    await live.wait_status(tenant["id"], "ready")
    auth = await exec_key(live, tenant["id"])
    container = await live_container(live, tenant["id"])

    events = await run(
        live, auth, tenant["id"], {"command": ["sh", "-c", "sleep 300 & sleep 301"], "timeout_seconds": 1}
    )
    assert json.loads(events[-1][1]) == {"exit_code": None, "stopped": "stopped after 1 s"}
    listed = podman("top", container, "args").stdout.decode()
    assert "sleep 30" not in listed, listed  # the command and its child are gone

    noisy = {"command": ["sh", "-c", "while true; do echo yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy; done"]}
    events = await run(live, auth, tenant["id"], noisy)
    assert json.loads(events[-1][1])["stopped"].startswith("stopped after more than")
    assert sum(len(d) for k, d in events if k == "stdout") <= live.daemon.settings.exec.max_output_kb << 10
    assert "while true" not in podman("top", container, "args").stdout.decode()


async def test_staxa_exec_prints_the_output_and_exits_with_the_commands_status(
    live: Live, web_image: str, tmp_path: Path
) -> None:
    tenant = await create(live, {"name": "cli-exec", "source_type": "image", "image_url": web_image, "port": 8080})
    await live.wait_status(tenant["id"], "ready")
    key = (await exec_key(live, tenant["id"]))["Authorization"].removeprefix("Bearer ")
    env = {**os.environ, "STAXA_API_KEY": key, "XDG_CONFIG_HOME": str(tmp_path)}
    argv = [
        str(Path(sys.executable).parent / "staxa"),
        "--url",
        str(live.client.base_url).removesuffix("/").removesuffix("/api/v1"),
    ]
    done = await asyncio.to_thread(
        subprocess.run,
        [*argv, "exec", "cli-exec", "--", "sh", "-c", "echo hello; echo oops >&2; exit 7"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout, done.stderr) == (7, "hello\n", "oops\n"), done
