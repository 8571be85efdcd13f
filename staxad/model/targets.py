"""Where staxad may connect on a provider's behalf: webhook receivers and registries. Pure.

A request staxad makes for a provider must not reach what only this host can reach:
its own addresses, loopback, link-local (and the cloud metadata service there), private
and unique-local ranges, CGNAT's shared space (100.64.0.0/10, where some clouds put
their metadata service), multicast and reserved ranges. An IPv6 address that carries an
IPv4 one (v4-mapped, 6to4) is judged by the IPv4 address. The operator names the hosts
exempt from this (`webhooks.allow_private_targets`, `runtime.private_registries`).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Collection, Iterable

SHARED = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598, carrier-grade NAT
# Metadata services outside the ranges above (and a few inside, named for the message).
METADATA = frozenset({"169.254.169.254", "169.254.170.2", "100.100.100.200", "192.0.0.192", "fd00:ec2::254"})

IP = ipaddress.IPv4Address | ipaddress.IPv6Address


def _unwrapped(ip: IP) -> IP:
    if isinstance(ip, ipaddress.IPv6Address):
        return ip.ipv4_mapped or ip.sixtofour or ip
    return ip


def refused_address(address: str, own: Iterable[str] = ()) -> str | None:
    """Why a resolved address may not be connected to, or None."""
    ip = _unwrapped(ipaddress.ip_address(address))
    if str(ip) in set(own):
        return f"{ip} is this host"
    for flag, what in (
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local"),
        (ip.is_private, "private"),
        (ip.is_unspecified, "unspecified"),
        (ip.is_multicast, "multicast"),
        (ip.is_reserved, "reserved"),
        (ip in SHARED, "shared (CGNAT, 100.64.0.0/10)"),
        (str(ip) in METADATA, "cloud metadata"),
    ):
        if flag:
            return f"{ip} is a {what} address"
    return None


def refused(host: str, addresses: Iterable[str], allowed: Collection[str], own: Iterable[str]) -> str | None:
    """Why a host that resolved to `addresses` may not be connected to, or None. `allowed`
    names hosts (or addresses) the operator lets be private; one forbidden address refuses
    the host, since the connection could go to any of them."""
    if host in allowed:
        return None
    found = list(addresses)
    if not found:
        return f"{host} does not resolve"
    mine = list(own)
    for address in found:
        why = None if address in allowed else refused_address(address, mine)
        if why is not None:
            return f"{host} resolves to {why}"
    return None
