"""GitHub's REST API as a GitHub App: the app's JWT, installation tokens, repositories
and branches.

The JWT is RS256 over {iat: now - 60 s (GitHub's clocks may lag), exp: now + 9 min
(GitHub refuses more than 10), iss: app id}, signed with `cryptography`. Installation
tokens (an hour's life) are cached in memory, per installation, until five minutes
before they expire; they are never written anywhere. Failures are ValueError with what
GitHub said (never a token), LookupError when GitHub does not know the installation or
repository.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

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


class GitHubApp:
    """staxad.model.ports.GitHubApi over httpx."""

    def __init__(
        self, api_url: str, app_id: int, key_file: str, ca_file: str = "", clock: Callable[[], float] = time.time
    ) -> None:
        self.api_url = api_url.rstrip("/")
        self.app_id = app_id
        self.key_file = key_file
        self.clock = clock
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

    async def _request(self, method: str, path: str, auth: str, params: dict[str, Any] | None = None) -> Any:
        headers = {
            "Authorization": auth,
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "staxad",
        }
        try:
            async with self._client() as client:
                response = await client.request(method, self.api_url + path, headers=headers, params=params)
        except httpx.HTTPError as exc:
            raise ValueError(f"GitHub's API did not answer ({type(exc).__name__})") from None
        if response.status_code == 404:
            raise LookupError("GitHub does not know it (or the app may not see it)")
        if response.status_code >= 300:
            raise ValueError(f"GitHub's API answered {response.status_code}: {_message(response)}")
        try:
            return response.json()
        except ValueError:
            raise ValueError("GitHub's API answered with something other than JSON") from None

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
        auth = f"token {await self.token(installation_id)}"
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


def _message(response: httpx.Response) -> str:
    try:
        message = response.json().get("message")
    except (ValueError, AttributeError):
        message = None
    return str(message)[:200] if message else response.reason_phrase
