"""The Caddy document staxad loads: pure, so checked here field by field; loading it into
a real Caddy is tests/integration's job."""

from __future__ import annotations

from typing import Any

import pytest

from staxad.adapters.caddy import LOWERCASE_HOST, NOT_SERVED, STOPPED, STOPPED_TARGET, TARGET, Route, build_config


def config(routes: list[Route], **changes: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "admin": "unix//run/staxad-t-caddy/admin.sock",
        "https_port": 8443,
        "http_port": 8080,
        "ask_url": "http://127.0.0.1:7070/internal/tls/ask",
        "issuer": "internal",
        "acme_email": "",
        "storage": None,
        **changes,
    }
    return build_config(routes, **settings)


def routes_of(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(document["apps"]["http"]["servers"]["staxad"]["routes"])


def host_map(document: dict[str, Any]) -> dict[str, str]:
    [handler] = routes_of(document)[0]["handle"]
    assert handler["handler"] == "map" and handler["source"] == "{http.request.host}"
    assert handler["destinations"] == [TARGET] and handler["defaults"] == [""]
    return {m["input"]: m["outputs"][0] for m in handler["mappings"]}


def test_each_host_maps_to_its_loopback_port_or_to_stopped() -> None:
    document = config(
        [
            Route("r-b", ("b.staxa.test", "www.example.com"), 40002),
            Route("r-a", ("a.staxa.test",), 40001),
            Route("r-c", ("c.staxa.test",), None),
        ]
    )
    assert host_map(document) == {
        "a.staxa.test": "127.0.0.1:40001",
        "b.staxa.test": "127.0.0.1:40002",
        "www.example.com": "127.0.0.1:40002",
        "c.staxa.test": STOPPED_TARGET,
    }
    assert document["admin"] == {"listen": "unix//run/staxad-t-caddy/admin.sock"}
    assert document["apps"]["http"]["servers"]["staxad"]["listen"] == [":8443"]


def test_after_the_map_the_routes_are_the_same_whatever_the_tenants() -> None:
    many = [Route(f"r-{i}", (f"t{i}.staxa.test",), 40000 + i) for i in range(50)]
    assert routes_of(config(many))[1:] == routes_of(config([]))[1:]
    capitals, stopped, not_served, proxy = routes_of(config([]))[1:]
    # a Host with capitals that missed the map is made lowercase and looked up again
    assert capitals == {
        "match": [{"vars": {TARGET: [""]}, "header_regexp": {"Host": {"pattern": "[A-Z]"}}}],
        "handle": [LOWERCASE_HOST],
    }
    replacements = LOWERCASE_HOST["request"]["replace"]["Host"]  # type: ignore[index]
    assert {r["search"]: r["replace"] for r in replacements} == {c: c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"}
    assert stopped == {"match": [{"vars": {TARGET: ["stopped"]}}], "handle": [STOPPED], "terminal": True}
    assert STOPPED["status_code"] == 503 and STOPPED["headers"]["Retry-After"] == ["60"]
    assert not_served == {"match": [{"vars": {TARGET: [""]}}], "handle": [NOT_SERVED], "terminal": True}
    assert NOT_SERVED["status_code"] == 404
    assert proxy == {"handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": TARGET}]}]}


def test_hosts_are_mapped_in_lowercase_and_a_host_two_routes_claim_goes_to_the_first() -> None:
    document = config([Route("r-b", ("Shop.Example.com",), 2), Route("r-a", ("shop.example.com",), 1)])
    assert host_map(document) == {"shop.example.com": "127.0.0.1:1"}  # Caddy refuses a repeated map input


def test_no_routes_still_answers_plainly() -> None:
    document = config([])
    assert host_map(document) == {}
    assert routes_of(document)[3]["handle"] == [NOT_SERVED]


@pytest.mark.parametrize(
    ("issuer", "email", "want"),
    [
        ("internal", "", [{"module": "internal"}]),
        ("acme", "", [{"module": "acme"}]),
        ("acme", "ops@example.com", [{"module": "acme", "email": "ops@example.com"}]),
    ],
)
def test_certificates_are_on_demand_and_asked_for(issuer: str, email: str, want: list[dict[str, str]]) -> None:
    tls = config([], issuer=issuer, acme_email=email)["apps"]["tls"]["automation"]
    assert tls["policies"] == [{"issuers": want, "on_demand": True}]
    assert tls["on_demand"] == {"ask": "http://127.0.0.1:7070/internal/tls/ask"}


@pytest.mark.parametrize(
    ("storage", "want"), [(None, None), ("/var/lib/x", {"module": "file_system", "root": "/var/lib/x"})]
)
def test_storage_only_when_given(storage: str | None, want: dict[str, str] | None) -> None:
    assert config([], storage=storage).get("storage") == want


def test_the_same_routes_give_the_same_document_whatever_their_order() -> None:
    a, b = Route("r-a", ("a.staxa.test",), 1), Route("r-b", ("b.staxa.test",), 2)
    assert config([a, b]) == config([b, a])
