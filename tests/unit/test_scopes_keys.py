from __future__ import annotations

from staxad.model import apikeys, scopes


def test_wildcard_grants_all_but_admin() -> None:
    assert scopes.grants(["*"], "tenants:write")
    assert not scopes.grants(["*"], "admin")
    assert scopes.grants(["admin"], "admin")
    assert not scopes.grants(["tenants:read"], "tenants:write")


def test_exceeding() -> None:
    assert scopes.exceeding(["*"], ["tenants:read"]) == ["*"]
    assert scopes.exceeding(["deploy"], ["*"]) == []
    assert scopes.exceeding(["admin"], ["*"]) == ["admin"]
    assert scopes.exceeding(["admin", "keys"], ["*", "admin"]) == []


def test_key_material() -> None:
    raw = apikeys.new_raw_key("test")
    assert raw.startswith("sk_test_") and apikeys.mode_of(raw) == "test"
    assert apikeys.display_prefix(raw) == raw[:12]
    assert apikeys.digest(raw) != apikeys.digest(apikeys.new_raw_key("test"))
    assert apikeys.mode_of("sk_prod_" + "x" * 43) is None
    assert apikeys.mode_of("sk_live_short") is None
