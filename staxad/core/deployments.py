"""Deployments as the user sees them: queue, list, read. Running them is the
reconciler's job (staxad.reconcile.pipeline); a queued deployment survives a restart.

A newer request supersedes a queued, not yet started one of the same service.
"""

from __future__ import annotations

from staxad.core.context import Context
from staxad.model import validation
from staxad.model.clock import new_id
from staxad.model.errors import Conflict, NotFound, Unprocessable
from staxad.model.lifecycle import ACTIVE, CANCELLED, DEPLOYABLE, TERMINAL, DeploymentStatus, DesiredState, TenantStatus
from staxad.model.records import Deployment, Principal, Service, Tenant
from staxad.store import deployments as store
from staxad.store import events
from staxad.store import images as image_store
from staxad.store import tenants as tenant_store
from staxad.store.db import Transaction


class Deployments:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def queue(
        self,
        tx: Transaction,
        tenant: Tenant,
        services: list[Service],
        why: str,
        *,
        branch: str | None = None,
        commit: str | None = None,
        rollback: Deployment | None = None,
    ) -> list[Deployment]:
        now = self.ctx.now()
        queued = []
        for service in sorted(services, key=lambda s: s.priority):
            await store.supersede_queued(tx, service.id, now)
            if service.desired_state == DesiredState.STOPPED:  # deploying a stopped service starts it
                await tenant_store.update_service(tx, service.id, now, desired_state=DesiredState.RUNNING)
            deployment = Deployment(
                id=new_id("dep"),
                tenant_id=tenant.id,
                service_id=service.id,
                service_name=service.name,
                status=DeploymentStatus.QUEUED,
                stage="provision",
                reason=None,
                branch=(rollback.branch if rollback else branch or service.branch) if service.repo_url else None,
                commit_sha=rollback.commit_sha if rollback else commit,
                commit_message=rollback.commit_message if rollback else None,
                framework=rollback.framework if rollback else None,
                build_seconds=None,
                image_ref=rollback.image_ref if rollback else service.image_url,
                container_name=None,
                host_port=None,
                rollback_from=rollback.id if rollback else None,
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
                self.ctx.clock.now(),
                stage="provision",
                deployment_id=deployment.id,
                service_name=service.name,
            )
            queued.append(deployment)
        settled = (TenantStatus.READY, TenantStatus.FAILED, TenantStatus.STOPPED)
        await tenant_store.set_status(tx, tenant.id, now, TenantStatus.DEPLOYING, only_from=settled)
        return queued

    async def deploy(self, tenant: Tenant, services: list[Service], why: str) -> list[Deployment]:
        _require_deployable(tenant)
        async with self.ctx.db.transaction() as tx:
            queued = await self.queue(tx, tenant, services, why)
        self.ctx.changed(tenant.id)
        return queued

    async def create(self, tenant: Tenant, payload: object) -> Deployment:
        """Deploy the primary service, optionally at another branch or a pinned commit."""
        body = validation.Body(payload, ("branch", "commit_sha"))
        branch = body.check("branch", body.string("branch"), validation.branch_name)
        commit = body.check("commit_sha", body.string("commit_sha", max_len=40), validation.commit_sha)
        body.done()
        service = next(s for s in tenant.services if s.is_primary)
        if (branch or commit) and service.source_type != "github":
            raise Unprocessable(f"Service '{service.name}' deploys an image; branch and commit_sha need a git source.")
        _require_deployable(tenant)
        async with self.ctx.db.transaction() as tx:
            [queued] = await self.queue(tx, tenant, [service], "deployment requested", branch=branch, commit=commit)
        self.ctx.changed(tenant.id)
        return queued

    async def rollback(self, who: Principal, tenant: Tenant, deployment_id: str) -> Deployment:
        """A new deployment that runs the image an earlier one built, without rebuilding."""
        target = await self.get(who, tenant, deployment_id)
        if target.status != DeploymentStatus.SUCCEEDED or not target.image_ref:
            raise Unprocessable(
                f"Deployment '{target.id}' did not succeed; only a succeeded one can be rolled back to."
            )
        service = next((s for s in tenant.services if s.id == target.service_id), None)
        if service is None:
            raise Unprocessable(f"The service of deployment '{target.id}' no longer exists.")
        if service.source_type == "github" and not await image_store.known(self.ctx.db, tenant.id, target.image_ref):
            raise Unprocessable(
                f"The image of deployment '{target.id}' was pruned (only the newest "
                f"{self.ctx.settings.build.keep_images} are kept); deploy commit {target.commit_sha} instead."
            )
        _require_deployable(tenant)
        async with self.ctx.db.transaction() as tx:
            [queued] = await self.queue(tx, tenant, [service], f"rollback to {target.id}", rollback=target)
        self.ctx.changed(tenant.id)
        return queued

    async def cancel(self, who: Principal, tenant: Tenant, deployment_id: str) -> Deployment:
        """A queued deployment never runs; one under way is stopped and what it made so far
        (build, image, container) removed, while the version live before serves on."""
        d = await self.get(who, tenant, deployment_id)
        if d.status in TERMINAL:
            raise Conflict(f"Deployment '{d.id}' is already {d.status}; there is nothing to cancel.")
        # A queued one is cancelled here; one that started meanwhile is stopped by the pass
        # running it, which cleans up; when no pass runs it (the runtime is off) nothing
        # was made on the host.
        if not await self._cancel_where(
            d, (DeploymentStatus.QUEUED,), "Deployment cancelled before it started"
        ) and not await self.ctx.cancel_running(d.id):
            await self._cancel_where(d, ACTIVE, "Deployment cancelled")
        self.ctx.changed(tenant.id)
        return await self.get(who, tenant, deployment_id)

    async def _cancel_where(self, d: Deployment, statuses: tuple[str, ...], message: str) -> bool:
        async with self.ctx.db.transaction() as tx:
            cancelled = await store.update_if(
                tx,
                d.id,
                statuses,
                status=DeploymentStatus.CANCELLED,
                stage="error",
                reason=CANCELLED,
                finished_at=self.ctx.now(),
            )
            if cancelled:
                await events.append(
                    tx,
                    d.tenant_id,
                    "deployment.cancelled",
                    message,
                    self.ctx.clock.now(),
                    stage="error",
                    deployment_id=d.id,
                    service_name=d.service_name,
                )
        return cancelled

    def build_log(self, d: Deployment, offset: int = 0) -> bytes:
        """The deployment's build log from `offset` on; empty when nothing was built (yet)."""
        try:
            with self.ctx.settings.build_log(d.id).open("rb") as handle:
                handle.seek(offset)
                return handle.read()
        except FileNotFoundError:
            return b""

    async def page(
        self, tenant: Tenant, limit: int, offset: int, service: Service | None = None
    ) -> tuple[list[Deployment], int]:
        return await store.for_tenant(self.ctx.db, tenant.id, limit, offset, service.id if service else None)

    async def get(self, who: Principal, tenant: Tenant, deployment_id: str) -> Deployment:
        found = await store.get(self.ctx.db, tenant.id, deployment_id)
        if found is None:
            raise NotFound(f"Deployment '{deployment_id[:64]}' not found.")
        return found


def _require_deployable(tenant: Tenant) -> None:
    if tenant.status not in DEPLOYABLE:
        raise Unprocessable(f"Tenant '{tenant.name}' is {tenant.status} and cannot be deployed.")
