from __future__ import annotations

import pytest

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


@pytest.mark.parametrize(
    ("requested", "parent", "expected"),
    [
        (None, None, None),
        ("2027-01-01T00:00:00Z", None, "2027-01-01T00:00:00Z"),
        (None, "2027-01-01T00:00:00Z", "2027-01-01T00:00:00Z"),  # inherits
        ("2026-06-01T00:00:00Z", "2027-01-01T00:00:00Z", "2026-06-01T00:00:00Z"),
        ("2027-01-01T00:00:00Z", "2027-01-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        ("2027-01-01T00:00:01Z", "2027-01-01T00:00:00Z", ValueError),
        ("soon", "2027-01-01T00:00:00Z", "soon"),  # left to the caller's own validation
    ],
)
def test_a_child_key_never_outlives_its_parent(
    requested: str | None, parent: str | None, expected: str | type[Exception] | None
) -> None:
    if expected is ValueError:
        with pytest.raises(ValueError, match="must not be later"):
            apikeys.child_expiry(requested, parent)
    else:
        assert apikeys.child_expiry(requested, parent) == expected
