"""The CLI's resource groups: env, domains, network rules, deployments, keys."""

from __future__ import annotations

from typing import Any

import click

from staxad.client.cli import State, cli, console, pass_state


@cli.group()
def env() -> None:
    """A tenant's env vars (secrets masked)."""


@env.command("list")
@click.argument("tenant_id")
@pass_state
def env_list(state: State, tenant_id: str) -> None:
    state.show(state.api.call("GET", f"/tenants/{tenant_id}/env"), ("key", "value"), "Env")


@env.command("set")
@click.argument("tenant_id")
@click.argument("pairs", nargs=-1, required=True)
@click.option("--secret/--not-secret", default=None, help="Default: from the name (KEY, TOKEN, ...).")
@click.option("--apply", is_flag=True, help="Deploy the services it changes now.")
@pass_state
def env_set(state: State, tenant_id: str, pairs: tuple[str, ...], secret: bool | None, apply: bool) -> None:
    """Set KEY=VALUE pairs, one variable at a time."""
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep:
            raise click.BadParameter(f"'{pair}' is not KEY=VALUE")
        body: dict[str, Any] = {"value": value, "apply": apply}
        if secret is not None:
            body["is_secret"] = secret
        state.api.call("PUT", f"/tenants/{tenant_id}/env/{key}", body)
        console.print(f"set {key}")


@env.command("unset")
@click.argument("tenant_id")
@click.argument("keys", nargs=-1, required=True)
@pass_state
def env_unset(state: State, tenant_id: str, keys: tuple[str, ...]) -> None:
    for key in keys:
        state.api.call("DELETE", f"/tenants/{tenant_id}/env/{key}")
        console.print(f"unset {key}")


@cli.group()
def domains() -> None:
    """Custom domains: add, verify, list, remove."""


def _records(data: dict[str, Any]) -> None:
    """The DNS records that prove the domain: any one of them."""
    console.print(f"{data['domain']}: verified={data.get('verified')} ssl={data.get('ssl_status')}")
    if data.get("verified"):
        return
    want = data.get("verification") or {}
    console.print("create one of these records, then run: staxa domains verify")
    console.print(f"  create TXT {want.get('txt_name')} -> {want.get('txt_value')}")
    console.print(f"  create CNAME {data['domain']} -> {want.get('cname')}")
    for address in want.get("a") or []:
        console.print(f"  create A {data['domain']} -> {address}")


@domains.command("add")
@click.argument("tenant_id")
@click.argument("domain")
@pass_state
def domains_add(state: State, tenant_id: str, domain: str) -> None:
    data = state.api.call("POST", f"/tenants/{tenant_id}/domains", {"domain": domain})
    state.show(data) if state.as_json else _records(data)


@domains.command("verify")
@click.argument("tenant_id")
@click.argument("domain_id")
@pass_state
def domains_verify(state: State, tenant_id: str, domain_id: str) -> None:
    data = state.api.call("POST", f"/tenants/{tenant_id}/domains/{domain_id}/verify")
    state.show(data) if state.as_json else _records(data)


@domains.command("list")
@click.argument("tenant_id")
@pass_state
def domains_list(state: State, tenant_id: str) -> None:
    data = state.api.call("GET", f"/tenants/{tenant_id}/domains")
    state.show(data["domains"], ("id", "domain", "verified", "ssl_status"), "Domains")


@domains.command("remove")
@click.argument("tenant_id")
@click.argument("domain_id")
@pass_state
def domains_remove(state: State, tenant_id: str, domain_id: str) -> None:
    state.api.call("DELETE", f"/tenants/{tenant_id}/domains/{domain_id}")
    console.print(f"removed {domain_id}")


@cli.group()
def rules() -> None:
    """Network rules: inbound node ports and egress allows."""


@rules.command("list")
@click.argument("tenant_id")
@pass_state
def rules_list(state: State, tenant_id: str) -> None:
    data = state.api.call("GET", f"/tenants/{tenant_id}/network-rules")
    state.show(data, ("id", "direction", "protocol", "allocated_port", "status", "connection_string"), "Rules")


@rules.command("add")
@click.argument("tenant_id")
@click.option("--direction", type=click.Choice(["inbound", "outbound"]), required=True)
@click.option("--protocol", type=click.Choice(["tcp", "udp"]), default="tcp", show_default=True)
@click.option("--service", "target_service", default=None)
@click.option("--source", "sources", multiple=True, help="A CIDR allowed in (inbound).")
@click.option("--destination", default=None, help="A CIDR or host name allowed out (outbound).")
@click.option("--port", "port", type=int, default=None)
@pass_state
def rules_add(
    state: State,
    tenant_id: str,
    direction: str,
    protocol: str,
    target_service: str | None,
    sources: tuple[str, ...],
    destination: str | None,
    port: int | None,
) -> None:
    body: dict[str, Any] = {"direction": direction, "protocol": protocol}
    optional = (("target_service", target_service), ("destination", destination), ("port", port))
    body |= {k: v for k, v in optional if v is not None}
    if sources:
        body["source_cidrs"] = list(sources)
    state.show(state.api.call("POST", f"/tenants/{tenant_id}/network-rules", body))


@rules.command("remove")
@click.argument("tenant_id")
@click.argument("rule_id")
@pass_state
def rules_remove(state: State, tenant_id: str, rule_id: str) -> None:
    state.api.call("DELETE", f"/tenants/{tenant_id}/network-rules/{rule_id}")
    console.print(f"removed {rule_id}")


@cli.group()
def deployments() -> None:
    """Deployment history and rollbacks."""


@deployments.command("list")
@click.argument("tenant_id")
@pass_state
def deployments_list(state: State, tenant_id: str) -> None:
    data = state.api.call("GET", f"/tenants/{tenant_id}/deployments")
    state.show(data, ("id", "service_name", "status", "stage", "commit_sha", "created_at"), "Deployments")


@deployments.command("rollback")
@click.argument("tenant_id")
@click.argument("deployment_id")
@pass_state
def deployments_rollback(state: State, tenant_id: str, deployment_id: str) -> None:
    state.show(state.api.call("POST", f"/tenants/{tenant_id}/deployments/{deployment_id}/rollback"))


@cli.group()
def keys() -> None:
    """API keys of the provider."""


@keys.command("list")
@pass_state
def keys_list(state: State) -> None:
    state.show(state.api.call("GET", "/api-keys"), ("id", "name", "prefix", "mode", "scopes", "expires_at"), "Keys")


@keys.command("create")
@click.argument("name")
@click.option("--scope", "scopes", multiple=True, help="Repeat for several; default '*'.")
@click.option("--mode", type=click.Choice(["live", "test"]), default="live", show_default=True)
@pass_state
def keys_create(state: State, name: str, scopes: tuple[str, ...], mode: str) -> None:
    """Create a key; it is shown once."""
    state.show(state.api.call("POST", "/api-keys", {"name": name, "scopes": list(scopes) or ["*"], "mode": mode}))


@keys.command("revoke")
@click.argument("key_id")
@pass_state
def keys_revoke(state: State, key_id: str) -> None:
    state.api.call("DELETE", f"/api-keys/{key_id}")
    console.print(f"revoked {key_id}")
