"""GitHub's REST API as a GitHub App: the app's JWT, installation tokens, repositories
and branches, and what an OAuth code's user is to an installation (who they are, the
account it is on, their membership in that organization).

The JWT is RS256 over {iat: now - 60 s (GitHub's clocks may lag), exp: now + 9 min
(GitHub refuses more than 10), iss: app id}, signed with `cryptography`. Installation
tokens (an hour's life) are cached in memory, per installation, until five minutes
before they expire; they are never written anywhere. Failures are ValueError with what
GitHub said (never a token), LookupError when GitHub does not know the installation or
repository, PermissionError when GitHub refuses an OAuth code.

The user access token an OAuth code buys lives in one call's locals: it asks `/user`,
`/user/installations` and `/user/memberships/orgs/{org}`, is revoked at GitHub
(`DELETE /applications/{client_id}/token`) whatever those answered, and is dropped,
never cached, logged or put in an exception.
"""

from __future__ import annotations

import base64
import json
import logging
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, TypeGuard
from urllib.parse import quote

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from staxad.model.github import Access, Account, Membership

log = logging.getLogger("staxad.github")

PAGE = 100
MAX_PAGES = 10  # 1,000 repositories or branches: more is a listing nobody reads
MARGIN = 300  # seconds before expiry a cached token is no longer handed out


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def app_jwt(app_id: int, key: rsa.RSAPrivateKey, now: float) -> str:
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    claims = _b64(json.dumps({"iat": int(now) - 60, "exp": int(now) + 540, "iss": str(app_id)}).encode())
    signed = f"{header}.{claims}".encode()
    return f"{header}.{claims}.{_b64(key.sign(signed, padding.PKCS1v15(), hashes.SHA256()))}"


def load_key(path: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(Path(path).read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise ValueError(f"github.private_key_file ({path}) cannot be read as a PEM private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError(f"github.private_key_file ({path}) is not an RSA key, which GitHub Apps use")
    return key


@dataclass(frozen=True)
class OAuthClient:
    """The app's OAuth client, for the code GitHub gives whoever installs the app."""

    web_url: str  # GitHub's web host: codes are exchanged there, not on the API
    client_id: str
    client_secret: str = field(default="", repr=False)
    client_secret_file: str = ""  # read at each exchange, so a rotated secret needs no restart

    def secret(self) -> str:
        if not self.client_secret_file:
            return self.client_secret
        try:
            return Path(self.client_secret_file).read_text().strip()
        except (OSError, UnicodeDecodeError):
            # no path: the message reaches the provider whose registration needed the secret
            raise ValueError("the host cannot read its github.client_secret_file; the operator must fix it") from None


class GitHubApp:
    """staxad.model.ports.GitHubApi over httpx."""

    def __init__(
        self,
        api_url: str,
        app_id: int,
        key_file: str,
        ca_file: str = "",
        clock: Callable[[], float] = time.time,
        oauth: OAuthClient | None = None,
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.app_id = app_id
        self.key_file = key_file
        self.clock = clock
        self.oauth = oauth
        self._key: rsa.RSAPrivateKey | None = None
        self._tokens: dict[int, tuple[str, float]] = {}  # installation id -> (token, expires at)
        self._verify: ssl.SSLContext | bool = True
        if ca_file:
            self._verify = ssl.create_default_context()
            self._verify.load_verify_locations(ca_file)

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(timeout=15, verify=self._verify, follow_redirects=False, trust_env=False)

    def _jwt(self) -> str:
        if self._key is None:
            self._key = load_key(self.key_file)
        return app_jwt(self.app_id, self._key, self.clock())

    async def _send(self, method: str, url: str, headers: dict[str, str], **extra: Any) -> httpx.Response:
        try:
            async with self._client() as client:
                return await client.request(method, url, headers={"User-Agent": "staxad", **headers}, **extra)
        except httpx.HTTPError as exc:
            # only the class: an httpx error can carry the request, and with it a secret
            raise ValueError(f"GitHub did not answer ({type(exc).__name__})") from None

    async def _request(self, method: str, path: str, auth: str, params: dict[str, Any] | None = None) -> Any:
        response = await self._send(method, self.api_url + path, _api_headers(auth), params=params)
        if response.status_code == 404:
            raise LookupError("GitHub does not know it (or the app may not see it)")
        return _json(response)

    async def installation_account(self, installation_id: int) -> str:
        found = await self._request("GET", f"/app/installations/{installation_id}", f"Bearer {self._jwt()}")
        login = (found.get("account") or {}).get("login") if isinstance(found, dict) else None
        if not isinstance(login, str):
            raise ValueError("GitHub's installation has no account login")
        return login

    async def token(self, installation_id: int) -> str:
        cached = self._tokens.get(installation_id)
        if cached and cached[1] - MARGIN > self.clock():
            return cached[0]
        made = await self._request(
            "POST", f"/app/installations/{installation_id}/access_tokens", f"Bearer {self._jwt()}"
        )
        token, expires = (made.get("token"), made.get("expires_at")) if isinstance(made, dict) else (None, None)
        if not isinstance(token, str) or not isinstance(expires, str):
            raise ValueError("GitHub gave no installation token")
        try:
            until = datetime.fromisoformat(expires.replace("Z", "+00:00")).timestamp()
        except ValueError:
            raise ValueError("GitHub's installation token has no valid expires_at") from None
        self._tokens[installation_id] = (token, until)
        return token

    def forget(self, installation_id: int) -> None:
        self._tokens.pop(installation_id, None)

    async def _pages(self, installation_id: int, path: str, key: str | None) -> list[dict[str, Any]]:
        return await self._listing(f"token {await self.token(installation_id)}", path, key)

    async def _listing(self, auth: str, path: str, key: str | None) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in range(1, MAX_PAGES + 1):
            body = await self._request("GET", path, auth, {"per_page": PAGE, "page": page})
            items = body.get(key) if key and isinstance(body, dict) else body
            if not isinstance(items, list):
                raise ValueError(f"GitHub's answer to {path} is not a list")
            found.extend(item for item in items if isinstance(item, dict))
            if len(items) < PAGE:
                break
        return found

    async def repositories(self, installation_id: int) -> list[dict[str, Any]]:
        return await self._pages(installation_id, "/installation/repositories", "repositories")

    async def branches(self, installation_id: int, owner: str, repo: str) -> list[dict[str, Any]]:
        return await self._pages(installation_id, f"/repos/{owner}/{repo}/branches", None)

    async def user_access(self, code: str, installation_id: int) -> Access:
        """What the user who was given `code` is to the installation: who they are, the
        account the installation is on (if it is among theirs), and, for an organization's,
        their membership in it. One code exchange; the token dies with this call."""
        token = await self._user_token(code)
        try:
            return await self._access(f"Bearer {token}", installation_id)
        finally:
            await self._revoke(token)

    async def _access(self, auth: str, installation_id: int) -> Access:
        user = await self._request("GET", "/user", auth)
        login, user_id = (user.get("login"), user.get("id")) if isinstance(user, dict) else (None, None)
        if not isinstance(login, str) or not _is_id(user_id):
            raise ValueError("GitHub's /user answer has no login and id")
        items = await self._listing(auth, "/user/installations", "installations")
        account = next((_account(i) for i in items if i.get("id") == installation_id and _is_id(i["id"])), None)
        membership = None
        if account is not None and account.type == "Organization":
            membership = await self._membership(auth, account.login)
        return Access(login, user_id, account, membership)

    async def _revoke(self, token: str) -> None:
        """Revoke the user token at GitHub: staxad needed it for three reads, and left alone
        it stays valid for hours. A failure is logged (without the token) and changes no
        answer: the token is dropped either way."""
        assert self.oauth is not None  # a token was bought with it
        basic = base64.b64encode(f"{self.oauth.client_id}:{self.oauth.secret()}".encode()).decode()
        url = f"{self.api_url}/applications/{quote(self.oauth.client_id, safe='')}/token"
        headers = {"Authorization": f"Basic {basic}", "Accept": "application/vnd.github+json"}
        try:
            response = await self._send("DELETE", url, headers, json={"access_token": token})
        except ValueError as exc:
            log.warning("the GitHub user token from a code exchange was not revoked: %s", exc)
            return
        if response.status_code != 204:
            log.warning("GitHub did not revoke the user token from a code exchange: %s", response.status_code)

    async def _membership(self, auth: str, org: str) -> Membership:
        url = f"{self.api_url}/user/memberships/orgs/{quote(org, safe='')}"
        response = await self._send("GET", url, _api_headers(auth))
        if response.status_code in (403, 404):  # not a member; blocked, or no Members: read: both refuse
            return Membership(response.status_code)
        found = _json(response)
        state, role = (found.get("state"), found.get("role")) if isinstance(found, dict) else (None, None)
        return Membership(200, state if isinstance(state, str) else "", role if isinstance(role, str) else "")

    async def _user_token(self, code: str) -> str:
        if self.oauth is None:
            raise ValueError("no github.client_id is configured to exchange the code with")
        form = {"client_id": self.oauth.client_id, "client_secret": self.oauth.secret(), "code": code}
        url = self.oauth.web_url.rstrip("/") + "/login/oauth/access_token"
        # the code goes in the body, never the URL, which httpx logs
        response = await self._send("POST", url, {"Accept": "application/json"}, data=form)
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code >= 300 or not isinstance(answer, dict):
            raise ValueError(f"GitHub's code exchange answered {response.status_code}: {_message(response)}")
        token = answer.get("access_token")
        if isinstance(token, str) and token and answer.get("error") is None:
            return token
        error, why = str(answer.get("error") or "no access_token")[:64], str(answer.get("error_description") or "")
        reason = f"{error}: {why[:200]}" if why else error
        if error == "bad_verification_code":  # expired, used already, or never GitHub's
            raise PermissionError(reason)
        raise ValueError(f"GitHub refused the code exchange ({reason})")


def _api_headers(auth: str) -> dict[str, str]:
    return {"Authorization": auth, "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}


def _json(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise ValueError(f"GitHub's API answered {response.status_code}: {_message(response)}")
    try:
        return response.json()
    except ValueError:
        raise ValueError("GitHub's API answered with something other than JSON") from None


def _is_id(value: object) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _account(item: dict[str, Any]) -> Account | None:
    """The `account` of a `/user/installations` item; None, and so refused, when malformed."""
    found = item.get("account")
    if not isinstance(found, dict):
        return None
    login, account_id, kind = found.get("login"), found.get("id"), found.get("type")
    if not isinstance(login, str) or not _is_id(account_id) or not isinstance(kind, str):
        return None
    return Account(login, account_id, kind)


def _message(response: httpx.Response) -> str:
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message)[:200] if message else response.reason_phrase
