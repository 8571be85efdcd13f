"""Sending one webhook delivery: resolve, refuse forbidden addresses, POST.

The name is resolved here and every address checked before the request (DNS may have
changed since the endpoint was registered). The request then resolves again inside
httpx; a rebinding between the two is the window this leaves open.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpx


@dataclass(frozen=True)
class Outcome:
    status: int | None  # the receiver's HTTP status; None when no answer came
    error: str | None
    duration_ms: int


async def resolve(host: str) -> list[str]:
    """The addresses a name resolves to (an address resolves to itself)."""
    try:
        found = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except socket.gaierror:
        return []
    return sorted({str(info[4][0]) for info in found})


class Sender:
    def __init__(self, timeout: float, ca_file: str = "") -> None:
        context = ssl.create_default_context()
        if ca_file:
            context.load_verify_locations(ca_file)
        self._client = httpx.AsyncClient(timeout=timeout, verify=context, follow_redirects=False, trust_env=False)

    async def close(self) -> None:
        await self._client.aclose()

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], refused: Callable[[str, list[str]], Awaitable[str | None]]
    ) -> Outcome:
        began = time.monotonic()
        host = urlsplit(url).hostname or ""
        why = await refused(host, await resolve(host))
        if why is not None:
            return Outcome(None, why, 0)
        try:
            response = await self._client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}"[:500], _ms(began))
        return Outcome(response.status_code, None, _ms(began))


def _ms(began: float) -> int:
    return round((time.monotonic() - began) * 1000)
