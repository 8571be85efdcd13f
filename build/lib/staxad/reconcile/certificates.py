"""ssl_status of verified custom domains, read from what Caddy really serves.

`provisioning` becomes `active` once a TLS handshake with the domain's name gets a
certificate for it. The handshake is also what makes Caddy obtain an on-demand
certificate, and with a public CA it can take seconds, so checks run beside the
reconcile passes, at most one per domain at a time.
"""

from __future__ import annotations

import asyncio
import logging

from staxad.adapters import probe
from staxad.core.platform import Platform
from staxad.model.records import Domain
from staxad.store import domains as domain_store
from staxad.store import tenants as tenant_store

log = logging.getLogger("staxad.certificates")


class Certificates:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self._checking: dict[str, asyncio.Task[None]] = {}

    def check_tenant(self, tenant_id: str, domains: list[Domain]) -> None:
        for d in domains:
            if d.verified and d.ssl_status != "active" and d.id not in self._checking:
                self._checking[d.id] = asyncio.create_task(self._check(tenant_id, d))

    async def _check(self, tenant_id: str, d: Domain) -> None:
        try:
            names = await probe.certificate_names(d.domain, self.platform.ctx.settings.domains.https_port)
            if d.domain not in names:
                return  # not issued yet: the next pass asks again
            current = await domain_store.get(self.platform.ctx.db, tenant_id, d.id)
            if current is None or not current.verified or current.ssl_status == "active":
                return
            tenant = await tenant_store.get_any(self.platform.ctx.db, tenant_id)
            if tenant is not None:
                await self.platform.domains.set_ssl_status(
                    tenant_id, current, "active", f"Certificate for {d.domain} is issued and served"
                )
                log.info("certificate for %s is active", d.domain)
        except Exception:
            log.exception("checking the certificate of %s failed; the next pass retries", d.domain)
        finally:
            self._checking.pop(d.id, None)

    async def idle(self) -> None:
        while self._checking:
            await asyncio.gather(*self._checking.values(), return_exceptions=True)
