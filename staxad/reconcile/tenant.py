"""One reconcile pass for one tenant: bring its host state to its stored state.

A tenant marked `deleting` has everything of it removed from the host, and then its
records are forgotten; this is safe to repeat after a crash at any point.
"""

from __future__ import annotations

import logging

from staxad.core.platform import Platform
from staxad.store import tenants as tenant_store

log = logging.getLogger("staxad.reconcile")


class TenantReconciler:
    def __init__(self, platform: Platform) -> None:
        self.platform = platform

    async def all_ids(self) -> list[str]:
        rows = await self.platform.ctx.db.fetch_all("SELECT id FROM tenants")
        return [row["id"] for row in rows]

    async def reconcile(self, tenant_id: str) -> None:
        tenant = await tenant_store.get_any(self.platform.ctx.db, tenant_id)
        if tenant is None:
            return
        if tenant.status == "deleting":
            await self.platform.tenants.forget(tenant.id)
            log.info("tenant %s (%s) deleted", tenant.name, tenant.id)
