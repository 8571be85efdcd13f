"""A real smart-HTTP git server on loopback: `git http-backend` as CGI behind a small
HTTPS server, serving bare repositories under `root` only to Basic auth
`x-access-token:<token>` for a token in `tokens` (as GitHub serves a private repository
to an installation token). Every request's Authorization header is recorded.

It stands for GitHub's web host, which also exchanges OAuth codes: POST
/login/oauth/access_token goes to `login` (the API stand-in's `exchange`) when set."""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.github.tls import QuietHandler, TlsServer


@dataclass
class GitServer:
    root: Path
    tokens: set[str] = field(default_factory=set)
    seen_auth: list[str] = field(default_factory=list)
    login: Callable[[bytes], tuple[int, dict[str, Any]]] | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def allowed(self, header: str) -> bool:
        if not header.startswith("Basic "):
            return False
        user, _, password = base64.b64decode(header[6:]).decode(errors="replace").partition(":")
        return user == "x-access-token" and password in self.tokens

    def start(self, cert: Path, key: Path) -> None:
        owner = self

        class Handler(QuietHandler):
            def _login(self) -> None:
                assert owner.login is not None
                status, answer = owner.login(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _cgi(self, method: str) -> None:
                if method == "POST" and owner.login and self.path.partition("?")[0] == "/login/oauth/access_token":
                    return self._login()
                auth = self.headers.get("Authorization", "")
                owner.seen_auth.append(auth)
                if not owner.allowed(auth):
                    self.send_response(401)
                    self.send_header("WWW-Authenticate", 'Basic realm="GitHub"')
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))) if method == "POST" else b""
                path, _, query = self.path.partition("?")
                env = {
                    "PATH": "/usr/bin:/bin",
                    "GIT_PROJECT_ROOT": str(owner.root),
                    "GIT_HTTP_EXPORT_ALL": "1",
                    "GIT_CONFIG_GLOBAL": "/dev/null",
                    "REQUEST_METHOD": method,
                    "PATH_INFO": path,
                    "QUERY_STRING": query,
                    "CONTENT_TYPE": self.headers.get("Content-Type", ""),
                    "CONTENT_LENGTH": str(len(body)),
                    "REMOTE_USER": "x-access-token",
                    "REMOTE_ADDR": "127.0.0.1",
                    "GIT_PROTOCOL": self.headers.get("Git-Protocol", ""),
                    "HTTP_CONTENT_ENCODING": self.headers.get("Content-Encoding", ""),
                }
                done = subprocess.run(
                    ["git", "http-backend"], input=body, env=env, capture_output=True, check=False, timeout=60
                )
                head, _, payload = done.stdout.partition(b"\r\n\r\n")
                status, headers = 200, []
                for line in head.decode(errors="replace").split("\r\n"):
                    name, _, value = line.partition(": ")
                    if name.lower() == "status":
                        status = int(value.split()[0])
                    elif name:
                        headers.append((name, value))
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_GET(self) -> None:
                self._cgi("GET")

            def do_POST(self) -> None:
                self._cgi("POST")

        self._server = TlsServer(Handler, cert, key)
        self.port = self._server.port

    def stop(self) -> None:
        self._server.stop()
