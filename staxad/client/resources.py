"""The CLI's resource groups: env, domains, network rules, deployments, keys."""

from __future__ import annotations

from typing import Any

import click

from staxad.client.state import State, pass_state


@click.group()
def env() -> None:
    """A tenant's env vars (secret values masked)."""


@env.command("list")
@click.argument("tenant")
@pass_state
def env_list(state: State, tenant: str) -> None:
    state.show(state.api.call("GET", f"/tenants/{state.tenant_id(tenant)}/env"), ("key", "value"), "Env")


@env.command("set")
@click.argument("tenant")
@click.argument("pairs", nargs=-1, required=True, metavar="KEY=VALUE...")
@click.option("--secret/--not-secret", default=None, help="Default: from the name (KEY, TOKEN, ...).")
@click.option("--apply", is_flag=True, help="Deploy the services it changes now.")
@pass_state
def env_set(state: State, tenant: str, pairs: tuple[str, ...], secret: bool | None, apply: bool) -> None:
    """Set variables, one request each; they reach the services at their next deploy."""
    split = [pair.partition("=") for pair in pairs]
    bad = [pair for pair, (key, sep, _) in zip(pairs, split, strict=True) if not sep or not key]
    if bad:
        raise click.BadParameter(f"{', '.join(bad)}: expected KEY=VALUE", param_hint="KEY=VALUE")
    tenant_id = state.tenant_id(tenant)
    answers = []
    for key, _, value in split:
        body: dict[str, Any] = {"value": value, "apply": apply}
        if secret is not None:
            body["is_secret"] = secret
        answers.append(state.api.call("PUT", f"/tenants/{tenant_id}/env/{key}", body))
        state.say("set {}", key)
    if state.as_json:
        state.json(answers)


@env.command("unset")
@click.argument("tenant")
@click.argument("keys", nargs=-1, required=True, metavar="KEY...")
@pass_state
def env_unset(state: State, tenant: str, keys: tuple[str, ...]) -> None:
    tenant_id = state.tenant_id(tenant)
    for key in keys:
        state.api.call("DELETE", f"/tenants/{tenant_id}/env/{key}")
        state.say("unset {}", key)
    if state.as_json:
        state.json(None)


@click.group()
def domains() -> None:
    """Custom domains: add, verify, list, remove."""


def records(state: State, data: dict[str, Any]) -> None:
    """The domain's state, and while unverified the DNS records that prove it."""
    state.say("{}: verified={} ssl={}", data["domain"], str(data.get("verified")), str(data.get("ssl_status")))
    if data.get("verified"):
        return
    want = data.get("verification") or {}
    state.say("Create one of these records, then run: staxa domains verify TENANT {}", data["id"])
    state.say("  TXT   {} = {}", str(want.get("txt_name")), str(want.get("txt_value")))
    state.say("  CNAME {} -> {}", data["domain"], str(want.get("cname")))
    for address in want.get("a") or []:
        state.say("  A     {} -> {}  (only where this host lets an A record prove ownership)", data["domain"], address)


@domains.command("add")
@click.argument("tenant")
@click.argument("domain")
@click.option("--primary", is_flag=True, help="Make it the tenant's URL once verified.")
@click.option("--service", "service_id", default=None, help="Route it to this service (default: the primary).")
@pass_state
def domains_add(state: State, tenant: str, domain: str, primary: bool, service_id: str | None) -> None:
    body: dict[str, Any] = {"domain": domain, **({"is_primary": True} if primary else {})}
    if service_id:
        body["service_id"] = service_id
    data = state.api.call("POST", f"/tenants/{state.tenant_id(tenant)}/domains", body)
    state.json(data) if state.as_json else records(state, data)


@domains.command("verify")
@click.argument("tenant")
@click.argument("domain_id")
@pass_state
def domains_verify(state: State, tenant: str, domain_id: str) -> None:
    data = state.api.call("POST", f"/tenants/{state.tenant_id(tenant)}/domains/{domain_id}/verify")
    state.json(data) if state.as_json else records(state, data)


@domains.command("list")
@click.argument("tenant")
@pass_state
def domains_list(state: State, tenant: str) -> None:
    data = state.api.call("GET", f"/tenants/{state.tenant_id(tenant)}/domains")
    if state.as_json:
        state.json(data)
        return
    state.show(data["domains"], ("id", "domain", "is_primary", "verified", "ssl_status", "service"), "Domains")
    state.say("server ip: {}", str(data.get("server_ip")))


@domains.command("remove")
@click.argument("tenant")
@click.argument("domain_id")
@pass_state
def domains_remove(state: State, tenant: str, domain_id: str) -> None:
    state.api.call("DELETE", f"/tenants/{state.tenant_id(tenant)}/domains/{domain_id}")
    state.done(None, "removed {}", domain_id)


@click.group()
def rules() -> None:
    """Network rules: inbound node ports and allowed egress."""


@rules.command("list")
@click.argument("tenant")
@pass_state
def rules_list(state: State, tenant: str) -> None:
    data = state.api.call("GET", f"/tenants/{state.tenant_id(tenant)}/network-rules")
    columns = ("id", "direction", "protocol", "target_service", "allocated_port", "status", "connection_string")
    state.show(data, columns, "Network rules")


@rules.command("add")
@click.argument("tenant")
@click.option("--direction", type=click.Choice(["inbound", "outbound"]), required=True)
@click.option("--protocol", type=click.Choice(["tcp", "udp"]), default="tcp", show_default=True)
@click.option("--service", "target_service", default=None, help="Inbound: the service reached.")
@click.option("--source", "sources", multiple=True, help="Inbound: a CIDR allowed in (repeat for more).")
@click.option("--destination", "destinations", multiple=True, help="Outbound: a CIDR allowed out (repeat).")
@click.option("--port", type=int, default=None, help="Inbound: the service's port; outbound: the destination's.")
@click.option("--ttl-hours", type=int, default=None, help="Remove the rule after this long.")
@click.option("--description", default=None)
@pass_state
def rules_add(
    state: State,
    tenant: str,
    direction: str,
    protocol: str,
    target_service: str | None,
    sources: tuple[str, ...],
    destinations: tuple[str, ...],
    port: int | None,
    ttl_hours: int | None,
    description: str | None,
) -> None:
    """Open a node port to a service from given sources (inbound), or let the tenant reach
    given networks on one port (outbound); the API says which fields each direction takes."""
    inbound = direction == "inbound"
    optional: dict[str, Any] = {
        "target_service": target_service,
        "source_cidrs": list(sources) or None,
        "destination_cidrs": list(destinations) or None,
        "target_port" if inbound else "destination_port": port,
        "ttl_hours": ttl_hours,
        "description": description,
    }
    body = {"direction": direction, "protocol": protocol} | {k: v for k, v in optional.items() if v is not None}
    state.show(state.api.call("POST", f"/tenants/{state.tenant_id(tenant)}/network-rules", body))


@rules.command("remove")
@click.argument("tenant")
@click.argument("rule_id")
@pass_state
def rules_remove(state: State, tenant: str, rule_id: str) -> None:
    state.api.call("DELETE", f"/tenants/{state.tenant_id(tenant)}/network-rules/{rule_id}")
    state.done(None, "removed {}", rule_id)


@click.group()
def deployments() -> None:
    """Deployment history and rollbacks."""


@deployments.command("list")
@click.argument("tenant")
@pass_state
def deployments_list(state: State, tenant: str) -> None:
    data = state.api.call("GET", f"/tenants/{state.tenant_id(tenant)}/deployments")
    state.show(data, ("id", "service_name", "status", "stage", "commit_sha", "created_at"), "Deployments")


@deployments.command("rollback")
@click.argument("tenant")
@click.argument("deployment_id")
@pass_state
def deployments_rollback(state: State, tenant: str, deployment_id: str) -> None:
    """Deploy the image of an earlier deployment again (no rebuild)."""
    path = f"/tenants/{state.tenant_id(tenant)}/deployments/{deployment_id}/rollback"
    state.show(state.api.call("POST", path), ("id", "service_name", "status", "rollback_from"))


@click.group()
def keys() -> None:
    """The provider's API keys."""


@keys.command("list")
@pass_state
def keys_list(state: State) -> None:
    state.show(state.api.call("GET", "/api-keys"), ("id", "name", "prefix", "mode", "scopes", "expires_at"), "Keys")


@keys.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, help="Repeat for several (default '*').")
@click.option("--mode", type=click.Choice(["live", "test"]), default=None, help="Default: live.")
@click.option("--expires-at", default=None, help="An ISO 8601 time, e.g. 2027-01-31T00:00:00Z.")
@pass_state
def keys_create(state: State, name: str, scopes: tuple[str, ...], mode: str | None, expires_at: str | None) -> None:
    """Create a key; the raw key is shown this once."""
    optional = (("scopes", list(scopes) or None), ("mode", mode), ("expires_at", expires_at))
    body = {"name": name} | {k: v for k, v in optional if v is not None}
    state.show(state.api.call("POST", "/api-keys", body), ("id", "name", "mode", "scopes", "expires_at", "key"))


@keys.command("revoke")
@click.argument("key_id")
@pass_state
def keys_revoke(state: State, key_id: str) -> None:
    state.api.call("DELETE", f"/api-keys/{key_id}")
    state.done(None, "revoked {}", key_id)
