"""A container as the model speaks of it: the spec staxad asks podman to run, and the
state podman reports. The planner (staxad.reconcile.plan) decides on these words
without loading the podman client."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class ContainerSpec:
    name: str
    image: str
    network: str
    alias: str
    port: int
    env: dict[str, str]
    labels: dict[str, str]
    resource_size: str
    command: list[str] | None = None
    volumes: dict[str, str] = field(default_factory=dict)  # podman volume name -> mount path
    udp: bool = False  # the port over UDP as well, for an inbound UDP rule
    # Where its ids start among the service user's (staxad.model.userns): container ids
    # 0-65535 are mapped there and nowhere else. 0 for tenants made before blocks.
    userns_base: int = 0


@dataclass(frozen=True)
class ContainerState:
    id: str
    name: str
    running: bool
    status: str
    host_port: int | None  # where the app's TCP port is published on 127.0.0.1
    labels: dict[str, str] = field(default_factory=dict)
    published: dict[str, int] = field(default_factory=dict)  # "8080/udp" -> host port
    started_at: datetime | None = None  # when it last started; None: never, or not known
