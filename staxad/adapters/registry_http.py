"""A container registry's v2 API: log in, list repositories and tags.

Logging in follows the distribution spec: `GET /v2/` with basic auth; a registry that
answers 401 with a `Bearer` challenge gets a token from its realm (with the same basic
auth) and is asked again with it.

These requests are staxad's own, made for a provider, so every connection is checked
where it is made (a check at save time would let DNS or a redirect point elsewhere
later). The client's transport (PinnedTransport) asks the login's `addresses(host,
port)` before each request: the core resolves the name there and refuses loopback,
private, link-local, CGNAT and metadata addresses and this host's own (unless
`runtime.private_registries` names the host). The request then goes to a checked
address literally: the URL's host becomes that IP while the Host header and the TLS
server name (so certificate verification too) stay the registry's name. httpx never
resolves the name itself, so a DNS answer that changes between the check and the
connection (rebinding) reaches nothing unchecked. Each host name keeps its own pool, so
a connection opened for one name never carries a request for another.

Redirects are followed here, not by httpx, and only to a host of the same registry
(staxad.model.registries.same_registry) without leaving https; a Bearer challenge's
realm must be https and of the same registry too. So the credential goes to no other
host, and no answer can steer a request to an address that was not checked.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx

from staxad.model.ports import Addresses, RegistryLogin
from staxad.model.registries import DOCKER_HUB, registry_of, same_registry, where

CHALLENGE = re.compile(r'(\w+)="([^"]*)"')
MANIFESTS = ", ".join(
    (
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
        "application/vnd.oci.image.index.v1+json",
        "application/vnd.docker.distribution.manifest.list.v2+json",
    )
)
MAX_REDIRECTS = 5


class LoginFailed(Exception):
    pass


@dataclass(frozen=True)
class Tag:
    name: str
    digest: str | None
    size: int | None


def _where(url: httpx.URL) -> str:
    return where(url.raw_host.decode("ascii"), url.port)


class PinnedTransport(httpx.AsyncBaseTransport):
    """Each request to an address `addresses` checked, never to a name httpx resolves."""

    def __init__(self, addresses: Addresses, verify: bool | ssl.SSLContext) -> None:
        self._addresses = addresses
        self._verify = verify
        self._pools: dict[str, httpx.AsyncHTTPTransport] = {}  # host name -> its own connections

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.raw_host.decode("ascii")
        try:
            checked = await self._addresses(host, request.url.port)
        except ValueError as exc:
            raise LoginFailed(f"refused to connect: {exc}") from None
        pool = self._pools.setdefault(host, httpx.AsyncHTTPTransport(verify=self._verify, trust_env=False))
        failure: httpx.TransportError = httpx.ConnectError(f"{host} has no address", request=request)
        for address in checked:  # each one checked: try the next when one does not answer
            pinned = httpx.Request(
                request.method,
                request.url.copy_with(host=address),
                headers=request.headers,  # its Host header names the registry, not the address
                stream=request.stream,
                extensions={**request.extensions, "sni_hostname": host},
            )
            try:
                return await pool.handle_async_request(pinned)
            except httpx.ConnectError as exc:
                failure = exc
        raise failure

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()


class RegistryClient:
    def __init__(self, login: RegistryLogin, timeout: float = 15, verify: ssl.SSLContext | None = None) -> None:
        """`verify` replaces the system's CAs (a test's own); TLS is verified unless the
        login says not to."""
        self.base = login.base.rstrip("/")
        self._auth = (login.username, login.password)
        transport = PinnedTransport(login.addresses, verify if verify is not None else login.verify_tls)
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport, follow_redirects=False)
        self._bearer: dict[str, str] = {}  # scope -> token

    async def __aenter__(self) -> RegistryClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._client.aclose()

    def _ours(self, url: httpx.URL) -> bool:
        return same_registry(_where(url), _where(httpx.URL(self.base)))

    async def _fetch(
        self, url: httpx.URL, headers: dict[str, str], auth: tuple[str, str] | None = None
    ) -> httpx.Response:
        """GET, following redirects only within the registry (never from https to http)."""
        for _ in range(MAX_REDIRECTS + 1):
            response = await self._client.get(url, headers=headers, auth=auth)
            if not response.has_redirect_location:
                return response
            target = url.join(response.headers["location"])
            if not self._ours(target):
                raise LoginFailed(f"the registry redirected to {_where(target)}, which is not the same registry")
            if url.scheme == "https" and target.scheme != "https":
                raise LoginFailed("the registry redirected from https to http")
            url = target
        raise LoginFailed(f"the registry redirected more than {MAX_REDIRECTS} times")

    async def _get(self, path: str, scope: str = "", accept: str = "") -> httpx.Response:
        url = httpx.URL(self.base + path)
        headers = {"Accept": accept} if accept else {}
        if scope in self._bearer:
            return await self._fetch(url, {**headers, "Authorization": f"Bearer {self._bearer[scope]}"})
        response = await self._fetch(url, headers, self._auth)
        challenge = response.headers.get("www-authenticate", "")
        if response.status_code == 401 and challenge.lower().startswith("bearer"):
            self._bearer[scope] = await self._token(challenge, scope)
            response = await self._fetch(url, {**headers, "Authorization": f"Bearer {self._bearer[scope]}"})
        return response

    async def _token(self, challenge: str, scope: str) -> str:
        fields = dict(CHALLENGE.findall(challenge))
        realm = fields.get("realm")
        if not realm or not realm.startswith("https://"):
            raise LoginFailed("the registry's token service is not https")
        url = httpx.URL(realm)
        if not self._ours(url):
            raise LoginFailed(f"the registry's token service {_where(url)} is not the same registry")
        params = {"service": fields.get("service", "")}
        if scope or fields.get("scope"):
            params["scope"] = scope or fields["scope"]
        response = await self._fetch(url.copy_merge_params(params), {}, self._auth)
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

    async def repositories(self, query: str, limit: int) -> list[tuple[str, int | None]]:
        """(name, tag count) of repositories whose name contains `query`."""
        response = await self._get("/v2/_catalog?n=1000", scope="registry:catalog:*")
        if response.status_code != 200:
            raise LoginFailed(
                f"the registry does not list repositories: GET /v2/_catalog answered {response.status_code}"
                + _said(response)
            )
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


def _said(response: httpx.Response) -> str:
    """What an error answer said, briefly: the distribution spec's `errors`, else its text."""
    try:
        body = response.json()
        errors = body.get("errors") or []
        said = "; ".join(str(e.get("message") or e.get("code")) for e in errors if isinstance(e, dict))
        said = said or str(body.get("message") or body.get("detail") or "")  # Docker Hub's API
    except (ValueError, AttributeError):
        said = response.text
    said = " ".join(said.split())[:200]
    return f" ({said})" if said else ""


class HubClient:
    """Docker Hub's own API, which lists what its registry does not (Hub serves no
    /v2/_catalog): a short-lived token from `POST /v2/auth/token` with the username and
    password or access token, the user's repositories from `GET /v2/namespaces/{user}/
    repositories`, and tags from `.../repositories/{repo}/tags` (no manifest reads, so
    browsing costs nothing of the user's pull rate limit). Connections are checked and
    pinned as RegistryClient's; a `next` page must be on the same API host."""

    PAGE = 100

    def __init__(
        self, login: RegistryLogin, api: str, timeout: float = 15, verify: ssl.SSLContext | None = None
    ) -> None:
        self.api = httpx.URL(api.rstrip("/"))
        self._login = login
        transport = PinnedTransport(login.addresses, verify if verify is not None else True)
        self._client = httpx.AsyncClient(timeout=timeout, transport=transport, follow_redirects=False)
        self._token: str | None = None

    async def __aenter__(self) -> HubClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._client.aclose()

    async def _bearer(self) -> str:
        if self._token is None:
            body = {"identifier": self._login.username, "secret": self._login.password}
            response = await self._client.post(self.api.join("/v2/auth/token"), json=body)
            if response.status_code in (401, 403):
                raise LoginFailed("Docker Hub refused the username or access token" + _said(response))
            if response.status_code != 200:
                raise LoginFailed(f"Docker Hub answered {response.status_code} to the login" + _said(response))
            token = response.json().get("access_token")
            if not isinstance(token, str):
                raise LoginFailed("Docker Hub gave no access token")
            self._token = token
        return self._token

    async def _results(self, path: str, limit: int) -> tuple[list[dict[str, Any]], int | None]:
        """Up to `limit` results of a paginated listing, and the listing's `count`."""
        url: httpx.URL | None = self.api.join(path).copy_merge_params({"page_size": min(limit, self.PAGE)})
        found: list[dict[str, Any]] = []
        count: int | None = None
        while url is not None and len(found) < limit:
            response = await self._client.get(url, headers={"Authorization": f"Bearer {await self._bearer()}"})
            if response.status_code != 200:
                raise LoginFailed(f"Docker Hub answered {response.status_code} for {path}" + _said(response))
            body = response.json()
            count = body.get("count") if isinstance(body.get("count"), int) else count
            found += [r for r in body.get("results") or [] if isinstance(r, dict)]
            following = body.get("next")
            url = httpx.URL(following) if isinstance(following, str) and following else None
            if url is not None and (url.scheme, url.host, url.port) != (self.api.scheme, self.api.host, self.api.port):
                raise LoginFailed(f"Docker Hub's next page is on another host ({_where(url)})")
        return found[:limit], count

    @staticmethod
    def _split(repo: str) -> tuple[str, str]:
        namespace, _, name = repo.rpartition("/")
        return quote(namespace or "library", safe=""), quote(name, safe="")

    async def repositories(self, query: str, limit: int) -> list[tuple[str, int | None]]:
        """The user's repositories whose name contains `query`, each with its tag count
        (the tag listing's `count`: Hub's repository listing has none)."""
        user = quote(self._login.username, safe="")
        results, _ = await self._results(f"/v2/namespaces/{user}/repositories", 1000)
        names = [
            f"{r.get('namespace') or self._login.username}/{r['name']}"
            for r in results
            if isinstance(r.get("name"), str) and query.lower() in r["name"].lower()
        ][:limit]
        found: list[tuple[str, int | None]] = []
        for name in names:
            namespace, repo = self._split(name)
            _, count = await self._results(f"/v2/namespaces/{namespace}/repositories/{repo}/tags", 1)
            found.append((name, count))
        return found

    async def tags(self, repo: str, limit: int = 100) -> list[Tag]:
        namespace, name = self._split(repo)
        results, _ = await self._results(f"/v2/namespaces/{namespace}/repositories/{name}/tags", limit)
        return [
            Tag(str(r["name"]), r.get("digest") if isinstance(r.get("digest"), str) else None, _size(r))
            for r in results
            if isinstance(r.get("name"), str)
        ]


def _size(tag: dict[str, Any]) -> int | None:
    size = tag.get("full_size")
    return size if isinstance(size, int) else None


class Registries:
    """staxad.model.ports.RegistryApi over RegistryClient, and over HubClient for Docker
    Hub's listings (`hub_api`: Hub's API, or a stand-in's); failures as ValueError."""

    def __init__(self, hub_api: str = "https://hub.docker.com", verify: ssl.SSLContext | None = None) -> None:
        self.hub_api = hub_api
        self._verify = verify  # replaces the system's CAs (a test's own)

    def _client(self, login: RegistryLogin) -> RegistryClient | HubClient:
        if registry_of(httpx.URL(login.base).host) == DOCKER_HUB:
            return HubClient(login, self.hub_api, verify=self._verify)
        return RegistryClient(login, verify=self._verify)

    async def check(self, login: RegistryLogin) -> None:
        async with RegistryClient(login, verify=self._verify) as client:
            try:
                await client.login()
            except LoginFailed as exc:
                raise ValueError(str(exc)) from None

    async def repositories(self, login: RegistryLogin, query: str, limit: int) -> list[tuple[str, int | None]]:
        async with self._client(login) as client:
            try:
                return await client.repositories(query, limit)
            except (LoginFailed, httpx.HTTPError) as exc:
                raise ValueError(str(exc) or type(exc).__name__) from None

    async def tags(self, login: RegistryLogin, repo: str) -> list[tuple[str, str | None, int | None]]:
        async with self._client(login) as client:
            try:
                return [(t.name, t.digest, t.size) for t in await client.tags(repo)]
            except (LoginFailed, httpx.HTTPError) as exc:
                raise ValueError(str(exc) or type(exc).__name__) from None
