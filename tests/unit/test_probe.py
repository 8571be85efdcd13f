"""The route check and the certificate handshake against a loopback TLS server that
records what it was sent: the status comes back, the tenant's name goes out as SNI and
Host, and anything but an HTTP status line is no answer."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import pytest

from staxad.adapters import probe
from tests.webhooks.receiver import self_signed

HOST = "shop.staxa.test"


@pytest.fixture(scope="module")
def server_context(tmp_path_factory: pytest.TempPathFactory) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed(tmp_path_factory.mktemp("tls"), HOST))
    return context


@dataclass
class Seen:
    sni: list[str | None] = field(default_factory=list)
    requests: list[bytes] = field(default_factory=list)


@asynccontextmanager
async def tls_server(context: ssl.SSLContext | None, answer: bytes) -> AsyncIterator[tuple[int, Seen]]:
    """Answers each request with `answer`; with no context, a plain TCP server that never
    speaks (a handshake to it hangs)."""
    seen = Seen()
    if context is not None:

        def sni(sock: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> None:
            seen.sni.append(name)

        context.sni_callback = sni

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            if context is None:
                await reader.read()  # holds the connection open and silent
                return
            seen.requests.append(await reader.readuntil(b"\r\n\r\n"))
            writer.write(answer)
            await writer.drain()
        except (OSError, asyncio.IncompleteReadError, ssl.SSLError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        yield port, seen
    finally:
        server.close()
        await server.wait_closed()


async def test_route_check_reads_the_status_and_sends_the_tenants_name(server_context: ssl.SSLContext) -> None:
    async with tls_server(server_context, b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\n\r\n") as (port, seen):
        assert await probe.through_caddy(HOST, port) == 502
    assert seen.sni == [HOST]
    assert seen.requests[0].startswith(b"GET / HTTP/1.1\r\n")
    assert f"\r\nHost: {HOST}\r\n".encode() in seen.requests[0]


@pytest.mark.parametrize(
    "answer",
    [b"", b"SSH-2.0-OpenSSH\r\n", b"HTTP/1.1\r\n\r\n", b"HTTP/1.1 OK fine\r\n\r\n"],
    ids=["closed", "not http", "no status", "status not a number"],
)
async def test_anything_but_a_status_line_is_no_answer(server_context: ssl.SSLContext, answer: bytes) -> None:
    async with tls_server(server_context, answer) as (port, _):
        assert await probe.through_caddy(HOST, port) is None


async def test_nothing_listening_is_no_answer() -> None:
    async with tls_server(None, b"") as (port, _):
        pass  # closed again: the port refuses
    assert await probe.through_caddy(HOST, port) is None
    assert await probe.handshake(HOST, port) is False


async def test_a_server_that_never_handshakes_times_out() -> None:
    async with tls_server(None, b"") as (port, _):
        assert await probe.through_caddy(HOST, port, timeout=0.2) is None
        assert await probe.handshake(HOST, port, timeout=0.2) is False


async def test_the_certificate_handshake_sends_the_name(server_context: ssl.SSLContext) -> None:
    async with tls_server(server_context, b"") as (port, seen):
        assert await probe.handshake(HOST, port) is True
        assert await probe.certificate_names(HOST, port) == {HOST}
    assert seen.sni == [HOST, HOST]


async def test_a_name_no_certificate_can_carry_is_no_answer(server_context: ssl.SSLContext) -> None:
    """A label over 63 characters: the SNI encoding refuses it, which is no answer, not a crash."""
    long_name = "a" * 64 + ".staxa.test"
    async with tls_server(server_context, b"HTTP/1.1 200 OK\r\n\r\n") as (port, _):
        assert await probe.through_caddy(long_name, port) is None
        assert await probe.handshake(long_name, port) is False
        assert await probe.certificate_names(long_name, port) == set()


async def test_a_peer_that_never_closes_keeps_neither_the_answer_nor_the_caller(
    server_context: ssl.SSLContext,
) -> None:
    """The status is read before the close, and the close waits a moment only."""
    listener = socket.create_server(("127.0.0.1", 0))
    release = threading.Event()

    def serve() -> None:
        connection, _ = listener.accept()
        with server_context.wrap_socket(connection, server_side=True) as tls:
            tls.recv(4096)
            tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
            release.wait(10)  # neither reads again nor closes

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        began = time.monotonic()
        assert await probe.through_caddy(HOST, listener.getsockname()[1]) == 200
        assert time.monotonic() - began < 5
    finally:
        release.set()
        thread.join()
        listener.close()
