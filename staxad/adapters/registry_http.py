"""A container registry's v2 API: log in, list repositories and tags.

Logging in follows the distribution spec: `GET /v2/` with basic auth; a registry that
answers 401 with a `Bearer` challenge gets a token from its realm (with the same basic
auth) and is asked again with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
MANIFESTS = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)


class LoginFailed(Exception):
    pass


@dataclass(frozen=True)
class Tag:
    name: str
    digest: str | None
    size: int | None


class RegistryClient:
    def __init__(self, base: str, username: str, password: str, verify: bool = True, timeout: float = 15) -> None:
        self.base = base.rstrip("/")
        self._auth = (username, password)
        self._client = httpx.AsyncClient(timeout=timeout, verify=verify, follow_redirects=True, trust_env=False)
        self._bearer: dict[str, str] = {}  # scope -> token

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._client.aclose()

    async def _get(self, path: str, scope: str = "", accept: str = "") -> httpx.Response:
        headers = {"Accept": accept} if accept else {}
        if scope in self._bearer:
            headers["Authorization"] = f"Bearer {self._bearer[scope]}"
            return await self._client.get(self.base + path, headers=headers)
        response = await self._client.get(self.base + path, headers=headers, auth=self._auth)
        challenge = response.headers.get("www-authenticate", "")
        if response.status_code == 401 and challenge.lower().startswith("bearer"):
            self._bearer[scope] = await self._token(challenge, scope)
            headers["Authorization"] = f"Bearer {self._bearer[scope]}"
            response = await self._client.get(self.base + path, headers=headers)
        return response

    async def _token(self, challenge: str, scope: str) -> str:
        fields = dict(CHALLENGE.findall(challenge))
        realm = fields.get("realm")
        if not realm or not realm.startswith("https://"):
            raise LoginFailed("the registry's token service is not https")
        params = {"service": fields.get("service", "")}
        if scope or fields.get("scope"):
            params["scope"] = scope or fields["scope"]
        response = await self._client.get(realm, params=params, auth=self._auth)
        if response.status_code != 200:
            raise LoginFailed(f"the token service answered {response.status_code}")
        body = response.json()
        token = body.get("token") or body.get("access_token")
        if not isinstance(token, str):
            raise LoginFailed("the token service gave no token")
        return token

    async def login(self) -> None:
        try:
            response = await self._get("/v2/")
        except httpx.HTTPError as exc:
            raise LoginFailed(f"the registry did not answer: {type(exc).__name__}") from None
        if response.status_code in (401, 403):
            raise LoginFailed("the registry refused the username or password")
        if response.status_code != 200:
            raise LoginFailed(f"the registry answered {response.status_code}")

    async def repositories(self, query: str, limit: int) -> list[tuple[str, int]]:
        """(name, tag count) of repositories whose name contains `query`."""
        response = await self._get("/v2/_catalog?n=1000", scope="registry:catalog:*")
        if response.status_code != 200:
            raise LoginFailed(f"the registry does not list repositories ({response.status_code})")
        names = [n for n in response.json().get("repositories") or [] if query.lower() in n.lower()][:limit]
        return [(name, len(await self._tag_names(name))) for name in names]

    async def _tag_names(self, repo: str) -> list[str]:
        response = await self._get(f"/v2/{repo}/tags/list", scope=f"repository:{repo}:pull")
        if response.status_code == 404:
            return []
        if response.status_code != 200:
            raise LoginFailed(f"the registry answered {response.status_code} for {repo}'s tags")
        return sorted(response.json().get("tags") or [])

    async def tags(self, repo: str, limit: int = 100) -> list[Tag]:
        found = []
        for name in (await self._tag_names(repo))[:limit]:
            response = await self._get(
                f"/v2/{repo}/manifests/{name}", scope=f"repository:{repo}:pull", accept=MANIFESTS
            )
            if response.status_code != 200:
                found.append(Tag(name, None, None))
                continue
            manifest = response.json()
            parts = [manifest.get("config") or {}, *(manifest.get("layers") or [])]
            size = sum(int(p.get("size") or 0) for p in parts) if manifest.get("layers") else None
            found.append(Tag(name, response.headers.get("docker-content-digest"), size))
        return found


Login = tuple[str, str, str, bool]


class Registries:
    """staxad.model.ports.RegistryApi over RegistryClient; failures as ValueError."""

    async def check(self, login: Login) -> None:
        async with RegistryClient(*login) as client:
            try:
                await client.login()
            except LoginFailed as exc:
                raise ValueError(str(exc)) from None

    async def repositories(self, login: Login, query: str, limit: int) -> list[tuple[str, int]]:
        async with RegistryClient(*login) as client:
            try:
                return await client.repositories(query, limit)
            except (LoginFailed, httpx.HTTPError) as exc:
                raise ValueError(str(exc) or type(exc).__name__) from None

    async def tags(self, login: Login, repo: str) -> list[tuple[str, str | None, int | None]]:
        async with RegistryClient(*login) as client:
            try:
                return [(t.name, t.digest, t.size) for t in await client.tags(repo)]
            except (LoginFailed, httpx.HTTPError) as exc:
                raise ValueError(str(exc) or type(exc).__name__) from None
