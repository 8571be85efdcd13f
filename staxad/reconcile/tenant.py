"""One reconcile pass for one tenant: observe -> plan -> apply, until the plan settles.

What to do is decided by the pure `staxad.reconcile.plan`; this module only reads the
store and the host into a `TenantView` and carries out the actions. Every action is safe
to repeat after a crash at any point, so a pass can always start from scratch. The
shared host state (Caddy's routes, the firewall) is synced once the tenant settles,
through coalesced syncers: a hundred passes ending together make one or two syncs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from staxad.adapters import probe
from staxad.adapters.podman import Podman
from staxad.core.platform import Platform
from staxad.model import lifecycle, names
from staxad.model.containers import ContainerState
from staxad.model.errors import PermanentError, TemporaryError
from staxad.model.lifecycle import DeploymentStatus, TenantStatus
from staxad.model.records import Deployment, Tenant
from staxad.reconcile import snapshot
from staxad.reconcile.certificates import Certificates
from staxad.reconcile.pipeline import DeployPipeline
from staxad.reconcile.plan import (
    NO_BACKOFF,
    Action,
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
from staxad.reconcile.volumejobs import VolumeJobs
from staxad.store import deployments as deployment_store
from staxad.store import domains as domain_store
from staxad.store import events
from staxad.store import host as host_store
from staxad.store import images as image_store
from staxad.store import netrules as rule_store
from staxad.store import tenants as tenant_store
from staxad.store import volumes as volume_store

log = logging.getLogger("staxad.reconcile")

Sync = Callable[[], Awaitable[None]]
MAX_STEPS = 50  # plans per pass; a tenant with more to do is kicked again
CANCEL_WAIT_SECONDS = 60.0  # a cancelled build's steps are killed and its container removed within this
UNANSWERED_LIMIT = 2  # probes in a row a live service may miss before it counts as not answering


async def _nothing() -> None:
    return None


class TenantReconciler:
    def __init__(
        self,
        platform: Platform,
        podman: Podman | None,
        routes: Sync | None = None,
        firewall: Sync | None = None,
        egress_ready: Sync | None = None,
    ) -> None:
        self.platform = platform
        self.podman = podman
        self.routes = routes or _nothing
        self.firewall = firewall or _nothing
        self.clock = platform.ctx.clock
        self.pipeline = DeployPipeline(platform, podman, self.routes, egress_ready or _nothing) if podman else None
        self.certificates = Certificates(platform)
        self._backoff: dict[str, Backoff] = {}  # container -> repairs that did not keep it running
        self._unanswered: dict[str, int] = {}  # container -> health probes missed in a row
        self._running: dict[str, asyncio.Task[ContainerState | None]] = {}  # deployment id -> its pipeline run
        # tenant id -> the container its pass's last deployment made live, seen running and
        # answering: the pass's next look takes it instead of asking podman and probing
        # again (6 ms before a new tenant says ready). Only within that pass.
        self._went_live: dict[str, dict[str, ContainerState]] = {}
        self._udp_asked: dict[str, str] = {}  # service id -> the UDP rule time a redeploy was asked for

    @property
    def db(self):  # type: ignore[no-untyped-def]
        return self.platform.ctx.db

    async def all_ids(self) -> list[str]:
        return await host_store.tenant_ids(self.db)

    async def reconcile(self, tenant_id: str) -> None:
        try:
            await self._reconcile(tenant_id)
        finally:
            self._went_live.pop(tenant_id, None)

    async def _reconcile(self, tenant_id: str) -> None:
        view: TenantView | None = None
        for _ in range(MAX_STEPS):
            view = await self.observe(tenant_id)
            if view is None:
                return
            actions = plan(view, self.clock.monotonic())
            if self.podman is None:  # runtime off: only the store side of a delete
                actions = [a for a in actions if isinstance(a, Teardown)]
            await self.apply(view, actions)
            if settled(actions) or any(isinstance(a, Teardown) for a in actions):
                break
        else:
            self.platform.ctx.changed(tenant_id)  # more to do than one pass takes: go on in the next
        if view is None or view.tenant.status == TenantStatus.DELETING or self.podman is None:
            return
        await self.routes()
        await self.firewall()
        self.certificates.check_tenant(tenant_id, await domain_store.for_tenant(self.db, tenant_id))

    async def observe(self, tenant_id: str) -> TenantView | None:
        tenant = await tenant_store.get_any(self.db, tenant_id)
        if tenant is None:
            return None
        if tenant.status == TenantStatus.DELETING or self.podman is None:
            return TenantView(tenant, {}, (), (), {}, {})
        live = await deployment_store.live_for(self.db, tenant.id)
        pending = await deployment_store.with_status(self.db, tenant.id, (DeploymentStatus.QUEUED, *lifecycle.ACTIVE))
        queued = tuple(d for d in pending if d.status == DeploymentStatus.QUEUED)
        active = tuple(d for d in pending if d.status != DeploymentStatus.QUEUED)
        containers: dict[str, ContainerState | None] = {}
        verified = set()
        fresh = self._went_live.pop(tenant_id, {})
        for d in live.values():
            if not d.container_name:
                continue
            state = fresh.pop(d.container_name, None)
            if state is not None:
                verified.add(d.container_name)
            else:
                state = await self.podman.inspect(d.container_name)
            containers[d.container_name] = state
        answers = {} if pending else await self._probe(tenant, live, containers, verified)
        backups, restores = await volume_store.pending_jobs(self.db, tenant.id)
        udp_targets = await rule_store.udp_targets(self.db, tenant.id)
        return TenantView(
            tenant,
            live,
            queued,
            active,
            await deployment_store.latest_per_service(self.db, tenant.id),
            containers,
            answers,
            {name: self._backoff[name] for name in containers if name in self._backoff},
            backups,
            restores,
            udp_targets,
            {s.id: self._udp_asked[s.id] for s in tenant.services if s.id in self._udp_asked},
        )

    async def _probe(
        self,
        tenant: Tenant,
        live: dict[str, Deployment],
        containers: dict[str, ContainerState | None],
        verified: set[str],
    ) -> dict[str, bool]:
        """Whether each running live service answers, as the deploy's health check asked it;
        one missed probe is forgiven (a busy app), `UNANSWERED_LIMIT` in a row are not. One
        its deployment just saw answer is not asked again."""
        answers = {}
        for service in tenant.services:
            d = live.get(service.id)
            state = containers.get(d.container_name) if d and d.container_name else None
            if d is None or d.container_name is None or state is None or not state.running or not state.host_port:
                continue
            if d.container_name in verified:
                self._unanswered.pop(d.container_name, None)
                answers[service.id] = True
                continue
            check = probe.http_answers if service.is_routable else probe.tcp_stays_open
            if await check(state.host_port):
                self._unanswered.pop(d.container_name, None)
            else:
                self._unanswered[d.container_name] = self._unanswered.get(d.container_name, 0) + 1
            answers[service.id] = self._unanswered.get(d.container_name, 0) < UNANSWERED_LIMIT
        return answers

    async def apply(self, view: TenantView, actions: list[Action]) -> None:
        statuses: list[SetServiceStatus | SetTenantStatus] = []
        for action in actions:
            match action:
                case Teardown():
                    await self._teardown(view.tenant)
                case FailInterrupted():
                    await self._fail_interrupted(action)
                case QueueDeployments(service_ids, reason):
                    services = [s for s in view.tenant.services if s.id in service_ids]
                    async with self.db.transaction() as tx:
                        await self.platform.deployments.queue(tx, view.tenant, services, reason)
                case RedeployLive(d, reason, rule_made):
                    services = [s for s in view.tenant.services if s.id == d.service_id]
                    async with self.db.transaction() as tx:
                        await self.platform.deployments.queue(tx, view.tenant, services, reason, rollback=d)
                    self._udp_asked[d.service_id] = rule_made
                case RunDeployment(d):
                    await self._run(view, d)
                case FailJob(job):
                    await self._jobs().fail_interrupted(view.tenant, job)
                case RunBackup(job):
                    await self._jobs().backup(view.tenant, job)
                case RunRestore(job):
                    await self._jobs().restore(view.tenant, job)
                case StartContainer() | RecreateContainer():
                    await self._repair(view.tenant, action)
                case StopContainer(d):
                    await self._stop(view.tenant, d)
                case RestartContainer(d):
                    await self._restart(view.tenant, d)
                case ForgetBackoff(container):
                    self._backoff.pop(container, None)
                case RetryAt(when):
                    delay = max(0.0, when - self.clock.monotonic())
                    asyncio.get_running_loop().call_later(delay, self.platform.ctx.changed, view.tenant.id)
                case SetServiceStatus() | SetTenantStatus():
                    statuses.append(action)
        if statuses:
            await self._write_statuses(view.tenant, statuses)

    def _jobs(self) -> VolumeJobs:
        assert self.pipeline is not None
        return self.pipeline.jobs

    async def _run(self, view: TenantView, d: Deployment) -> None:
        """In a task of its own, so a cancel request can stop this deployment alone."""
        assert self.pipeline is not None
        service = next(s for s in view.tenant.services if s.id == d.service_id)
        task = asyncio.create_task(self.pipeline.run(view.tenant, service, d, view.live.get(service.id)))
        self._running[d.id] = task
        try:
            started = await task
        finally:
            self._running.pop(d.id, None)
        if started is not None:
            self._went_live[view.tenant.id] = {started.name: started}

    async def cancel(self, deployment_id: str) -> bool:
        """Stop a deployment under way and wait until what it made is removed; False when
        no pass runs it."""
        task = self._running.get(deployment_id)
        if task is None or self.pipeline is None:
            return False
        self.pipeline.cancelling.add(deployment_id)
        task.cancel()
        await asyncio.wait({task}, timeout=CANCEL_WAIT_SECONDS)
        return True

    async def _fail_interrupted(self, action: FailInterrupted) -> None:
        d = action.deployment
        if action.remove_container and d.container_name:
            assert self.podman is not None
            await self.podman.remove(d.container_name)
        async with self.db.transaction() as tx:
            await deployment_store.update(
                tx,
                d.id,
                status=DeploymentStatus.FAILED,
                stage="error",
                reason="interrupted by a daemon restart",
                finished_at=self.platform.ctx.now(),
            )
            await events.append(
                tx,
                d.tenant_id,
                "deployment.failed",
                "Deployment interrupted by a daemon restart",
                self.clock.now(),
                stage="error",
                deployment_id=d.id,
                service_name=d.service_name,
            )

    async def _repair(self, tenant: Tenant, action: StartContainer | RecreateContainer) -> None:
        """Start a live container that stopped, or recreate one that was removed; either
        way the next repair of it waits longer, until it is seen running again."""
        assert self.podman is not None and self.pipeline is not None
        d = action.deployment
        assert d.container_name
        self._backoff[d.container_name] = self._backoff.get(d.container_name, NO_BACKOFF).after_repair(
            self.clock.monotonic()
        )
        await self.pipeline.before_start(tenant)
        if isinstance(action, RecreateContainer):
            await self._recreate(tenant, d)
            return
        await self.podman.start(d.container_name)
        await self._event(
            tenant.id,
            "container.restarted",
            f"Container of {d.service_name} had stopped ({action.was}); started it again",
            d.service_name,
        )

    async def _stop(self, tenant: Tenant, d: Deployment) -> None:
        assert self.podman is not None and d.container_name
        await self.podman.stop(d.container_name)
        self._unanswered.pop(d.container_name, None)
        await self._event(tenant.id, "service.stopped", f"Stopped {d.service_name} as requested", d.service_name)

    async def _restart(self, tenant: Tenant, d: Deployment) -> None:
        assert self.podman is not None and self.pipeline is not None and d.container_name
        await self.pipeline.before_start(tenant)
        await self.podman.restart(d.container_name)
        self._unanswered.pop(d.container_name, None)
        await self._event(tenant.id, "service.restarted", f"Restarted {d.service_name} as requested", d.service_name)

    async def _recreate(self, tenant: Tenant, d: Deployment) -> None:
        assert self.podman is not None and self.pipeline is not None and d.container_name and d.image_ref
        service = next(s for s in tenant.services if s.id == d.service_id)
        # The service's volumes exist again first (with their labels): one removed behind
        # staxad's back comes back empty rather than the container not starting.
        await self.pipeline.jobs.mounts(tenant, service.id)
        await self.podman.remove(d.container_name)  # a stopped one made before tenants had blocks of ids
        sealed = await deployment_store.sealed_spec(self.db, d.id)
        if sealed is None:  # snapshot.seal_missing sealed every older one at start
            raise PermanentError(f"deployment {d.id} has no sealed spec to recreate its container from")
        spec = snapshot.unseal(self.platform.ctx.box, sealed)  # what was deployed, not what is stored now
        await self.pipeline.ensure_network(tenant)
        started = await self.podman.run(spec)
        async with self.db.transaction() as tx:
            await deployment_store.update(tx, d.id, host_port=started.host_port)
        await self._event(
            tenant.id, "container.recreated", f"Container of {service.name} was missing; recreated it", service.name
        )

    async def _write_statuses(self, tenant: Tenant, statuses: list[SetServiceStatus | SetTenantStatus]) -> None:
        now = self.platform.ctx.now()
        async with self.db.transaction() as tx:
            for change in statuses:
                if isinstance(change, SetServiceStatus):
                    await tenant_store.update_service(tx, change.service_id, now, status=change.status)
                    continue
                status, reason = change.status, change.reason
                if not await tenant_store.set_status(tx, tenant.id, now, status, reason):
                    continue  # deleted meanwhile: the next pass tears it down
                await events.append(
                    tx,
                    tenant.id,
                    f"tenant.{status}",
                    f"Tenant is {status}" + (f": {reason}" if reason else ""),
                    self.clock.now(),
                    stage="ready" if status == TenantStatus.READY else None,
                )

    async def _event(self, tenant_id: str, type_: str, message: str, service: str | None = None) -> None:
        async with self.db.transaction() as tx:
            await events.append(tx, tenant_id, type_, message, self.clock.now(), service_name=service)

    async def _teardown(self, tenant: Tenant) -> None:
        if self.podman is not None:
            instance = self.platform.ctx.settings.instance
            for state in await self.podman.containers(instance):
                if state.labels.get(f"{names.LABEL}.tenant") == tenant.id:
                    await self.podman.remove(state.name)
                    self._backoff.pop(state.name, None)
                    self._unanswered.pop(state.name, None)
            for service in tenant.services:
                self._udp_asked.pop(service.id, None)
            try:
                await self.podman.remove_network(names.network(instance, tenant.name))
            except TemporaryError as exc:  # podman still releasing it; the periodic sweep retries
                log.warning("network of tenant %s not removed yet: %s", tenant.name, exc)
            for ref in await image_store.only_this_tenant_uses(self.db, tenant.id):
                await self.podman.remove_image(ref)
            await self._jobs().teardown(tenant)
        await self.platform.tenants.forget(tenant.id)
        if self.podman is not None:
            await self.routes()
            await self.firewall()
        log.info("tenant %s (%s) deleted", tenant.name, tenant.id)

    async def measure_volumes(self) -> None:
        if self.pipeline is not None:
            await self.pipeline.jobs.measure()

    async def sweep(self) -> None:
        """Remove containers, networks, build folders, volumes and backup archives of this
        instance that the store does not know."""
        if self.podman is None:
            return
        instance = self.platform.ctx.settings.instance
        known = await host_store.deployments_on_host(self.db)
        containers = await self.podman.containers(instance)
        present = {state.name for state in containers}
        self._backoff = {name: b for name, b in self._backoff.items() if name in present}
        self._unanswered = {name: n for name, n in self._unanswered.items() if name in present}
        for state in containers:
            if state.name == names.anchor(instance):
                continue  # no tenant's: the daemon keeps it
            if state.labels.get(f"{names.LABEL}.deployment") not in known:
                log.info("removing orphan container %s", state.name)
                await self.podman.remove(state.name)
        if self.pipeline is not None:
            building = await host_store.building(self.db)
            workspace = self.pipeline.builder.workspace
            for name in workspace.names():
                if name not in building:  # a build a crash interrupted
                    await workspace.remove(name)
        tenant_names = await host_store.tenant_names(self.db)
        for network in await self.podman.networks(instance):
            if network == names.anchor(instance):
                continue
            if network.removeprefix(names.network_prefix(instance)) not in tenant_names:
                await self.podman.remove_network(network)
        await self._jobs().sweep(set(await host_store.tenant_ids(self.db)))
