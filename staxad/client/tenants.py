"""Tenants, deploys followed stage by stage, and container logs.

A deploy is followed on the tenant's event stream (replayed from its start); which
events count and what decides the exit code is staxad/client/progress.py's to say.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from contextlib import closing
from typing import Any

import click

from staxad.client.progress import FAILED, READY, View, Watch
from staxad.client.state import State, pass_state

SUMMARY = ("id", "name", "status", "url")


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
    a deployment or the tenant failed (exit 1). With --json, each event is printed as one
    line of JSON."""
    tenant_id = state.tenant_id(tenant)
    queued = state.api.call("POST", f"/tenants/{tenant_id}/deploy")
    state.say("Deploying {} ({})", tenant_id, ", ".join(queued["services"]))
    ctx.exit(follow(state, tenant_id, Watch(queued["deployments"]), time.monotonic() + timeout))


def follow(state: State, tenant_id: str, watch: Watch, deadline: float) -> int:
    """Show the deploy's events until its outcome is known: 0 ready, 1 failed or given up."""
    stream = closing(state.api.stream(f"/tenants/{tenant_id}/events"))  # hangs up on return
    with stream as events, View(state, watch) as view:
        outcome = _until_outcome(state, tenant_id, watch, view, events, deadline)
    if outcome is None:
        state.err.print("[red]Gave up waiting[/red]; the deploy goes on (staxa deployments list).")
    return 0 if outcome == READY else 1


def _until_outcome(
    state: State,
    tenant_id: str,
    watch: Watch,
    view: View,
    events: Iterable[tuple[str, str] | None],
    deadline: float,
) -> str | None:
    for event in events:
        if time.monotonic() > deadline:
            return None
        if event is not None:
            payload = json.loads(event[1])
            if watch.feed(payload):
                view.show(payload)
        elif watch.ended:  # a quiet stream: the tenant may have no status change left to tell
            found = state.api.call("GET", f"/tenants/{tenant_id}")
            watch.settle(found["status"])
            if watch.outcome:
                state.say("[green]✔ {}[/green]" if watch.outcome == READY else "[red]✘ {}[/red]", _said(found))
        if watch.outcome:
            return watch.outcome
    return FAILED  # the stream ended (the tenant went) before any outcome


def _said(tenant: dict[str, Any]) -> str:
    reason = tenant.get("status_reason")
    return f"Tenant is {tenant['status']}" + (f": {reason}" if reason else "")


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


@click.command("exec", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
@click.argument("tenant")
@click.option("--service", default=None, help="The service whose container runs it (default: the primary).")
@click.option("--timeout", type=int, default=None, help="Seconds before it is killed (default: the host's).")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@pass_state
def exec_command(state: State, tenant: str, service: str | None, timeout: int | None, command: tuple[str, ...]) -> None:
    """Run COMMAND in a service's running container, as `staxa exec TENANT -- CMD ARGS...`:
    its output as it comes, then the CLI exits with its status (124 when it was stopped).
    Needs a key with the exec scope."""
    tenant_id = state.tenant_id(tenant)
    if service is None:
        services = state.api.call("GET", f"/tenants/{tenant_id}")["services"]
        service = next((s["name"] for s in services if s["is_primary"]), services[0]["name"])
    argv = list(command[1:] if command[:1] == ("--",) else command)  # click passes `--` on here
    if not argv:
        raise click.UsageError("give the command after --: staxa exec TENANT -- CMD ARGS...")
    body = {"command": argv, **({"timeout_seconds": timeout} if timeout else {})}
    status = 1
    for event in state.api.stream(f"/tenants/{tenant_id}/services/{service}/exec", method="POST", body=body):
        if event is None:
            continue
        kind, data = event
        if kind in ("stdout", "stderr"):
            click.echo(data, nl=False, err=kind == "stderr")
        elif kind == "exit":
            ended = json.loads(data)
            if ended["stopped"]:
                click.echo(f"staxa: the command was {ended['stopped']}", err=True)
            status = ended["exit_code"] if isinstance(ended["exit_code"], int) else 124
    raise SystemExit(status)
