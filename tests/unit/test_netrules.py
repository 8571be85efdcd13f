"""Network rule parsing and the nft documents (pure); loading them is tested for real."""

from __future__ import annotations

import pytest

from staxad.model.errors import ValidationError
from staxad.model.netrules import Allow, Forward, cidr, host_document, netns_document, parse_rule


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


def test_wide_cidrs_only_when_the_operator_allows() -> None:
    assert cidr("0.0.0.0/0", 0) == "0.0.0.0/0"


def test_host_document_replaces_only_its_table_in_one_file() -> None:
    text = host_document(
        "staxad-x", [Forward("tcp", "198.18.0.0/24", 30001, 41000), Forward("udp", "198.18.1.2/32", 30001, 41001)]
    )
    assert text.startswith("add table ip staxad-x\ndelete table ip staxad-x\ntable ip staxad-x {")
    assert "198.18.0.0/24 . 30001 : 127.0.0.1 . 41000" in text and "198.18.1.2/32 . 30001 : 127.0.0.1 . 41001" in text
    assert "ct status & dnat == 0 drop" in text and "flush" not in text
    # both DNAT chains (prerouting, output) take only packets addressed to this host
    assert text.count("fib daddr type local dnat ip to") == 4 == text.count("dnat ip to")
    assert host_document("staxad-x", []).count("elements") == 0
    # the number of rules does not grow with the number of network rules: they are map elements
    many = [Forward("tcp", f"198.18.{i // 250}.{i % 250}/32", 30000 + i, 40000 + i) for i in range(1000)]
    assert host_document("staxad-x", many).count("dnat ip to") == host_document("staxad-x", []).count("dnat ip to")


def test_netns_document_drops_restricted_subnets_except_allowed() -> None:
    text = netns_document("staxad-x", ["10.89.1.0/24"], [Allow("10.89.1.0/24", "198.18.3.2/32", "tcp", 8000)])
    assert "elements = { 10.89.1.0/24 . 198.18.3.2/32 . 8000 }" in text
    assert text.index("@allowed_tcp accept") < text.index("ip saddr @restricted drop")
