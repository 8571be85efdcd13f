"""Loopback TLS for the GitHub stand-ins: one self-signed certificate for 127.0.0.1 in a
folder the service user can read (git, run as that user, trusts it via github.ca_file)."""

from __future__ import annotations

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from tests.webhooks.receiver import self_signed


def make_cert(folder: Path) -> tuple[Path, Path]:
    cert, key = self_signed(folder)
    cert.chmod(0o644)
    return cert, key


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context


class QuietHandler(BaseHTTPRequestHandler):
    """A handler that keeps the test output free of an access line per request."""

    def log_message(self, *_: object) -> None:
        return None


class TlsServer:
    """`handler` served over TLS on a free loopback port, in a thread, until `stop`."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], cert: Path, key: Path) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.socket = tls_context(cert, key).wrap_socket(self._server.socket, server_side=True)
        self.port = int(self._server.server_address[1])
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
