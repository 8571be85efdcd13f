"""A staxad served as its own process (`python -m staxad serve`), for tests that kill it."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx


def serve(environ: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as output:
        return subprocess.Popen(
            [sys.executable, "-m", "staxad", "serve"], env={**os.environ, **environ}, stdout=output, stderr=output
        )


async def wait_api(port: int, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            assert process.poll() is None, "staxad exited"
            try:
                await client.get(f"http://127.0.0.1:{port}/api/v1/openapi.json")
                return
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    raise AssertionError("staxad did not start")
