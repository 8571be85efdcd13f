"""What every command of one run shares: the target, one API client, and output.

People get rich tables and lines; `--json` gets the API's data as JSON and nothing else
on stdout. Text from the API is printed as text, never read as rich markup (a log
line or name with `[red]` in it stays as written).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import click
import httpx
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from staxad.client.api import Api, ApiFailure
from staxad.client.config import Target

TransportFactory = Callable[[], httpx.BaseTransport | None]


def default_transport() -> httpx.BaseTransport | None:
    return None  # httpx's own: real sockets


class State:
    def __init__(self, target: Target, as_json: bool, transport: TransportFactory = default_transport) -> None:
        self.target, self.as_json, self.transport = target, as_json, transport
        self.out = Console(highlight=False, soft_wrap=True)
        if not self.out.is_terminal:
            self.out.width = 10_000  # piped: whole ids on one line, for grep and cut
        self.err = Console(stderr=True, highlight=False, soft_wrap=True)
        self._api: Api | None = None

    def connect(self, target: Target) -> Api:
        return Api(target, self.transport())

    @property
    def api(self) -> Api:
        if self._api is None:
            self._api = self.connect(self.target)
        return self._api

    def close(self) -> None:
        if self._api is not None:
            self._api.close()

    def tenant_id(self, ref: str) -> str:
        """A tenant id as given, or the id of the tenant with this exact name."""
        if ref.startswith("ten_"):
            return ref
        found = self.api.call("GET", "/tenants", params={"search": ref, "limit": "100"})
        for tenant in found:
            if tenant["name"] == ref:
                return str(tenant["id"])
        raise ApiFailure(404, f"No tenant named '{ref}' (staxa tenants list shows them).")

    def json(self, data: Any) -> None:
        click.echo(json.dumps(data, indent=2))

    def say(self, markup: str, *plain: str) -> None:
        """A line for people: `markup` is rich markup, `plain` (from the API) is escaped into it."""
        if not self.as_json:
            self.out.print(markup.format(*(escape(p) for p in plain)))

    def show(self, data: Any, columns: Sequence[str] = (), title: str = "") -> None:
        """The API's data: as JSON, or a table of `columns` (all of them when none are
        named): a row per item of a list, a line per field of a single object."""
        if self.as_json:
            self.json(data)
            return
        if isinstance(data, dict):
            table = Table("field", "value", title=title or None, show_header=False)
            for column in columns or tuple(data):
                table.add_row(column, Text(cell(data.get(column))))
            self.out.print(table, soft_wrap=False)
            return
        if not columns:
            columns = tuple(data[0]) if data and isinstance(data[0], dict) else ()
        table = Table(*columns, title=title or None)
        for row in data:
            table.add_row(*(Text(cell(row.get(column))) for column in columns))
        self.out.print(table, soft_wrap=False)

    def done(self, data: Any, markup: str, *plain: str) -> None:
        """The end of a command that changed something: its data as JSON, or a line."""
        if self.as_json:
            self.json(data)
        else:
            self.say(markup, *plain)


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


pass_state = click.make_pass_decorator(State)
