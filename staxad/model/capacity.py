"""How many tenants a host can run, and which of its limits is reached first.

A planning figure for one-service tenants of one size, from the host's limits: memory
(what the size promises, plus what podman's helpers take beside each container; apps
that use less fit more, but only the promise can be planned on), the
service user's kernel keys (one per container unless podman's `keyring` is off), its
processes, and the ports rootless publishing can bind. `staxad doctor` prints it and
the README gives it per machine size.
"""

from __future__ import annotations

from dataclasses import dataclass

from staxad.model.resources import Size

# Beside each tenant container: conmon, rootlessport and its child, and the init.
HELPER_PROCESSES = 4
HELPER_MEMORY_MIB = 12
RESERVED_MEMORY_MIB = 512  # the host itself, staxad, Caddy and the podman service
KEYS_KEPT_BY_THE_USER = 5  # the service user's own session and podman service keys


@dataclass(frozen=True)
class HostLimits:
    memory_mib: int
    keys: int | None  # kernel.keys.maxkeys, or None when containers take no key (keyring = false)
    processes: int  # what the service user may run at once
    local_ports: int  # the ephemeral port range that published ports come from


@dataclass(frozen=True)
class Ceiling:
    tenants: int
    bound_by: str
    all_bounds: tuple[tuple[str, int], ...]


def ceiling(host: HostLimits, size: Size, app_processes: int = 2) -> Ceiling:
    bounds = [
        (
            f"memory ({host.memory_mib} MiB, {size.memory_mib} MiB per tenant and {HELPER_MEMORY_MIB} for its helpers)",
            max(0, host.memory_mib - RESERVED_MEMORY_MIB) // (size.memory_mib + HELPER_MEMORY_MIB),
        ),
        (
            f"processes of the service user ({host.processes}, about {HELPER_PROCESSES + app_processes} per tenant)",
            host.processes // (HELPER_PROCESSES + app_processes),
        ),
        (f"ephemeral ports ({host.local_ports})", host.local_ports),
    ]
    if host.keys is not None:
        bounds.append(
            (f"kernel keys of the service user (kernel.keys.maxkeys = {host.keys})", host.keys - KEYS_KEPT_BY_THE_USER)
        )
    bounds.sort(key=lambda bound: bound[1])
    return Ceiling(bounds[0][1], bounds[0][0], tuple(bounds))
