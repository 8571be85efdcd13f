"""The deploy follower's pure parts: which events decide the outcome, and the progress
bars a terminal shows."""

from __future__ import annotations

import io
from typing import Any

import pytest
from rich.console import Console

from staxad.client.config import Target
from staxad.client.progress import FAILED, READY, View, Watch
from staxad.client.state import State

QUEUED = [{"id": "dep_web", "service_name": "web"}, {"id": "dep_db", "service_name": "db"}]


def ev(type_: str, deployment_id: str | None = None, stage: str | None = None, message: str = "") -> dict[str, Any]:
    service = deployment_id.removeprefix("dep_") if deployment_id else None
    return {
        "type": type_,
        "deployment_id": deployment_id,
        "service": service,
        "stage": stage,
        "message": message or type_,
    }


def succeeded(deployment_id: str) -> dict[str, Any]:
    return ev("deployment.succeeded", deployment_id, "ready")


@pytest.mark.parametrize(
    ("events", "outcome"),
    [
        ([ev("tenant.ready"), ev("tenant.failed")], None),  # replayed history, before ours
        ([succeeded("dep_web"), ev("tenant.ready")], None),  # db still under way
        ([succeeded("dep_web"), succeeded("dep_db"), ev("tenant.ready")], READY),
        ([succeeded("dep_web"), succeeded("dep_db"), ev("tenant.failed")], FAILED),
        ([ev("deployment.failed", "dep_web", "error")], None),  # db still under way
        ([ev("deployment.failed", "dep_web", "error"), succeeded("dep_db")], FAILED),
        ([ev("deployment.cancelled", "dep_web", "error"), succeeded("dep_db"), ev("tenant.ready")], FAILED),
        ([succeeded("dep_other"), ev("tenant.deleted")], FAILED),
    ],
)
def test_the_outcome_waits_for_every_deployment_of_this_deploy(events: list[dict[str, Any]], outcome: str) -> None:
    watch = Watch(QUEUED)
    for event in events:
        watch.feed(event)
    assert watch.outcome == outcome


def test_only_this_deploys_events_are_shown_and_a_status_read_settles_only_success() -> None:
    watch = Watch(QUEUED[:1])
    assert not watch.feed(ev("deployment.stage", "dep_other", "build"))
    assert not watch.feed(ev("tenant.ready"))
    assert watch.feed(ev("deployment.queued", "dep_web", "provision"))
    assert watch.steps["dep_web"].stage == "queued"  # a queued event names provision before it starts
    watch.settle("ready")
    assert watch.outcome is None  # not ended: the status read is the one before this deploy
    watch.feed(ev("deployment.stage", "dep_web", "build"))
    watch.feed(ev("deployment.failed", "dep_web", "error"))
    assert watch.steps["dep_web"].label == "failed at build" and watch.outcome == FAILED
    watch.settle("ready")
    assert watch.outcome == FAILED


def test_a_terminal_shows_a_bar_per_service_with_its_stage() -> None:
    state = State(Target("http://x", None), as_json=False)
    screen = io.StringIO()
    state.out = Console(file=screen, force_terminal=True, width=100, color_system=None)
    watch = Watch(QUEUED)
    with View(state, watch) as view:
        for event in (
            ev("deployment.stage", "dep_web", "route", "web answers; [red]switching"),
            succeeded("dep_web"),
            ev("deployment.stage", "dep_db", "build"),
            ev("deployment.failed", "dep_db", "error", "Deployment failed: no image"),
        ):
            watch.feed(event)
            view.show(event)
    shown = screen.getvalue()
    assert "web route     web answers; [red]switching" in shown  # API text is not markup
    assert "✘ Deployment failed: no image" in shown
    last = shown.rsplit("\x1b[?25l", 1)[-1]  # the bars as last drawn
    assert "✔ web" in last and "succeeded" in last
    assert "✘ db" in last and "failed at build" in last


def test_without_a_terminal_there_are_no_bars() -> None:
    state = State(Target("http://x", None), as_json=False)
    screen = io.StringIO()
    state.out = Console(file=screen, width=100)
    watch = Watch(QUEUED[:1])
    with View(state, watch) as view:
        watch.feed(event := succeeded("dep_web"))
        view.show(event)
    assert screen.getvalue() == "  web ready     deployment.succeeded\n"
