"""Network rules: what a user may ask for, and the nftables documents that enforce them.

Inbound ("NodePort"): in the host namespace, a connection from one of the rule's
source CIDRs to the allocated port on one of this host's own addresses is DNATed to the service's published port on
127.0.0.1 (published ports never listen anywhere else). A guard drops packets for
127.0.0.0/8 that arrive from outside without having been DNATed, which the
`route_localnet` setting this needs would otherwise let through.

Outbound: in the service user's rootless network namespace (where tenant bridges
live), forwarded traffic from a restricted tenant's subnet is dropped unless it matches
one of its rules (destination CIDR, protocol, port). DNS (served by aardvark on the
bridge) and traffic between the tenant's own services never pass the forward hook.

Each document replaces staxad's own table in one transaction and touches nothing
else; the rules live in maps and sets, so the rule count stays constant and a change
costs the same with 1 or 1,000 network rules.
"""

from __future__ import annotations

import ipaddress
import itertools
from collections.abc import Iterable
from dataclasses import dataclass

from staxad.model import validation
from staxad.model.errors import ValidationError

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


def raise_invalid(field: str, message: str) -> None:
    raise ValidationError(f"Invalid {field}: {message}", {"fields": {field: message}})


# nftables documents
#
# Rendered as nft's own syntax, not JSON: nft 1.0.6 (Debian 12) crashes on JSON maps
# with concatenated data types. Only values parsed here reach a document (normalised
# networks, integer ports, staxad's table name), never a user string.


@dataclass(frozen=True)
class Forward:
    """One inbound element: from `source` to `node_port`, DNAT to 127.0.0.1:`host_port`."""

    protocol: str
    source: str
    node_port: int
    host_port: int
    rule_id: str = ""


@dataclass(frozen=True)
class Allow:
    """One outbound element: from a tenant `subnet` to `destination`:`port`."""

    subnet: str
    destination: str
    protocol: str
    port: int
    rule_id: str = ""


def _net(value: str) -> str:
    return str(ipaddress.IPv4Network(value))


@dataclass(frozen=True)
class Ruleset:
    """staxad's table: its fixed skeleton (chains, map and set declarations) and the
    elements of each map or set, which are all that network rules change."""

    table: str
    skeleton: tuple[str, ...]  # table body lines; "{elements:NAME}" marks where a map's elements go
    elements: dict[str, frozenset[str]]

    def full(self) -> str:
        """Replace the whole table in one transaction (first load, or after it was lost).

        add-then-delete succeeds whether or not the table existed; the whole file is one
        transaction, so no packet sees the table half-built or missing."""
        body = []
        for line in self.skeleton:
            if line.startswith("{elements:"):
                items = sorted(self.elements[line[len("{elements:") : -1]])
                if items:
                    body.append(f"        elements = {{ {', '.join(items)} }}")
            else:
                body.append(line)
        head = [f"add table ip {self.table}", f"delete table ip {self.table}", f"table ip {self.table} {{"]
        return "\n".join([*head, *body, "}"]) + "\n"

    def diff(self, loaded: Ruleset) -> str | None:
        """Only the elements that changed, as one transaction; None when a full load is needed."""
        if loaded.table != self.table or loaded.skeleton != self.skeleton:
            return None
        lines = []
        for name, wanted in sorted(self.elements.items()):
            had = loaded.elements.get(name, frozenset())
            gone = sorted(item.split(" : ")[0] for item in had - wanted)
            new = sorted(wanted - had)
            if gone:
                lines.append(f"delete element ip {self.table} {name} {{ {', '.join(gone)} }}")
            if new:
                lines.append(f"add element ip {self.table} {name} {{ {', '.join(new)} }}")
        return "\n".join(lines) + "\n" if lines else ""


def host_ruleset(table: str, forwards: list[Forward]) -> Ruleset:
    skeleton: list[str] = []
    elements: dict[str, frozenset[str]] = {}
    for protocol in PROTOCOLS:
        name = f"inbound_{protocol}"
        elements[name] = frozenset(
            f"{_net(f.source)} . {int(f.node_port)} : 127.0.0.1 . {int(f.host_port)}"
            for f in forwards
            if f.protocol == protocol
        )
        skeleton += [
            f"    map {name} {{",
            "        type ipv4_addr . inet_service : ipv4_addr . inet_service",
            "        flags interval",
            f"{{elements:{name}}}",
            "    }",
        ]
    for chain in ("prerouting", "output"):
        skeleton += [f"    chain {chain} {{", f"        type nat hook {chain} priority -100; policy accept;"]
        for protocol in PROTOCOLS:
            lookup = f"ip saddr . {protocol} dport map @inbound_{protocol}"
            # only packets addressed to this host: a source that covers the host's own
            # address must not capture local connections to other hosts on a node port
            skeleton.append(f"        meta l4proto {protocol} fib daddr type local dnat ip to {lookup}")
        skeleton.append("    }")
    skeleton += [
        "    chain guard {",
        "        type filter hook input priority 0; policy accept;",
        '        iifname != "lo" ip daddr 127.0.0.0/8 ct status & dnat == 0 drop',
        "    }",
    ]
    return Ruleset(table, tuple(skeleton), elements)


def netns_ruleset(table: str, restricted: list[str], allows: list[Allow]) -> Ruleset:
    elements: dict[str, frozenset[str]] = {"restricted": frozenset(_net(s) for s in restricted)}
    skeleton = [
        "    set restricted {",
        "        type ipv4_addr",
        "        flags interval",
        "{elements:restricted}",
        "    }",
    ]
    for protocol in PROTOCOLS:
        name = f"allowed_{protocol}"
        elements[name] = frozenset(
            f"{_net(a.subnet)} . {_net(a.destination)} . {int(a.port)}" for a in allows if a.protocol == protocol
        )
        skeleton += [
            f"    set {name} {{",
            "        type ipv4_addr . ipv4_addr . inet_service",
            "        flags interval",
            f"{{elements:{name}}}",
            "    }",
        ]
    skeleton += ["    chain forward {", "        type filter hook forward priority 0; policy accept;"]
    for protocol in PROTOCOLS:
        key = f"ip saddr . ip daddr . {protocol} dport"
        skeleton.append(f"        meta l4proto {protocol} {key} @allowed_{protocol} accept")
    skeleton += ["        ip saddr @restricted drop", "    }"]
    return Ruleset(table, tuple(skeleton), elements)


def host_document(table: str, forwards: list[Forward]) -> str:
    return host_ruleset(table, forwards).full()


def netns_document(table: str, restricted: list[str], allows: list[Allow]) -> str:
    return netns_ruleset(table, restricted, allows).full()
