"""Network rule requests: parsing and validation (pure). The nft documents rendered
from the rules are tested in test_nftables.py."""

from __future__ import annotations

from ipaddress import IPv4Address

import pytest

from staxad.adapters.hostinfo import addresses_of
from staxad.model.errors import ValidationError
from staxad.model.netrules import cidr, overlap_problem, parse_rule, source_problem


def test_parse_inbound_and_outbound() -> None:
    inbound = parse_rule(
        {
            "direction": "inbound",
            "protocol": "udp",
            "target_service": "dns",
            "source_cidrs": ["198.18.0.0/24", "198.18.0.0/24"],
        },
        min_prefix_v4=16,
        max_cidrs=5,
    )
    assert (inbound.protocol, inbound.target_service, inbound.source_cidrs) == ("udp", "dns", ("198.18.0.0/24",))
    outbound = parse_rule(
        {
            "direction": "outbound",
            "protocol": "tcp",
            "destination_cidrs": ["198.18.5.7/32"],
            "destination_port": 5432,
            "ttl_hours": 3,
        },
        min_prefix_v4=16,
        max_cidrs=5,
    )
    assert (outbound.destination_cidrs, outbound.destination_port, outbound.ttl_hours) == (("198.18.5.7/32",), 5432, 3)
    with pytest.raises(ValidationError) as raised:
        parse_rule({"direction": "outbound", "protocol": "tcp"}, min_prefix_v4=16, max_cidrs=5)
    assert set(raised.value.details["fields"]) == {"destination_cidrs", "destination_port"}


@pytest.mark.parametrize("value", ["x", "198.18.0.1/24", "10.0.0.0/8", "::/0", "198.18.0.0/33", "198.18.0.0/24; drop"])
def test_bad_cidrs(value: str) -> None:
    with pytest.raises(ValueError):
        cidr(value, 16)


HOST = [IPv4Address("198.18.7.1"), IPv4Address("192.0.2.10")]


@pytest.mark.parametrize(
    ("source", "refused_for"),
    [
        ("203.0.113.0/24", None),
        ("198.18.6.0/24", None),
        ("198.18.7.2/32", None),  # a neighbour of the host, not the host
        ("198.18.7.1/32", "own address 198.18.7.1"),
        ("198.18.0.0/16", "own address 198.18.7.1"),
        ("192.0.2.0/24", "own address 192.0.2.10"),
        ("127.0.0.1/32", "loopback"),
        ("127.0.0.0/16", "loopback"),
        ("126.0.0.0/7", "loopback"),
        ("169.254.169.254/32", "link-local"),
        ("224.0.0.0/24", "multicast"),
        ("0.0.0.0/8", "unspecified"),
        ("0.0.0.0/0", "unspecified"),  # covers all of the above
        ("255.255.255.255/32", "broadcast"),
    ],
)
def test_inbound_sources_that_are_not_clients(source: str, refused_for: str | None) -> None:
    problem = source_problem(source, HOST)
    assert problem is None if refused_for is None else refused_for in (problem or "")


@pytest.mark.parametrize(
    ("networks", "overlap"),
    [
        (["10.0.0.0/16", "10.0.1.0/24"], "'10.0.1.0/24' lies inside '10.0.0.0/16'"),
        (["10.0.1.0/24", "10.0.0.0/16"], "'10.0.1.0/24' lies inside '10.0.0.0/16'"),
        (["10.0.0.0/8", "10.2.0.0/16", "10.1.0.0/16"], "inside '10.0.0.0/8'"),
        (["10.0.0.0/24", "10.0.1.0/24", "10.0.2.7/32"], None),
        ([], None),
    ],
)
def test_overlapping_networks(networks: list[str], overlap: str | None) -> None:
    problem = overlap_problem(networks)
    assert problem is None if overlap is None else overlap in (problem or "")


def rule_with(**fields: object) -> dict[str, object]:
    return {"direction": "inbound", "protocol": "tcp", "target_service": "web", **fields}


def test_parse_refuses_host_sources_and_overlaps_with_the_field_named() -> None:
    for sources in (["198.18.7.0/24"], ["127.0.0.0/16"], ["10.0.0.0/16", "10.0.1.0/24"]):
        with pytest.raises(ValidationError) as raised:
            parse_rule(rule_with(source_cidrs=sources), min_prefix_v4=16, max_cidrs=5, host_addresses=["198.18.7.1"])
        assert set(raised.value.details["fields"]) == {"source_cidrs"}
    outbound = {"direction": "outbound", "protocol": "tcp", "destination_port": 443}
    with pytest.raises(ValidationError) as raised:
        parse_rule({**outbound, "destination_cidrs": ["10.0.0.0/8", "10.9.0.0/16"]}, min_prefix_v4=16, max_cidrs=5)
    assert "inside '10.0.0.0/8'" in raised.value.details["fields"]["destination_cidrs"]


def test_outbound_takes_the_contracts_example_while_inbound_stays_narrow() -> None:
    outbound = {"direction": "outbound", "protocol": "tcp", "destination_port": 443}
    outbound["destination_cidrs"] = ["10.0.0.0/8"]
    assert parse_rule(outbound, min_prefix_v4=16, max_cidrs=5).destination_cidrs == ("10.0.0.0/8",)
    with pytest.raises(ValidationError):
        parse_rule(rule_with(source_cidrs=["10.0.0.0/8"]), min_prefix_v4=16, max_cidrs=5)
    with pytest.raises(ValidationError):
        parse_rule({**outbound, "destination_cidrs": ["0.0.0.0/0"]}, min_prefix_v4=16, max_cidrs=5)


def test_host_addresses_from_ip_json() -> None:
    text = (
        '[{"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},'
        '{"ifname":"eth0","addr_info":[{"family":"inet","local":"192.0.2.10","prefixlen":24},'
        '{"family":"inet6","local":"2001:db8::1","prefixlen":64}]},{"ifname":"down","addr_info":[]}]'
    )
    assert addresses_of(text) == ["127.0.0.1", "192.0.2.10"]


def test_wide_cidrs_only_when_the_operator_allows() -> None:
    assert cidr("0.0.0.0/0", 0) == "0.0.0.0/0"
