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
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

DEPLOYMENT_QUEUED = "queued"
DEPLOYMENT_BUILDING = "building"
DEPLOYMENT_DEPLOYING = "deploying"
DEPLOYMENT_SUCCEEDED = "succeeded"
DEPLOYMENT_FAILED = "failed"
DEPLOYMENT_CANCELLED = "cancelled"
DEPLOYMENT_ACTIVE = (DEPLOYMENT_BUILDING, DEPLOYMENT_DEPLOYING)
DEPLOYMENT_TERMINAL = (DEPLOYMENT_SUCCEEDED, DEPLOYMENT_FAILED, DEPLOYMENT_CANCELLED)

_NEXT = {
    DEPLOYMENT_QUEUED: {DEPLOYMENT_BUILDING, DEPLOYMENT_FAILED, DEPLOYMENT_CANCELLED},
    DEPLOYMENT_BUILDING: {DEPLOYMENT_DEPLOYING, DEPLOYMENT_FAILED, DEPLOYMENT_CANCELLED},
    DEPLOYMENT_DEPLOYING: {DEPLOYMENT_SUCCEEDED, DEPLOYMENT_FAILED, DEPLOYMENT_CANCELLED},
}

TENANT_PROVISIONING = "provisioning"
TENANT_DEPLOYING = "deploying"
TENANT_READY = "ready"
TENANT_FAILED = "failed"
TENANT_DELETING = "deleting"

SERVICE_PENDING = "pending"
SERVICE_DEPLOYING = "deploying"
SERVICE_RUNNING = "running"
SERVICE_UNHEALTHY = "unhealthy"
SERVICE_STOPPED = "stopped"
SERVICE_FAILED = "failed"


def may_become(current: str, new: str) -> bool:
    """Whether a deployment in `current` may move to `new`."""
    return new in _NEXT.get(current, set())


@dataclass(frozen=True)
class Health:
    """What is known of one service at the end of a pass."""

    deploying: bool  # a deployment of it is queued or under way
    live: bool  # it has a live deployment
    running: bool  # the live container runs
    answers: bool  # the live container answered its probe
    last_failed: bool  # its newest deployment failed
    failure: str | None = None  # that deployment's reason


def service_status(h: Health) -> str:
    if h.deploying:
        return SERVICE_DEPLOYING
    if h.live:
        if not h.running:
            return SERVICE_STOPPED
        return SERVICE_RUNNING if h.answers else SERVICE_UNHEALTHY
    return SERVICE_FAILED if h.last_failed else SERVICE_PENDING


def tenant_status(services: Sequence[tuple[str, int, Health]]) -> tuple[str, str | None]:
    """The tenant's (status, reason) from its services' (name, port, health)."""
    if any(h.deploying for _, _, h in services):
        return TENANT_DEPLOYING, None
    for name, port, h in services:
        if not h.live:
            return TENANT_FAILED, h.failure or f"no deployment of {name} is live"
        if not h.running:
            return TENANT_FAILED, f"the container of {name} is not running; staxad is starting it again"
        if not h.answers:
            return TENANT_FAILED, f"{name} runs but does not answer on port {port}"
    return TENANT_READY, None
