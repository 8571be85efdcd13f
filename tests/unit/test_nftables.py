"""The nft tables rendered from network rules (pure): the whole document for a first
load and the element diff between two rulesets. Loading them is tested for real in
tests/integration and tests/faults; the adapter's use of the diff in test_nft_table.py."""

from __future__ import annotations

import pytest

from staxad.model.nftables import Allow, Forward, Ruleset, host_ruleset, netns_ruleset


def host_document(table: str, forwards: list[Forward]) -> str:
    return host_ruleset(table, forwards).full()


def netns_document(table: str, restricted: list[str], allows: list[Allow]) -> str:
    return netns_ruleset(table, restricted, allows).full()


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


def tcp(node_port: int, host_port: int = 0, source: str = "198.18.0.0/24") -> Forward:
    return Forward("tcp", source, node_port, host_port or node_port + 10000)


def udp(node_port: int) -> Forward:
    return Forward("udp", "198.18.1.2/32", node_port, node_port + 10000)


@pytest.mark.parametrize(
    ("loaded", "wanted", "want"),
    [
        pytest.param([], [], "", id="empty-to-empty"),
        pytest.param([tcp(30001)], [tcp(30001)], "", id="unchanged"),
        pytest.param(
            [],
            [tcp(30001)],
            "add element ip t inbound_tcp { 198.18.0.0/24 . 30001 : 127.0.0.1 . 40001 }\n",
            id="added",
        ),
        pytest.param(
            [tcp(30001)],
            [],
            "delete element ip t inbound_tcp { 198.18.0.0/24 . 30001 }\n",
            id="removed-by-key-only",
        ),
        pytest.param(
            [tcp(30001)],
            [tcp(30002)],
            "delete element ip t inbound_tcp { 198.18.0.0/24 . 30001 }\n"
            "add element ip t inbound_tcp { 198.18.0.0/24 . 30002 : 127.0.0.1 . 40002 }\n",
            id="replaced-deletes-first",
        ),
        pytest.param(
            [tcp(30001, 40001)],
            [tcp(30001, 41001)],
            "delete element ip t inbound_tcp { 198.18.0.0/24 . 30001 }\n"
            "add element ip t inbound_tcp { 198.18.0.0/24 . 30001 : 127.0.0.1 . 41001 }\n",
            id="same-key-new-target",
        ),
        pytest.param(
            [tcp(30003), tcp(30001), tcp(30002)],
            [tcp(30002)],
            "delete element ip t inbound_tcp { 198.18.0.0/24 . 30001, 198.18.0.0/24 . 30003 }\n",
            id="several-in-one-sorted-line",
        ),
        pytest.param(
            [tcp(30001)],
            [tcp(30001), udp(30001)],
            "add element ip t inbound_udp { 198.18.1.2/32 . 30001 : 127.0.0.1 . 40001 }\n",
            id="only-the-changed-map",
        ),
        pytest.param(
            [udp(30005)],
            [tcp(30004)],
            "add element ip t inbound_tcp { 198.18.0.0/24 . 30004 : 127.0.0.1 . 40004 }\n"
            "delete element ip t inbound_udp { 198.18.1.2/32 . 30005 }\n",
            id="maps-in-name-order",
        ),
        pytest.param(
            [tcp(30001, source="198.18.1.2")],
            [tcp(30001, source="198.18.1.2/32")],
            "",
            id="networks-normalised-before-comparing",
        ),
    ],
)
def test_host_ruleset_diff(loaded: list[Forward], wanted: list[Forward], want: str) -> None:
    assert host_ruleset("t", wanted).diff(host_ruleset("t", loaded)) == want


SUBNET = "10.89.1.0/24"


@pytest.mark.parametrize(
    ("loaded", "wanted", "want"),
    [
        pytest.param(([SUBNET], []), ([SUBNET], []), "", id="unchanged"),
        pytest.param(
            ([], []),
            ([SUBNET], []),
            "add element ip t restricted { 10.89.1.0/24 }\n",
            id="tenant-restricted",
        ),
        pytest.param(
            ([SUBNET], [Allow(SUBNET, "198.18.3.2/32", "udp", 53)]),
            ([SUBNET], [Allow(SUBNET, "198.18.3.2/32", "tcp", 8000)]),
            "add element ip t allowed_tcp { 10.89.1.0/24 . 198.18.3.2/32 . 8000 }\n"
            "delete element ip t allowed_udp { 10.89.1.0/24 . 198.18.3.2/32 . 53 }\n",
            id="allow-moves-protocol",
        ),
        pytest.param(
            ([SUBNET, "10.89.2.0/24"], [Allow("10.89.2.0/24", "198.18.3.0/24", "tcp", 443)]),
            ([SUBNET], []),
            "delete element ip t allowed_tcp { 10.89.2.0/24 . 198.18.3.0/24 . 443 }\n"
            "delete element ip t restricted { 10.89.2.0/24 }\n",
            id="tenant-unrestricted-with-its-allows",
        ),
    ],
)
def test_netns_ruleset_diff(
    loaded: tuple[list[str], list[Allow]], wanted: tuple[list[str], list[Allow]], want: str
) -> None:
    assert netns_ruleset("t", *wanted).diff(netns_ruleset("t", *loaded)) == want


@pytest.mark.parametrize(
    "loaded",
    [
        pytest.param(host_ruleset("other", [tcp(30001)]), id="another-table"),
        pytest.param(Ruleset("t", ("    chain x {", "    }"), {}), id="another-skeleton"),
        pytest.param(netns_ruleset("t", [SUBNET], []), id="another-kind-of-table"),
    ],
)
def test_diff_needs_a_whole_load_when_the_table_or_skeleton_differs(loaded: Ruleset) -> None:
    assert host_ruleset("t", [tcp(30001)]).diff(loaded) is None


def test_applying_the_diff_reaches_the_same_elements_as_a_whole_load() -> None:
    """Replaying a diff's lines on the loaded elements gives the wanted ones: the diff is
    complete, and deleting by key before adding lets a key change its target."""
    loaded = host_ruleset("t", [tcp(30001), tcp(30002, 45000), udp(30003)])
    wanted = host_ruleset("t", [tcp(30002, 45001), tcp(30004), udp(30005)])
    diff = wanted.diff(loaded)
    assert diff
    elements = {name: set(items) for name, items in loaded.elements.items()}
    for line in diff.splitlines():
        verb, _, _, _, name, rest = line.split(" ", 5)
        items = rest.strip("{} ").split(", ")
        if verb == "delete":
            elements[name] = {e for e in elements[name] if e.split(" : ")[0] not in items}
        else:
            elements[name] |= set(items)
    assert elements == {name: set(items) for name, items in wanted.elements.items()}
