"""A provider's webhook endpoints: register, change, rotate the secret, see and replay
deliveries. Sending is staxad.reconcile.webhooks's job.

A target is refused when it resolves to an address staxad.model.targets forbids (loopback,
link-local, private, CGNAT, metadata, this host's own), unless its host is in
`webhooks.allow_private_targets`; checked here and again at every delivery.

A webhook has the mode of the key that registered it: a test key sees and changes only
test webhooks, and a test tenant's events go only to those (a live key sees every one).
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from urllib.parse import urlsplit

from staxad.core.context import Context
from staxad.model import events as event_types
from staxad.model import targets
from staxad.model import validation as v
from staxad.model import webhooks as rules
from staxad.model.apikeys import visible_modes
from staxad.model.clock import iso, iso_ms, new_id
from staxad.model.errors import NotFound, ValidationError, limit_reached
from staxad.model.records import Principal
from staxad.model.webhooks import Delivery, Webhook
from staxad.store import webhooks as store

ROTATION_OVERLAP = timedelta(hours=24)
FIELDS = ("url", "events", "enabled")


class Webhooks:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def refused(self, host: str, addresses: list[str]) -> str | None:
        """Why a target's addresses may not be sent to, or None."""
        allowed = self.ctx.settings.webhooks.allow_private_targets
        own = await self.ctx.host_addresses() if self.ctx.host_addresses else []
        return targets.refused(host, addresses, allowed, own)

    async def _check_target(self, url: str) -> None:
        host = (urlsplit(url).hostname or "").lower()
        addresses = await self.ctx.resolve_host(host) if self.ctx.resolve_host else []
        why = await self.refused(host, addresses)
        if why is not None:
            v.raise_field("url", f"not a public target: {why} (see webhooks.allow_private_targets)")

    def _parse(self, payload: object, creating: bool) -> dict[str, object]:
        body = v.Body(payload, FIELDS)
        changes: dict[str, object] = {}
        allowed = self.ctx.settings.webhooks.allow_private_targets
        url = body.string("url", required=creating, max_len=2048)
        if url is not None:
            changes["url"] = body.check("url", url, lambda u: rules.target(u, allowed))
        if creating or "events" in body.data:
            events = body.strings("events", max_items=50, max_len=60)
            if events is None or not events:
                body.fail("events", 'is required: a non-empty list such as ["deployment.*", "tenant.ready"]')
            else:
                for item in events:
                    body.check("events", item, event_types.pattern)
                changes["events"] = tuple(dict.fromkeys(events))
        enabled = body.boolean("enabled")
        if enabled is not None:
            changes["enabled"] = enabled
        body.done()
        return changes

    async def create(self, who: Principal, payload: object) -> tuple[Webhook, str]:
        changes = self._parse(payload, creating=True)
        await self._check_target(str(changes["url"]))
        limit = self.ctx.settings.webhooks.per_provider
        now = self.ctx.now()
        secret = "whsec_" + secrets.token_urlsafe(32)
        hook = Webhook(
            id=new_id("whk"),
            provider_id=who.provider_id,
            url=str(changes["url"]),
            events=tuple(changes["events"]),  # type: ignore[arg-type]
            enabled=bool(changes.get("enabled", True)),
            failing_since=None,
            disabled_reason=None,
            created_at=now,
            updated_at=now,
            mode=who.mode,
        )
        async with self.ctx.db.transaction() as tx:
            if (used := await store.count(tx, who.provider_id)) >= limit:
                raise limit_reached("webhooks of this provider", used, limit, "webhooks.per_provider")
            await store.insert(tx, self.ctx.box, hook, secret)
        return hook, secret

    async def of(self, who: Principal) -> list[Webhook]:
        return await store.of_provider(self.ctx.db, who.provider_id, visible_modes(who.mode))

    async def get(self, who: Principal, webhook_id: str) -> Webhook:
        """Another provider's webhook, or a live one asked for by a test key, is a 404."""
        found = await store.get(self.ctx.db, who.provider_id, webhook_id, visible_modes(who.mode))
        if found is None:
            raise NotFound(f"Webhook '{webhook_id[:64]}' not found.")
        return found

    async def update(self, who: Principal, webhook_id: str, payload: object) -> Webhook:
        hook = await self.get(who, webhook_id)
        changes = self._parse(payload, creating=False)
        if "url" in changes:
            await self._check_target(str(changes["url"]))
        if changes.get("enabled") is True:  # enabling again starts a fresh run of failures
            changes["failing_since"] = None
            changes["disabled_reason"] = None
        if changes:
            async with self.ctx.db.transaction() as tx:
                await store.update(tx, hook.id, self.ctx.now(), **changes)
        return await self.get(who, webhook_id)

    async def delete(self, who: Principal, webhook_id: str) -> None:
        hook = await self.get(who, webhook_id)
        async with self.ctx.db.transaction() as tx:
            await store.delete(tx, hook.id)

    async def rotate(self, who: Principal, webhook_id: str) -> str:
        """A new secret; the old one keeps signing (a second v1=) for 24 hours."""
        hook = await self.get(who, webhook_id)
        secret = "whsec_" + secrets.token_urlsafe(32)
        until = iso(self.ctx.clock.now() + ROTATION_OVERLAP)
        async with self.ctx.db.transaction() as tx:
            await store.rotate(tx, self.ctx.box, hook.id, secret, until, self.ctx.now())
        return secret

    async def deliveries(self, who: Principal, webhook_id: str, limit: int, offset: int) -> tuple[list[Delivery], int]:
        hook = await self.get(who, webhook_id)
        return await store.deliveries_of(self.ctx.db, hook.id, limit, offset)

    async def redeliver(self, who: Principal, webhook_id: str, delivery_id: str) -> Delivery:
        hook = await self.get(who, webhook_id)
        number = v.ascii_int(delivery_id.removeprefix("dlv_")) if delivery_id.startswith("dlv_") else None
        source = await store.get_delivery(self.ctx.db, hook.id, number) if number is not None else None
        if source is None:
            raise NotFound(f"Delivery '{delivery_id[:64]}' not found.")
        async with self.ctx.db.transaction() as tx:
            new = await store.requeue(tx, source, iso_ms(self.ctx.clock.now()))
        found = await store.get_delivery(self.ctx.db, hook.id, new)
        if found is None:
            raise ValidationError("The delivery could not be queued again.")
        return found
