"""Deployments as the user sees them: queue, list, read. Running them is the
reconciler's job (staxad.reconcile.pipeline); a queued deployment survives a restart.

A newer request supersedes a queued, not yet started one of the same service.
"""

from __future__ import annotations

from staxad.core.context import Context
from staxad.model.clock import new_id
from staxad.model.errors import NotFound, Unprocessable
from staxad.model.records import Principal, Service, Tenant
from staxad.store import deployments as store
from staxad.store import events
from staxad.store import tenants as tenant_store
from staxad.store.db import Transaction
from staxad.store.deployments import Deployment

DEPLOYABLE = ("provisioning", "deploying", "ready", "failed")


class Deployments:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def queue(self, tx: Transaction, tenant: Tenant, services: list[Service], why: str) -> list[Deployment]:
        now = self.ctx.now()
        queued = []
        for service in sorted(services, key=lambda s: s.priority):
            await tx.execute(
                "UPDATE deployments SET status = 'cancelled', reason = 'superseded by a newer deployment',"
                " finished_at = ? WHERE service_id = ? AND status = 'queued'",
                (now, service.id),
            )
            deployment = Deployment(
                id=new_id("dep"),
                tenant_id=tenant.id,
                service_id=service.id,
                service_name=service.name,
                status="queued",
                stage="provision",
                reason=None,
                branch=service.branch if service.repo_url else None,
                commit_sha=None,
                image_ref=service.image_url,
                container_name=None,
                host_port=None,
                rollback_from=None,
                created_at=now,
                started_at=None,
                finished_at=None,
            )
            await store.insert(tx, deployment)
            await events.append(
                tx,
                tenant.id,
                "deployment.queued",
                f"{why}: deploying service {service.name}",
                now,
                stage="provision",
                deployment_id=deployment.id,
                service_name=service.name,
            )
            queued.append(deployment)
        if tenant.status in ("ready", "failed"):
            await tenant_store.update(tx, tenant.id, now, status="deploying", status_reason=None)
        return queued

    async def deploy(self, tenant: Tenant, services: list[Service], why: str) -> list[Deployment]:
        if tenant.status not in DEPLOYABLE:
            raise Unprocessable(f"Tenant '{tenant.name}' is {tenant.status} and cannot be deployed.")
        async with self.ctx.db.transaction() as tx:
            queued = await self.queue(tx, tenant, services, why)
        self.ctx.changed(tenant.id)
        return queued

    async def page(
        self, tenant: Tenant, limit: int, offset: int, service: Service | None = None
    ) -> tuple[list[Deployment], int]:
        return await store.for_tenant(self.ctx.db, tenant.id, limit, offset, service.id if service else None)

    async def get(self, who: Principal, tenant: Tenant, deployment_id: str) -> Deployment:
        found = await store.get(self.ctx.db, tenant.id, deployment_id)
        if found is None:
            raise NotFound(f"Deployment '{deployment_id[:64]}' not found.")
        return found
