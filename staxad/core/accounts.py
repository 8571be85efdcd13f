"""Providers: registration (idempotent) and the account profile."""

from __future__ import annotations

from typing import Any

from staxad.core.context import Context
from staxad.model import validation
from staxad.model.clock import new_id
from staxad.model.errors import NotFound
from staxad.model.records import Principal, Provider
from staxad.store import providers, tenants


class Accounts:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def register(self, email: str, name: str | None) -> tuple[Provider, bool]:
        """Create the provider, or return the existing one. The bool says it is new."""
        email = email.lower()
        async with self.ctx.db.transaction() as tx:
            existing = await providers.by_email(tx, email)
            if existing:
                return existing, False
            now = self.ctx.now()
            provider = Provider(new_id("prv"), email, name, None, now, now)
            await providers.insert(tx, provider)
            return provider, True

    async def register_body(self, payload: object) -> tuple[Provider, bool]:
        body = validation.Body(payload, ("email", "name"))
        email = body.check("email", body.string("email", required=True), validation.email)
        name = body.string("name", max_len=NAME_MAX)
        body.done()
        return await self.register(email, name)

    async def get(self, who: Principal) -> tuple[Provider, int]:
        provider = await providers.get(self.ctx.db, who.provider_id)
        if provider is None:
            raise NotFound("Provider not found.")
        count = await tenants.count_for(self.ctx.db, who.provider_id, "test" if who.mode == "test" else None)
        return provider, count

    async def update(self, who: Principal, payload: object) -> tuple[Provider, int]:
        changes = parse_account_patch(payload)
        if "name" in changes:
            async with self.ctx.db.transaction() as tx:
                await providers.set_name(tx, who.provider_id, changes["name"], self.ctx.now())
        return await self.get(who)


ACCOUNT_FIELDS = ("name",)
NAME_MAX = 100


def parse_account_patch(payload: object) -> dict[str, Any]:
    """Every field optional, as the contract's Update Account: an absent field stays as it
    is, and a null name clears it (registering without a name leaves it null too)."""
    body = validation.Body(payload, ACCOUNT_FIELDS)
    changes: dict[str, Any] = {}
    if "name" in body.data:
        name = body.string("name", max_len=NAME_MAX)
        if name is not None and not name.strip():
            body.fail("name", "must not be blank; send null to clear it")
        changes["name"] = name.strip() if name else None
    body.done()
    return changes
