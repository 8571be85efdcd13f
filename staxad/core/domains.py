"""Custom domains: add, verify ownership through DNS, re-verify, delete.

A domain is routed once it was verified (`verified_at` set) and approved for new
certificates only while it is verified now. A re-check that finds the DNS moved away
withdraws the approval but keeps the route: a resolver hiccup must not take a site
down, and a domain pointed elsewhere gets no traffic here anyway.

Claims name the tenant (staxad.model.claims): unverified ones never block another
tenant, expire after `domains.unverified_claim_hours`, and go when another claim on
the name verifies. At most one claim per name has `verified_at` (a unique index).
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from staxad.core.context import Context
from staxad.model import claims, names, validation
from staxad.model.clock import new_id
from staxad.model.errors import AlreadyExists, Conflict, NotFound, Unprocessable, limit_reached
from staxad.model.lifecycle import TenantStatus
from staxad.model.ownership import Expected, Lookup, Verdict, judge
from staxad.model.records import Domain, Service, Tenant
from staxad.store import domains as store
from staxad.store import events
from staxad.store import host as host_store
from staxad.store import tenants as tenant_store

log = logging.getLogger("staxad.domains")


class Domains:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._served: frozenset[str] = frozenset()
        self._served_at: int | None = None  # the store's commit count `_served` was read at

    async def serves(self, domain: str) -> bool:
        """Caddy's `ask` decision, before it gets a certificate: only the names staxad routes
        (routable services of tenants not being deleted) and custom domains verified now.
        Answered from memory, read again only after a commit: a flood of unknown names costs
        no store read and cannot starve real issuance."""
        if not 0 < len(domain) <= 253 or domain != domain.lower():
            return False
        commits = self.ctx.db.commits  # read first: a later commit only means a later read
        if commits != self._served_at:
            services, custom = await host_store.servable(self.ctx.db)
            base = self.ctx.settings.domains.base_domain
            self._served = frozenset(
                {names.hostname(base, tenant, service, primary) for tenant, service, primary in services} | set(custom)
            )
            self._served_at = commits
        return domain in self._served

    def platform_host(self, tenant: Tenant) -> str:
        return names.hostname(self.ctx.settings.domains.base_domain, tenant.name, "", primary=True)

    def expected(self, tenant: Tenant, d: Domain) -> Expected:
        proves = self.ctx.settings.domains.a_record_proves_ownership
        return Expected(d.domain, d.token, (self.ctx.server_ip,), self.platform_host(tenant), proves)

    async def of(self, tenant: Tenant) -> list[Domain]:
        return await store.for_tenant(self.ctx.db, tenant.id)

    async def get(self, tenant: Tenant, domain_id: str) -> Domain:
        found = await store.get(self.ctx.db, tenant.id, domain_id)
        if found is None:
            raise NotFound(f"Domain '{domain_id[:64]}' not found in tenant '{tenant.name}'.")
        return found

    async def add(self, tenant: Tenant, payload: object) -> Domain:
        body = validation.Body(payload, ("domain", "is_primary", "service_id"))
        name = body.check(
            "domain",
            body.string("domain", required=True, max_len=300),
            lambda v: validation.custom_domain(
                v, self.ctx.settings.domains.base_domain, self.ctx.settings.domains.allow_mixed_scripts
            ),
        )
        is_primary = body.boolean("is_primary") or False
        service_ref = body.string("service_id", max_len=64)
        body.done()
        service = self._service(tenant, service_ref)
        if tenant.status == TenantStatus.DELETING:
            raise Unprocessable(f"Tenant '{tenant.name}' is being deleted.")
        limit = self.ctx.settings.limits.domains_per_tenant
        domain = Domain(
            id=new_id("dom"),
            tenant_id=tenant.id,
            service_id=service.id if service_ref else None,
            domain=name,
            is_primary=is_primary,
            verified=False,
            ssl_status="pending",
            token=secrets.token_hex(16),
            verified_at=None,
            last_checked_at=None,
            check_error=None,
            created_at=self.ctx.now(),
        )
        async with self.ctx.db.transaction() as tx:
            if (used := await store.count_for(tx, tenant.id)) >= limit:
                raise limit_reached(
                    "domains of this tenant", used, limit, "limits.domains_per_tenant", "Delete one first."
                )
            refused = claims.refusal(await store.claims_of(tx, name), tenant.id)
            if refused:
                raise Conflict(f"Domain '{name}' {refused}.")
            try:
                await store.insert(tx, domain)
            except AlreadyExists:
                raise Conflict(f"Domain '{name}' is already claimed by a tenant.") from None
            await events.append(
                tx, tenant.id, "domain.added", f"Domain {name} added; verify it once DNS is set", self.ctx.clock.now()
            )
        return domain

    @staticmethod
    def _service(tenant: Tenant, ref: str | None) -> Service:
        """The service a domain routes to: named by id or name, else the primary routable one."""
        if ref is None:
            service = next((s for s in tenant.services if s.is_primary and s.is_routable), None)
            service = service or next((s for s in tenant.services if s.is_routable), None)
            if service is None:
                raise Unprocessable(f"Tenant '{tenant.name}' has no routable service to point a domain at.")
            return service
        service = next((s for s in tenant.services if ref in (s.id, s.name)), None)
        if service is None:
            validation.raise_field("service_id", f"no service '{ref}' in tenant '{tenant.name}'")
        assert service is not None
        if not service.is_routable:
            raise Unprocessable(f"Service '{service.name}' is internal (is_routable false); it cannot have a domain.")
        return service

    async def check(self, tenant: Tenant, d: Domain) -> Verdict:
        resolver = self.ctx.resolver
        if resolver is None:
            raise Unprocessable("DNS verification is not available in this configuration.")
        want = self.expected(tenant, d)
        queries = want.queries()
        answers: list[Lookup] = await asyncio.gather(*(resolver.lookup(name, kind) for name, kind in queries))
        return judge(want, dict(zip(queries, answers, strict=True)))

    async def verify(self, tenant: Tenant, domain_id: str) -> Domain:
        d = await self.get(tenant, domain_id)
        verdict = await self.check(tenant, d)
        await self._record(tenant, d, verdict)
        if not verdict.verified:
            raise Unprocessable(
                f"Domain '{d.domain}' is not verified: {verdict.message}",
                {"found": verdict.found, "expected": verdict.expected},
            )
        return await self.get(tenant, domain_id)

    async def _record(self, tenant: Tenant, d: Domain, verdict: Verdict) -> None:
        now = self.ctx.now()
        losers: list[Domain] = []
        async with self.ctx.db.transaction() as tx:
            current = await store.get(tx, tenant.id, d.id)
            if current is None:
                raise NotFound(f"Domain '{d.domain}' is no longer claimed by tenant '{tenant.name}'.")
            d = current  # the row as it is now: a concurrent check may have changed it
            if verdict.verified:
                allowed, losers = claims.displaced(await store.claims_of(tx, d.domain), current)
                if not allowed:
                    raise Conflict(f"Domain '{d.domain}' is claimed and verified by another tenant.")
                for loser in losers:
                    await store.delete(tx, loser.id)
                    await events.append(
                        tx,
                        loser.tenant_id,
                        "domain.removed",
                        f"Domain {loser.domain} removed: another tenant proved ownership of it",
                        self.ctx.clock.now(),
                    )
                await store.update(
                    tx,
                    d.id,
                    verified=1,
                    verified_at=d.verified_at or now,
                    last_checked_at=now,
                    check_error=None,
                    ssl_status="active" if d.ssl_status == "active" else "provisioning",
                )
                if not d.verified:
                    await events.append(
                        tx,
                        tenant.id,
                        "domain.verified",
                        f"Domain {d.domain} verified: {verdict.message}",
                        self.ctx.clock.now(),
                    )
            elif verdict.inconclusive:
                await store.update(tx, d.id, last_checked_at=now, check_error=verdict.message)
            else:
                await store.update(tx, d.id, verified=0, last_checked_at=now, check_error=verdict.message)
                if d.verified:
                    await events.append(
                        tx,
                        tenant.id,
                        "domain.verification_lost",
                        f"Domain {d.domain} no longer points here; no new certificates are issued for it: "
                        + verdict.message,
                        self.ctx.clock.now(),
                    )
        if verdict.verified != d.verified:
            self.ctx.changed(tenant.id)
        for loser in losers:
            self.ctx.changed(loser.tenant_id)

    async def expire_unverified(self) -> list[Domain]:
        """Unverified claims older than `domains.unverified_claim_hours` go (the scheduled job)."""
        hours = self.ctx.settings.domains.unverified_claim_hours
        cutoff = claims.stale_before(self.ctx.clock.now(), hours)
        expired = []
        async with self.ctx.db.transaction() as tx:
            for d in await store.unverified_before(tx, cutoff):
                if not claims.is_stale(d, cutoff):
                    continue
                await store.delete(tx, d.id)
                await events.append(
                    tx,
                    d.tenant_id,
                    "domain.expired",
                    f"Domain {d.domain} removed: not verified within {hours} hours; add it again to retry",
                    self.ctx.clock.now(),
                )
                expired.append(d)
        return expired

    async def recheck(self, tenant: Tenant, d: Domain) -> Verdict:
        """The scheduled re-verification of one domain; never raises for a failed check."""
        verdict = await self.check(tenant, d)
        await self._record(tenant, d, verdict)
        return verdict

    async def recheck_all(self) -> list[tuple[Domain, Verdict]]:
        """Every verified domain again (the scheduled job); one failure does not stop the rest.
        Stale unverified claims are removed first."""
        try:
            await self.expire_unverified()
        except Exception:
            log.exception("expiring unverified domain claims failed; the next run retries")
        results = []
        for d in await store.verified(self.ctx.db):
            tenant = await tenant_store.get_any(self.ctx.db, d.tenant_id)
            if tenant is None:
                continue
            try:
                results.append((d, await self.recheck(tenant, d)))
            except Exception:
                log.exception("re-verifying %s failed; the next run retries", d.domain)
        return results

    async def set_ssl_status(self, tenant_id: str, d: Domain, status: str, message: str) -> None:
        async with self.ctx.db.transaction() as tx:
            await store.update(tx, d.id, ssl_status=status)
            await events.append(tx, tenant_id, f"domain.ssl_{status}", message, self.ctx.clock.now())

    async def delete(self, tenant: Tenant, domain_id: str) -> None:
        d = await self.get(tenant, domain_id)
        async with self.ctx.db.transaction() as tx:
            await store.delete(tx, d.id)
            await events.append(tx, tenant.id, "domain.deleted", f"Domain {d.domain} deleted", self.ctx.clock.now())
        self.ctx.changed(tenant.id)
