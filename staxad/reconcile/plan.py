"""What one tenant pass should do, decided from what was observed: a pure function.

`plan(view, now)` looks at one tenant as the store wants it and the host has it (a
`TenantView`) and returns the next actions. The pass (staxad.reconcile.tenant) applies
them, observes again and plans again until a plan is `settled`: only status changes and
retry timers are left. Each plan handles one concern, in this order:

1. a tenant being deleted is torn down;
2. deployments found `building` or `deploying` were interrupted (passes for one tenant
   never overlap, so none can be under way): they fail, and services left with nothing
   live get a fresh deployment;
   backups and restores found running were interrupted too: they fail;
3. the oldest queued deployment runs (one per plan: each one changes what is live), then
   the oldest queued restore, then the oldest queued backup;
4. a live container that stopped is started, one that was removed is recreated from its
   deployment's snapshot, each with capped exponential back-off per container; a service
   stopped by request has its container stopped instead, one whose restart was asked
   for after its container last started is restarted, and one an inbound UDP rule
   forwards to whose container publishes no UDP port has its live version deployed anew;
5. service and tenant statuses follow what was seen, a service that does not answer
   included.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from staxad.model import clock, lifecycle, names
from staxad.model.containers import ContainerState
from staxad.model.lifecycle import DeploymentStatus, DesiredState, TenantStatus
from staxad.model.records import Deployment, Service, Tenant
from staxad.model.volumes import Backup, JobStatus, Restore

MAX_BACKOFF_SECONDS = 300.0
INTERRUPTED = "interrupted by a daemon restart"
RECOVERING = "recovering after a restart"
PUBLISHING_UDP = "publishing its port over UDP for an inbound rule"


@dataclass(frozen=True)
class Backoff:
    """Repairs of one container that did not keep it running: how many in a row, and the
    monotonic time before which the next one must not start."""

    failures: int
    not_before: float

    def after_repair(self, now: float) -> Backoff:
        return Backoff(self.failures + 1, now + min(2.0**self.failures, MAX_BACKOFF_SECONDS))


NO_BACKOFF = Backoff(0, 0.0)


@dataclass(frozen=True)
class TenantView:
    """One tenant as observed at the start of a planning step."""

    tenant: Tenant
    live: Mapping[str, Deployment]  # service id -> its live deployment
    queued: Sequence[Deployment]  # oldest first
    active: Sequence[Deployment]  # building or deploying
    latest: Mapping[str, Deployment]  # service id -> its newest deployment
    containers: Mapping[str, ContainerState | None]  # container name -> state; None: it does not exist
    answers: Mapping[str, bool] = field(default_factory=dict)  # service id -> its live container answered
    backoff: Mapping[str, Backoff] = field(default_factory=dict)  # container name -> repairs so far
    backups: Sequence[Backup] = ()  # queued or running, oldest first
    restores: Sequence[Restore] = ()  # queued or running, oldest first
    udp_inbound: Mapping[str, str] = field(default_factory=dict)  # service id -> its newest inbound UDP rule's time
    udp_asked: Mapping[str, str] = field(default_factory=dict)  # service id -> the rule time a redeploy was asked for


@dataclass(frozen=True)
class Teardown:
    pass


@dataclass(frozen=True)
class FailInterrupted:
    deployment: Deployment
    remove_container: bool  # its container, if any, is not the live one


@dataclass(frozen=True)
class QueueDeployments:
    service_ids: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class RedeployLive:
    """Deploy what runs now again, in a new container beside it (its image, not a rebuild
    or a new pull): what a container publishes is fixed when it is made."""

    deployment: Deployment
    reason: str
    rule_made: str  # the newest UDP rule's time it is asked for, to ask only once


@dataclass(frozen=True)
class RunDeployment:
    deployment: Deployment


@dataclass(frozen=True)
class FailJob:
    """A backup or restore found running: the daemon stopped in the middle of it."""

    job: Backup | Restore


@dataclass(frozen=True)
class RunBackup:
    job: Backup


@dataclass(frozen=True)
class RunRestore:
    job: Restore


@dataclass(frozen=True)
class StartContainer:
    deployment: Deployment
    was: str  # the status podman reported


@dataclass(frozen=True)
class RecreateContainer:
    deployment: Deployment


@dataclass(frozen=True)
class StopContainer:
    """The service was stopped by request and its container still runs."""

    deployment: Deployment


@dataclass(frozen=True)
class RestartContainer:
    """A restart was asked for after the container last started."""

    deployment: Deployment


@dataclass(frozen=True)
class ForgetBackoff:
    container: str


@dataclass(frozen=True)
class RetryAt:
    """Look again at this monotonic time: a repair is waiting out its back-off."""

    when: float


@dataclass(frozen=True)
class SetServiceStatus:
    service_id: str
    status: str


@dataclass(frozen=True)
class SetTenantStatus:
    status: str
    reason: str | None


Action = (
    Teardown
    | FailInterrupted
    | QueueDeployments
    | RedeployLive
    | RunDeployment
    | FailJob
    | RunBackup
    | RunRestore
    | StartContainer
    | RecreateContainer
    | StopContainer
    | RestartContainer
    | ForgetBackoff
    | RetryAt
    | SetServiceStatus
    | SetTenantStatus
)
FINAL = (ForgetBackoff, RetryAt, SetServiceStatus, SetTenantStatus)


def settled(actions: Sequence[Action]) -> bool:
    """Nothing left that changes the host or the deployments: the pass can end."""
    return all(isinstance(a, FINAL) for a in actions)


def plan(view: TenantView, now: float) -> list[Action]:
    tenant = view.tenant
    if tenant.status == TenantStatus.DELETING:
        return [Teardown()]
    jobs: list[Backup | Restore] = [*view.restores, *view.backups]
    interrupted: list[Action] = [FailJob(job) for job in jobs if job.status == JobStatus.RUNNING]
    if view.active or interrupted:
        return (_recover(view) if view.active else []) + interrupted
    services = {s.id for s in tenant.services}
    runnable = [d for d in view.queued if d.service_id in services]
    if runnable:
        return [RunDeployment(runnable[0])]
    if view.restores:
        return [RunRestore(view.restores[0])]
    if view.backups:
        return [RunBackup(view.backups[0])]
    repairs = _repairs(view, now)
    if not settled(repairs):
        return repairs
    return repairs + _statuses(view)


def _recover(view: TenantView) -> list[Action]:
    live_ids = {d.id for d in view.live.values()}
    actions: list[Action] = [
        FailInterrupted(d, remove_container=bool(d.container_name) and d.id not in live_ids) for d in view.active
    ]
    queued = {d.service_id for d in view.queued}
    unserved = tuple(s.id for s in view.tenant.services if s.id not in view.live and s.id not in queued and _wanted(s))
    if unserved:
        actions.append(QueueDeployments(unserved, RECOVERING))
    return actions


def _repairs(view: TenantView, now: float) -> list[Action]:
    actions: list[Action] = []
    for service in view.tenant.services:
        d = view.live.get(service.id)
        if d is None or not d.container_name:
            continue
        state = view.containers.get(d.container_name)
        backoff = view.backoff.get(d.container_name, NO_BACKOFF)
        if not _wanted(service):
            if state is not None and state.running:
                actions.append(StopContainer(d))
            elif backoff != NO_BACKOFF:
                actions.append(ForgetBackoff(d.container_name))
        elif state is not None and state.running:
            if _restart_due(service, state):
                actions.append(RestartContainer(d))
            elif _needs_udp(view, service, state):
                actions.append(RedeployLive(d, PUBLISHING_UDP, view.udp_inbound[service.id]))
            elif backoff != NO_BACKOFF:
                actions.append(ForgetBackoff(d.container_name))
        elif backoff.not_before > now:
            actions.append(RetryAt(backoff.not_before))
        elif state is None or names.IDS_LABEL not in state.labels:
            # one made before tenants had blocks of ids is made again, not started with all of them
            actions.append(RecreateContainer(d))
        else:
            actions.append(StartContainer(d, state.status))
    return actions


def _wanted(service: Service) -> bool:
    return service.desired_state != DesiredState.STOPPED


def _needs_udp(view: TenantView, service: Service, state: ContainerState) -> bool:
    """An inbound UDP rule forwards to a container that publishes its port over TCP only,
    and this daemon has not yet asked for a deployment for that rule. Asked once, a
    deployment that failed or was cancelled is not tried again (the next deploy publishes
    the port, as every deployment does for the rules there are when its container starts).
    Times are to the second, so "made since the rule" could not tell apart a deployment
    and a rule of the same second."""
    rule_made = view.udp_inbound.get(service.id)
    if rule_made is None or any(key.endswith("/udp") for key in state.published):
        return False
    return view.udp_asked.get(service.id) != rule_made


def _restart_due(service: Service, state: ContainerState) -> bool:
    """A restart asked for after the container last started (both are host clock times)."""
    if service.restart_requested_at is None or state.started_at is None:
        return False
    return state.started_at < clock.parse_iso(service.restart_requested_at)


def _statuses(view: TenantView) -> list[Action]:
    tenant = view.tenant
    actions: list[Action] = []
    busy = {d.service_id for d in (*view.queued, *view.active)}
    health: dict[str, lifecycle.Health] = {}
    for service in tenant.services:
        d = view.live.get(service.id)
        state = view.containers.get(d.container_name) if d and d.container_name else None
        latest = view.latest.get(service.id)
        failed = latest is not None and latest.status == DeploymentStatus.FAILED
        health[service.id] = lifecycle.Health(
            deploying=service.id in busy,
            live=d is not None,
            running=state is not None and state.running,
            answers=view.answers.get(service.id, True),
            last_failed=failed,
            failure=latest.reason if latest is not None and failed else None,
            wanted=_wanted(service),
        )
        service_status = lifecycle.service_status(health[service.id])
        if service_status != service.status:
            actions.append(SetServiceStatus(service.id, service_status))
    status, reason = lifecycle.tenant_status([(s.name, s.port, health[s.id]) for s in tenant.services])
    if (status, reason) != (tenant.status, tenant.status_reason):
        actions.append(SetTenantStatus(status, reason))
    return actions
