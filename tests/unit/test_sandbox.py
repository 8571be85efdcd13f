"""The sandbox table's rules, rendered from the service user's ids (pure)."""

from __future__ import annotations

from staxad.model.sandbox import render, sandbox_for


def test_uids_registries_and_public_ports() -> None:
    sandbox = sandbox_for(
        994, [(100000, 65536)], ("127.0.0.1:5000", "localhost:5001", "registry.example:443"), (443, 80)
    )
    assert sandbox.uid_ranges == ((994, 994), (100000, 165535))
    assert sandbox.loopback_services == (("127.0.0.1", 5000), ("127.0.0.1", 5001), ("::1", 5001))
    assert sandbox.public_ports == (80, 443)


def test_render_drops_host_and_link_local_for_the_service_user_only() -> None:
    text = render("staxad-t-sandbox", sandbox_for(994, [(100000, 65536)], ("127.0.0.1:5000",), (8443,)))
    lines = [line.strip() for line in text.splitlines()]
    assert text.startswith("table inet staxad-t-sandbox {}\ndelete table inet staxad-t-sandbox\n")
    assert "meta skuid != { 994, 100000-165535 } accept" in lines
    # order matters: the exceptions come before the rejects
    order = [
        "ct state established,related accept",
        "ip daddr 127.0.0.1 tcp dport 5000 accept",
        "fib daddr type local ip daddr != 127.0.0.0/8 tcp dport { 8443 } accept",
        "fib daddr type local counter reject",
        "ip daddr 169.254.0.0/16 counter reject",
        "ip6 daddr fe80::/10 counter reject",
    ]
    assert [lines.index(rule) for rule in order] == sorted(lines.index(rule) for rule in order)


def test_unparsable_registries_open_nothing() -> None:
    sandbox = sandbox_for(1, [], ("no-port", "10.0.0.1:5000", "127.0.0.1:x5"), ())
    assert sandbox.loopback_services == ()
