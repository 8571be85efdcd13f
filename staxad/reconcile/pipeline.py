"""Running one deployment: provision -> build -> deploy -> route -> health -> ready.

The new container starts beside the old one; the route switches only once the new
one answers; the old one stops only after the route serves the new one. Any failure
removes what this attempt made and leaves the old version serving.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from staxad.adapters import probe, proc
from staxad.adapters.podman import Podman
from staxad.adapters.volumes import Volumes
from staxad.core.platform import Platform
from staxad.model import envvars, names
from staxad.model.containers import ContainerState
from staxad.model.errors import PermanentError
from staxad.model.lifecycle import CANCELLED, DeploymentStatus, ServiceStatus
from staxad.model.records import Deployment, Service, Tenant
from staxad.reconcile import snapshot
from staxad.reconcile.build import Builder
from staxad.reconcile.images import Images
from staxad.reconcile.volumejobs import VolumeJobs
from staxad.store import deployments as deployment_store
from staxad.store import env as env_store
from staxad.store import events
from staxad.store import images as image_store
from staxad.store import netrules as rule_store
from staxad.store import tenants as tenant_store

log = logging.getLogger("staxad.deploy")

# After the route switches, requests Caddy had already sent to the old container finish
# before it stops.
DRAIN_SECONDS = 1.0
TRANSIENT = "transient host error: "
TRANSIENT_RETRIES = 3


class DeployPipeline:
    def __init__(
        self,
        platform: Platform,
        podman: Podman,
        sync_routes: Callable[[], Awaitable[None]],
        egress_ready: Callable[[], Awaitable[None]],
    ) -> None:
        self.platform = platform
        self.podman = podman
        self.sync_routes = sync_routes
        self._egress_ready = egress_ready
        self.settings = platform.ctx.settings
        self.images = Images(platform, podman)
        self.builder = Builder(platform, podman, self.images)
        self.jobs = VolumeJobs(platform, podman, Volumes(self.settings.runtime.service_user))
        self._began: dict[str, float] = {}
        self._retiring: set[asyncio.Task[None]] = set()
        self.cancelling: set[str] = set()  # deployments a user cancelled while they ran

    async def _record(
        self, d: Deployment, stage: str, message: str, type_: str = "deployment.stage", **changes: Any
    ) -> None:
        ctx = self.platform.ctx
        now = ctx.clock.monotonic()
        log.info("deployment %s: %s (+%.0f ms)", d.id, stage, (now - self._began.get(d.id, now)) * 1000)
        async with ctx.db.transaction() as tx:
            await deployment_store.update(tx, d.id, stage=stage, **changes)
            await events.append(
                tx,
                d.tenant_id,
                type_,
                message,
                ctx.clock.now(),
                stage=stage,
                deployment_id=d.id,
                service_name=d.service_name,
            )

    async def run(
        self, tenant: Tenant, service: Service, d: Deployment, live: Deployment | None
    ) -> ContainerState | None:
        """The state of the container that went live, seen running and answering; None when
        none did."""
        container = names.container(self.settings.instance, tenant.name, service.name, d.id)
        certificate: asyncio.Task[bool] | None = None
        try:
            if not await self._begin(d, service):
                return None  # cancelled or superseded since the pass saw it queued
            if service.is_routable and live is None:
                # Caddy obtains a new name's certificate at its first handshake, which the
                # route check would wait for (seconds with a public CA): ask while it starts.
                certificate = asyncio.create_task(probe.handshake(self._hostname(tenant, service), self._https_port))
            image = await self._network_and_image(tenant, service, d)
            env = await env_store.read(self.platform.ctx.db, self.platform.ctx.box, tenant.id)
            mounts = await self.jobs.mounts(tenant, service.id)
            extra, command = await self.platform.databases.container_env(service)
            pairs = [*envvars.for_service(env, service.name), *extra.items()]
            udp = service.id in await rule_store.udp_targets(self.platform.ctx.db, tenant.id)
            spec = snapshot.container_spec(
                self.settings.instance, tenant, service, d.id, image, pairs, mounts, command, udp
            )
            # The name (and the whole spec, for repairs) is stored before the container
            # exists, so a crash in between leaves nothing that recovery does not know.
            await self._record(
                d,
                "deploy",
                f"Starting container {container}",
                status=DeploymentStatus.DEPLOYING,
                image_ref=image,
                container_id=container,
                spec=snapshot.seal(self.platform.ctx.box, spec),
            )
            await self.before_start(tenant)
            started = await self.podman.run(spec)
            host_port = started.host_port
            assert host_port is not None  # run raises otherwise
            async with self.platform.ctx.db.transaction() as tx:
                await deployment_store.update(tx, d.id, host_port=host_port)
            await self._wait_healthy(service, container, host_port)
            await self._record(d, "route", f"{service.name} answers; switching traffic to it")
            async with self.platform.ctx.db.transaction() as tx:
                await deployment_store.set_live(tx, service.id, d.id)
            await self.sync_routes()
            if service.is_routable:
                await self._record(d, "health", "Checking the public route")
                await self._check_route(tenant, service)
            else:
                await self._record(d, "health", f"{service.name} is internal (no public route)")
            await self._record(
                d,
                "ready",
                f"{service.name} is live",
                type_="deployment.succeeded",
                status=DeploymentStatus.SUCCEEDED,
                finished_at=self.platform.ctx.now(),
            )
            self._finished(d, "succeeded")
            await self._service_status(service, ServiceStatus.RUNNING)
        except asyncio.CancelledError:
            if d.id not in self.cancelling:
                raise  # the daemon stops: recovery fails the deployment at the next start
            await self._cancelled(tenant, service, d, live, container)
            return None
        except Exception as exc:
            transient = not isinstance(exc, PermanentError | TimeoutError)
            reason = f"{TRANSIENT}{type(exc).__name__}: {exc}" if transient else str(exc)
            log.warning("deployment %s of %s/%s failed: %s", d.id, tenant.name, service.name, reason)
            self._finished(d, "failed")
            await self._undo(service, live, container)
            await self._record(
                d,
                "error",
                f"Deployment failed: {reason}",
                type_="deployment.failed",
                status=DeploymentStatus.FAILED,
                reason=reason[:2000],
                finished_at=self.platform.ctx.now(),
            )
            if transient:
                await self._retry(tenant, service)
                raise
            return None
        finally:
            if certificate is not None:
                certificate.cancel()  # done by now unless the deployment ended early
        self._retire(tenant, service, live, image)
        return started

    async def before_start(self, tenant: Tenant) -> None:
        """Before any container of a restricted tenant starts: the namespace it starts in
        holds the egress table (the anchor may have been killed while nothing else ran)."""
        if tenant.egress_mode == "restricted":
            await self._egress_ready()

    async def _begin(self, d: Deployment, service: Service) -> bool:
        ctx = self.platform.ctx
        async with ctx.db.transaction() as tx:
            started = await deployment_store.update_if(
                tx,
                d.id,
                (DeploymentStatus.QUEUED,),
                status=DeploymentStatus.BUILDING,
                stage="provision",
                started_at=ctx.now(),
            )
            if not started:
                return False
            await events.append(
                tx,
                d.tenant_id,
                "deployment.started",
                f"Provisioning network for {service.name}",
                ctx.clock.now(),
                stage="provision",
                deployment_id=d.id,
                service_name=d.service_name,
            )
            await tenant_store.update_service(tx, service.id, ctx.now(), status=ServiceStatus.DEPLOYING)
        self._began[d.id] = ctx.clock.monotonic()
        log.info("deployment %s: provision", d.id)
        return True

    async def _undo(self, service: Service, live: Deployment | None, container: str) -> None:
        """Remove what this attempt made; the previous version, if any, serves on (the
        reconciler's pass checks its container)."""
        async with self.platform.ctx.db.transaction() as tx:
            await deployment_store.set_live(tx, service.id, live.id if live else None)
            status = ServiceStatus.RUNNING if live else ServiceStatus.FAILED
            await tenant_store.update_service(tx, service.id, self.platform.ctx.now(), status=status)
        await self.podman.remove(container)
        await self.sync_routes()

    async def _cancelled(
        self, tenant: Tenant, service: Service, d: Deployment, live: Deployment | None, container: str
    ) -> None:
        """A cancel request stopped this deployment: undo it like a failure, and drop the image
        it built (a cancelled build leaves nothing behind)."""
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()  # the cancel was this deployment's, not the daemon's: clean up normally
        self.cancelling.discard(d.id)
        self._finished(d, "cancelled")
        await self._undo(service, live, container)
        if service.source_type == "github" and not d.rollback_from:
            tag = self.builder.image_tag(tenant, service, d)
            await self.podman.remove_image(tag)
            async with self.platform.ctx.db.transaction() as tx:
                await image_store.forget(tx, tenant.id, tag)
        await self._record(
            d,
            "error",
            "Deployment cancelled by request",
            type_="deployment.cancelled",
            status=DeploymentStatus.CANCELLED,
            reason=CANCELLED,
            finished_at=self.platform.ctx.now(),
        )

    def _retire(self, tenant: Tenant, service: Service, old: Deployment | None, image: str) -> None:
        """Once the new version serves: the old container goes after the requests Caddy had
        sent it are done, and old builds are pruned. Beside the next passes, not in their
        way; a crash meanwhile leaves the old container to the sweep (it is no longer live)."""

        async def retire() -> None:
            try:
                if old and old.container_name:
                    await asyncio.sleep(DRAIN_SECONDS)
                    await self.podman.remove(old.container_name)
                if service.source_type == "github":
                    await self.builder.prune(tenant, service, image)
            except Exception:
                log.exception(
                    "retiring the previous version of %s/%s failed; the sweep retries", tenant.name, service.name
                )

        task = asyncio.create_task(retire())
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def stop(self) -> None:
        """Stop retiring old versions; the next start's sweep removes their containers."""
        for task in list(self._retiring):
            task.cancel()
        await asyncio.gather(*self._retiring, return_exceptions=True)

    async def _network_and_image(self, tenant: Tenant, service: Service, d: Deployment) -> str:
        """The network and the image side by side: a tenant's first network can take a
        second or more (podman sets up its rootless namespace), as can a pull or a build."""

        async def image() -> str:
            await self._record(d, "build", f"Preparing image for {service.name}")
            return await self._image(tenant, service, d)

        _, built = await proc.side_by_side(self.ensure_network(tenant), image())
        return str(built)

    async def ensure_network(self, tenant: Tenant) -> None:
        instance = self.settings.instance
        await self.podman.ensure_network(names.network(instance, tenant.name), names.labels(instance, tenant.id))

    async def _retry(self, tenant: Tenant, service: Service) -> None:
        """A deployment failed by the host (podman restarting, say) is tried again, up to
        TRANSIENT_RETRIES times in a row; the reconcile loop's back-off spaces the tries."""
        recent = await deployment_store.recent_reasons(self.platform.ctx.db, service.id, TRANSIENT_RETRIES + 1)
        if sum(1 for reason in recent if reason.startswith(TRANSIENT)) > TRANSIENT_RETRIES:
            return
        async with self.platform.ctx.db.transaction() as tx:
            await self.platform.deployments.queue(tx, tenant, [service], "retrying after a transient host error")

    async def _image(self, tenant: Tenant, service: Service, d: Deployment) -> str:
        if service.source_type == "github" and d.rollback_from and d.image_ref:
            # a rollback runs the image an earlier deployment built, without rebuilding
            if await self.podman.image_size(d.image_ref) is None:
                raise PermanentError(
                    f"the image {d.image_ref} of that deployment was pruned (build.keep_images); "
                    "deploy its commit instead"
                )
            return d.image_ref
        if service.source_type == "github":

            async def progress(message: str) -> None:
                await self._record(d, "build", message)

            return await self.builder.build(tenant, service, d, progress)
        ref = d.image_ref or service.image_url
        assert ref is not None
        await self.images.obtain(tenant, ref, service.id, service.registry_id)
        return ref

    async def _service_status(self, service: Service, status: str) -> None:
        async with self.platform.ctx.db.transaction() as tx:
            await tenant_store.update_service(tx, service.id, self.platform.ctx.now(), status=status)

    def _finished(self, d: Deployment, outcome: str) -> None:
        began = self._began.pop(d.id, None)
        metrics = self.platform.ctx.metrics
        metrics.deployments.labels(outcome).inc()
        if began is not None:
            metrics.deploy_seconds.labels(outcome).observe(self.platform.ctx.clock.monotonic() - began)

    async def _wait_healthy(self, service: Service, container: str, port: int) -> None:
        limit = self.settings.runtime.health_timeout_seconds
        check = probe.http_answers if service.is_routable else probe.tcp_stays_open
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        delay, inspect_at = 0.01, loop.time() + 0.3  # most apps answer within a second: look often, ask podman less
        while loop.time() < deadline:
            if await check(port):
                return
            if loop.time() >= inspect_at:
                state = await self.podman.inspect(container)
                if state is None or not state.running:
                    tail = (await self.podman.logs(container, 20)).decode(errors="replace").strip()
                    raise PermanentError(
                        f"the container exited before answering on port {service.port}. Last output: {tail[-800:]}"
                    )
                inspect_at = loop.time() + 0.3
            await asyncio.sleep(delay)
            delay = min(delay * 1.3, 0.5)
        raise PermanentError(
            f"the app did not answer on port {service.port} within {limit} s; check that it listens on "
            f"0.0.0.0:{service.port} (it also gets the port as $PORT)"
        )

    def _hostname(self, tenant: Tenant, service: Service) -> str:
        return names.hostname(self.settings.domains.base_domain, tenant.name, service.name, service.is_primary)

    @property
    def _https_port(self) -> int:
        return self.settings.domains.https_port

    async def _check_route(self, tenant: Tenant, service: Service) -> None:
        host = self._hostname(tenant, service)
        for _ in range(50):
            status = await probe.through_caddy(host, self._https_port)
            if status is not None and status != 502:
                return
            await asyncio.sleep(0.1)
        raise PermanentError(f"https://{host} did not serve the new version through Caddy")
