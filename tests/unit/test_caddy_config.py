"""The Caddy document staxad loads: pure, so checked here field by field; loading it into
a real Caddy is tests/integration's job."""

from __future__ import annotations

from typing import Any

import pytest

from staxad.adapters.caddy import NOT_SERVED, STOPPED, Route, build_config


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


def test_a_stopped_service_answers_a_503_page_instead_of_a_proxy_error() -> None:
    [route, _] = routes_of(config([Route("r-a", ("a.staxa.test",), None)]))
    assert route["handle"] == [STOPPED]
    assert STOPPED["status_code"] == 503 and STOPPED["headers"]["Retry-After"] == ["60"]


def test_each_route_proxies_its_hosts_to_its_loopback_port_and_the_rest_is_a_404() -> None:
    document = config(
        [Route("r-b", ("b.staxa.test", "www.example.com"), 40002), Route("r-a", ("a.staxa.test",), 40001)]
    )
    first, second, last = routes_of(document)
    assert [first["@id"], second["@id"]] == ["r-a", "r-b"]  # sorted: the same store gives the same document
    assert first["match"] == [{"host": ["a.staxa.test"]}]
    assert first["handle"] == [{"handler": "reverse_proxy", "upstreams": [{"dial": "127.0.0.1:40001"}]}]
    assert second["match"] == [{"host": ["b.staxa.test", "www.example.com"]}]
    assert last == NOT_SERVED
    assert document["admin"] == {"listen": "unix//run/staxad-t-caddy/admin.sock"}
    assert document["apps"]["http"]["servers"]["staxad"]["listen"] == [":8443"]


def test_no_routes_still_answers_plainly() -> None:
    assert routes_of(config([])) == [NOT_SERVED]


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
