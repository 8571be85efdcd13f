"""Every event type staxad records, in one list. The webhook pattern check, the OpenAPI
enum of `events` and the store's append all read it, so no event is written that nobody
could subscribe to, and no subscription is accepted for one that is never sent.

A webhook body is the contract's planned format: `{"id", "event", "tenant_id", "data":
{"status", "url", ...}, "timestamp"}`. `data.status` is the tenant's status for a
`tenant.*` event (`deleted` for `tenant.deleted`) and the deployment's for a
`deployment.*` one, which also carries `deployment_id` and `service`.
"""

from __future__ import annotations

from staxad.model.lifecycle import TenantStatus

_JOBS = ("queued", "started", "succeeded", "failed")

EVENT_TYPES: tuple[str, ...] = (
    "tenant.created",
    "tenant.updated",
    *(f"tenant.{s}" for s in TenantStatus),  # each status change; tenant.deleting when a delete begins
    "tenant.deleted",
    "deployment.queued",
    "deployment.started",
    "deployment.stage",
    "deployment.succeeded",
    "deployment.failed",
    "deployment.cancelled",
    "service.stop_requested",
    "service.start_requested",
    "service.restart_requested",
    "service.stopped",
    "service.restarted",
    "service.removed",
    "container.restarted",
    "container.recreated",
    "domain.added",
    "domain.verified",
    "domain.verification_lost",
    "domain.expired",
    "domain.removed",
    "domain.deleted",
    "domain.ssl_active",
    "env.updated",
    "env.revealed",
    "network_rule.created",
    "network_rule.deleted",
    "network_rule.expired",
    "network_rule.failed",
    "network_rule.removed",  # the kernel no longer forwards for a deleted or expired rule
    "volume.created",
    "volume.deleted",
    "volume.step",
    "volume.over_limit",
    "volume.within_limit",
    *(f"backup.{s}" for s in _JOBS),
    "backup.pruned",
    *(f"restore.{s}" for s in _JOBS),
    "database.created",
    "database.deleted",
    "exec.run",  # who ran what in which service; never the output
    "webhook.disabled",
)
# The six the contract plans webhooks for.
CONTRACT_EVENTS = (
    "tenant.ready",
    "tenant.failed",
    "tenant.deleted",
    "deployment.started",
    "deployment.succeeded",
    "deployment.failed",
)
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(t.split(".", 1)[0] for t in EVENT_TYPES))
# What a webhook may subscribe to: everything, a whole group, or one event.
PATTERNS: tuple[str, ...] = ("*", *(f"{g}.*" for g in GROUPS), *dict.fromkeys(EVENT_TYPES))
_PATTERNS = frozenset(PATTERNS)
_TYPES = frozenset(EVENT_TYPES)


def known(event_type: str) -> bool:
    return event_type in _TYPES


def pattern(value: str) -> str:
    """`value` when a webhook may subscribe to it; ValueError saying what may be."""
    if value not in _PATTERNS:
        raise ValueError(
            f"'{value[:60]}' is not an event staxad sends; use '*', '<group>.*' with a group of"
            f" {', '.join(GROUPS)}, or one event (see GET /api/v1/openapi.json)"
        )
    return value


def matches(patterns: tuple[str, ...] | list[str], event_type: str) -> bool:
    group = event_type.split(".", 1)[0]
    return any(p in ("*", event_type, f"{group}.*") for p in patterns)
