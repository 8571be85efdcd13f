"""`POST .../exec` refusals, before any container is reached: the scope `*` does not give,
bad commands with every field, unknown services, and a daemon without a runtime."""

from __future__ import annotations

import httpx

from tests.api.helpers import assert_error, create_tenant
from tests.conftest import Keys


async def test_exec_needs_its_own_scope_and_a_good_argv(
    client: httpx.AsyncClient, auth: dict[str, str], keys: Keys
) -> None:
    tenant = await create_tenant(client, auth, "cmd")
    url = f"/tenants/{tenant['id']}/services/web/exec"
    assert_error(await client.post(url, headers=auth, json={"command": ["true"]}), 403, "forbidden")
    allowed = await keys.make("ops@example.com", scopes=("*", "exec"))
    other = await create_tenant(client, allowed, "cmd2")
    url = f"/tenants/{other['id']}/services/web/exec"
    for body, field in (
        ({"command": "ls -la"}, "command"),
        ({"command": []}, "command"),
        ({"command": ["a\0b"]}, "command"),
        ({"command": [""]}, "command"),
        ({"command": ["ls"], "timeout_seconds": 0}, "timeout_seconds"),
        ({"command": ["ls"], "shell": True}, "shell"),
    ):
        error = assert_error(await client.post(url, headers=allowed, json=body), 400, "validation_error")
        assert field in error["details"]["fields"], (body, error)
    missing = f"/tenants/{other['id']}/services/nope/exec"
    assert_error(await client.post(missing, headers=allowed, json={"command": ["ls"]}), 404, "not_found")
    refused = await client.post(url, headers=allowed, json={"command": ["ls"]})
    assert "runs no containers" in assert_error(refused, 422, "unprocessable_entity")["message"]
