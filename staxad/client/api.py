"""The HTTP side of the CLI: requests in the contract's envelope, errors as ApiFailure."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx

from staxad.client.config import Target


class ApiFailure(Exception):
    """The API's error envelope (or why there was none): what the CLI prints."""

    def __init__(self, status: int, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.fields = status, message, fields or {}


class Api:
    def __init__(self, target: Target, transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {target.key}"} if target.key else {}
        self.client = httpx.Client(base_url=f"{target.url}/api/v1", headers=headers, timeout=60, transport=transport)

    def call(self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None) -> Any:
        try:
            response = self.client.request(method, path, json=body, params=params)
        except httpx.HTTPError as exc:
            raise ApiFailure(0, f"cannot reach {self.client.base_url}: {exc}") from None
        if response.status_code < 300 and not response.content:
            return None
        try:
            payload = response.json()
        except ValueError:
            raise ApiFailure(response.status_code, response.text[:500] or f"HTTP {response.status_code}") from None
        if response.status_code >= 400:
            error = payload.get("error", {}) if isinstance(payload, dict) else {}
            fields = (error.get("details") or {}).get("fields") if isinstance(error, dict) else None
            raise ApiFailure(response.status_code, str(error.get("message", response.text[:500])), fields)
        return payload.get("data") if isinstance(payload, dict) else payload

    def text(self, path: str, params: dict[str, str] | None = None) -> str:
        response = self.client.get(path, params=params)
        if response.status_code >= 400:
            self.call("GET", path, params=params)  # raises with the envelope
        return response.text

    def events(self, path: str, params: dict[str, str] | None = None) -> Iterator[dict[str, Any] | None]:
        """An SSE stream's events as they come, and None for each keep-alive (so a caller
        waiting for something can look at its clock)."""
        with self.client.stream("GET", path, params=params, timeout=None) as response:
            if response.status_code >= 400:
                response.read()
                self.call("GET", path, params=params)
            for line in response.iter_lines():
                if line.startswith("data: "):
                    yield json.loads(line[6:])
                elif line.startswith(":"):
                    yield None

    def lines(self, path: str, params: dict[str, str]) -> Iterator[str]:
        with self.client.stream("GET", path, params=params, timeout=None) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    yield line[6:]
