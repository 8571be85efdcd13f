from __future__ import annotations

import pytest

from staxad.model.query import FOLLOW, LIMIT, OFFSET, ChoiceParam, QueryParam, TextParam, lines

SORT = ChoiceParam("sort", ("name", "-name"), "-name")
SEARCH = TextParam("search", 5)
CASES: list[tuple[QueryParam, dict[str, str], object, bool]] = [  # param, query, value, refused
    (LIMIT, {}, 20, False),
    (LIMIT, {"limit": "100"}, 100, False),
    (LIMIT, {"limit": ""}, 20, True),
    (LIMIT, {"limit": "0"}, 20, True),
    (LIMIT, {"limit": "1.5"}, 20, True),
    (LIMIT, {"limit": "²"}, 20, True),
    (OFFSET, {"offset": "-1"}, 0, True),
    (lines(200), {"lines": "10000"}, 10000, False),
    (lines(100), {"lines": "x"}, 100, True),
    (FOLLOW, {"follow": "TRUE"}, True, False),
    (FOLLOW, {"follow": "0"}, False, False),
    (FOLLOW, {"follow": ""}, False, True),
    (SORT, {}, "-name", False),
    (SORT, {"sort": ""}, "-name", True),
    (SEARCH, {"search": ""}, None, False),
    (SEARCH, {"search": "toolong"}, None, True),
    (SEARCH, {"search": "a\nb"}, None, True),
]


@pytest.mark.parametrize(("param", "query", "value", "refused"), CASES)
def test_read(param: QueryParam, query: dict[str, str], value: object, refused: bool) -> None:
    errors: dict[str, str] = {}
    assert param.read(query, errors) == value
    assert bool(errors) == refused


def test_schemas_say_what_read_enforces() -> None:
    assert LIMIT.schema() == {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
    assert FOLLOW.schema() == {"type": "boolean", "default": False}
    assert SORT.schema() == {"type": "string", "enum": ["name", "-name"], "default": "-name"}
    assert SEARCH.schema()["maxLength"] == 5
