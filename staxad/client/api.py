"""The HTTP side of the CLI: requests in the contract's envelope, errors as ApiFailure.

The transport is injected (tests pass one that runs the daemon's app in-process); a
stream is read line by line, so a follower sees each event as it is sent.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from typing import Any

import httpx

from staxad.client.config import Target


class ApiFailure(Exception):
    """The API's error envelope (or why there was none): what the CLI prints."""

    def __init__(self, status: int, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.details = status, message, details or {}

    @property
    def fields(self) -> dict[str, Any]:
        fields = self.details.get("fields")
        return fields if isinstance(fields, dict) else {}


def failure(response: httpx.Response) -> ApiFailure:
    """What an error response says, from its envelope when it has one."""
    try:
        payload = response.json()
    except ValueError:
        return ApiFailure(response.status_code, response.text[:500] or f"HTTP {response.status_code}")
    error = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(error, dict):
        return ApiFailure(response.status_code, response.text[:500])
    details = error.get("details")
    return ApiFailure(
        response.status_code, str(error.get("message", "")), details if isinstance(details, dict) else None
    )


def sse(lines: Iterator[str]) -> Iterator[tuple[str, str] | None]:
    """(event name, data) for each Server-Sent Event, None for each comment (keep-alive)."""
    data: list[str]
    name, data = "message", []
    for line in lines:
        if not line:
            if data:
                yield name, "\n".join(data)
            name, data = "message", []
        elif line.startswith(":"):
            yield None
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].removeprefix(" "))


class Api:
    def __init__(self, target: Target, transport: httpx.BaseTransport | None = None) -> None:
        headers = {"Authorization": f"Bearer {target.key}"} if target.key else {}
        self.client = httpx.Client(base_url=f"{target.url}/api/v1", headers=headers, timeout=60, transport=transport)

    def close(self) -> None:
        self.client.close()

    def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiFailure(0, f"cannot reach {self.client.base_url}: {exc}") from None
        if response.status_code >= 400:
            raise failure(response)
        return response

    def call(self, method: str, path: str, body: Any = None, params: dict[str, str] | None = None) -> Any:
        """The `data` of the answer; None for an empty one (204)."""
        response = self._send(method, path, json=body, params=params)
        if not response.content:
            return None
        try:
            payload = response.json()
        except ValueError:
            raise ApiFailure(response.status_code, f"not JSON: {response.text[:200]}") from None
        return payload.get("data") if isinstance(payload, dict) else payload

    def text(self, path: str, params: dict[str, str] | None = None) -> str:
        return self._send("GET", path, params=params).text

    def stream(
        self, path: str, params: dict[str, str] | None = None, method: str = "GET", body: Any = None
    ) -> Generator[tuple[str, str] | None, None, None]:
        """The events of an SSE endpoint as they come; an `error` event (the key stopped
        working mid-stream) raises ApiFailure."""
        timeout = httpx.Timeout(60, read=None)
        try:
            with self.client.stream(method, path, params=params, json=body, timeout=timeout) as response:
                if response.status_code >= 400:
                    response.read()
                    raise failure(response)
                for event in sse(response.iter_lines()):
                    if event is not None and event[0] == "error":
                        error = json.loads(event[1])
                        raise ApiFailure(0, f"the stream ended: {error.get('message', event[1])}")
                    yield event
        except httpx.HTTPError as exc:
            raise ApiFailure(0, f"lost {self.client.base_url}: {exc}") from None
