"""A provider's private registry credentials: kept sealed, verified by a real login, used
for that provider's pulls only.

A registry URL must be https (http only for `runtime.insecure_registries`) and must not
resolve to this host's own or to link-local addresses (a credential check is a request
staxad makes). A PATCH resets `verified`; `verify` logs in and records the outcome.
"""

from __future__ import annotations

import ipaddress

from staxad.core.context import Context
from staxad.model import validation as v
from staxad.model.clock import new_id
from staxad.model.errors import NotFound, Unprocessable, ValidationError
from staxad.model.records import Principal
from staxad.model.registries import Registry, api_base, url_host
from staxad.store import registries as store

FIELDS = ("name", "registry_url", "username", "password")
PER_PROVIDER = 50


class Registries:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _insecure(self) -> tuple[str, ...]:
        return tuple(self.ctx.settings.runtime.insecure_registries)

    async def _check_address(self, host: str) -> None:
        name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        addresses = await self.ctx.resolve_host(name) if self.ctx.resolve_host else []
        own = set(await self.ctx.host_addresses()) if self.ctx.host_addresses else set()
        for address in addresses:
            ip = ipaddress.ip_address(address)
            if ip.is_link_local or (address in own and host not in self._insecure()):
                v.raise_field("registry_url", f"{host} resolves to {address}, this host's own or a link-local address")

    def _parse(self, payload: object, creating: bool) -> dict[str, str]:
        body = v.Body(payload, FIELDS)
        found: dict[str, str] = {}
        for key, limit in (("name", 100), ("registry_url", 512), ("username", 255)):
            value = body.string(key, required=creating, max_len=limit)
            if value is not None:
                found[key] = value
        password = body.data.get("password")
        if password is not None or creating:
            if not isinstance(password, str) or not password or len(password) > 4096 or "\0" in password:
                body.fail("password", "is required: a string of at most 4096 characters")
            else:
                found["password"] = password
        if "registry_url" in found:
            host = body.check("registry_url", found["registry_url"], lambda u: url_host(u, self._insecure()))
            if host:
                found["host"] = host
        body.done()
        return found

    async def create(self, who: Principal, payload: object) -> Registry:
        found = self._parse(payload, creating=True)
        await self._check_address(found["host"])
        now = self.ctx.now()
        registry = Registry(
            new_id("reg"),
            who.provider_id,
            found["name"],
            found["registry_url"],
            found["host"],
            found["username"],
            False,
            None,
            now,
            now,
        )
        async with self.ctx.db.transaction() as tx:
            if len(await store.of_provider(self.ctx.db, who.provider_id)) >= PER_PROVIDER:
                raise Unprocessable(f"A provider may keep at most {PER_PROVIDER} registry credentials.")
            await store.insert(tx, self.ctx.box, registry, found["password"])
        return registry

    async def of(self, who: Principal) -> list[Registry]:
        return await store.of_provider(self.ctx.db, who.provider_id)

    async def get(self, who: Principal, registry_id: str) -> Registry:
        found = await store.get(self.ctx.db, who.provider_id, registry_id)
        if found is None:
            raise NotFound(f"Registry credential '{registry_id[:64]}' not found.")
        return found

    async def update(self, who: Principal, registry_id: str, payload: object) -> Registry:
        registry = await self.get(who, registry_id)
        found = self._parse(payload, creating=False)
        if "host" in found:
            await self._check_address(found["host"])
        now = self.ctx.now()
        async with self.ctx.db.transaction() as tx:
            password = found.pop("password", None)
            if password is not None:
                await store.set_password(tx, self.ctx.box, registry.id, password, now)
            await store.update(tx, registry.id, now, verified=0, verify_error=None, **found)
        return await self.get(who, registry_id)

    async def delete(self, who: Principal, registry_id: str) -> None:
        registry = await self.get(who, registry_id)
        async with self.ctx.db.transaction() as tx:
            await store.delete(tx, registry.id)

    async def _login(self, registry: Registry) -> tuple[str, str, str, bool]:
        password = await store.password(self.ctx.db, self.ctx.box, registry.id)
        return (api_base(registry), registry.username, password, registry.host not in self._insecure())

    async def verify(self, who: Principal, registry_id: str) -> tuple[bool, str | None]:
        registry = await self.get(who, registry_id)
        api = self.ctx.registry_api
        if api is None:
            raise Unprocessable("Registry access is off on this host.")
        try:
            await api.check(await self._login(registry))
            error = None
        except ValueError as exc:
            error = str(exc)[:500]
        async with self.ctx.db.transaction() as tx:
            await store.update(tx, registry.id, self.ctx.now(), verified=int(error is None), verify_error=error)
        return error is None, error

    async def repositories(self, who: Principal, registry_id: str, query: str, limit: int) -> list[tuple[str, int]]:
        registry = await self.get(who, registry_id)
        api = self.ctx.registry_api
        if api is None:
            raise Unprocessable("Registry access is off on this host.")
        try:
            return await api.repositories(await self._login(registry), query, limit)
        except ValueError as exc:
            raise Unprocessable(f"The registry could not list repositories: {exc}") from None

    async def tags(self, who: Principal, registry_id: str, repo: str) -> list[tuple[str, str | None, int | None]]:
        registry = await self.get(who, registry_id)
        if not v.IMAGE_REF.match(repo) or ":" in repo or "@" in repo:
            raise ValidationError("Invalid repo.", {"fields": {"repo": "must be a repository path such as team/app"}})
        api = self.ctx.registry_api
        if api is None:
            raise Unprocessable("Registry access is off on this host.")
        try:
            return await api.tags(await self._login(registry), repo)
        except ValueError as exc:
            raise Unprocessable(f"The registry could not list tags: {exc}") from None

    async def require_own(self, provider_id: str, field: str, registry_id: str | None) -> None:
        """A service may name only its own provider's credential (another's is unknown)."""
        if registry_id is not None and await store.get(self.ctx.db, provider_id, registry_id) is None:
            v.raise_field(field, f"no registry credential '{registry_id[:64]}' (see GET /api/v1/registries)")

    async def pull_login(self, provider_id: str, registry_id: str | None, image_host: str) -> tuple[str, str] | None:
        """(username, password) for a pull by this provider: the service's credential, or the
        provider's for the image's registry; never another provider's."""
        registry = (
            await store.get(self.ctx.db, provider_id, registry_id)
            if registry_id
            else await store.for_host(self.ctx.db, provider_id, image_host)
        )
        if registry is None:
            return None
        return registry.username, await store.password(self.ctx.db, self.ctx.box, registry.id)
