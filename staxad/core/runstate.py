"""Stop, start and restart services, one or all of a tenant's.

Only the desired state is written here (`services.desired_state`, and the time of a
restart request); the reconciler makes the containers match, so a stopped service stays
stopped through repairs and daemon restarts, and a restart asked for just before a crash
still happens after it.
"""

from __future__ import annotations

from enum import StrEnum

from staxad.core.context import Context
from staxad.model.clock import iso_ms
from staxad.model.errors import Unprocessable
from staxad.model.lifecycle import DEPLOYABLE, DesiredState
from staxad.model.records import Service, Tenant
from staxad.store import events
from staxad.store import tenants as tenant_store


class Request(StrEnum):
    STOP = "stop"
    START = "start"
    RESTART = "restart"


_MESSAGE = {
    Request.STOP: "Stopping {name} as requested",
    Request.START: "Starting {name} as requested",
    Request.RESTART: "Restarting {name} as requested",
}


class RunState:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def request(self, tenant: Tenant, services: list[Service], request: Request) -> None:
        """Record what the services should do; the tenant's next pass does it. Asking for
        the state a service is already in changes nothing (a start of a running service),
        except a restart, which always restarts."""
        if tenant.status not in DEPLOYABLE:
            raise Unprocessable(f"Tenant '{tenant.name}' is {tenant.status}; its services cannot be {request}ed.")
        now = self.ctx.now()
        async with self.ctx.db.transaction() as tx:
            for service in services:
                changes: dict[str, str] = {}
                if request == Request.STOP:
                    changes["desired_state"] = DesiredState.STOPPED
                else:
                    changes["desired_state"] = DesiredState.RUNNING
                if request == Request.RESTART:
                    changes["restart_requested_at"] = iso_ms(self.ctx.clock.now())
                await tenant_store.update_service(tx, service.id, now, **changes)
                await events.append(
                    tx,
                    tenant.id,
                    f"service.{request}_requested",
                    _MESSAGE[request].format(name=service.name),
                    self.ctx.clock.now(),
                    service_name=service.name,
                )
        self.ctx.changed(tenant.id)
