"""A sync httpx transport for a CLI run in a worker thread: each request runs the ASGI
app on the test's event loop, and the response body streams chunk by chunk.

httpx.ASGITransport would do for plain requests, but it returns a response only once the
app has sent all of it, and the tenant event stream a deploy follows does not end.
Closing a response tells the app the client went (`http.disconnect`), as a socket would.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Iterator
from concurrent.futures import Future
from typing import Any

import httpx
from starlette.types import ASGIApp, Message

END = b""


class Body(httpx.SyncByteStream):
    def __init__(self, chunks: queue.Queue[bytes], hang_up: Any, finished: Future[None]) -> None:
        self.chunks, self.hang_up, self.finished = chunks, hang_up, finished

    def __iter__(self) -> Iterator[bytes]:
        while (chunk := self.chunks.get(timeout=60)) != END:
            yield chunk

    def close(self) -> None:
        self.hang_up()
        self.finished.result(timeout=10)  # the app has let go of the stream (and its slot)


class ThreadedASGI(httpx.BaseTransport):
    def __init__(self, app: ASGIApp, loop: asyncio.AbstractEventLoop) -> None:
        self.app, self.loop = app, loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        chunks: queue.Queue[bytes] = queue.Queue()
        head: Future[tuple[int, list[tuple[bytes, bytes]]]] = Future()
        gone = asyncio.Event()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": request.method,
            "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "scheme": request.url.scheme,
            "path": request.url.path,
            "raw_path": request.url.raw_path.split(b"?")[0],
            "query_string": request.url.query,
            "server": (request.url.host, request.url.port or 80),
            "client": ("127.0.0.1", 50000),
            "root_path": "",
        }
        sent_body = False

        async def receive() -> Message:
            nonlocal sent_body
            if not sent_body:
                sent_body = True
                return {"type": "http.request", "body": body, "more_body": False}
            await gone.wait()
            return {"type": "http.disconnect"}

        async def send(message: Message) -> None:
            if message["type"] == "http.response.start":
                head.set_result((message["status"], message.get("headers", [])))
            elif message["type"] == "http.response.body" and message.get("body"):
                chunks.put(message["body"])

        async def run() -> None:
            try:
                await self.app(scope, receive, send)
            except BaseException as exc:
                if not head.done():
                    head.set_exception(exc)
                raise
            finally:
                chunks.put(END)

        finished = asyncio.run_coroutine_threadsafe(run(), self.loop)
        status, headers = head.result(timeout=60)
        stream = Body(chunks, lambda: self.loop.call_soon_threadsafe(gone.set), finished)
        return httpx.Response(status, headers=headers, stream=stream, request=request)
