"""API keys: authentication, and minting keys no stronger than their creator."""

from __future__ import annotations

from staxad.core.context import Context
from staxad.model import apikeys, scopes, validation
from staxad.model.clock import iso, new_id, parse_iso
from staxad.model.errors import Forbidden, NotFound, Unauthorized, ValidationError
from staxad.model.records import ApiKey, Principal
from staxad.store import apikeys as store
from staxad.store import providers


class ApiKeys:
    """Keys are looked up by digest. Verified keys are remembered for a few seconds so the
    hot path skips a query; revoking through this process forgets them at once, and the
    short lifetime bounds how long a key removed by another process keeps working."""

    CACHE_SECONDS = 5.0
    CACHE_SIZE = 10_000

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self._cache: dict[str, tuple[ApiKey, Principal, float]] = {}

    async def authenticate(self, authorization: str | None) -> Principal:
        if not authorization:
            raise Unauthorized(
                "Missing API key. Send 'Authorization: Bearer sk_live_...' (create one with 'staxad admin create-key')."
            )
        scheme, _, raw = authorization.partition(" ")
        raw = raw.strip()
        if scheme.lower() != "bearer" or apikeys.mode_of(raw) is None:
            raise Unauthorized("Malformed Authorization header: expected 'Bearer sk_live_...' or 'Bearer sk_test_...'.")
        found = await self._lookup(apikeys.digest(raw))
        if found is None:
            raise Unauthorized("Invalid API key: it does not exist or was revoked.")
        key, who = found
        if key.expires_at and parse_iso(key.expires_at) <= self.ctx.clock.now():
            raise Unauthorized(f"API key expired at {key.expires_at}; create a new one.")
        return who

    async def _lookup(self, digest: str) -> tuple[ApiKey, Principal] | None:
        """The key and the caller it makes, kept CACHE_SECONDS: one Principal per key, not
        one per request."""
        now = self.ctx.clock.monotonic()
        cached = self._cache.get(digest)
        if cached and now - cached[2] < self.CACHE_SECONDS:
            return cached[0], cached[1]
        key = await store.by_digest(self.ctx.db, digest)
        if len(self._cache) >= self.CACHE_SIZE:
            self._cache.clear()
        if key is None:
            self._cache.pop(digest, None)
            return None
        who = Principal(key.provider_id, key.id, key.mode, key.scopes, key.expires_at)
        self._cache[digest] = (key, who, now)
        return key, who

    async def page(self, who: Principal, limit: int, offset: int) -> tuple[list[ApiKey], int]:
        return await store.list_for(self.ctx.db, who.provider_id, limit, offset, apikeys.visible_modes(who.mode))

    async def create_body(self, who: Principal, payload: object) -> tuple[ApiKey, str]:
        body = validation.Body(payload, ("name", "scopes", "mode", "expires_at"))
        name = body.string("name", required=True, max_len=100)
        requested = body.strings("scopes", max_items=len(scopes.SCOPES) + 1, max_len=64)
        mode = body.choice("mode", apikeys.MODES) or "live"
        expires = body.string("expires_at", max_len=64)
        body.done()
        requested = requested if requested is not None else ["*"]
        if who.mode == "test" and mode == "live":
            raise Forbidden("A test key can create only test keys.")
        missing = scopes.exceeding(requested, who.scopes)
        if missing and not scopes.unknown(requested):
            raise Forbidden(
                f"This key cannot grant scopes it does not hold: {', '.join(missing)}.",
                {"missing_scopes": missing},
            )
        assert name is not None
        try:
            expires = apikeys.child_expiry(expires, who.expires_at)
        except ValueError as exc:
            validation.raise_field("expires_at", str(exc))
        return await self.create(who.provider_id, name, mode, requested, expires, parent_key_id=who.key_id)

    async def create(
        self,
        provider_id: str,
        name: str,
        mode: str,
        requested: list[str],
        expires_at: str | None,
        parent_key_id: str | None = None,
    ) -> tuple[ApiKey, str]:
        """Mint a key. Returns the record and the raw key, which is never stored."""
        bad = scopes.unknown(requested)
        if bad or not requested:
            raise ValidationError(
                f"Unknown scopes: {', '.join(bad) or '(none given)'}. Known: *, {', '.join(scopes.SCOPES)}.",
                {"fields": {"scopes": "unknown scope"}},
            )
        if mode == "test" and scopes.ADMIN in requested:
            raise ValidationError("A test key cannot hold the admin scope.", {"fields": {"scopes": "admin"}})
        expiry = None
        if expires_at is not None:
            try:
                moment = parse_iso(expires_at)
            except ValueError:
                validation.raise_field("expires_at", "must be an ISO 8601 time such as 2027-01-31T00:00:00Z")
            if moment <= self.ctx.clock.now():
                validation.raise_field("expires_at", "must be in the future")
            expiry = iso(moment)
        raw = apikeys.new_raw_key(mode)
        key = ApiKey(
            id=new_id("key"),
            provider_id=provider_id,
            name=name,
            prefix=apikeys.display_prefix(raw),
            mode=mode,
            scopes=tuple(dict.fromkeys(requested)),
            expires_at=expiry,
            created_at=self.ctx.now(),
            parent_key_id=parent_key_id,
        )
        async with self.ctx.db.transaction() as tx:
            if await providers.get(tx, provider_id) is None:
                raise NotFound("Provider not found.")
            await store.insert(tx, key, apikeys.digest(raw))
        return key, raw

    async def delete(self, who: Principal, key_id: str) -> list[str]:
        """Revoke the key and the keys it made, and theirs; the ids revoked."""
        async with self.ctx.db.transaction() as tx:
            gone = await store.delete(tx, who.provider_id, key_id, apikeys.visible_modes(who.mode))
            if not gone:
                raise NotFound(f"API key '{key_id[:64]}' not found.")
        revoked = set(gone)
        self._cache = {d: entry for d, entry in self._cache.items() if entry[0].id not in revoked}
        return gone
