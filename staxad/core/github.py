"""A provider's GitHub App installation: registered once, used to list repositories and
branches, to clone private repositories, and to deploy on push.

Invariants: a provider has at most one installation and an installation belongs to at
most one provider. A claim is registered only when `claim_proof` allows it: with the
app's OAuth client configured, the claim's code must buy a user token (inside the
adapter; the core never sees it) whose user administers the installation (`claim_refusal`); without one,
only on a host whose operator trusts every claim. Installation tokens live only in the
adapter's memory; the core hands one to a clone only for a repository on the configured GitHub host (`github.web_url`).
A webhook delivery does anything only with a valid X-Hub-Signature-256, and only once
per X-GitHub-Delivery id: the id is recorded in the same transaction as the deployments
it queues.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from cryptography.fernet import InvalidToken

from staxad.core.context import Context
from staxad.core.deployments import Deployments
from staxad.model import validation as v
from staxad.model.clock import iso
from staxad.model.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    NotFound,
    PermanentError,
    Unauthorized,
    Unprocessable,
)
from staxad.model.errors import ValidationError as BadRequest
from staxad.model.github import (
    DELIVERY,
    REFUSED,
    Installation,
    Proof,
    Push,
    body_key,
    claim_proof,
    claim_refusal,
    oauth_code,
    parse_push,
    read_state,
    repo_path,
    state_text,
    valid_name,
    valid_signature,
)
from staxad.model.lifecycle import DEPLOYABLE
from staxad.model.ports import GitHubApi
from staxad.model.records import Principal
from staxad.store import github as store
from staxad.store import tenants as tenant_store
from staxad.store.db import Transaction

KEEP_DELIVERIES = timedelta(days=30)
STATE_LIFETIME = timedelta(hours=1)  # an installation started and finished in one sitting
NOT_CONFIGURED = (
    "No GitHub App is configured on this host: the operator sets github.app_id and "
    "github.private_key_file in the [github] section of the staxad config."
)


class GitHub:
    def __init__(self, ctx: Context, deployments: Deployments) -> None:
        self.ctx = ctx
        self.deployments = deployments
        self.settings = ctx.settings.github

    def _api(self) -> GitHubApi:
        if self.ctx.github_api is None:
            raise Unprocessable(NOT_CONFIGURED)
        return self.ctx.github_api

    async def get(self, who: Principal) -> Installation:
        found = await store.get(self.ctx.db, who.provider_id)
        if found is None:
            raise NotFound("No GitHub installation is registered; POST /api/v1/github/installation registers one.")
        return found

    def install_state(self, who: Principal) -> dict[str, Any]:
        """A `state` for the installation's callback, bound to this key for an hour, and
        the links that carry it to GitHub (the app's install page, its authorize page)."""
        _live_only(who)
        expires = self.ctx.clock.now() + STATE_LIFETIME
        state = self.ctx.box.seal(state_text(who.key_id, int(expires.timestamp()))).decode()
        web = self.settings.web_url.rstrip("/")
        slug = self.settings.app_slug
        install = f"{web}/apps/{quote(slug)}/installations/new?{urlencode({'state': state})}" if slug else None
        return {
            "state": state,
            "expires_at": iso(expires),
            "install_url": install,
            "authorize_url": self._authorize(state).get("authorize_url"),
        }

    def _check_state(self, who: Principal, state: str | None) -> None:
        """A claim with a code comes back with the state this key was given: a link made
        for another key (a callback URL someone else sends you) is refused."""
        if state is None:
            raise BadRequest(
                "A claim with a code needs the state this key was given: start the installation from"
                " GET /api/v1/github/install.",
                {"fields": {"state": "is required with code"}},
            )
        try:
            key_id, expires = read_state(self.ctx.box.open(state.encode()))
        except (InvalidToken, ValueError):
            key_id, expires = "", 0
        if key_id != who.key_id or expires <= self.ctx.clock.time():
            raise Forbidden(
                "This installation link was not made for this key, or it expired: start the installation"
                " again from GET /api/v1/github/install (nothing was registered).",
                self._authorize(),
            )

    async def register(self, who: Principal, payload: object) -> Installation:
        _live_only(who)
        body = v.Body(payload, ("installation_id", "code", "state"))
        installation_id = body.integer("installation_id", 1, 2**53, required=True)
        code: str | None = body.check("code", body.string("code", max_len=100), oauth_code)
        state = body.string("state", max_len=1000)
        body.done()
        assert installation_id is not None
        api = self._api()
        proof = claim_proof(self.settings.client_configured, self.settings.trust_installation_claims, code is not None)
        if proof in REFUSED:
            raise Forbidden(REFUSED[proof], self._authorize())
        if await store.get(self.ctx.db, who.provider_id) is not None:
            raise Conflict("A GitHub installation is registered already; DELETE it first to register another.")
        if proof is Proof.CODE:
            assert code is not None
            self._check_state(who, state)  # before the code is spent
            await _prove_access(api, code, installation_id, self._authorize())
        try:
            account = await api.installation_account(installation_id)
        except LookupError:
            raise Unprocessable(f"GitHub knows no installation {installation_id} of this host's app.") from None
        except ValueError as exc:
            raise Unprocessable(f"GitHub could not confirm installation {installation_id}: {exc}") from None
        found = Installation(who.provider_id, installation_id, account[:100], "active", self.ctx.now())
        try:
            async with self.ctx.db.transaction() as tx:
                await store.insert(tx, found)
        except AlreadyExists:
            raise Conflict(f"Installation {installation_id} is registered already.") from None
        return found

    def _authorize(self, state: str | None = None) -> dict[str, str]:
        """Where a user gets a fresh code: GitHub's authorize page for the app's (public) client id."""
        if not self.settings.client_configured:
            return {}
        query = urlencode({"client_id": self.settings.client_id, **({"state": state} if state else {})})
        return {"authorize_url": f"{self.settings.web_url.rstrip('/')}/login/oauth/authorize?{query}"}

    async def delete(self, who: Principal) -> None:
        _live_only(who)
        found = await self.get(who)
        async with self.ctx.db.transaction() as tx:
            await store.delete(tx, who.provider_id)
        if self.ctx.github_api is not None:
            self.ctx.github_api.forget(found.installation_id)

    async def repositories(self, who: Principal) -> list[dict[str, Any]]:
        api = self._api()
        found = await self.get(who)
        items = await _asking(api.repositories(found.installation_id), "list the installation's repositories")
        return [
            {
                "full_name": str(r.get("full_name", "")),
                "private": bool(r.get("private")),
                "default_branch": str(r.get("default_branch", "")),
                "language": r["language"] if isinstance(r.get("language"), str) else None,
            }
            for r in items
        ]

    async def branches(self, who: Principal, owner: str, repo: str) -> list[dict[str, Any]]:
        if not valid_name(owner, repo):
            raise BadRequest("Invalid repository.", {"fields": {"repo": "must be owner/name as GitHub spells it"}})
        api = self._api()
        found = await self.get(who)
        items = await _asking(api.branches(found.installation_id, owner, repo), f"list the branches of {owner}/{repo}")
        return [{"name": str(b.get("name", "")), "protected": bool(b.get("protected"))} for b in items]

    async def clone_token(self, provider_id: str, repo_url: str) -> str | None:
        """The installation token a clone of `repo_url` may use: only for a repository on the
        configured GitHub host, only the provider's own installation's."""
        api = self.ctx.github_api
        if api is None or repo_path(repo_url, self.settings.web_url) is None:
            return None
        found = await store.get(self.ctx.db, provider_id)
        if found is None:
            return None
        try:
            return await api.token(found.installation_id)
        except (LookupError, ValueError) as exc:
            raise PermanentError(f"no GitHub installation token for the clone: {exc}") from None

    def _secret(self) -> str:
        if self.settings.webhook_secret_file:
            try:
                return Path(self.settings.webhook_secret_file).read_text().strip()
            except (OSError, UnicodeDecodeError):  # refused like no secret: every delivery a 401
                return ""
        return self.settings.webhook_secret

    async def webhook(self, headers: dict[str, str], raw: bytes, parse: Callable[[bytes], object]) -> dict[str, Any]:
        """Handle one delivery. Nothing of it is read, not even parsed (`parse`, JSON to
        data), before its signature holds: an unsigned body costs a hash, nothing more."""
        secret = self._secret()
        if not secret:
            raise Unauthorized("No github.webhook_secret is configured on this host; every delivery is refused.")
        if not valid_signature(secret, raw, headers.get("x-hub-signature-256")):
            raise Unauthorized("The X-Hub-Signature-256 header is missing or does not match the body.")
        delivery = headers.get("x-github-delivery", "")
        event = headers.get("x-github-event", "")[:64]
        if not DELIVERY.fullmatch(delivery):
            raise BadRequest("The X-GitHub-Delivery header is missing or not a delivery id.")
        push = parse_push(parse(raw)) if event == "push" and raw.strip() else None
        queued: dict[str, list[str]] = {}
        async with self.ctx.db.transaction() as tx:
            now = self.ctx.clock.now()
            first = await store.remember_delivery(tx, delivery, event, iso(now))
            if not (await store.remember_delivery(tx, body_key(raw), event, iso(now)) and first):
                return {"status": "duplicate", "deployments": []}
            await store.forget_deliveries_before(tx, iso(now - KEEP_DELIVERIES))
            if push is not None and now.timestamp() - push.pushed_at > KEEP_DELIVERIES.total_seconds():
                return {"status": "stale", "deployments": []}  # older than what we remember: maybe a replay
            if push is not None:
                queued = await self._deploy(tx, push)
        for tenant_id in queued:
            self.ctx.changed(tenant_id)
        if push is None:
            return {"status": "ignored", "deployments": []}
        return {"status": "accepted", "deployments": [d for ids in queued.values() for d in ids]}

    async def _deploy(self, tx: Transaction, push: Push) -> dict[str, list[str]]:
        """Queue the push's commit for every service it names, of the installation's provider."""
        targets: dict[tuple[str, str], list[str]] = defaultdict(list)
        for provider_id, tenant_id, service_id, url in await store.push_targets(tx, push.installation_id, push.branch):
            if repo_path(url, self.settings.web_url) == push.repo:
                targets[(provider_id, tenant_id)].append(service_id)
        queued: dict[str, list[str]] = {}
        for (provider_id, tenant_id), service_ids in targets.items():
            tenant = await tenant_store.get(tx, provider_id, tenant_id)
            if tenant is None or tenant.status not in DEPLOYABLE:
                continue
            services = [s for s in tenant.services if s.id in service_ids]
            why = f"push of {push.sha[:12]} to {push.repo}@{push.branch}"
            made = await self.deployments.queue(tx, tenant, services, why, commit=push.sha)
            queued[tenant_id] = [d.id for d in made]
        return queued


def _live_only(who: Principal) -> None:
    """The installation serves the provider's live tenants: a test key may look, not change it."""
    if who.mode == "test":
        raise Forbidden("A test key cannot register or remove the GitHub installation; use a live key.")


async def _prove_access(api: GitHubApi, code: str, installation_id: int, fresh: dict[str, str]) -> None:
    try:
        access = await api.user_access(code, installation_id)
    except PermissionError as exc:
        raise Forbidden(
            f"GitHub refused the code ({exc}). A code works once, for ten minutes: authorize the app "
            "again at authorize_url for a fresh one.",
            fresh,
        ) from None
    except (LookupError, ValueError) as exc:
        raise Unprocessable(f"GitHub could not check the code: {exc}") from None
    refusal = claim_refusal(access, installation_id)
    if refusal is not None:
        raise Forbidden(refusal, fresh)


async def _asking(call: Any, doing: str) -> list[dict[str, Any]]:
    try:
        found: list[dict[str, Any]] = await call
    except LookupError:
        raise NotFound(f"GitHub could not {doing}: the installation cannot see it.") from None
    except ValueError as exc:
        raise Unprocessable(f"GitHub could not {doing}: {exc}") from None
    return found
