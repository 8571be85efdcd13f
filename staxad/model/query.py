"""Query parameters as data: each one parses itself and describes itself in JSON Schema,
so the OpenAPI document says exactly what the parser enforces (one fact, written once).

A parameter left out takes its default; one given empty or malformed is an error
collected into `errors` (the caller raises them all at once as a 400).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from staxad.model.validation import CONTROL, MAX_INT_DIGITS, NO_CONTROL, ascii_int

TRUE, FALSE = ("true", "1"), ("false", "0")


@dataclass(frozen=True)
class IntParam:
    name: str
    default: int
    low: int
    high: int

    def read(self, query: Mapping[str, str], errors: dict[str, str]) -> int:
        raw = query.get(self.name)
        if raw is None:
            return self.default
        value = ascii_int(raw)
        if value is None or not self.low <= value <= self.high:
            errors[self.name] = f"must be an integer from {self.low} to {self.high}"
            return self.default
        return value

    def schema(self) -> dict[str, Any]:
        return {"type": "integer", "minimum": self.low, "maximum": self.high, "default": self.default}


@dataclass(frozen=True)
class BoolParam:
    name: str
    default: bool = False

    def read(self, query: Mapping[str, str], errors: dict[str, str]) -> bool:
        raw = query.get(self.name)
        if raw is None:
            return self.default
        if raw.lower() not in (*TRUE, *FALSE):
            errors[self.name] = "must be true or false"
            return self.default
        return raw.lower() in TRUE

    def schema(self) -> dict[str, Any]:
        return {"type": "boolean", "default": self.default}


@dataclass(frozen=True)
class ChoiceParam:
    name: str
    options: tuple[str, ...]
    default: str | None = None

    def read(self, query: Mapping[str, str], errors: dict[str, str]) -> str | None:
        raw = query.get(self.name)
        if raw is None:
            return self.default
        if raw not in self.options:
            errors[self.name] = f"must be one of: {', '.join(self.options)}"
            return self.default
        return raw

    def schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "string", "enum": list(self.options)}
        if self.default is not None:
            schema["default"] = self.default
        return schema


@dataclass(frozen=True)
class TextParam:
    name: str
    max_len: int

    def read(self, query: Mapping[str, str], errors: dict[str, str]) -> str | None:
        raw = query.get(self.name)
        if not raw:  # an empty search matches everything, as no search does
            return None
        if len(raw) > self.max_len or CONTROL.search(raw):
            errors[self.name] = f"must be at most {self.max_len} characters without control characters"
            return None
        return raw

    def schema(self) -> dict[str, Any]:
        return {"type": "string", "maxLength": self.max_len, "pattern": NO_CONTROL}


QueryParam = IntParam | BoolParam | ChoiceParam | TextParam

LIMIT = IntParam("limit", 20, 1, 100)
OFFSET = IntParam("offset", 0, 0, 1_000_000)
PAGE = (LIMIT, OFFSET)
FOLLOW = BoolParam("follow")
SINCE = IntParam("since", 0, 0, 10**MAX_INT_DIGITS - 1)


def lines(default: int) -> IntParam:
    return IntParam("lines", default, 1, 10000)
