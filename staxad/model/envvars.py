"""A tenant's env variables as records: secret or not, and the services each reaches.

Pure: staxad.store.env keeps them (sealed), staxad.core.env changes them, and a
deployment's container gets `for_service`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class EnvVar:
    key: str
    value: str
    is_secret: bool
    services: tuple[str, ...] | None = None  # the service names it applies to; None: every service

    def applies_to(self, service: str) -> bool:
        return self.services is None or service in self.services


def for_service(variables: Iterable[EnvVar], service: str) -> list[tuple[str, str]]:
    """The (key, value) pairs a service's container gets."""
    return [(v.key, v.value) for v in variables if v.applies_to(service)]


def reached(before: EnvVar | None, after: EnvVar | None, services: Iterable[str]) -> list[str]:
    """The services whose containers a change from `before` to `after` alters: those the
    old or the new variable applies to (a variable moving off a service changes it too)."""
    return [
        name
        for name in services
        if (before is not None and before.applies_to(name)) or (after is not None and after.applies_to(name))
    ]
