"""A loopback HTTPS stand-in for the few GitHub REST endpoints staxad uses, since GitHub
itself is unreachable here. It checks the app JWT as GitHub does (RS256 against the app's
public key, iss = app id, not expired, at most 10 minutes long) and answers with the
documented shapes only; every request is recorded.

It is also GitHub's OAuth side: `grant` gives a user (and the installations that user can
access, and a role in each one's organization) a single-use code, `exchange` trades it for
a user token as `{web_url}/login/oauth/access_token` does (the git server, which stands for
the web host, forwards that path here), and with that token `/user` says who it is,
`/user/installations` lists what it can access (paginated, each with its `account`), and
`/user/memberships/orgs/{org}` answers its membership: 200 with state and role, 404 when
it is none, 403 when the organization blocks the app. `DELETE /applications/{client_id}/token`
with the client's Basic credentials revokes a user token (204), as GitHub's does.

Accounts are users unless listed in `orgs`; every login, user or organization, gets one id
from the same sequence, as on GitHub."""

from __future__ import annotations

import base64
import json
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.github.tls import QuietHandler, TlsServer


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def jwt_error(token: str, public: rsa.RSAPublicKey, app_id: int) -> str | None:
    """Why GitHub would refuse this app JWT, or None."""
    try:
        header, claims, signature = token.split(".")
        public.verify(_unb64(signature), f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256())
        head, body = json.loads(_unb64(header)), json.loads(_unb64(claims))
    except (ValueError, InvalidSignature):
        return "A JSON web token could not be decoded"
    now = time.time()
    if head.get("alg") != "RS256" or str(body.get("iss")) != str(app_id):
        return "'Issuer' claim ('iss') must be an Integer"
    if not body.get("exp") or body["exp"] < now or body["exp"] - body.get("iat", 0) > 600:
        return "'Expiration time' claim ('exp') is too far in the future or expired"
    if body.get("iat", now + 1) > now + 1:
        return "'Issued at' claim ('iat') must be an Integer representing a time in the past"
    return None


@dataclass
class Repo:
    full_name: str
    private: bool = True
    default_branch: str = "main"
    language: str | None = "TypeScript"
    branches: dict[str, bool] = field(default_factory=lambda: {"main": True, "develop": False})


CLIENT_ID = "Iv1.5ea0d1e5c11e47"
CLIENT_SECRET = "standin-client-secret-0123456789abcdef"
BAD_CODE = {
    "error": "bad_verification_code",
    "error_description": "The code passed is incorrect or expired.",
    "error_uri": "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#bad-verification-code",
}
BAD_CLIENT = {
    "error": "incorrect_client_credentials",
    "error_description": "The client_id and/or client_secret passed are incorrect.",
}


def _query(query: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(query).items()}


@dataclass
class GitHubStandIn:
    folder: Path
    public_key: rsa.RSAPublicKey
    app_id: int
    installations: dict[int, str] = field(default_factory=dict)  # id -> account login
    orgs: dict[str, dict[str, tuple[str, str]]] = field(default_factory=dict)  # org -> login -> (role, state)
    blocked: set[str] = field(default_factory=set)  # orgs that block the app (or it lacks Members: read)
    ids: dict[str, int] = field(default_factory=dict)  # login (user or organization) -> id
    repos: dict[int, list[Repo]] = field(default_factory=dict)  # installation id -> repositories
    tokens: dict[str, int] = field(default_factory=dict)  # token -> installation id
    requests: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, authorization
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET
    users: dict[str, set[int]] = field(default_factory=dict)  # login -> installations the user can access
    codes: dict[str, str] = field(default_factory=dict)  # unspent code -> login
    user_tokens: dict[str, str] = field(default_factory=dict)  # every user access token issued -> login
    revoked: set[str] = field(default_factory=set)  # user tokens revoked since
    port: int = 0

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def minted(self) -> int:
        return sum(1 for method, path, _ in self.requests if method == "POST" and path.endswith("/access_tokens"))

    def account_id(self, login: str) -> int:
        return self.ids.setdefault(login, 5_000 + len(self.ids))

    def account(self, login: str) -> dict[str, Any]:
        kind = "Organization" if login in self.orgs else "User"
        return {"login": login, "id": self.account_id(login), "type": kind}

    def grant(self, login: str, *installations: int, role: str | None = "admin", state: str = "active") -> str:
        """A fresh code for `login`, who can access `installations` (and what it could before)
        and holds `role` in each one's organization (None: an outside collaborator)."""
        self.account_id(login)
        self.users.setdefault(login, set()).update(installations)
        for installation in installations:
            org = self.orgs.get(self.installations.get(installation, ""))
            if org is not None and role is not None:
                org[login] = (role, state)
        code = secrets.token_hex(10)
        self.codes[code] = login
        return code

    def exchange(self, body: bytes) -> tuple[int, dict[str, Any]]:
        """POST /login/oauth/access_token: a form (or JSON) body, a JSON answer; GitHub
        reports a refused code with 200 and an `error`, not with a 4xx."""
        try:
            form = json.loads(body) if body.lstrip().startswith(b"{") else _query(body.decode())
        except (ValueError, UnicodeDecodeError):
            return 400, {"error": "bad_request"}
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return 200, BAD_CLIENT
        login = self.codes.pop(str(form.get("code", "")), None)  # spent even when refused later
        if login is None:
            return 200, BAD_CODE
        token = "ghu_" + secrets.token_urlsafe(27)
        self.user_tokens[token] = login
        return 200, {"access_token": token, "token_type": "bearer", "scope": ""}

    def user_of(self, auth: str) -> str | None:
        if not auth.startswith(("Bearer ", "token ")):
            return None
        token = auth.removeprefix("Bearer ").removeprefix("token ")
        return None if token in self.revoked else self.user_tokens.get(token)

    def revoke(self, client_id: str, auth: str, body: bytes) -> tuple[int, dict[str, Any] | None]:
        """DELETE /applications/{client_id}/token: the client's own credentials, Basic."""
        expected = base64.b64encode(f"{self.client_id}:{self.client_secret}".encode()).decode()
        if client_id != self.client_id or auth != f"Basic {expected}":
            return 404, {"message": "Not Found"}
        try:
            token = json.loads(body).get("access_token")
        except (ValueError, AttributeError):
            token = None
        if token not in self.user_tokens or token in self.revoked:
            return 422, {"message": "Validation Failed"}
        self.revoked.add(token)
        return 204, None

    def user_installations(self, login: str, query: str) -> tuple[int, dict[str, Any]]:
        params = _query(query)
        per_page, page = min(int(params.get("per_page", "30")), 100), int(params.get("page", "1"))
        ids = sorted(i for i in self.users.get(login, set()) if i in self.installations)
        shown = ids[(page - 1) * per_page : page * per_page]
        items = [{"id": i, "account": self.account(self.installations[i])} for i in shown]
        return 200, {"total_count": len(ids), "installations": items}

    def membership(self, login: str, org: str) -> tuple[int, dict[str, Any]]:
        """GET /user/memberships/orgs/{org}: org names are not case sensitive there."""
        name = next((o for o in self.orgs if o.lower() == org.lower()), None)
        if name in self.blocked:
            return 403, {"message": "Resource not accessible by integration"}
        if name is None or login not in self.orgs[name]:
            return 404, {"message": "Not Found"}
        role, state = self.orgs[name][login]
        return 200, {
            "url": f"{self.url}/orgs/{name}/memberships/{login}",
            "state": state,
            "role": role,
            "organization_url": f"{self.url}/orgs/{name}",
            "organization": {"login": name, "id": self.account_id(name)},
            "user": {"login": login, "id": self.account_id(login), "type": "User"},
        }

    def start(self, cert: Path, key: Path) -> None:
        owner = self

        class Handler(QuietHandler):
            def _answer(self, status: int, body: Any) -> None:
                data = b"" if body is None else json.dumps(body).encode()
                self.send_response(status)
                if data:
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _route(self, method: str) -> None:
                path, _, query = self.path.partition("?")
                auth = self.headers.get("Authorization", "")
                owner.requests.append((method, path, auth))
                if method == "POST" and path == "/login/oauth/access_token":
                    return self._answer(*owner.exchange(self.body))
                if method == "DELETE" and (match := re.fullmatch(r"/applications/([^/]+)/token", path)):
                    return self._answer(*owner.revoke(unquote(match[1]), auth, self.body))
                if method == "GET" and (path == "/user" or path.startswith("/user/")):
                    return self._user(path, query, auth)
                if match := re.fullmatch(r"/app/installations/(\d+)(/access_tokens)?", path):
                    return self._app(method, int(match[1]), bool(match[2]), auth)
                installation = owner.tokens.get(auth.removeprefix("token "))
                if not auth.startswith("token ") or installation is None:
                    return self._answer(401, {"message": "Bad credentials"})
                page = int(dict(p.split("=") for p in query.split("&") if "=" in p).get("page", "1"))
                repos = owner.repos.get(installation, [])
                if method == "GET" and path == "/installation/repositories":
                    shown = [vars(r) | {"branches": None} for r in repos] if page == 1 else []
                    listed = [{k: v for k, v in r.items() if k != "branches"} for r in shown]
                    return self._answer(200, {"total_count": len(repos), "repositories": listed})
                if method == "GET" and (match := re.fullmatch(r"/repos/([^/]+)/([^/]+)/branches", path)):
                    repo = next((r for r in repos if r.full_name == f"{match[1]}/{match[2]}"), None)
                    if repo is None:
                        return self._answer(404, {"message": "Not Found"})
                    items = [{"name": n, "protected": p, "commit": {"sha": "0" * 40}} for n, p in repo.branches.items()]
                    return self._answer(200, items if page == 1 else [])
                return self._answer(404, {"message": "Not Found"})

            def _user(self, path: str, query: str, auth: str) -> None:
                login = owner.user_of(auth)
                if login is None:
                    return self._answer(401, {"message": "Bad credentials"})
                if path == "/user":
                    return self._answer(200, owner.account(login) | {"type": "User"})
                if path == "/user/installations":
                    return self._answer(*owner.user_installations(login, query))
                if match := re.fullmatch(r"/user/memberships/orgs/([^/]+)", path):
                    return self._answer(*owner.membership(login, unquote(match[1])))
                return self._answer(404, {"message": "Not Found"})

            def _app(self, method: str, installation: int, tokens: bool, auth: str) -> None:
                error = jwt_error(auth.removeprefix("Bearer "), owner.public_key, owner.app_id)
                if not auth.startswith("Bearer ") or error:
                    return self._answer(401, {"message": error or "Bearer token required"})
                if installation not in owner.installations:
                    return self._answer(404, {"message": "Not Found"})
                if tokens and method == "POST":
                    token = "ghs_" + secrets.token_urlsafe(27)
                    owner.tokens[token] = installation
                    expires = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
                    return self._answer(
                        201, {"token": token, "expires_at": expires, "permissions": {"contents": "read"}}
                    )
                if not tokens and method == "GET":
                    account = owner.account(owner.installations[installation])
                    return self._answer(200, {"id": installation, "account": account})
                return self._answer(404, {"message": "Not Found"})

            body = b""

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self.body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self._route("POST")

            def do_DELETE(self) -> None:
                self.body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                self._route("DELETE")

        self._server = TlsServer(Handler, cert, key)
        self.port = self._server.port

    def stop(self) -> None:
        self._server.stop()
