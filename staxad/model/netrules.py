"""Network rules: what a user may ask for (inbound node ports, outbound allowances), parsed
and checked. staxad.model.nftables renders the rules the store holds as nft tables."""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from staxad.model import validation

DIRECTIONS = ("inbound", "outbound")
PROTOCOLS = ("tcp", "udp")
RULE_STATUSES = ("active", "expired", "deleted", "failed")


@dataclass(frozen=True, slots=True)
class NetworkRule:
    id: str
    tenant_id: str
    direction: str
    protocol: str
    target_service_id: str | None
    target_port: int | None
    allocated_port: int | None
    source_cidrs: tuple[str, ...]
    destination_cidrs: tuple[str, ...]
    destination_port: int | None
    description: str | None
    status: str
    expires_at: str | None
    created_at: str
    failure: str | None = None  # why the firewall refused it (status "failed")


@dataclass(frozen=True)
class RuleSpec:
    direction: str
    protocol: str
    target_service: str | None
    target_port: int | None
    source_cidrs: tuple[str, ...]
    destination_cidrs: tuple[str, ...]
    destination_port: int | None
    ttl_hours: int | None
    description: str | None


FIELDS = (
    "direction",
    "protocol",
    "target_service",
    "target_port",
    "source_cidrs",
    "destination_cidrs",
    "destination_port",
    "ttl_hours",
    "description",
)


def parse_rule(
    payload: object,
    *,
    min_prefix_v4: int,
    max_cidrs: int,
    min_prefix_v4_outbound: int = 8,
    host_addresses: Iterable[str] = (),
) -> RuleSpec:
    """`min_prefix_v4` bounds inbound sources, `min_prefix_v4_outbound` destinations;
    `host_addresses` are this host's own, which no inbound source may contain."""
    body = validation.Body(payload, FIELDS)
    direction = body.choice("direction", DIRECTIONS, required=True)
    protocol = body.choice("protocol", PROTOCOLS, required=True)
    ttl = body.integer("ttl_hours", 1, 24 * 365)
    description = body.string("description", max_len=255)
    own = [ipaddress.IPv4Address(a) for a in host_addresses if ipaddress.ip_address(a).version == 4]

    def cidrs(field: str, min_prefix: int, sources: bool = False) -> tuple[str, ...]:
        values = body.strings(field, max_items=max_cidrs, max_len=64)
        if values is None:
            return ()
        parsed = []
        for value in values:
            try:
                parsed.append(cidr(value, min_prefix))
            except ValueError as exc:
                body.fail(field, f"'{value[:64]}' {exc}")
                return ()
            problem = source_problem(parsed[-1], own) if sources else None
            if problem:
                body.fail(field, f"'{parsed[-1]}' {problem}")
                return ()
        unique = tuple(dict.fromkeys(parsed))
        problem = overlap_problem(unique)
        if problem:
            body.fail(field, problem)
            return ()
        return unique

    if direction == "inbound":
        service = body.string("target_service", required=True, max_len=63)
        port = body.integer("target_port", 1, 65535)
        sources = cidrs("source_cidrs", min_prefix_v4, sources=True)
        if not sources and "source_cidrs" not in body.errors:
            body.fail("source_cidrs", "list at least one allowed source CIDR (e.g. 203.0.113.0/24)")
        for field in ("destination_cidrs", "destination_port"):
            if body.has(field):
                body.fail(field, "only for outbound rules")
        body.done()
        return RuleSpec("inbound", str(protocol), service, port, sources, (), None, ttl, description)
    destinations = cidrs("destination_cidrs", min_prefix_v4_outbound)
    if not destinations and "destination_cidrs" not in body.errors:
        body.fail("destination_cidrs", "list at least one destination CIDR")
    port = body.integer("destination_port", 1, 65535, required=True)
    for field in ("target_service", "target_port", "source_cidrs"):
        if body.has(field):
            body.fail(field, "only for inbound rules")
    body.done()
    return RuleSpec("outbound", str(protocol), None, None, (), destinations, port, ttl, description)


def cidr(value: str, min_prefix_v4: int) -> str:
    """A normalised IPv4 network; host bits set are refused rather than silently cleared."""
    try:
        network = ipaddress.ip_network(value.strip(), strict=True)
    except ValueError as exc:
        raise ValueError(f"is not a valid CIDR ({exc})") from None
    if network.version != 4:
        raise ValueError("is IPv6; network rules support IPv4 for now")
    if network.prefixlen < min_prefix_v4:
        raise ValueError(f"is wider than /{min_prefix_v4}, the widest this server allows")
    return str(network)


# Sources no inbound rule may cover: packets from them are the host's own or never
# come from a client (RFC 1122 "this network", loopback, link-local, multicast, reserved).
NOT_CLIENTS = (
    ("unspecified ('this network')", ipaddress.IPv4Network("0.0.0.0/8")),
    ("loopback", ipaddress.IPv4Network("127.0.0.0/8")),
    ("link-local", ipaddress.IPv4Network("169.254.0.0/16")),
    ("multicast", ipaddress.IPv4Network("224.0.0.0/4")),
    ("reserved or broadcast", ipaddress.IPv4Network("240.0.0.0/4")),
)


def source_problem(value: str, host_addresses: Iterable[ipaddress.IPv4Address]) -> str | None:
    """Why `value` may not be an inbound source, or None. A source that covers the host's
    own address would forward the host's own connections (other tenants' egress leaves
    from it) to the rule's tenant."""
    network = ipaddress.IPv4Network(value)
    for kind, reserved in NOT_CLIENTS:
        if network.overlaps(reserved):
            return f"covers {kind} addresses ({reserved}), which are never a client's; name the clients' networks"
    own = sorted(a for a in host_addresses if a in network)
    if own:
        return f"contains this host's own address {own[0]}; name the clients' networks, not the server's"
    return None


def overlap_problem(values: Iterable[str]) -> str | None:
    """The first two networks that overlap (nft's interval maps refuse them), or None."""
    networks = sorted(ipaddress.IPv4Network(v) for v in values)
    for wider, narrower in itertools.pairwise(networks):
        if wider.overlaps(narrower):
            return f"'{narrower}' lies inside '{wider}'; list each address range once (keep '{wider}')"
    return None
