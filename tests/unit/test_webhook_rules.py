"""Webhook decisions as tables: patterns, targets, forbidden addresses, signatures, retries."""

from __future__ import annotations

import pytest

from staxad.model.events import CONTRACT_EVENTS, EVENT_TYPES, GROUPS, matches, pattern
from staxad.model.targets import refused_address
from staxad.model.webhooks import retry_in, signature, target, verify


@pytest.mark.parametrize(
    "good",
    ["*", "deployment.*", "tenant.ready", "volume.over_limit", "backup.*", "network_rule.*", "database.created"],
)
def test_patterns(good: str) -> None:
    assert pattern(good) == good


@pytest.mark.parametrize(
    "bad",
    ["", "deployment", "*.*", "nope.*", "tenant.Ready", "tenant.ready.x", "tenant.*x", "tenant.nothing", "image.*"],
)
def test_bad_patterns(bad: str) -> None:
    """Only what staxad sends: a name that is never sent would subscribe to nothing."""
    with pytest.raises(ValueError, match="not an event staxad sends"):
        pattern(bad)


def test_every_event_of_the_contract_and_every_group_may_be_subscribed_to() -> None:
    assert set(CONTRACT_EVENTS) <= set(EVENT_TYPES)
    assert all(pattern(f"{group}.*") for group in GROUPS)


@pytest.mark.parametrize(
    ("patterns", "event", "want"),
    [
        (["*"], "tenant.ready", True),
        (["deployment.*"], "deployment.failed", True),
        (["deployment.*"], "tenant.ready", False),
        (["tenant.ready"], "tenant.failed", False),
        (["tenant.failed", "tenant.ready"], "tenant.ready", True),
    ],
)
def test_matching(patterns: list[str], event: str, want: bool) -> None:
    assert matches(patterns, event) is want


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://hooks.example.com/x", None),
        ("http://hooks.example.com/x", "https"),
        ("http://127.0.0.1:9/x", None),  # allowed below
        ("ftp://hooks.example.com", "https"),
        ("https://user:pw@hooks.example.com", "credentials"),
        ("https://hooks.example.com/#frag", "fragment"),
        ("https:///nohost", "host"),
        ("https://hooks.example.com/a b", "spaces"),
    ],
)
def test_targets(url: str, problem: str | None) -> None:
    if problem is None:
        assert target(url, ("127.0.0.1",)) == url
    else:
        with pytest.raises(ValueError, match=problem):
            target(url, ("127.0.0.1",))


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.1.1", "private"),
        ("172.16.0.1", "private"),
        ("169.254.169.254", "link-local"),
        ("0.0.0.0", "private"),  # also unspecified; private is reported first
        ("::1", "loopback"),
        ("fe80::1", "link-local"),
        ("fc00::1", "private"),
        ("::ffff:127.0.0.1", "loopback"),  # v4-mapped
        ("224.0.0.1", "multicast"),
        ("198.51.100.7", "private"),  # documentation ranges count as private to ipaddress
        ("93.184.216.34", None),
        ("2606:4700::1", None),
    ],
)
def test_forbidden_addresses(address: str, why: str | None) -> None:
    found = refused_address(address)
    assert (found is None) if why is None else (found is not None and why in found), found


def test_this_hosts_own_address_is_refused() -> None:
    assert refused_address("93.184.216.34", own=["93.184.216.34"]) == "93.184.216.34 is this host"


def test_a_signature_verifies_with_either_secret_during_a_rotation() -> None:
    body = b'{"event":"tenant.ready"}'
    header = signature(["new", "old"], 1_800_000_000, body)
    assert header.startswith("t=1800000000,v1=") and header.count("v1=") == 2
    assert verify("new", header, body, 1_800_000_100)
    assert verify("old", header, body, 1_800_000_100)
    assert not verify("other", header, body, 1_800_000_100)
    assert not verify("new", header, body + b" ", 1_800_000_100)  # the body as sent, byte for byte
    assert not verify("new", header, body, 1_800_000_400)  # too old


def test_retries_double_from_ten_seconds_to_an_hour() -> None:
    assert [retry_in(n) for n in (1, 2, 3, 4)] == [10, 20, 40, 80]
    assert retry_in(20) == 3600
