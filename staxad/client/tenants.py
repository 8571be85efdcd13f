"""Tenants, deploys followed stage by stage, and container logs.

A deploy is followed on the tenant's event stream (replayed from its start): the stages
of the deployments this command queued are printed, and the first `tenant.ready` or
`tenant.failed` after one of them decides the exit code (0 or 1).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from contextlib import closing
from typing import Any

import click

from staxad.client.state import State, pass_state

SUMMARY = ("id", "name", "status", "url")
READY, FAILED = "tenant.ready", "tenant.failed"


@click.group()
def tenants() -> None:
    """List, create, show and delete tenants."""


@tenants.command("list")
@click.option("--status", default=None, help="Only tenants in this status.")
@click.option("--limit", default=100, show_default=True)
@pass_state
def tenants_list(state: State, status: str | None, limit: int) -> None:
    params = {"limit": str(limit), **({"status": status} if status else {})}
    state.show(state.api.call("GET", "/tenants", params=params), SUMMARY, "Tenants")


@tenants.command("create")
@click.argument("name")
@click.option("--image", help="Run this container image.")
@click.option("--repo", help="Build this git repository.")
@click.option("--branch", default=None)
@click.option("--port", type=int, default=None, help="The port the app listens on (default 3000).")
@click.option("--template", default=None, help="A template id (GET /templates lists them).")
@click.option("--size", "resource_size", default=None, help="small, medium, large, ...")
@click.option(
    "--egress",
    "egress_mode",
    type=click.Choice(["open", "restricted"]),
    default=None,
    help="restricted: out only where outbound rules allow (default open).",
)
@pass_state
def tenants_create(
    state: State,
    name: str,
    image: str | None,
    repo: str | None,
    branch: str | None,
    port: int | None,
    template: str | None,
    resource_size: str | None,
    egress_mode: str | None,
) -> None:
    """Create a tenant from an image, a git repository or a template; its first deploy starts."""
    body: dict[str, Any] = {"name": name}
    if image:
        body |= {"source_type": "image", "image_url": image}
    if repo:
        body |= {"source_type": "github", "repo_url": repo}
    optional = {
        "branch": branch,
        "port": port,
        "template_id": template,
        "resource_size": resource_size,
        "egress_mode": egress_mode,
    }
    body |= {k: v for k, v in optional.items() if v is not None}
    data = state.api.call("POST", "/tenants", body)
    state.show(data, SUMMARY)
    state.say("Deploying; follow it with: staxa deploy {}", data["id"])


@tenants.command("show")
@click.argument("tenant")
@pass_state
def tenants_show(state: State, tenant: str) -> None:
    data = state.api.call("GET", f"/tenants/{state.tenant_id(tenant)}")
    state.show(data, ("id", "name", "status", "status_reason", "url"))
    if not state.as_json:
        columns = ("name", "status", "desired_state", "port", "image_url", "repo_url")
        state.show(data.get("services", []), columns, "Services")


@tenants.command("delete")
@click.argument("tenant")
@click.confirmation_option(prompt="Delete this tenant, its containers and its data?")
@pass_state
def tenants_delete(state: State, tenant: str) -> None:
    tenant_id = state.tenant_id(tenant)
    state.done(state.api.call("DELETE", f"/tenants/{tenant_id}"), "Deleting {}.", tenant_id)


@click.command()
@click.argument("tenant")
@click.option("--timeout", default=1800, show_default=True, help="Seconds to wait for ready or failed.")
@pass_state
@click.pass_context
def deploy(ctx: click.Context, state: State, tenant: str, timeout: int) -> None:
    """Deploy every service and follow the stages until the tenant is ready (exit 0) or
    failed (exit 1). With --json, each event is printed as one line of JSON."""
    tenant_id = state.tenant_id(tenant)
    queued = state.api.call("POST", f"/tenants/{tenant_id}/deploy")
    mine = {d["id"] for d in queued["deployments"]}
    state.say("Deploying {} ({})", tenant_id, ", ".join(queued["services"]))
    ctx.exit(follow(state, tenant_id, mine, time.monotonic() + timeout))


def follow(state: State, tenant_id: str, mine: set[str], deadline: float) -> int:
    with closing(state.api.stream(f"/tenants/{tenant_id}/events")) as events:  # hangs up on return
        return _until_outcome(state, events, mine, deadline)


def _until_outcome(state: State, events: Iterable[tuple[str, str] | None], mine: set[str], deadline: float) -> int:
    seen_ours = False
    for event in events:
        if time.monotonic() > deadline:
            state.err.print("[red]Gave up waiting[/red]; the deploy goes on (staxa deployments list).")
            return 1
        if event is None:
            continue  # a keep-alive: only a chance to look at the clock
        payload = json.loads(event[1])
        ours = payload.get("deployment_id") in mine
        seen_ours = seen_ours or ours
        ends = seen_ours and payload["type"] in (READY, FAILED)
        if ours or ends:
            print_event(state, payload)
        if ends:
            return 0 if payload["type"] == READY else 1
        if payload["type"] == "tenant.deleted":
            state.err.print("[red]The tenant was deleted.[/red]")
            return 1
    return 1


def print_event(state: State, event: dict[str, Any]) -> None:
    if state.as_json:
        click.echo(json.dumps(event))
    elif event["type"] == READY:
        state.say("[green]✔ {}[/green]", event["message"])
    elif event["type"] in (FAILED, "deployment.failed", "deployment.cancelled"):
        state.say("[red]✘ {}[/red]", event["message"])
    else:
        stage = "queued" if event["type"] == "deployment.queued" else event.get("stage") or ""
        state.say("  [bold]{}[/bold] {:<9} {}", event.get("service") or "", stage, event["message"])


@click.command()
@click.argument("tenant")
@click.option("-f", "--follow", "following", is_flag=True, help="Keep printing new lines.")
@click.option("--service", default=None, help="One service's lines (default: every service's, prefixed).")
@click.option("--lines", default=100, show_default=True)
@pass_state
def logs(state: State, tenant: str, following: bool, service: str | None, lines: int) -> None:
    """The tenant's container output. With --json: a JSON list of lines (with -f, one JSON
    string per line)."""
    path = f"/tenants/{state.tenant_id(tenant)}/logs"
    params = {"lines": str(lines), **({"service": service} if service else {})}
    if not following:
        text = state.api.text(path, params)
        if state.as_json:
            state.json(text.splitlines())
        else:
            click.echo(text, nl=False)
        return
    for event in state.api.stream(path, {**params, "follow": "true"}):
        if event is not None:
            click.echo(json.dumps(event[1]) if state.as_json else event[1])
