"""The Caddy document staxad loads: pure, so checked here field by field; loading it into
a real Caddy is tests/integration's job."""

from __future__ import annotations

from typing import Any

import pytest

from staxad.adapters.caddy import FOLDED, MAPPED, NOT_SERVED, STOPPED, STOPPED_TARGET, Route, build_config


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
    assert handler["destinations"] == [MAPPED] and handler["defaults"] == [""]
    return {m["input"]: m["outputs"][0] for m in handler["mappings"]}


def sent_to(placeholder: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The stopped page, the 404 and the proxy for a target placeholder."""
    return (
        {"match": [{"vars": {placeholder: ["stopped"]}}], "handle": [STOPPED], "terminal": True},
        {"match": [{"vars": {placeholder: [""]}}], "handle": [NOT_SERVED], "terminal": True},
        {"handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": placeholder}]}]},
    )


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


def test_after_the_map_a_stopped_page_a_404_or_the_proxy_to_the_mapped_port() -> None:
    _, stopped, with_capitals, not_served, proxy = routes_of(config([Route("r-a", ("a.staxa.test",), 1)]))
    assert (stopped, not_served, proxy) == sent_to(MAPPED)
    assert STOPPED["status_code"] == 503 and STOPPED["headers"]["Retry-After"] == ["60"]
    assert NOT_SERVED["status_code"] == 404
    assert with_capitals["match"] == [{"vars": {MAPPED: [""]}, "header_regexp": {"Host": {"pattern": "[A-Z]"}}}]


def test_a_host_with_capitals_that_misses_the_map_is_matched_ignoring_case_inside_caddy() -> None:
    document = config(
        [
            Route("r-b", ("b.staxa.test", "www.example.com"), 40002),
            Route("r-a", ("a.staxa.test",), 40001),
            Route("r-c", ("c.staxa.test",), None),
        ]
    )
    [subroute] = routes_of(document)[2]["handle"]
    unset, *matched, stopped, not_served, proxy = subroute["routes"]
    assert unset == {"handle": [{"handler": "vars", "staxa_folded": ""}]}
    assert matched == [  # grouped by target: a handler per service, none a proxy of its own
        {"match": [{"host": ["a.staxa.test"]}], "handle": [{"handler": "vars", "staxa_folded": "127.0.0.1:40001"}]},
        {
            "match": [{"host": ["b.staxa.test", "www.example.com"]}],
            "handle": [{"handler": "vars", "staxa_folded": "127.0.0.1:40002"}],
        },
        {"match": [{"host": ["c.staxa.test"]}], "handle": [{"handler": "vars", "staxa_folded": "stopped"}]},
    ]
    assert (stopped, not_served, proxy) == sent_to(FOLDED)


def test_the_fallback_keeps_each_host_list_short_enough_for_caddy_to_ignore_case() -> None:
    stopped = [Route(f"r-{i:03}", (f"t{i:03}.staxa.test",), None) for i in range(250)]
    [subroute] = routes_of(config(stopped))[2]["handle"]
    lists = [r["match"][0]["host"] for r in subroute["routes"] if "match" in r and "host" in r["match"][0]]
    assert [len(hosts) for hosts in lists] == [100, 100, 50]
    assert sorted(h for hosts in lists for h in hosts) == [f"t{i:03}.staxa.test" for i in range(250)]


def test_hosts_are_mapped_in_lowercase_and_a_host_two_routes_claim_goes_to_the_first() -> None:
    document = config([Route("r-b", ("Shop.Example.com",), 2), Route("r-a", ("shop.example.com",), 1)])
    assert host_map(document) == {"shop.example.com": "127.0.0.1:1"}  # Caddy refuses a repeated map input


def test_no_routes_still_answers_plainly() -> None:
    document = config([])
    assert host_map(document) == {}
    assert routes_of(document)[3] == sent_to(MAPPED)[1]


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
