"""What each resource_size means for a container. On cgroups v1 hosts rootless podman
records these limits but cannot enforce memory and CPU (staxad doctor says so)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Size:
    cpus: float
    memory_mib: int
    pids: int


SIZES = {
    "small": Size(cpus=0.5, memory_mib=256, pids=256),
    "medium": Size(cpus=1.0, memory_mib=512, pids=512),
    "large": Size(cpus=2.0, memory_mib=1024, pids=1024),
}
