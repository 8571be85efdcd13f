"""`staxa`: tenants, deploys with live progress, logs, env, domains, rules, keys.

Exit codes: 0 done; 1 a deploy ended failed; 2 the API refused (its message and field
errors are printed) or could not be reached.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import click
import httpx
from rich.console import Console
from rich.table import Table

from staxad.client import config
from staxad.client.api import Api, ApiFailure

TRANSPORT: httpx.BaseTransport | None = None  # tests plug an in-process transport in here
console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)


class State:
    def __init__(self, url: str | None, profile: str, as_json: bool) -> None:
        self.target = config.resolve(url, profile)
        self.as_json = as_json
        self._api: Api | None = None

    @property
    def api(self) -> Api:
        if self._api is None:
            self._api = Api(self.target, TRANSPORT)
        return self._api

    def show(self, data: Any, columns: tuple[str, ...] = (), title: str = "") -> None:
        if self.as_json:
            click.echo(json.dumps(data, indent=2))
            return
        rows = data if isinstance(data, list) else [data]
        if not columns:
            columns = tuple(rows[0]) if rows and isinstance(rows[0], dict) else ()
        table = Table(title=title or None)
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*("" if row.get(c) is None else str(row.get(c)) for c in columns))
        console.print(table)


pass_state = click.make_pass_decorator(State)


@click.group()
@click.option("--url", help="The staxad API, e.g. http://127.0.0.1:7070 (or STAXA_URL, or the profile's).")
@click.option("--profile", default="default", show_default=True, help="The profile in the config file.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's data as JSON.")
@click.pass_context
def cli(ctx: click.Context, url: str | None, profile: str, as_json: bool) -> None:
    """staxa: drive a staxad host from the command line."""
    ctx.obj = State(url, profile, as_json)


@cli.command()
@click.option("--url", "login_url", required=True, help="The staxad API to use.")
@click.option("--profile", "name", default="default", show_default=True)
def login(login_url: str, name: str) -> None:
    """Save a profile; the key is read from STAXA_API_KEY or asked for (never a flag)."""
    import os

    key = os.environ.get("STAXA_API_KEY") or click.prompt("API key", hide_input=True)
    Api(config.Target(login_url.rstrip("/"), key), TRANSPORT).call("GET", "/account")
    saved = config.save(name, login_url.rstrip("/"), key)
    console.print(f"Logged in; profile '{name}' saved to {saved} (mode 0600).")


@cli.group()
def tenants() -> None:
    """List, create, show and delete tenants."""


@tenants.command("list")
@pass_state
def tenants_list(state: State) -> None:
    state.show(state.api.call("GET", "/tenants"), ("id", "name", "status", "url"), "Tenants")


@tenants.command("create")
@click.argument("name")
@click.option("--image", help="Run this container image.")
@click.option("--repo", help="Build this git repository.")
@click.option("--branch", default=None)
@click.option("--port", type=int, default=None)
@click.option("--template", default=None, help="A template id (see GET /templates).")
@pass_state
def tenants_create(
    state: State,
    name: str,
    image: str | None,
    repo: str | None,
    branch: str | None,
    port: int | None,
    template: str | None,
) -> None:
    body: dict[str, Any] = {"name": name}
    if image:
        body |= {"source_type": "image", "image_url": image}
    if repo:
        body |= {"source_type": "github", "repo_url": repo}
    body |= {k: v for k, v in (("branch", branch), ("port", port), ("template_id", template)) if v is not None}
    state.show(state.api.call("POST", "/tenants", body), ("id", "name", "status", "url"))


@tenants.command("show")
@click.argument("tenant_id")
@pass_state
def tenants_show(state: State, tenant_id: str) -> None:
    data = state.api.call("GET", f"/tenants/{tenant_id}")
    if state.as_json:
        state.show(data)
        return
    state.show(data, ("id", "name", "status", "status_reason", "url"))
    state.show(data["services"], ("name", "status", "desired_state", "port", "image_url", "repo_url"), "Services")


@tenants.command("delete")
@click.argument("tenant_id")
@click.confirmation_option(prompt="Delete this tenant, its containers and its data?")
@pass_state
def tenants_delete(state: State, tenant_id: str) -> None:
    state.api.call("DELETE", f"/tenants/{tenant_id}")
    console.print(f"Deleting {tenant_id}.")


@cli.command()
@click.argument("tenant_id")
@click.option("--timeout", default=1800, show_default=True, help="Seconds to wait for ready or failed.")
@pass_state
def deploy(state: State, tenant_id: str, timeout: int) -> None:
    """Deploy every service and follow the stages until the tenant is ready or failed."""
    queued = state.api.call("POST", f"/tenants/{tenant_id}/deploy")
    mine = {d["id"] for d in queued["deployments"]}
    seen_ours = False
    deadline = time.monotonic() + timeout
    for event in state.api.events(f"/tenants/{tenant_id}/events"):
        if time.monotonic() > deadline:
            errors.print(f"[red]gave up after {timeout} s[/red]; the deploy goes on (staxa deployments list)")
            sys.exit(1)
        if event is None:
            continue
        if event.get("deployment_id") in mine:
            seen_ours = True
            if state.as_json:
                click.echo(json.dumps(event))
            else:
                console.print(
                    f"[bold]{event.get('service') or ''}[/bold] {event.get('stage') or ''}: {event['message']}"
                )
        elif seen_ours and event["type"] in ("tenant.ready", "tenant.failed"):
            ready = event["type"] == "tenant.ready"
            message = event["message"]
            if state.as_json:
                click.echo(json.dumps(event))
            else:
                console.print(("[green]" if ready else "[red]") + message)
            sys.exit(0 if ready else 1)


@cli.command()
@click.argument("tenant_id")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
@click.option("--service", default=None)
@click.option("--lines", default=100, show_default=True)
@pass_state
def logs(state: State, tenant_id: str, follow: bool, service: str | None, lines: int) -> None:
    """The tenant's container output (every service, each line prefixed, unless --service)."""
    params = {"lines": str(lines), **({"service": service} if service else {})}
    if follow:
        for line in state.api.lines(f"/tenants/{tenant_id}/logs", {**params, "follow": "true"}):
            click.echo(line)
        return
    click.echo(state.api.text(f"/tenants/{tenant_id}/logs", params), nl=False)


def main() -> None:
    from staxad.client import commands  # noqa: F401 - registers the remaining groups

    try:
        cli.main(standalone_mode=False)
    except ApiFailure as failure:
        errors.print(f"[red]error[/red] ({failure.status or 'no answer'}): {failure.message}")
        for field, problem in failure.fields.items():
            errors.print(f"  {field}: {problem}")
        sys.exit(2)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.Abort:
        sys.exit(1)


def run(args: list[str], transport: httpx.BaseTransport | None = None) -> int:
    """main() for tests: the exit code, with an optional transport."""
    global TRANSPORT
    TRANSPORT = transport
    saved, sys.argv = sys.argv, ["staxa", *args]
    try:
        main()
    except SystemExit as done:
        return int(done.code or 0)
    finally:
        sys.argv = saved
    return 0


