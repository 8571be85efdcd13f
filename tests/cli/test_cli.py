"""The staxa CLI over the in-process API: profiles, tenants, env, domains, errors, --json."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from staxad.daemon import Daemon
from staxad.store import deployments as deployment_store
from tests.cli.conftest import Staxa


async def make_tenant(staxa: Staxa, name: str = "shop") -> dict[str, Any]:
    result = await staxa("--json", "tenants", "create", name, "--image", "localhost/app:1", "--port", "8080")
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


async def test_login_writes_a_private_profile_that_later_commands_use(staxa: Staxa, tmp_path: Path) -> None:
    result = await staxa("login", "--url", "http://testserver")
    assert result.exit_code == 0, result.output
    assert "Logged in as team@example.com; profile 'default' saved" in result.stdout
    saved = tmp_path / "config" / "staxa" / "config.toml"
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert os.environ["STAXA_API_KEY"] in saved.read_text() and 'url = "http://testserver"' in saved.read_text()

    from_profile: dict[str, str | None] = {"STAXA_URL": None, "STAXA_API_KEY": None}
    result = await staxa("--json", "tenants", "list", env=from_profile)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == []
    # the profile's key goes to the profile's URL only
    result = await staxa("--url", "http://elsewhere", "tenants", "list", env=from_profile)
    assert result.exit_code == 2 and "Error (401)" in result.stderr


async def test_login_refuses_a_bad_key_and_saves_nothing(staxa: Staxa, tmp_path: Path) -> None:
    result = await staxa("login", env={"STAXA_API_KEY": None}, input="sk_live_wrong\n")
    assert result.exit_code == 2 and "Error (401)" in result.stderr
    assert not (tmp_path / "config" / "staxa" / "config.toml").exists()


async def test_tenants_create_list_show_and_delete(staxa: Staxa) -> None:
    tenant = await make_tenant(staxa)
    assert tenant["name"] == "shop" and tenant["id"].startswith("ten_")

    result = await staxa("tenants", "list")
    assert result.exit_code == 0 and "shop" in result.stdout and tenant["id"] in result.stdout
    listed = json.loads((await staxa("--json", "tenants", "list")).stdout)
    assert [t["id"] for t in listed] == [tenant["id"]]

    result = await staxa("tenants", "show", "shop")  # a name works where an id does
    assert result.exit_code == 0, result.output
    assert tenant["id"] in result.stdout and "localhost/app:1" in result.stdout
    shown = json.loads((await staxa("--json", "tenants", "show", tenant["id"])).stdout)
    assert shown["services"][0]["name"] == "web"

    result = await staxa("tenants", "delete", tenant["id"], input="n\n")
    assert result.exit_code == 1  # not confirmed: nothing asked of the API
    result = await staxa("--json", "tenants", "delete", "--yes", "shop")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) is None  # a 202 with no body
    left = json.loads((await staxa("--json", "tenants", "list")).stdout)
    assert [t["status"] for t in left] in (["deleting"], [])  # deleting, then gone


async def test_env_set_list_masks_secrets_and_unset(staxa: Staxa) -> None:
    tenant = await make_tenant(staxa)
    result = await staxa("env", "set", "shop", "MODE=prod", "API_TOKEN=s3cret")
    assert result.exit_code == 0, result.output
    assert "set MODE" in result.stdout and "set API_TOKEN" in result.stdout

    result = await staxa("env", "list", tenant["id"])
    assert result.exit_code == 0 and "prod" in result.stdout and "****" in result.stdout
    assert "s3cret" not in result.stdout
    listed = json.loads((await staxa("--json", "env", "list", tenant["id"])).stdout)
    assert listed == [{"key": "API_TOKEN", "value": "****"}, {"key": "MODE", "value": "prod"}]

    assert (await staxa("env", "unset", tenant["id"], "MODE")).exit_code == 0
    listed = json.loads((await staxa("--json", "env", "list", tenant["id"])).stdout)
    assert [e["key"] for e in listed] == ["API_TOKEN"]

    result = await staxa("env", "set", tenant["id"], "NOEQUALS")
    assert result.exit_code == 2 and "expected KEY=VALUE" in result.stderr  # click's usage error


async def test_domains_add_prints_the_records_to_create(staxa: Staxa) -> None:
    tenant = await make_tenant(staxa)
    result = await staxa("domains", "add", tenant["id"], "shop.example.com")
    assert result.exit_code == 0, result.output
    assert "verified=False" in result.stdout
    assert "TXT   _staxa-challenge.shop.example.com = staxa-verify=" in result.stdout
    assert "CNAME shop.example.com -> shop." in result.stdout

    added = json.loads((await staxa("--json", "domains", "list", tenant["id"])).stdout)["domains"]
    assert [d["domain"] for d in added] == ["shop.example.com"]
    assert (await staxa("domains", "remove", tenant["id"], added[0]["id"])).exit_code == 0
    assert json.loads((await staxa("--json", "domains", "list", tenant["id"])).stdout)["domains"] == []


async def test_an_api_error_prints_its_message_and_fields_and_exits_2(staxa: Staxa) -> None:
    result = await staxa("tenants", "create", "Bad_Name", "--image", "x/y:1", "--port", "0")
    assert result.exit_code == 2
    assert "Error (400)" in result.stderr
    assert "\n  name: " in result.stderr and "\n  port: " in result.stderr
    assert result.stdout == ""

    result = await staxa("tenants", "show", "ten_nope")
    assert result.exit_code == 2 and "Tenant 'ten_nope' not found." in result.stderr
    result = await staxa("deploy", "no-such-name")
    assert result.exit_code == 2 and "No tenant named 'no-such-name'" in result.stderr


async def test_every_json_output_parses(staxa: Staxa) -> None:
    tenant = await make_tenant(staxa)
    key = json.loads((await staxa("--json", "keys", "create", "ci", "--scope", "deploy")).stdout)
    assert key["key"].startswith("sk_live_") and key["scopes"] == ["deploy"]
    for args in [
        ("tenants", "list"),
        ("env", "set", tenant["id"], "A=1"),
        ("env", "unset", tenant["id"], "A"),
        ("domains", "add", tenant["id"], "json.example.com"),
        ("rules", "list", tenant["id"]),
        ("deployments", "list", tenant["id"]),
        ("logs", tenant["id"]),
        ("keys", "list"),
        ("keys", "revoke", key["id"]),
    ]:
        result = await staxa("--json", *args)
        assert result.exit_code == 0, (args, result.output)
        json.loads(result.stdout)
    assert [k["name"] for k in json.loads((await staxa("--json", "keys", "list")).stdout)] == ["test"]


class FakeLogs:
    """Container output by container name, as podman would give it (the runtime is off)."""

    def __init__(self, output: dict[str, bytes]) -> None:
        self.output = output

    async def logs(self, name: str, lines: int, timestamps: bool = False) -> bytes:
        return self.output[name]

    async def follow(self, name: str, lines: int) -> AsyncIterator[bytes]:
        for line in self.output[name].splitlines(keepends=True):
            yield line


async def test_logs_print_the_output_as_written_and_follow_it(staxa: Staxa, daemon: Daemon) -> None:
    tenant = await make_tenant(staxa)
    [deployment] = json.loads((await staxa("--json", "deployments", "list", "shop")).stdout)
    async with daemon.db.transaction() as tx:  # a live container, as a finished deploy leaves it
        await deployment_store.update(tx, deployment["id"], status="succeeded", container_id="c-web")
        await deployment_store.set_live(tx, tenant["services"][0]["id"], deployment["id"])
    daemon.ctx.logs = FakeLogs({"c-web": b"GET / 200\n[red]not markup\n"})

    result = await staxa("logs", "shop")
    assert result.exit_code == 0 and result.stdout == "GET / 200\n[red]not markup\n"
    result = await staxa("logs", "-f", "shop")  # the fake's stream ends after its lines
    assert result.exit_code == 0 and result.stdout == "GET / 200\n[red]not markup\n"
    result = await staxa("--json", "logs", "shop")
    assert json.loads(result.stdout) == ["GET / 200", "[red]not markup"]
