"""The nftables tables that enforce network rules, rendered from the parsed rules.

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
from dataclasses import dataclass

from staxad.model.netrules import PROTOCOLS

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
