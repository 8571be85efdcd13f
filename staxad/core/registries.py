"""A provider's private registry credentials: kept sealed, verified by a real login, used
for that provider's pulls only.

A registry URL must be https (http only for `runtime.insecure_registries`). Every
connection staxad makes to a registry (its redirects and its token service included) is
checked when it is made (`addresses`, which RegistryLogin hands the adapter): no
loopback, private, link-local, CGNAT or metadata address and none of this host's own
(staxad.model.targets, as for webhooks), unless `runtime.private_registries` names the
host. A URL that resolves to one is refused at save time too, for an early answer.

A password goes to its own registry only (staxad.model.registries.same_registry): a PATCH
that moves a credential to another registry must give a new password, a service names
only a credential of its image's registry, and a pull with another host's credential
goes anonymous. A credential has the mode of the key that saved it: a test key sees and
changes only test ones, and a tenant pulls only with credentials of its own mode. A
PATCH resets `verified`; `verify` logs in and records the outcome.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from staxad.core.context import Context
from staxad.model import targets
from staxad.model import validation as v
from staxad.model.apikeys import visible_modes
from staxad.model.clock import new_id
from staxad.model.errors import NotFound, Unprocessable, ValidationError, limit_reached
from staxad.model.ports import RegistryLogin
from staxad.model.records import Principal
from staxad.model.registries import Registry, api_base, image_host, same_registry, url_host, where
from staxad.store import registries as store

FIELDS = ("name", "registry_url", "username", "password")
PER_PROVIDER = 50


class Registries:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    def _insecure(self) -> tuple[str, ...]:
        return tuple(self.ctx.settings.runtime.insecure_registries)

    def _private(self, host: str, port: int | None) -> bool:
        names = self.ctx.settings.runtime.private_registries
        return host.lower() in names or where(host, port) in names

    async def refused(self, host: str, port: int | None, addresses: list[str]) -> str | None:
        """Why a registry connection to host:port, resolved to `addresses`, may not be made."""
        allowed = (host,) if self._private(host, port) else ()
        own = await self.ctx.host_addresses() if self.ctx.host_addresses else []
        return targets.refused(host, addresses, allowed, own)

    async def addresses(self, host: str, port: int | None) -> list[str]:
        """The checked addresses a connection to host:port may go to, resolved now (at each
        connection); ValueError saying why there are none."""
        found = await self.ctx.resolve_host(host) if self.ctx.resolve_host else []
        if not found:
            raise ValueError(f"{host} does not resolve")
        why = await self.refused(host, port, found)
        if why is not None:
            raise ValueError(f"{why} (see runtime.private_registries)")
        return found

    async def _check_address(self, registry_url: str) -> None:
        """Early refusal of a URL that resolves to a forbidden address (one that does not
        resolve yet is refused when staxad connects, should it still not)."""
        parts = urlsplit(registry_url.strip())
        host = parts.hostname or ""
        found = await self.ctx.resolve_host(host) if self.ctx.resolve_host else []
        why = await self.refused(host, parts.port, found) if found else None
        if why is not None:
            v.raise_field("registry_url", f"not a public address: {why} (see runtime.private_registries)")

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
        await self._check_address(found["registry_url"])
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
            who.mode,
        )
        async with self.ctx.db.transaction() as tx:
            if (used := len(await store.of_provider(self.ctx.db, who.provider_id))) >= PER_PROVIDER:
                raise limit_reached("registry credentials of this provider", used, PER_PROVIDER, "a fixed limit")
            await store.insert(tx, self.ctx.box, registry, found["password"])
        return registry

    async def of(self, who: Principal) -> list[Registry]:
        return await store.of_provider(self.ctx.db, who.provider_id, visible_modes(who.mode))

    async def get(self, who: Principal, registry_id: str) -> Registry:
        """Another provider's credential, or a live one asked for by a test key, is a 404."""
        found = await store.get(self.ctx.db, who.provider_id, registry_id, visible_modes(who.mode))
        if found is None:
            raise NotFound(f"Registry credential '{registry_id[:64]}' not found.")
        return found

    async def update(self, who: Principal, registry_id: str, payload: object) -> Registry:
        registry = await self.get(who, registry_id)
        found = self._parse(payload, creating=False)
        if "host" in found:
            await self._check_address(found["registry_url"])
        now = self.ctx.now()
        async with self.ctx.db.transaction() as tx:
            current = await store.get(tx, registry.provider_id, registry.id)  # another PATCH may have moved it
            if current is None:
                raise NotFound(f"Registry credential '{registry_id[:64]}' not found.")
            password = found.pop("password", None)
            if "host" in found and not same_registry(found["host"], current.host) and password is None:
                v.raise_field(
                    "password",
                    "is required when registry_url moves the credential to another registry"
                    f" ({current.host} to {found['host']}): the saved password is never sent to a new host",
                )
            if password is not None:
                await store.set_password(tx, self.ctx.box, registry.id, password, now)
            await store.update(tx, registry.id, now, verified=0, verify_error=None, **found)
        return await self.get(who, registry_id)

    async def delete(self, who: Principal, registry_id: str) -> None:
        registry = await self.get(who, registry_id)
        async with self.ctx.db.transaction() as tx:
            await store.delete(tx, registry.id)

    async def _login(self, registry: Registry) -> RegistryLogin:
        password = await store.password(self.ctx.db, self.ctx.box, registry.id)
        verify_tls = registry.host not in self._insecure()
        return RegistryLogin(api_base(registry), registry.username, password, verify_tls, self.addresses)

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

    async def repositories(
        self, who: Principal, registry_id: str, query: str, limit: int
    ) -> list[tuple[str, int | None]]:
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

    async def require_own(
        self, provider_id: str, mode: str, field: str, registry_id: str | None, image: str | None
    ) -> None:
        """A service may name only a credential of its own provider and its tenant's mode
        (another is unknown), and only one for its image's registry."""
        if registry_id is None:
            return
        registry = await store.get(self.ctx.db, provider_id, registry_id, (mode,))
        host = image_host(image) if image else None
        if registry is None:
            v.raise_field(field, f"no registry credential '{registry_id[:64]}' (see GET /api/v1/registries)")
        elif host is not None and not same_registry(registry.host, host):
            v.raise_field(
                field,
                f"is a credential for {registry.host}, but the image is pulled from {host}:"
                f" name a credential for {host}, or none",
            )

    async def pull_login(
        self, provider_id: str, registry_id: str | None, image_host: str, *, mode: str
    ) -> tuple[str, str] | None:
        """(username, password) for a pull by a tenant of this provider and mode: the
        service's credential when it is for the image's registry, else the provider's for
        that registry; never another provider's, another mode's or another registry's."""
        if registry_id:
            registry = await store.get(self.ctx.db, provider_id, registry_id, (mode,))
            if registry is not None and not same_registry(registry.host, image_host):
                registry = None
        else:
            registry = await store.for_host(self.ctx.db, provider_id, image_host, mode)
        if registry is None:
            return None
        return registry.username, await store.password(self.ctx.db, self.ctx.box, registry.id)
