"""`staxa`: the root command, `login`, and the one place that turns failures into exits.

Exit codes: 0 done; 1 a deploy ended failed (or --timeout passed); 2 the API refused
(its message and field errors are printed) or could not be reached.

`cli.main(obj=factory)` runs it over another httpx transport (tests run the daemon's
app in-process this way); without one, httpx's own sockets are used.
"""

from __future__ import annotations

import json
import os
from typing import Any

import click
from rich.console import Console
from rich.markup import escape

from staxad.client import config, resources, tenants
from staxad.client.api import ApiFailure
from staxad.client.state import State, default_transport, pass_state

API_ERROR = 2


def report(failure: ApiFailure) -> None:
    """The error envelope for people: message, then each bad field, then other details."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    status = failure.status or "no answer"
    err.print(f"[red]Error[/red] ({status}): {escape(failure.message)}")
    for field, problem in failure.fields.items():
        err.print(f"  {escape(str(field))}: {escape(str(problem))}")
    for name, value in failure.details.items():
        if name != "fields":
            err.print(f"  {escape(name)}: {escape(json.dumps(value))}")


class Staxa(click.Group):
    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ApiFailure as failure:
            report(failure)
            ctx.exit(API_ERROR)
        except config.ConfigError as exc:
            raise click.ClickException(str(exc)) from None


@click.group(cls=Staxa)
@click.option("--url", envvar="STAXA_URL", help="The staxad API, e.g. http://127.0.0.1:7070 [env STAXA_URL].")
@click.option("--profile", default="default", show_default=True, help="The profile in the config file.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's data as JSON.")
@click.version_option(package_name="staxad", prog_name="staxa")
@click.pass_context
def cli(ctx: click.Context, url: str | None, profile: str, as_json: bool) -> None:
    """staxa: drive a staxad host over its API.

    The key comes from STAXA_API_KEY or the profile that `staxa login` saved."""
    transport = ctx.obj if callable(ctx.obj) else default_transport
    state = State(config.resolve(url, profile), as_json, transport)
    ctx.obj = state
    ctx.meta["staxa.profile"] = profile
    ctx.call_on_close(state.close)


@cli.command()
@click.option("--url", "login_url", default=None, help="The staxad API (default: the root --url or STAXA_URL).")
@click.option("--profile", default=None, help="Save under this name (default: the root --profile).")
@pass_state
@click.pass_context
def login(ctx: click.Context, state: State, login_url: str | None, profile: str | None) -> None:
    """Check a key against the API and save it in a profile (mode 0600). The key is read
    from STAXA_API_KEY or asked for; it is never a flag."""
    url = (login_url or state.target.url).rstrip("/")
    name = profile or ctx.meta["staxa.profile"]
    key = os.environ.get("STAXA_API_KEY") or click.prompt("API key", hide_input=True)
    api = state.connect(config.Target(url, key))
    try:
        account = api.call("GET", "/account")
    finally:
        api.close()
    saved = config.save(name, url, key)
    state.done(
        {"profile": name, "url": url, "path": str(saved), "account": account},
        "Logged in as {}; profile '{}' saved to {} (mode 0600).",
        str(account.get("email")),
        name,
        str(saved),
    )


for command in (
    tenants.tenants,
    tenants.deploy,
    tenants.logs,
    tenants.exec_command,
    resources.env,
    resources.domains,
    resources.rules,
    resources.deployments,
    resources.keys,
):
    cli.add_command(command)


def main() -> None:
    cli(prog_name="staxa")
