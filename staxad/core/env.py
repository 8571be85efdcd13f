"""A tenant's env variables: the contract's bulk read and replace, and one variable at a
time with its secrecy and the services it reaches.

Nothing restarts when env changes unless the caller asks (`apply`): then the services
whose containers the change alters are deployed again. A secret's value is never shown
unless revealed (`reveal=true` with the `secrets:read` scope), and every reveal is an
event.
"""

from __future__ import annotations

from typing import Any

from staxad.core.context import Context
from staxad.core.deployments import Deployments
from staxad.model import envmask, envvars, validation
from staxad.model.envvars import EnvVar
from staxad.model.errors import Forbidden, NotFound, ValidationError, limit_reached
from staxad.model.records import Deployment, Principal, Tenant
from staxad.model.scopes import SECRETS_READ, grants
from staxad.store import env as store
from staxad.store import events
from staxad.store.db import Transaction

MASK = envmask.MASK
MAX_VALUE = 32768


def shown(v: EnvVar, reveal: bool = False) -> dict[str, Any]:
    return {
        "key": v.key,
        "value": v.value if reveal or not v.is_secret else MASK,
        "is_secret": v.is_secret,
        "services": None if v.services is None else list(v.services),
    }


class Env:
    def __init__(self, ctx: Context, deployments: Deployments) -> None:
        self.ctx = ctx
        self.deployments = deployments

    async def listing(self, tenant: Tenant) -> list[dict[str, str]]:
        """The contract's shape: key and value, secret values masked."""
        return [
            {"key": v.key, "value": shown(v)["value"]} for v in await store.read(self.ctx.db, self.ctx.box, tenant.id)
        ]

    async def replace_all(self, tenant: Tenant, payload: object, apply: bool) -> list[dict[str, str]]:
        """Replace every variable (the contract's bulk PUT). A key that stays keeps its
        secrecy and its services; the mask keeps a stored secret's value."""
        try:
            values = validation.env_map(payload, self.ctx.settings.limits.env_vars_per_tenant)
        except ValueError as exc:
            raise ValidationError(f"Invalid env: {exc}.", {"fields": {"env": str(exc)}}) from None
        async with self.ctx.db.transaction() as tx:
            stored = {v.key: v for v in await store.read(tx, self.ctx.box, tenant.id)}
            try:
                values = envmask.unmask(values, {key: v.value for key, v in stored.items()})
            except ValueError as exc:
                raise ValidationError(f"Invalid env: {exc}.", {"fields": {"env": str(exc)}}) from None
            new = [
                EnvVar(
                    key,
                    value,
                    validation.looks_secret(key, value) or (key in stored and stored[key].is_secret),
                    stored[key].services if key in stored else None,
                )
                for key, value in values.items()
            ]
            await store.replace(tx, self.ctx.box, tenant.id, new)
            await self._changed(tx, tenant, f"{len(values)} env vars set", apply)
            if apply:
                await self.deployments.queue(tx, tenant, list(tenant.services), "env changed")
        self._kick(tenant, apply)
        return await self.listing(tenant)

    async def get(self, who: Principal, tenant: Tenant, key: str, reveal: bool) -> dict[str, Any]:
        variable = await self._find(tenant, key)
        if reveal and variable.is_secret:
            if not grants(who.scopes, SECRETS_READ):
                raise Forbidden(
                    f"Revealing a secret value needs the '{SECRETS_READ}' scope, which '*' does not include."
                )
            async with self.ctx.db.transaction() as tx:
                await events.append(
                    tx,
                    tenant.id,
                    "env.revealed",
                    f"The value of secret {key} was revealed to key {who.key_id}",
                    self.ctx.clock.now(),
                )
        return shown(variable, reveal)

    async def put(self, tenant: Tenant, key: str, payload: object) -> tuple[dict[str, Any], list[Deployment]]:
        """Set one variable. `value` may be left out (or sent as the mask) to change only
        its secrecy or services."""
        if not validation.ENV_KEY.match(key):
            validation.raise_field("key", "letters, digits and '_', not starting with a digit, at most 128")
        body = validation.Body(payload, ("value", "is_secret", "services", "apply"))
        value = body.data.get("value")
        if value is not None and (not isinstance(value, str) or len(value) > MAX_VALUE or "\0" in value):
            body.fail("value", f"must be a string of at most {MAX_VALUE} characters without NUL")
            value = None
        is_secret = body.boolean("is_secret")
        names = body.strings("services", max_items=self.ctx.settings.limits.services_per_tenant, max_len=63)
        if names == []:
            body.fail("services", "must name at least one service, or be null for every service")
        unknown = [n for n in names or () if n not in {s.name for s in tenant.services}]
        if unknown:
            body.fail("services", f"no such service in this tenant: {', '.join(unknown[:5])}")
        apply = bool(body.boolean("apply"))
        body.done()
        async with self.ctx.db.transaction() as tx:
            stored = {v.key: v for v in await store.read(tx, self.ctx.box, tenant.id)}
            before = stored.get(key)
            if before is None and value in (None, MASK):
                validation.raise_field("value", "is required for a new variable (and cannot be the mask)")
            if before is None and len(stored) >= (cap := self.ctx.settings.limits.env_vars_per_tenant):
                raise limit_reached("env vars in this tenant", len(stored), cap, "limits.env_vars_per_tenant")
            new_value = before.value if before is not None and value in (None, MASK) else str(value)
            after = EnvVar(
                key,
                new_value,
                is_secret
                if is_secret is not None
                else validation.looks_secret(key, new_value) or (before is not None and before.is_secret),
                (tuple(names) if names else None) if "services" in body.data else (before.services if before else None),
            )
            await store.put(tx, self.ctx.box, tenant.id, after)
            await self._changed(tx, tenant, f"env var {key} set", apply)
            queued = await self._redeploy(tx, tenant, before, after) if apply else []
        self._kick(tenant, apply)
        return shown(after), queued

    async def delete(self, tenant: Tenant, key: str, apply: bool) -> list[Deployment]:
        async with self.ctx.db.transaction() as tx:
            before = next((v for v in await store.read(tx, self.ctx.box, tenant.id) if v.key == key), None)
            if before is None or not await store.delete(tx, tenant.id, key):
                raise NotFound(f"Env var '{key[:128]}' not found in tenant '{tenant.name}'.")
            await self._changed(tx, tenant, f"env var {key} removed", apply)
            queued = await self._redeploy(tx, tenant, before, None) if apply else []
        self._kick(tenant, apply)
        return queued

    async def _find(self, tenant: Tenant, key: str) -> EnvVar:
        for v in await store.read(self.ctx.db, self.ctx.box, tenant.id):
            if v.key == key:
                return v
        raise NotFound(f"Env var '{key[:128]}' not found in tenant '{tenant.name}'.")

    async def _redeploy(
        self, tx: Transaction, tenant: Tenant, before: EnvVar | None, after: EnvVar | None
    ) -> list[Deployment]:
        names = envvars.reached(before, after, [s.name for s in tenant.services])
        services = [s for s in tenant.services if s.name in names]
        return await self.deployments.queue(tx, tenant, services, "env changed") if services else []

    async def _changed(self, tx: Transaction, tenant: Tenant, what: str, apply: bool) -> None:
        then = "the affected services deploy again" if apply else "they apply on the next deploy"
        await events.append(tx, tenant.id, "env.updated", f"{what}; {then}", self.ctx.clock.now())

    def _kick(self, tenant: Tenant, apply: bool) -> None:
        if apply:
            self.ctx.changed(tenant.id)
