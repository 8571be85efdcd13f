"""Loopback TLS for the GitHub stand-ins: one self-signed certificate for 127.0.0.1 in a
folder the service user can read (git, run as that user, trusts it via github.ca_file)."""

from __future__ import annotations

import ssl
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
