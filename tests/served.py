"""A staxad served for tests: as its own process (`python -m staxad serve`), for tests
that kill it, or its app by uvicorn on the test's own loop."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import httpx
import uvicorn
from starlette.types import ASGIApp


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


async def uvicorn_on(
    app: ASGIApp, port: int, lifespan: str, timeout: float
) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    """`app` served on 127.0.0.1:`port` (up within `timeout` s) until the server's
    should_exit is set and its task awaited."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan=lifespan))
    task = asyncio.create_task(server.serve())
    async with asyncio.timeout(timeout):
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
    return server, task
