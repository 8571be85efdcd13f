"""API key material: `sk_live_`/`sk_test_` plus 32 random bytes, kept only as SHA-256."""

from __future__ import annotations

import hashlib
import secrets

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
