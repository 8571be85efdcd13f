"""Webhooks: which events an endpoint gets, how a delivery is signed, when it is tried
again. Pure; staxad.core.webhooks and the sender use it (which targets are refused is
staxad.model.targets's).

Signature (Stripe's scheme): header `Staxa-Signature: t=<unix seconds>,v1=<hex>`, where
the hex is HMAC-SHA256 of `"<t>.<body>"` keyed with the endpoint's secret. While a
rotated secret's predecessor is still valid, a second `v1=` signs with it. Receivers
recompute it over the raw body and refuse timestamps older than a few minutes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

HEADER = "Staxa-Signature"
MAX_ATTEMPT_HOURS = 24
FIRST_RETRY_SECONDS = 10
MAX_RETRY_SECONDS = 3600


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Webhook:
    id: str
    provider_id: str
    url: str
    events: tuple[str, ...]
    enabled: bool
    failing_since: str | None
    disabled_reason: str | None
    created_at: str
    updated_at: str
    mode: str  # the key's that made it: a test key sees only test webhooks, which get test tenants' events


@dataclass(frozen=True, slots=True)
class Delivery:
    id: int
    webhook_id: str
    event_id: int
    event_type: str
    payload: str
    status: str
    attempts: int
    next_attempt_at: str
    response_code: int | None
    error: str | None
    duration_ms: int | None
    created_at: str
    finished_at: str | None


def target(url: str, allow_private: Sequence[str]) -> str:
    """An https URL (http only to an allowed private host), no credentials, no fragment."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if parts.scheme not in ("https", "http") or not host:
        raise ValueError("must be an https:// URL with a host")
    if parts.scheme == "http" and host not in allow_private:
        raise ValueError("must use https (http only to hosts in webhooks.allow_private_targets)")
    if parts.username or parts.password or parts.fragment:
        raise ValueError("must not carry credentials or a fragment")
    if len(url) > 2048 or any(ord(c) < 33 for c in url):
        raise ValueError("must be at most 2048 characters without spaces or control characters")
    return url


def signature(secrets: Sequence[str], timestamp: int, body: bytes) -> str:
    signed = f"{timestamp}.".encode() + body
    parts = [f"t={timestamp}"]
    parts += [f"v1={hmac.new(s.encode(), signed, hashlib.sha256).hexdigest()}" for s in secrets]
    return ",".join(parts)


def verify(secret: str, header: str, body: bytes, now: int, tolerance: int = 300) -> bool:
    """What a receiver does (the README shows it); the tests use it too."""
    fields = [item.split("=", 1) for item in header.split(",") if "=" in item]
    stamps = [v for k, v in fields if k == "t"]
    if len(stamps) != 1 or not stamps[0].isdigit() or abs(now - int(stamps[0])) > tolerance:
        return False
    expected = hmac.new(secret.encode(), f"{stamps[0]}.".encode() + body, hashlib.sha256).hexdigest()
    return any(hmac.compare_digest(expected, v) for k, v in fields if k == "v1")


def retry_in(attempts: int) -> int:
    """Seconds before the next try after `attempts` failed ones: 10 s doubling to an hour."""
    return int(min(FIRST_RETRY_SECONDS * 2 ** max(attempts - 1, 0), MAX_RETRY_SECONDS))


def payload(event_id: int, event_type: str, tenant_id: str, timestamp: str, data: dict[str, object]) -> str:
    """The contract's planned format, with an id receivers can deduplicate on."""
    body = {"id": f"evt_{event_id}", "event": event_type, "tenant_id": tenant_id, "data": data, "timestamp": timestamp}
    return json.dumps(body, separators=(",", ":"), sort_keys=True)
