"""Which addresses staxad may connect to for a provider (webhooks and registries alike)."""

from __future__ import annotations

import pytest

from staxad.model.targets import refused, refused_address


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("100.64.0.1", "CGNAT"),
        ("100.127.255.254", "CGNAT"),
        ("100.100.100.200", "CGNAT"),  # Alibaba Cloud's metadata service
        ("::ffff:100.64.0.1", "CGNAT"),  # v4-mapped
        ("192.0.0.192", "metadata"),  # Oracle Cloud's, outside every private range
        ("169.254.169.254", "link-local"),
        ("fd00:ec2::254", "private"),  # AWS's over IPv6: unique-local
        ("fd12:3456::1", "private"),
        ("2002:a9fe:a9fe::1", "link-local"),  # 6to4 of 169.254.169.254
        ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "reserved"),  # NAT64 of 169.254.169.254
        ("100.63.255.255", None),
        ("100.128.0.1", None),
        ("8.8.8.8", None),
    ],
)
def test_shared_metadata_and_embedded_addresses(address: str, why: str | None) -> None:
    found = refused_address(address)
    assert (found is None) if why is None else (found is not None and why in found), found


def test_a_host_is_refused_when_any_address_is() -> None:
    assert refused("r.example.com", ["93.184.216.34"], (), ()) is None
    assert refused("r.example.com", ["93.184.216.34", "10.0.0.2"], (), ()) == (
        "r.example.com resolves to 10.0.0.2 is a private address"
    )
    assert refused("r.example.com", [], (), ()) == "r.example.com does not resolve"
    assert refused("r.example.com", ["93.184.216.34"], (), ["93.184.216.34"]) == (
        "r.example.com resolves to 93.184.216.34 is this host"
    )


def test_the_operator_names_the_private_hosts_or_addresses() -> None:
    assert refused("reg.internal", ["10.0.0.2"], ("reg.internal",), ()) is None
    assert refused("reg.internal", ["10.0.0.2"], ("10.0.0.2",), ()) is None
    assert refused("reg.internal", ["10.0.0.2", "127.0.0.1"], ("10.0.0.2",), ()) is not None
    assert refused("other.internal", ["10.0.0.2"], ("reg.internal",), ()) is not None
