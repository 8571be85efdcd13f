"""One-off commands in a service's running container (`POST .../exec`).

A command can print every secret of the tenant, so it needs the `exec` scope, which `*`
does not give; each run is an `exec.run` event naming the key and the argv, never the
output. The command is an argv list, never a shell line: staxad runs no shell of its own.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass

from staxad.core.context import Context
from staxad.model import validation as v
from staxad.model.errors import Conflict, NotFound, Unprocessable
from staxad.model.lifecycle import DesiredState
from staxad.model.records import Principal, Tenant
from staxad.store import deployments as deployment_store
from staxad.store import events

MAX_ARGS, MAX_ARG = 64, 4096


@dataclass(frozen=True)
class Command:
    argv: list[str]
    timeout_seconds: int


def parse_command(payload: object, max_timeout: int) -> Command:
    body = v.Body(payload, ("command", "timeout_seconds"))
    argv = body.data.get("command")
    if not isinstance(argv, list) or not argv or not all(isinstance(a, str) for a in argv):
        body.fail("command", "must be a non-empty list of strings (an argv, not a shell line)")
    elif len(argv) > MAX_ARGS or any(len(a) > MAX_ARG or "\0" in a for a in argv) or not argv[0]:
        body.fail("command", f"must have at most {MAX_ARGS} items of at most {MAX_ARG} characters, no NUL")
    timeout = body.integer("timeout_seconds", 1, max_timeout)
    body.done()
    assert isinstance(argv, list)
    return Command([str(a) for a in argv], timeout or max_timeout)


class Execs:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def run(
        self, who: Principal, tenant: Tenant, service_name: str, payload: object
    ) -> AsyncGenerator[tuple[str, bytes], None]:
        """Checks first (the caller gets a 4xx before any output), then the stream."""
        settings = self.ctx.settings.exec
        command = parse_command(payload, settings.timeout_seconds)
        service = next((s for s in tenant.services if s.name == service_name), None)
        if service is None:
            raise NotFound(f"Service '{service_name[:63]}' not found in tenant '{tenant.name}'.")
        if self.ctx.commands is None:
            raise Unprocessable("This staxad runs no containers (runtime.enabled = false).")
        live = (await deployment_store.live_for(self.ctx.db, tenant.id)).get(service.id)
        if live is None or not live.container_name or service.desired_state != DesiredState.RUNNING:
            raise Conflict(f"Service '{service.name}' has no running container; deploy or start it first.")
        shown = " ".join(command.argv)[:500]
        async with self.ctx.db.transaction() as tx:
            await events.append(
                tx,
                tenant.id,
                "exec.run",
                f"Key {who.key_id} ran {shown} in {service.name}",
                self.ctx.clock.now(),
                service_name=service.name,
            )
        return self.ctx.commands.run(
            live.container_name, command.argv, command.timeout_seconds, settings.max_output_kb << 10
        )
