"""API key material: `sk_live_`/`sk_test_` plus 32 random bytes, kept only as SHA-256."""

from __future__ import annotations

import hashlib
import secrets

from staxad.model.clock import parse_iso

MODES = ("live", "test")
PREFIX_LENGTH = 12  # "sk_live_a1b2": enough to recognise a key, useless to guess it


def new_raw_key(mode: str) -> str:
    return f"sk_{mode}_{secrets.token_urlsafe(32)}"


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def display_prefix(raw: str) -> str:
    return raw[:PREFIX_LENGTH]


def mode_of(raw: str) -> str | None:
    for mode in MODES:
        if raw.startswith(f"sk_{mode}_") and 40 <= len(raw) <= 100:
            return mode
    return None


def visible_modes(mode: str) -> tuple[str, ...]:
    """The modes of what a key of `mode` sees and changes (keys, webhooks, registry
    credentials): a test key only test ones; a live key every one of its provider."""
    return ("test",) if mode == "test" else MODES


def child_expiry(requested: str | None, parent: str | None) -> str | None:
    """The expiry of a key minted by a key expiring at `parent`: a child never outlives
    its parent, and a child that names no expiry inherits the parent's. Raises
    ValueError for a later one; an unparseable `requested` is returned for the caller's
    own validation to report."""
    if parent is None:
        return requested
    if requested is None:
        return parent
    try:
        later = parse_iso(requested) > parse_iso(parent)
    except ValueError:
        return requested
    if later:
        raise ValueError(f"must not be later than the expiry of the key creating it ({parent})")
    return requested
