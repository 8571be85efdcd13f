from __future__ import annotations

from typing import Any

import pytest

from staxad.core.accounts import parse_account_patch
from staxad.model.errors import ValidationError

GOOD: list[tuple[object, dict[str, Any]]] = [
    ({}, {}),
    ({"name": "Acme"}, {"name": "Acme"}),
    ({"name": "  Acme Inc "}, {"name": "Acme Inc"}),
    ({"name": None}, {"name": None}),
]
BAD: list[object] = [
    {"name": ""},
    {"name": "   "},
    {"name": 5},
    {"name": "x" * 101},
    {"name": "a\nb"},
    {"email": "a@b.c"},
    [],
]


@pytest.mark.parametrize(("payload", "changes"), GOOD)
def test_accepted(payload: object, changes: dict[str, Any]) -> None:
    assert parse_account_patch(payload) == changes


@pytest.mark.parametrize("payload", BAD)
def test_refused(payload: object) -> None:
    with pytest.raises(ValidationError):
        parse_account_patch(payload)
