"""Network rules, deployments and keys through the CLI, each against the in-process API."""

from __future__ import annotations

import json

from staxad.daemon import Daemon
from staxad.store import deployments as deployment_store
from tests.cli.conftest import Staxa
from tests.cli.test_cli import make_tenant


async def test_rules_add_both_directions_list_and_remove(staxa: Staxa) -> None:
    made = await staxa(
        "tenants", "create", "shop", "--image", "localhost/app:1", "--port", "8080", "--egress", "restricted"
    )
    assert made.exit_code == 0, made.output
    inbound = await staxa(
        "--json", "rules", "add", "shop", "--direction", "inbound", "--service", "web",
        "--source", "203.0.113.0/24", "--port", "8080",
    )  # fmt: skip
    assert inbound.exit_code == 0, inbound.output
    rule = json.loads(inbound.stdout)
    assert rule["target_port"] == 8080 and rule["allocated_port"] and rule["source_cidrs"] == ["203.0.113.0/24"]
    outbound = await staxa(
        "rules", "add", "shop", "--direction", "outbound", "--destination", "198.51.100.0/24", "--port", "5432"
    )
    assert outbound.exit_code == 0, outbound.output
    assert "198.51.100.0/24" in outbound.stdout and "5432" in outbound.stdout

    listed = await staxa("rules", "list", "shop")
    assert listed.exit_code == 0 and rule["id"] in listed.stdout and f"{rule['allocated_port']}" in listed.stdout
    assert (await staxa("rules", "remove", "shop", rule["id"])).exit_code == 0
    left = json.loads((await staxa("--json", "rules", "list", "shop")).stdout)
    assert [r["direction"] for r in left] == ["outbound"]

    refused = await staxa("rules", "add", "shop", "--direction", "inbound", "--service", "web")
    assert refused.exit_code == 2 and "source_cidrs:" in refused.stderr


async def test_deployments_list_and_rollback(staxa: Staxa, daemon: Daemon) -> None:
    tenant = await make_tenant(staxa)
    [first] = json.loads((await staxa("--json", "deployments", "list", "shop")).stdout)
    refused = await staxa("deployments", "rollback", "shop", first["id"])
    assert refused.exit_code == 2 and "did not succeed" in refused.stderr

    async with daemon.db.transaction() as tx:  # as the pipeline leaves a finished deploy
        await deployment_store.update(tx, first["id"], status="succeeded", stage="ready")
    result = await staxa("deployments", "rollback", tenant["id"], first["id"])
    assert result.exit_code == 0, result.output
    assert "rollback_from" in result.stdout and first["id"] in result.stdout
    listed = await staxa("deployments", "list", "shop")
    assert listed.exit_code == 0 and "queued" in listed.stdout and "succeeded" in listed.stdout


async def test_keys_create_shows_the_key_once_then_list_and_revoke(staxa: Staxa) -> None:
    made = await staxa("keys", "create", "ci", "--scope", "deploy", "--scope", "tenants:read")
    assert made.exit_code == 0, made.output
    assert "sk_live_" in made.stdout and "deploy, tenants:read" in made.stdout
    listed = json.loads((await staxa("--json", "keys", "list")).stdout)
    ci = next(k for k in listed if k["name"] == "ci")
    assert "key" not in ci
    assert (await staxa("keys", "revoke", ci["id"])).exit_code == 0
    assert [k["name"] for k in json.loads((await staxa("--json", "keys", "list")).stdout)] == ["test"]
    refused = await staxa("keys", "create", "root", "--scope", "admin")
    assert refused.exit_code == 2 and "scopes" in refused.stderr
