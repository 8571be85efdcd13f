"""The sandbox table: no connection from tenant code to this host or to link-local addresses.

Every tenant process — a build's RUN step, a container's app, slirp4netns and
rootlessport acting for them — runs as the service user or one of its subordinate ids.
Rootless builds reach the host's 127.0.0.1 through slirp4netns' 10.0.2.2 (buildah in
Debian 12 does not disable host loopback), and a tenant with open egress reaches
whatever listens on the host's own addresses and cloud metadata at 169.254.169.254. All
of those connections leave through the host's output hook with the socket owner's uid,
so one table there closes every path, whatever network mode podman picks.

Still allowed: replies on connections made to tenants (Caddy, node ports), DNS to a
resolver on loopback (slirp4netns forwards the tenant's DNS to the host's resolver), the
operator's registries on loopback (`runtime.insecure_registries`), and Caddy's public
ports on the host's non-loopback addresses, so an app can call a tenant's public URL.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass


@dataclass(frozen=True)
class Sandbox:
    uid_ranges: tuple[tuple[int, int], ...]  # (first, last), inclusive
    loopback_services: tuple[tuple[str, int], ...] = ()  # (address, tcp port)
    public_ports: tuple[int, ...] = ()


def sandbox_for(
    service_uid: int, subuids: list[tuple[int, int]], registries: tuple[str, ...], public_ports: tuple[int, ...]
) -> Sandbox:
    """`subuids` as /etc/subuid lists them: (first id, count)."""
    ranges = ((service_uid, service_uid), *((start, start + count - 1) for start, count in subuids if count > 0))
    loopback: list[tuple[str, int]] = []
    for registry in registries:
        host, _, port = registry.rpartition(":")
        if not port.isascii() or not port.isdigit():
            continue
        host = host.strip("[]")
        if host == "localhost":
            loopback += [("127.0.0.1", int(port)), ("::1", int(port))]
            continue
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            continue
        if address.is_loopback:
            loopback.append((str(address), int(port)))
    return Sandbox(ranges, tuple(sorted(set(loopback))), tuple(sorted(set(public_ports))))


def _set(items: list[str]) -> str:
    return "{ " + ", ".join(items) + " }"


def render(table: str, sandbox: Sandbox) -> str:
    """The whole table, replaced in one transaction (`table; delete table; table {...}`)."""
    uids = _set([str(a) if a == b else f"{a}-{b}" for a, b in sandbox.uid_ranges])
    rules = [
        f"meta skuid != {uids} accept",
        "ct state established,related accept",
        "meta l4proto { tcp, udp } th dport 53 ip daddr 127.0.0.0/8 accept",
        "meta l4proto { tcp, udp } th dport 53 ip6 daddr ::1 accept",
    ]
    for address, port in sandbox.loopback_services:
        family = "ip6" if ":" in address else "ip"
        rules.append(f"{family} daddr {address} tcp dport {port} accept")
    if sandbox.public_ports:
        ports = _set([str(p) for p in sandbox.public_ports])
        rules += [
            f"fib daddr type local ip daddr != 127.0.0.0/8 tcp dport {ports} accept",
            f"fib daddr type local ip6 daddr != ::1 tcp dport {ports} accept",
        ]
    rules += [
        "fib daddr type local counter reject",
        "ip daddr 169.254.0.0/16 counter reject",
        "ip6 daddr fe80::/10 counter reject",
    ]
    body = "\n".join(f"    {rule}" for rule in rules)
    return (
        f"table inet {table} {{}}\n"
        f"delete table inet {table}\n"
        f"table inet {table} {{\n"
        "  chain output {\n"
        "    type filter hook output priority filter; policy accept;\n"
        f"{body}\n"
        "  }\n"
        "}\n"
    )
