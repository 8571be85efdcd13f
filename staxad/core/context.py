"""What every use case needs: the store, the secret box, the clock, the settings, and a
way to tell the reconciler that a tenant's desired state changed (or that a running
deployment is to stop)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from staxad.config import Settings
from staxad.metrics import Metrics
from staxad.model.clock import Clock, iso
from staxad.model.ports import CommandRunner, GitHubApi, LogReader, RegistryApi, Resolver
from staxad.store.db import Database
from staxad.store.secretbox import SecretBox


def _ignore(_tenant_id: str) -> None:
    return None


async def _not_running(_deployment_id: str) -> bool:
    return False


@dataclass
class Context:
    db: Database
    box: SecretBox
    settings: Settings
    clock: Clock = field(default_factory=Clock)
    changed: Callable[[str], None] = _ignore
    # Stop a deployment under way and wait for its clean-up; False when nothing runs it.
    cancel_running: Callable[[str], Awaitable[bool]] = _not_running
    logs: LogReader | None = None
    commands: CommandRunner | None = None  # exec in tenants' containers; None without a runtime
    resolver: Resolver | None = None
    detected_server_ip: str | None = None
    host_addresses: Callable[[], Awaitable[list[str]]] | None = None  # this host's own IPv4 addresses
    resolve_host: Callable[[str], Awaitable[list[str]]] | None = None  # a name's A and AAAA addresses
    registry_api: RegistryApi | None = None
    github_api: GitHubApi | None = None  # None: no GitHub App configured
    metrics: Metrics = field(default_factory=Metrics)
    # Tenant blocks of ids the service user's ranges hold (staxad.model.userns); None
    # without a runtime, where nothing runs and nothing is counted.
    userns_slots: int | None = None

    def now(self) -> str:
        return iso(self.clock.now())

    @property
    def server_ip(self) -> str:
        """Where users point A records: configured, else detected, else loopback."""
        return self.settings.domains.server_ip or self.detected_server_ip or "127.0.0.1"
