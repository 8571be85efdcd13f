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

import httpx

from staxad.model.ports import Addresses, RegistryLogin
from staxad.model.registries import same_registry, where

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


class Registries:
    """staxad.model.ports.RegistryApi over RegistryClient; failures as ValueError."""

    async def check(self, login: RegistryLogin) -> None:
        async with RegistryClient(login) as client:
            try:
                await client.login()
            except LoginFailed as exc:
                raise ValueError(str(exc)) from None

    async def repositories(self, login: RegistryLogin, query: str, limit: int) -> list[tuple[str, int]]:
        async with RegistryClient(login) as client:
            try:
                return await client.repositories(query, limit)
            except (LoginFailed, httpx.HTTPError) as exc:
                raise ValueError(str(exc) or type(exc).__name__) from None

    async def tags(self, login: RegistryLogin, repo: str) -> list[tuple[str, str | None, int | None]]:
        async with RegistryClient(login) as client:
            try:
                return [(t.name, t.digest, t.size) for t in await client.tags(repo)]
            except (LoginFailed, httpx.HTTPError) as exc:
                raise ValueError(str(exc) or type(exc).__name__) from None
