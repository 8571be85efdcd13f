"""Status transitions of deployments, services and tenants: the one place that decides them.

A deployment goes queued -> building -> deploying -> succeeded, or to failed or
cancelled from any state before that; a terminal deployment never changes again.

A service's status is what the store and the host say about it now:
pending: nothing was deployed yet. deploying: a deployment is queued or under way.
running: the live container runs and answers. unhealthy: it runs but does not answer
(a hung app). stopped: it exists but does not run (it exited, or was stopped by hand;
the reconciler starts it again). failed: nothing is live and the newest deployment
failed.

A tenant is deploying while any of its services is, ready when every service is live,
running and answering, and failed otherwise, with the first broken service's reason.
A service stopped by request (desired state `stopped`) is left out of that: it is
`stopped`, and a tenant whose every service was stopped by request is `stopped` too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum


class DeploymentStatus(StrEnum):
    QUEUED = "queued"
    BUILDING = "building"
    DEPLOYING = "deploying"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class TenantStatus(StrEnum):
    PROVISIONING = "provisioning"
    DEPLOYING = "deploying"
    READY = "ready"
    FAILED = "failed"
    STOPPED = "stopped"
    DELETING = "deleting"


class ServiceStatus(StrEnum):
    PENDING = "pending"
    DEPLOYING = "deploying"
    RUNNING = "running"
    UNHEALTHY = "unhealthy"
    STOPPED = "stopped"
    FAILED = "failed"


class DesiredState(StrEnum):
    """What the team asked a service to be; the reconciler makes the container match."""

    RUNNING = "running"
    STOPPED = "stopped"


CANCELLED = "cancelled by request"  # a cancelled deployment's reason
ACTIVE = (DeploymentStatus.BUILDING, DeploymentStatus.DEPLOYING)  # a deployment under way
TERMINAL = (DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED, DeploymentStatus.CANCELLED)
# A tenant takes new deployments in these; not while it is being deleted.
DEPLOYABLE = (
    TenantStatus.PROVISIONING,
    TenantStatus.DEPLOYING,
    TenantStatus.READY,
    TenantStatus.FAILED,
    TenantStatus.STOPPED,
)

_NEXT = {
    DeploymentStatus.QUEUED: {DeploymentStatus.BUILDING, DeploymentStatus.FAILED, DeploymentStatus.CANCELLED},
    DeploymentStatus.BUILDING: {DeploymentStatus.DEPLOYING, DeploymentStatus.FAILED, DeploymentStatus.CANCELLED},
    DeploymentStatus.DEPLOYING: {DeploymentStatus.SUCCEEDED, DeploymentStatus.FAILED, DeploymentStatus.CANCELLED},
}


def may_become(current: str, new: str) -> bool:
    """Whether a deployment in `current` may move to `new`."""
    return new in _NEXT.get(DeploymentStatus(current), set())


@dataclass(frozen=True)
class Health:
    """What is known of one service at the end of a pass."""

    deploying: bool  # a deployment of it is queued or under way
    live: bool  # it has a live deployment
    running: bool  # the live container runs
    answers: bool  # the live container answered its probe
    last_failed: bool  # its newest deployment failed
    failure: str | None = None  # that deployment's reason
    wanted: bool = True  # its desired state is running


def service_status(h: Health) -> ServiceStatus:
    if h.deploying:
        return ServiceStatus.DEPLOYING
    if not h.wanted:
        return ServiceStatus.STOPPED
    if h.live:
        if not h.running:
            return ServiceStatus.STOPPED
        return ServiceStatus.RUNNING if h.answers else ServiceStatus.UNHEALTHY
    return ServiceStatus.FAILED if h.last_failed else ServiceStatus.PENDING


def tenant_status(services: Sequence[tuple[str, int, Health]]) -> tuple[TenantStatus, str | None]:
    """The tenant's (status, reason) from its services' (name, port, health)."""
    if any(h.deploying for _, _, h in services):
        return TenantStatus.DEPLOYING, None
    wanted = [(name, port, h) for name, port, h in services if h.wanted]
    if services and not wanted:
        return TenantStatus.STOPPED, "stopped by request"
    for name, port, h in wanted:
        if not h.live:
            return TenantStatus.FAILED, h.failure or f"no deployment of {name} is live"
        if not h.running:
            return TenantStatus.FAILED, f"the container of {name} is not running; staxad is starting it again"
        if not h.answers:
            return TenantStatus.FAILED, f"{name} runs but does not answer on port {port}"
    return TenantStatus.READY, None
