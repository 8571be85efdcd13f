"""Health probes. Rootless port forwarding accepts a connection even when nothing
listens inside the container, so an open port proves nothing: an HTTP probe needs a
status line back, a TCP probe needs the connection to stay open."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from datetime import UTC, datetime

from cryptography import x509


async def http_answers(port: int, timeout: float = 2.0) -> bool:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    except (OSError, TimeoutError):
        return False
    try:
        writer.write(b"GET / HTTP/1.0\r\nHost: localhost\r\nUser-Agent: staxad-health\r\n\r\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), timeout)
        return line.startswith(b"HTTP/")
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def tcp_stays_open(port: int, hold: float = 0.5) -> bool:
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), 2.0)
    except (OSError, TimeoutError):
        return False
    try:
        data = await asyncio.wait_for(reader.read(1), hold)
        return data != b""  # the app spoke first: it is there
    except TimeoutError:
        return True  # still open after `hold`: something accepted it
    except OSError:
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def through_caddy(host: str, https_port: int, timeout: float = 10.0) -> int | None:
    """GET https://host/ via Caddy on loopback with the right SNI; the status, or None.

    This checks routing, not the certificate chain (the internal CA is not trusted here).
    One request on a plain TLS stream: an HTTP client's setup costs more than the request."""
    request = f"GET / HTTP/1.1\r\nHost: {host}\r\nUser-Agent: staxad-route-check\r\nConnection: close\r\n\r\n"
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await _tls(host, https_port)
            try:
                writer.write(request.encode())
                line = await reader.readline()
            finally:
                await _close(writer)
    except (OSError, TimeoutError, ValueError):  # ValueError: a name IDNA refuses, a line past the limit
        return None
    parts = line.split()
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/") or not parts[1].isdigit():
        return None
    return int(parts[1])


async def handshake(host: str, https_port: int, timeout: float = 60.0) -> bool:
    """A TLS handshake with Caddy on loopback for `host` (SNI): what makes Caddy obtain an
    on-demand certificate. True when it completed."""
    try:
        async with asyncio.timeout(timeout):
            _, writer = await _tls(host, https_port)
    except (OSError, TimeoutError, ValueError):
        return False
    await _close(writer)
    return True


async def _tls(host: str, https_port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", https_port, ssl=_unverified(), server_hostname=host)


async def _close(writer: asyncio.StreamWriter, timeout: float = 1.0) -> None:
    """Close, waiting a moment for the peer's close_notify; one that never sends it
    costs that moment, not the answer already read."""
    writer.close()
    with contextlib.suppress(OSError, TimeoutError):  # ssl.SSLError is an OSError
        async with asyncio.timeout(timeout):
            await writer.wait_closed()


async def certificate_names(host: str, https_port: int, timeout: float = 20.0) -> set[str]:
    """The DNS names of the unexpired certificate Caddy serves for `host` (SNI) on loopback.

    A handshake is also what makes Caddy obtain an on-demand certificate, so this both
    asks for the certificate and reads what was really issued. Empty when none is served.
    """
    try:
        async with asyncio.timeout(timeout):
            _, writer = await _tls(host, https_port)
    except (OSError, TimeoutError, ValueError):
        return set()
    try:
        ssl_object = writer.get_extra_info("ssl_object")
        der = ssl_object.getpeercert(binary_form=True) if ssl_object else None
    finally:
        await _close(writer)
    if not der:
        return set()
    certificate = x509.load_der_x509_certificate(der)
    if certificate.not_valid_after_utc <= datetime.now(UTC):
        return set()
    try:
        names = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return set()
    return {name.lower() for name in names.get_values_for_type(x509.DNSName)}


def _unverified() -> ssl.SSLContext:
    """A client context that checks nothing: these probes read what Caddy serves, they do
    not trust it. Made without loading the system's CA store, which costs tens of ms."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context
