"""One-click databases: a non-routable service running the engine's image, a volume for
its data (backed up daily by default), generated credentials sealed at rest, and
connections that give another service the database's URL.

The engine's env and the connections' URLs are not tenant env vars: the deploy pipeline
adds them from these records when it starts the container, so two databases never
fight over one variable and a URL always carries the current password.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import replace
from typing import Any

from staxad.core.context import Context
from staxad.core.deployments import Deployments
from staxad.core.volumes import Volumes, VolumeSpec
from staxad.model import databases as model
from staxad.model import validation as v
from staxad.model.clock import new_id
from staxad.model.databases import ENGINES, Connection, Database
from staxad.model.errors import AlreadyExists, Conflict, Forbidden, NotFound, Unprocessable, limit_reached
from staxad.model.lifecycle import DEPLOYABLE, ServiceStatus
from staxad.model.records import Deployment, Principal, Service, Tenant
from staxad.model.scopes import SECRETS_READ, grants
from staxad.model.volumes import schedule
from staxad.store import databases as store
from staxad.store import events
from staxad.store import tenants as tenant_store
from staxad.store import volumes as volume_store

VERSION = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}$")
USERNAME = "app"
MASKED = "****"


class Databases:
    def __init__(self, ctx: Context, deployments: Deployments, volumes: Volumes) -> None:
        self.ctx = ctx
        self.deployments = deployments
        self.volumes = volumes

    async def create(self, tenant: Tenant, payload: object) -> tuple[Database, Deployment]:
        settings = self.ctx.settings
        body = v.Body(payload, ("engine", "name", "version", "size_mb"))
        engine_name = body.choice("engine", tuple(ENGINES), required=True)
        name = body.check("name", body.string("name", required=True, max_len=40), lambda n: v.dns_label(n, "a name"))
        version = body.check("version", body.string("version", max_len=64), _version)
        size = body.integer("size_mb", 1, settings.volumes.max_size_mb)
        body.done()
        assert engine_name is not None and name is not None
        if tenant.status not in DEPLOYABLE:
            raise Unprocessable(f"Tenant '{tenant.name}' is {tenant.status}; databases can be added once it is not.")
        if any(s.name == name for s in tenant.services):
            raise Conflict(f"Tenant '{tenant.name}' already has a service named '{name}'.")
        if len(tenant.services) >= (cap := settings.limits.services_per_tenant):
            raise limit_reached("services in this tenant", len(tenant.services), cap, "limits.services_per_tenant")
        engine = ENGINES[engine_name]
        configured = settings.databases.postgres_image if engine_name == "postgres" else settings.databases.redis_image
        now = self.ctx.now()
        service = Service(
            id=new_id("svc"),
            tenant_id=tenant.id,
            name=name,
            source_type="image",
            repo_url=None,
            branch="main",
            image_url=model.image(configured, version),
            port=engine.port,
            is_primary=False,
            is_routable=False,
            resource_size="small",
            priority=max((s.priority for s in tenant.services), default=-1) + 1,
            status=ServiceStatus.PENDING,
            created_at=now,
            updated_at=now,
        )
        cron = schedule(settings.databases.backup_schedule) if settings.databases.backup_schedule else None
        volume = VolumeSpec(f"{name}-data", size or settings.databases.size_mb, engine.data_path, False, cron)
        database = Database(new_id("db"), tenant.id, service.id, None, engine_name, name, version, USERNAME, now)
        async with self.ctx.db.transaction() as tx:
            try:
                await tenant_store.insert_service(tx, service)
            except AlreadyExists:
                raise Conflict(f"Tenant '{tenant.name}' already has a service named '{name}'.") from None
            await self.volumes.add_for_service(tx, tenant, service, (volume,))
            made = next(x for x in await volume_store.of_tenant(tx, tenant.id) if x.service_id == service.id)
            database = replace(database, volume_id=made.id)
            await store.insert(tx, self.ctx.box, database, secrets.token_urlsafe(24))
            await events.append(
                tx, tenant.id, "database.created", f"{engine_name} database {name} created", self.ctx.clock.now()
            )
            [queued] = await self.deployments.queue(tx, tenant, [service], "database created")
        self.ctx.changed(tenant.id)
        return database, queued

    async def of(self, tenant: Tenant) -> list[Database]:
        return await store.of_tenant(self.ctx.db, tenant.id)

    async def get(self, tenant: Tenant, database_id: str) -> Database:
        found = await store.get(self.ctx.db, tenant.id, database_id)
        if found is None:
            raise NotFound(f"Database '{database_id[:64]}' not found in tenant '{tenant.name}'.")
        return found

    async def shown(self, who: Principal, tenant: Tenant, d: Database, reveal: bool) -> dict[str, Any]:
        """A database as the API shows it; the password only with reveal and secrets:read."""
        if reveal and not grants(who.scopes, SECRETS_READ):
            raise Forbidden(
                f"Revealing a database password needs the '{SECRETS_READ}' scope, which '*' does not include."
            )
        password = await store.password(self.ctx.db, self.ctx.box, d.id) if reveal else MASKED
        engine = ENGINES[d.engine]
        service = next((s for s in tenant.services if s.id == d.service_id), None)
        connected = await store.connections(self.ctx.db, d.id)
        return {
            "id": d.id,
            "engine": d.engine,
            "name": d.name,
            "version": d.version,
            "service": d.name,
            "status": service.status if service else None,
            "volume_id": d.volume_id,
            "username": d.username if d.engine == "postgres" else None,
            "password": password,
            "url": model.url(engine, d.name, d.username, password, d.name).replace(_quoted(MASKED), MASKED),
            "connections": [
                {"id": c.id, "service": _name(tenant, c.service_id), "env_key": c.env_key} for c in connected
            ],
            "created_at": d.created_at,
        }

    async def delete(self, tenant: Tenant, database_id: str) -> list[Deployment]:
        """The database's service and its data volume go (the volume's backups too); the
        services connected to it deploy again without its URL."""
        d = await self.get(tenant, database_id)
        connected = await store.connections(self.ctx.db, d.id)
        async with self.ctx.db.transaction() as tx:
            await tenant_store.delete_service(tx, d.service_id)  # the database and connections cascade
            if d.volume_id:
                await volume_store.delete(tx, d.volume_id)
            await events.append(tx, tenant.id, "database.deleted", f"Database {d.name} deleted", self.ctx.clock.now())
            services = [s for s in tenant.services if s.id in {c.service_id for c in connected}]
            queued = await self.deployments.queue(tx, tenant, services, "database removed") if services else []
        self.ctx.changed(tenant.id)
        return queued

    async def connect(self, tenant: Tenant, database_id: str, payload: object) -> tuple[Connection, Deployment]:
        d = await self.get(tenant, database_id)
        body = v.Body(payload, ("service", "env_key"))
        name = body.string("service", required=True, max_len=63)
        key = body.check("env_key", body.string("env_key", max_len=128), _env_key) or ENGINES[d.engine].url_key
        body.done()
        service = next((s for s in tenant.services if s.name == name), None)
        if service is None or service.id == d.service_id:
            v.raise_field("service", f"no other service '{str(name)[:63]}' in this tenant")
        assert service is not None
        taken = await self._keys_of(service.id)
        if key in taken:
            raise Conflict(f"{service.name} already gets {key} from another database; pass env_key.")
        connection = Connection(new_id("con"), d.id, service.id, key, self.ctx.now())
        async with self.ctx.db.transaction() as tx:
            try:
                await store.insert_connection(tx, connection)
            except AlreadyExists:
                raise Conflict(f"{service.name} is already connected to {d.name}.") from None
            [queued] = await self.deployments.queue(tx, tenant, [service], f"connected to database {d.name}")
        self.ctx.changed(tenant.id)
        return connection, queued

    async def disconnect(self, tenant: Tenant, database_id: str, connection_id: str) -> Deployment:
        d = await self.get(tenant, database_id)
        found = next((c for c in await store.connections(self.ctx.db, d.id) if c.id == connection_id), None)
        if found is None:
            raise NotFound(f"Connection '{connection_id[:64]}' not found.")
        service = next(s for s in tenant.services if s.id == found.service_id)
        async with self.ctx.db.transaction() as tx:
            await store.delete_connection(tx, found.id)
            [queued] = await self.deployments.queue(tx, tenant, [service], f"disconnected from database {d.name}")
        self.ctx.changed(tenant.id)
        return queued

    async def _keys_of(self, service_id: str) -> set[str]:
        rows = await store.connections_of_service(self.ctx.db, service_id)
        return {c.env_key for c in rows}

    async def container_env(self, service: Service) -> tuple[dict[str, str], tuple[str, ...] | None]:
        """What the pipeline adds to a service's container: an engine's own env and start
        command, and the URL of every database the service is connected to."""
        extra: dict[str, str] = {}
        command = None
        own = await store.for_service(self.ctx.db, service.id)
        if own is not None:
            engine = ENGINES[own.engine]
            extra.update(
                model.env(engine, own.username, await store.password(self.ctx.db, self.ctx.box, own.id), own.name)
            )
            command = engine.command
        for connection in await store.connections_of_service(self.ctx.db, service.id):
            target = await store.by_id(self.ctx.db, connection.database_id)
            if target is not None:
                secret = await store.password(self.ctx.db, self.ctx.box, target.id)
                extra[connection.env_key] = model.url(
                    ENGINES[target.engine], target.name, target.username, secret, target.name
                )
        return extra, command


def _quoted(text: str) -> str:
    return "".join(f"%{ord(c):02X}" for c in text)


def _version(value: str) -> str:
    if not VERSION.fullmatch(value):
        raise ValueError("must be an image tag such as 16 or 7.2-alpine")
    return value


def _env_key(value: str) -> str:
    if not v.ENV_KEY.fullmatch(value):
        raise ValueError("must be an env var name (letters, digits, '_')")
    return value


def _name(tenant: Tenant, service_id: str) -> str | None:
    return next((s.name for s in tenant.services if s.id == service_id), None)
