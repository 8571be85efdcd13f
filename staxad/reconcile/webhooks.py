"""Delivering the webhook outbox: at least once, in order per endpoint, with back-off.

Every second the sender takes the oldest pending delivery of each enabled endpoint that
is due and sends those side by side (one at a time per endpoint, so each receives its
events in order). A 2xx ends a delivery; anything else is tried again after 10 s,
doubling to an hour, for up to 24 hours, after which the delivery fails. An endpoint
that has failed every delivery for 24 hours is disabled, with an event, and its pending
deliveries fail. The outbox is in the store: a daemon restart loses nothing, and a
delivery cut short by one is sent again (receivers deduplicate on the payload's id).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import timedelta

from staxad.adapters.webhook_http import Sender
from staxad.core.platform import Platform
from staxad.model import webhooks as rules
from staxad.model.clock import iso, iso_ms, parse_iso
from staxad.model.webhooks import Delivery, DeliveryStatus
from staxad.store import events
from staxad.store import webhooks as store

log = logging.getLogger("staxad.webhooks")
POLL_SECONDS = 1.0


class WebhookSender:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.sender: Sender | None = None
        self._wake = asyncio.Event()

    def kick(self) -> None:
        self._wake.set()

    async def run(self) -> None:
        settings = self.platform.ctx.settings.webhooks
        self.sender = Sender(settings.timeout_seconds, settings.ca_file)  # anew after a crash closed it
        try:
            while True:
                await self.send_due()
                self._wake.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), POLL_SECONDS)
        finally:
            await self.sender.close()
            self.sender = None

    async def send_due(self) -> int:
        ctx = self.platform.ctx
        if self.sender is None:
            return 0
        due = await store.next_due(ctx.db, iso_ms(ctx.clock.now()))
        await asyncio.gather(*(self._send(d) for d in due))
        return len(due)

    async def _send(self, d: Delivery) -> None:
        ctx = self.platform.ctx
        hook = await store.get_any(ctx.db, d.webhook_id)
        if hook is None or not hook.enabled:
            return
        now = ctx.clock.now()
        secrets = await store.secrets(ctx.db, ctx.box, hook.id, iso(now))
        body = d.payload.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "staxad-webhooks",
            rules.HEADER: rules.signature(secrets, int(ctx.clock.time()), body),
            "Staxa-Delivery": f"dlv_{d.id}",
        }
        assert self.sender is not None
        outcome = await self.sender.post(hook.url, body, headers, self.platform.webhooks.refused)
        attempts = d.attempts + 1
        finished = iso_ms(ctx.clock.now())
        async with ctx.db.transaction() as tx:
            if outcome.status is not None and 200 <= outcome.status < 300:
                await store.record_attempt(
                    tx,
                    d.id,
                    status=DeliveryStatus.DELIVERED,
                    attempts=attempts,
                    response_code=outcome.status,
                    error=None,
                    duration_ms=outcome.duration_ms,
                    finished_at=finished,
                )
                if hook.failing_since is not None:
                    await store.update(tx, hook.id, ctx.now(), failing_since=None)
                return
            error = outcome.error or f"the receiver answered {outcome.status}"
            expired = now - parse_iso(d.created_at) >= timedelta(hours=rules.MAX_ATTEMPT_HOURS)
            await store.record_attempt(
                tx,
                d.id,
                status=DeliveryStatus.FAILED if expired else DeliveryStatus.PENDING,
                attempts=attempts,
                next_attempt_at=iso_ms(now + timedelta(seconds=rules.retry_in(attempts))),
                response_code=outcome.status,
                error=error[:500],
                duration_ms=outcome.duration_ms,
                finished_at=finished if expired else None,
            )
            failing_since = hook.failing_since or ctx.now()
            if hook.failing_since is None:
                await store.update(tx, hook.id, ctx.now(), failing_since=failing_since)
            elif now - parse_iso(failing_since) >= timedelta(hours=rules.MAX_ATTEMPT_HOURS):
                reason = f"every delivery failed for {rules.MAX_ATTEMPT_HOURS} hours; last: {error[:200]}"
                await store.update(tx, hook.id, ctx.now(), enabled=False, disabled_reason=reason)
                await store.fail_pending(tx, hook.id, "the webhook was disabled", finished)
                tenant_id = _tenant_of(d)
                if tenant_id:
                    await events.append(tx, tenant_id, "webhook.disabled", f"Webhook {hook.id} disabled: {reason}", now)
                log.warning("webhook %s disabled: %s", hook.id, reason)


def _tenant_of(d: Delivery) -> str | None:
    tenant = json.loads(d.payload).get("tenant_id")
    return str(tenant) if tenant else None
