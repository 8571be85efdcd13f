"""A deploy followed on the tenant's event stream: how far each of this command's
deployments has got, when the outcome is known, and how it looks.

The stream replays the tenant's whole history first, and other deploys may run beside
this one: only events of the deployments this command queued move it. Invariants: the
deploy fails as soon as all of them have ended and one of them failed or was cancelled,
even when the tenant stays ready on its previous version; it is ready only once all of
them succeeded and then the tenant says ready (an earlier `tenant.ready`, replayed or
written while they ran, says nothing about this deploy).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import click
from rich.progress import BarColumn, Progress, ProgressColumn, SpinnerColumn, Task, TextColumn, TimeElapsedColumn
from rich.text import Text

from staxad.client.state import State

STAGES = ("provision", "build", "deploy", "route", "health", "ready")
ENDINGS = {"deployment.succeeded": "succeeded", "deployment.failed": "failed", "deployment.cancelled": "cancelled"}
READY, FAILED = "ready", "failed"
TENANT_OUTCOMES = {"tenant.ready": READY, "tenant.failed": FAILED}


@dataclass
class Step:
    """One deployment of this deploy, as far as the stream has told."""

    service: str
    stage: str = "queued"
    ending: str | None = None  # succeeded, failed or cancelled

    @property
    def done(self) -> int:
        """Stages passed, for the bar: a failed stage does not count as passed."""
        if self.ending == "succeeded":
            return len(STAGES)
        return STAGES.index(self.stage) if self.stage in STAGES else 0

    @property
    def label(self) -> str:
        if self.ending is None or self.ending == "succeeded":
            return self.ending or self.stage
        return f"{self.ending} at {self.stage}"


class Watch:
    def __init__(self, deployments: list[dict[str, Any]]) -> None:
        self.steps = {str(d["id"]): Step(str(d["service_name"])) for d in deployments}
        self.outcome: str | None = None  # READY or FAILED once known

    @property
    def ended(self) -> bool:
        return all(step.ending for step in self.steps.values())

    @property
    def succeeded(self) -> bool:
        return all(step.ending == "succeeded" for step in self.steps.values())

    def feed(self, event: dict[str, Any]) -> bool:
        """Take one event of the stream; True when it is this deploy's (worth showing)."""
        step = self.steps.get(str(event.get("deployment_id")))
        if step is not None:
            ending = ENDINGS.get(event["type"])
            if ending:
                step.ending = ending  # the stage stays the last one reached (the failure's is "error")
            elif event["type"] != "deployment.queued":
                step.stage = event.get("stage") or step.stage
            if self.ended and not self.succeeded:
                self.outcome = FAILED
            return True
        if event["type"] == "tenant.deleted":
            self.outcome = FAILED
            return True
        if self.outcome is None and self.ended and self.succeeded and event["type"] in TENANT_OUTCOMES:
            self.outcome = TENANT_OUTCOMES[event["type"]]
            return True
        return False

    def settle(self, tenant_status: str) -> None:
        """The tenant's status as GET says it, for when no event will say it: a tenant
        already ready whose status never changed writes no `tenant.ready`."""
        if self.outcome is None and self.ended and self.succeeded and tenant_status in (READY, FAILED):
            self.outcome = tenant_status


class MarkColumn(SpinnerColumn):
    """A spinner while a deployment runs, then a tick or a cross."""

    def render(self, task: Task) -> Text:
        ending = task.fields.get("ending")
        if ending == "succeeded":
            return Text("✔", style="green")
        if ending:
            return Text("✘", style="red")
        rendered = super().render(task)
        return rendered if isinstance(rendered, Text) else Text(str(rendered))


class View:
    """Each event of this deploy as a line that stays and, on a terminal, a bar per
    service under them; with --json, each event as one line of JSON and nothing else.
    Text from the API is escaped, never read as markup."""

    def __init__(self, state: State, watch: Watch) -> None:
        self.state, self.watch = state, watch
        columns: list[ProgressColumn] = [
            MarkColumn(),
            TextColumn("[bold]{task.fields[service]}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[stage]}"),
            TimeElapsedColumn(),
        ]
        self.bars = Progress(*columns, console=state.out, disable=state.as_json or not state.out.is_terminal)
        self.tasks = {
            deployment_id: self.bars.add_task(
                "", total=len(STAGES), service=step.service, stage=step.label, ending=None
            )
            for deployment_id, step in watch.steps.items()
        }

    def __enter__(self) -> View:
        self.bars.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.bars.stop()

    def show(self, event: dict[str, Any]) -> None:
        deployment_id = str(event.get("deployment_id"))
        step = self.watch.steps.get(deployment_id)
        if step is not None:
            task = self.tasks[deployment_id]
            self.bars.update(task, completed=step.done, stage=step.label, ending=step.ending)
        if self.state.as_json:
            click.echo(json.dumps(event))
        elif event["type"] == "tenant.ready":
            self.state.say("[green]✔ {}[/green]", event["message"])
        elif event["type"] in ("tenant.failed", "tenant.deleted", "deployment.failed", "deployment.cancelled"):
            self.state.say("[red]✘ {}[/red]", event["message"])
        else:
            stage = "queued" if event["type"] == "deployment.queued" else event.get("stage") or ""
            self.state.say("  [bold]{}[/bold] {:<9} {}", event.get("service") or "", stage, event["message"])
