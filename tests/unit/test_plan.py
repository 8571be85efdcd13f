"""The tenant planner: what a pass does for each state of the store and the host."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from staxad.model import lifecycle
from staxad.model.containers import ContainerState
from staxad.model.records import Deployment, Service, Tenant
from staxad.model.volumes import Backup, Restore
from staxad.reconcile.plan import (
    NO_BACKOFF,
    PUBLISHING_UDP,
    Backoff,
    FailInterrupted,
    FailJob,
    ForgetBackoff,
    QueueDeployments,
    RecreateContainer,
    RedeployLive,
    RestartContainer,
    RetryAt,
    RunBackup,
    RunDeployment,
    RunRestore,
    SetServiceStatus,
    SetTenantStatus,
    StartContainer,
    StopContainer,
    Teardown,
    TenantView,
    plan,
    settled,
)

NOW = 1000.0


def service(name: str = "web", status: str = "running", **changes: Any) -> Service:
    s = Service(
        id=f"svc_{name}",
        tenant_id="ten_1",
        name=name,
        source_type="image",
        repo_url=None,
        branch="main",
        image_url="busybox",
        port=8080,
        is_primary=name == "web",
        is_routable=True,
        resource_size="small",
        priority=0,
        status=status,
        created_at="2026-01-01T00:00:00Z",
        updated_at="2026-01-01T00:00:00Z",
    )
    return dataclasses.replace(s, **changes)


def tenant(*services: Service, status: str = "ready", reason: str | None = None) -> Tenant:
    return Tenant(
        id="ten_1",
        provider_id="prv_1",
        name="acme",
        display_name=None,
        mode="live",
        status=status,
        status_reason=reason,
        branch="main",
        resource_size="small",
        egress_mode="open",
        generation=1,
        created_at="2026-01-01T00:00:00Z",
        updated_at="2026-01-01T00:00:00Z",
        services=services or (service(),),
    )


def deployment(id_: str, status: str, svc: str = "web", container: str | None = None, **changes: Any) -> Deployment:
    d = Deployment(
        id=id_,
        tenant_id="ten_1",
        service_id=f"svc_{svc}",
        service_name=svc,
        status=status,
        stage="ready" if status == "succeeded" else "queued",
        reason=None,
        branch=None,
        commit_sha=None,
        commit_message=None,
        framework=None,
        build_seconds=None,
        image_ref="busybox",
        container_name=container,
        host_port=None,
        rollback_from=None,
        created_at=f"2026-01-01T00:00:0{id_[-1]}Z",
        started_at=None,
        finished_at=None,
    )
    return dataclasses.replace(d, **changes)


STARTED = datetime(2026, 1, 1, 12, 0, 0, 500000, tzinfo=UTC)


def running(name: str, up: bool = True, status: str = "running", own_ids: bool = True) -> ContainerState:
    return ContainerState(
        id="c",
        name=name,
        running=up,
        status=status if up else "exited",
        host_port=40000,
        labels={"io.staxa.ids": "65536"} if own_ids else {},
        started_at=STARTED,
    )


LIVE = deployment("dep_1", "succeeded", container="c1")


def view(t: Tenant | None = None, **changes: Any) -> TenantView:
    base = TenantView(
        tenant=t or tenant(),
        live={"svc_web": LIVE},
        queued=(),
        active=(),
        latest={"svc_web": LIVE},
        containers={"c1": running("c1")},
        answers={"svc_web": True},
    )
    return dataclasses.replace(base, **changes)


def test_a_healthy_tenant_needs_nothing() -> None:
    actions = plan(view(), NOW)
    assert actions == [] and settled(actions)


def test_a_tenant_being_deleted_is_torn_down_whatever_else_is_pending() -> None:
    v = view(tenant(status="deleting"), queued=(deployment("dep_2", "queued"),))
    assert plan(v, NOW) == [Teardown()]


def test_interrupted_deployments_fail_and_services_without_a_live_version_are_queued_again() -> None:
    building = deployment("dep_2", "building", container=None)
    deploying = deployment("dep_3", "deploying", svc="api", container="c3")
    t = tenant(service(), service("api"), status="deploying")
    actions = plan(view(t, active=(building, deploying)), NOW)
    assert actions == [
        FailInterrupted(building, remove_container=False),  # nothing made yet
        FailInterrupted(deploying, remove_container=True),  # its container is not the live one
        QueueDeployments(("svc_api",), "recovering after a restart"),  # web still has its live version
    ]
    assert not settled(actions)


def test_an_interrupted_deployment_that_already_went_live_keeps_its_container() -> None:
    d = deployment("dep_1", "deploying", container="c1")
    assert plan(view(live={"svc_web": d}, active=(d,)), NOW) == [FailInterrupted(d, remove_container=False)]


def test_a_service_with_a_queued_deployment_is_not_queued_twice_on_recovery() -> None:
    q = deployment("dep_4", "queued")
    actions = plan(view(live={}, active=(deployment("dep_2", "building"),), queued=(q,)), NOW)
    assert not any(isinstance(a, QueueDeployments) for a in actions)


def test_the_oldest_queued_deployment_of_a_known_service_runs_one_at_a_time() -> None:
    gone = deployment("dep_2", "queued", svc="removed")
    first, second = deployment("dep_3", "queued"), deployment("dep_4", "queued")
    assert plan(view(queued=(gone, first, second)), NOW) == [RunDeployment(first)]


def test_a_queued_deployment_of_a_removed_service_does_not_block_the_pass() -> None:
    assert settled(plan(view(queued=(deployment("dep_2", "queued", svc="removed"),)), NOW))


@pytest.mark.parametrize(
    ("state", "backoff", "want"),
    [
        (None, NO_BACKOFF, [RecreateContainer(LIVE)]),
        (running("c1", up=False), NO_BACKOFF, [StartContainer(LIVE, "exited")]),
        (running("c1", up=False), Backoff(3, NOW + 8), [RetryAt(NOW + 8)]),
        (None, Backoff(1, NOW + 0.5), [RetryAt(NOW + 0.5)]),
        (running("c1", up=False), Backoff(3, NOW - 1), [StartContainer(LIVE, "exited")]),  # waited long enough
        (running("c1", up=False, own_ids=False), NO_BACKOFF, [RecreateContainer(LIVE)]),  # made before blocks
    ],
)
def test_live_containers_are_repaired_with_back_off(
    state: ContainerState | None, backoff: Backoff, want: list[object]
) -> None:
    actions = plan(view(containers={"c1": state}, backoff={"c1": backoff}), NOW)
    assert actions[: len(want)] == want


def test_a_repaired_container_seen_running_clears_its_back_off() -> None:
    assert plan(view(backoff={"c1": Backoff(2, NOW + 4)}), NOW) == [ForgetBackoff("c1")]


def test_back_off_doubles_up_to_five_minutes() -> None:
    b = NO_BACKOFF
    waits = []
    for _ in range(12):
        b = b.after_repair(NOW)
        waits.append(b.not_before - NOW)
    assert waits[:4] == [1.0, 2.0, 4.0, 8.0] and waits[-1] == 300.0


def test_while_a_repair_waits_the_statuses_say_so() -> None:
    v = view(containers={"c1": running("c1", up=False)}, backoff={"c1": Backoff(2, NOW + 4)})
    actions = plan(v, NOW)
    assert settled(actions)
    assert SetServiceStatus("svc_web", "stopped") in actions
    assert SetTenantStatus("failed", "the container of web is not running; staxad is starting it again") in actions


@pytest.mark.parametrize(
    ("changes", "service_status", "tenant_status"),
    [
        ({}, "running", ("ready", None)),
        ({"answers": {"svc_web": False}}, "unhealthy", ("failed", "web runs but does not answer on port 8080")),
        (
            {"live": {}, "latest": {"svc_web": deployment("dep_2", "failed", reason="the app did not answer")}},
            "failed",
            ("failed", "the app did not answer"),
        ),
        ({"live": {}, "latest": {}}, "pending", ("failed", "no deployment of web is live")),
    ],
)
def test_statuses_follow_what_was_seen(
    changes: dict[str, Any], service_status: str, tenant_status: tuple[str, str | None]
) -> None:
    t = tenant(service(status="?"), status="?")
    actions = plan(view(t, **changes), NOW)
    assert actions == [SetServiceStatus("svc_web", service_status), SetTenantStatus(*tenant_status)]


def test_statuses_already_right_are_not_written_again() -> None:
    t = tenant(service(status="unhealthy"), status="failed", reason="web runs but does not answer on port 8080")
    assert plan(view(t, answers={"svc_web": False}), NOW) == []


def test_an_unprobed_service_counts_as_answering() -> None:
    assert plan(view(answers={}), NOW) == []


def test_the_first_broken_service_gives_the_tenant_its_reason() -> None:
    api = deployment("dep_5", "succeeded", svc="api", container="c5")
    t = tenant(service(), service("api"))
    v = view(
        t,
        live={"svc_web": LIVE, "svc_api": api},
        latest={"svc_web": LIVE, "svc_api": api},
        containers={"c1": running("c1"), "c5": running("c5")},
        answers={"svc_web": True, "svc_api": False},
    )
    assert plan(v, NOW) == [
        SetServiceStatus("svc_api", "unhealthy"),
        SetTenantStatus("failed", "api runs but does not answer on port 8080"),
    ]


@pytest.mark.parametrize(
    ("current", "new", "allowed"),
    [
        ("queued", "building", True),
        ("building", "deploying", True),
        ("deploying", "succeeded", True),
        ("queued", "cancelled", True),
        ("queued", "succeeded", False),
        ("succeeded", "failed", False),
        ("failed", "queued", False),
        ("cancelled", "building", False),
    ],
)
def test_deployment_transitions(current: str, new: str, allowed: bool) -> None:
    assert lifecycle.may_become(current, new) is allowed


def stopped_by_request(**changes: Any) -> Tenant:
    return tenant(service(desired_state="stopped", **changes))


@pytest.mark.parametrize(
    ("state", "backoff", "want"),
    [
        (running("c1"), NO_BACKOFF, [StopContainer(LIVE)]),
        (running("c1", up=False), NO_BACKOFF, []),  # stays stopped: no repair
        (None, NO_BACKOFF, []),  # not recreated either
        (running("c1", up=False), Backoff(2, NOW + 4), [ForgetBackoff("c1")]),
    ],
)
def test_a_service_stopped_by_request_is_stopped_and_never_repaired(
    state: ContainerState | None, backoff: Backoff, want: list[object]
) -> None:
    actions = plan(view(stopped_by_request(), containers={"c1": state}, backoff={"c1": backoff}), NOW)
    assert [a for a in actions if not isinstance(a, SetServiceStatus | SetTenantStatus)] == want


def test_a_tenant_whose_every_service_was_stopped_is_stopped() -> None:
    actions = plan(view(stopped_by_request(), containers={"c1": running("c1", up=False)}), NOW)
    assert actions == [SetServiceStatus("svc_web", "stopped"), SetTenantStatus("stopped", "stopped by request")]


def test_a_service_stopped_by_request_does_not_make_its_tenant_fail() -> None:
    api = deployment("dep_5", "succeeded", svc="api", container="c5")
    t = tenant(service(), service("api", desired_state="stopped", status="stopped"))
    v = view(
        t,
        live={"svc_web": LIVE, "svc_api": api},
        latest={"svc_web": LIVE, "svc_api": api},
        containers={"c1": running("c1"), "c5": running("c5", up=False)},
    )
    assert plan(v, NOW) == []  # web ready, api stopped as asked: the tenant is ready


def test_a_stopped_service_without_a_live_version_is_not_redeployed_on_recovery() -> None:
    t = tenant(service(), service("api", desired_state="stopped"), status="deploying")
    actions = plan(view(t, active=(deployment("dep_2", "building", svc="api"),)), NOW)
    assert not any(isinstance(a, QueueDeployments) for a in actions)


@pytest.mark.parametrize(
    ("requested", "want"),
    [
        ("2026-01-01T12:00:01.000Z", [RestartContainer(LIVE)]),  # asked after it started
        ("2026-01-01T12:00:00.400Z", []),  # it started after the request: done
        (None, []),
    ],
)
def test_a_restart_happens_once_per_request(requested: str | None, want: list[object]) -> None:
    t = tenant(service(restart_requested_at=requested))
    assert plan(view(t), NOW) == want


def test_a_restart_request_for_a_container_that_is_down_is_a_start() -> None:
    t = tenant(service(restart_requested_at="2026-01-01T12:00:01.000Z"))
    actions = plan(view(t, containers={"c1": running("c1", up=False)}), NOW)
    assert actions[0] == StartContainer(LIVE, "exited")


UDP_PUBLISHED = dataclasses.replace(running("c1"), published={"8080/tcp": 40000, "8080/udp": 40001})
RULE_MADE = "2026-01-01T00:00:05Z"
REDEPLOY = [RedeployLive(LIVE, PUBLISHING_UDP, RULE_MADE)]


@pytest.mark.parametrize(
    ("udp_inbound", "udp_asked", "state", "want"),
    [
        ({"svc_web": RULE_MADE}, {}, running("c1"), REDEPLOY),
        ({"svc_web": RULE_MADE}, {}, UDP_PUBLISHED, []),  # deployed since the rule came
        ({}, {}, running("c1"), []),  # no UDP rule: TCP only
        # asked once for this rule: whether that deployment failed, was cancelled or is
        # live without the port, not again and again
        ({"svc_web": RULE_MADE}, {"svc_web": RULE_MADE}, running("c1"), []),
        ({"svc_web": RULE_MADE}, {"svc_web": "2026-01-01T00:00:01Z"}, running("c1"), REDEPLOY),  # a newer rule
        ({"svc_web": RULE_MADE}, {}, running("c1", up=False), [StartContainer(LIVE, "exited")]),  # running first
    ],
)
def test_an_inbound_udp_rule_redeploys_the_live_version_when_its_container_publishes_no_udp_port(
    udp_inbound: dict[str, str], udp_asked: dict[str, str], state: ContainerState, want: list[object]
) -> None:
    changes = {"udp_inbound": udp_inbound, "udp_asked": udp_asked, "containers": {"c1": state}}
    actions = [a for a in plan(view(**changes), NOW) if not isinstance(a, SetServiceStatus | SetTenantStatus)]
    assert actions == want


def test_a_stopped_service_with_a_udp_rule_is_not_redeployed() -> None:
    t = tenant(service(desired_state="stopped"))
    actions = plan(view(t, udp_inbound={"svc_web": RULE_MADE}), NOW)
    assert not any(isinstance(a, RedeployLive) for a in actions)


def job_backup(n: int, status: str = "queued") -> Backup:
    return Backup(f"bak_{n}", "ten_1", "vol_1", "manual", status, None, False, None, None, None, f"2026-01-0{n}", None)


def job_restore(n: int, status: str = "queued") -> Restore:
    return Restore(f"rst_{n}", "ten_1", "vol_1", "bak_1", status, None, f"2026-01-0{n}", None)


def test_deployments_go_before_restores_and_restores_before_backups() -> None:
    queued = deployment("dep_2", "queued")
    backups, restores = (job_backup(1), job_backup(2)), (job_restore(3),)
    assert plan(view(queued=(queued,), backups=backups, restores=restores), NOW) == [RunDeployment(queued)]
    assert plan(view(backups=backups, restores=restores), NOW) == [RunRestore(restores[0])]
    assert plan(view(backups=backups), NOW) == [RunBackup(backups[0])]


def test_jobs_found_running_were_interrupted_and_fail_first() -> None:
    running = job_backup(1, "running")
    restoring = job_restore(2, "running")
    actions = plan(view(backups=(running, job_backup(3)), restores=(restoring,)), NOW)
    assert actions == [FailJob(restoring), FailJob(running)]
