"""The registry client against tiny registries on 127.0.0.1: every connection asks the
address check first and goes to the address it approved, redirects and token realms
stay within the registry. Names never reach a resolver: the test's getaddrinfo answers
only numeric hosts, so a client that resolved a name itself would fail, not send a DNS query."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from staxad.adapters.registry_http import Registries, RegistryClient
from staxad.model.ports import RegistryLogin
from tests.webhooks.receiver import self_signed

Answer = tuple[int, dict[str, str], bytes]
Route = Callable[[dict[str, str]], Answer]


@dataclass
class Registry:
    """A registry on 127.0.0.1 answering `routes` (path with query -> answer), keeping
    every request's path and headers."""

    routes: dict[str, Route]
    tls: tuple[Path, Path] | None = None
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    port: int = 0

    def __post_init__(self) -> None:
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self._answer(self.path, {k.lower(): v for k, v in self.headers.items()})

            def do_POST(self) -> None:  # routed as "POST <path>", the body in headers["body"]
                headers = {k.lower(): v for k, v in self.headers.items()}
                headers["body"] = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
                self._answer(f"POST {self.path}", headers)

            def _answer(self, path: str, headers: dict[str, str]) -> None:
                registry.seen.append((path, headers))
                route = registry.routes.get(path)
                status, extra, body = route(headers) if route else (404, {}, b"{}")
                self.send_response(status)
                for key, value in {"Content-Length": str(len(body)), **extra}.items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def ok(_: dict[str, str]) -> Answer:
    return 200, {}, b"{}"


def redirect(location: str) -> Route:
    return lambda _: (302, {"Location": location}, b"")


@pytest.fixture(autouse=True)
def no_resolver(monkeypatch: pytest.MonkeyPatch) -> None:
    real = socket.getaddrinfo

    def numeric_only(host: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            socket.inet_pton(socket.AF_INET6 if ":" in str(host) else socket.AF_INET, str(host))
        except OSError:
            raise socket.gaierror(f"the test resolves no names ({host})") from None
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", numeric_only)


@pytest.fixture
def registries() -> Iterator[Callable[..., Registry]]:
    made: list[Registry] = []

    def make(routes: dict[str, Route], tls: tuple[Path, Path] | None = None) -> Registry:
        made.append(Registry(routes, tls))
        return made[-1]

    yield make
    for registry in made:
        registry.stop()


@dataclass
class Checks:
    """The address check: every host asked, each mapped to 127.0.0.1 or refused."""

    refuse: set[str] = field(default_factory=set)
    asked: list[tuple[str, int | None]] = field(default_factory=list)

    async def __call__(self, host: str, port: int | None) -> list[str]:
        self.asked.append((host, port))
        if host in self.refuse:
            raise ValueError(f"{host} resolves to 10.0.0.1 is a private address")
        return ["127.0.0.1"]


def login(base: str, checks: Checks, verify_tls: bool = False) -> RegistryLogin:
    return RegistryLogin(base, "acme", "s3cret", verify_tls, checks)


async def test_each_connection_goes_to_the_checked_address_with_the_registrys_name(
    registries: Callable[..., Registry],
) -> None:
    registry = registries({"/v2/": ok})
    checks = Checks()
    # the name is an address nothing listens on: only the checked 127.0.0.1 answers
    await Registries().check(login(f"http://127.0.0.2:{registry.port}", checks))
    assert checks.asked == [("127.0.0.2", registry.port)]
    [(path, headers)] = registry.seen
    assert path == "/v2/" and headers["host"] == f"127.0.0.2:{registry.port}"


async def test_a_refused_address_is_never_connected_to(registries: Callable[..., Registry]) -> None:
    registry = registries({"/v2/": ok})
    checks = Checks(refuse={"127.0.0.2"})
    with pytest.raises(ValueError, match=r"refused to connect: 127\.0\.0\.2 resolves to 10\.0\.0\.1"):
        await Registries().check(login(f"http://127.0.0.2:{registry.port}", checks))
    with pytest.raises(ValueError, match="refused to connect"):
        await Registries().tags(login(f"http://127.0.0.2:{registry.port}", checks), "team/app")
    assert registry.seen == []


async def test_redirects_are_followed_only_within_the_registry(registries: Callable[..., Registry]) -> None:
    elsewhere = registries({"/v2/": ok, "/latest/meta-data/": ok})
    registry = registries(
        {
            "/v2/": redirect("/v2/here"),
            "/v2/here": ok,
            "/v2/_catalog?n=1000": redirect(f"http://127.0.0.1:{elsewhere.port}/latest/meta-data/"),
        }
    )
    checks = Checks()
    await Registries().check(login(f"http://127.0.0.1:{registry.port}", checks))  # same host: followed
    assert [path for path, _ in registry.seen] == ["/v2/", "/v2/here"]
    assert registry.seen[1][1]["authorization"].startswith("Basic ")
    with pytest.raises(ValueError, match=f"redirected to 127.0.0.1:{elsewhere.port}, which is not the same registry"):
        await Registries().repositories(login(f"http://127.0.0.1:{registry.port}", checks), "", 10)
    assert elsewhere.seen == []


async def test_redirects_never_leave_https(tmp_path: Path, registries: Callable[..., Registry]) -> None:
    cert, key = self_signed(tmp_path, "127.0.0.1")
    registry = registries({}, tls=(cert, key))
    registry.routes["/v2/"] = redirect(f"http://127.0.0.1:{registry.port}/v2/")
    client = RegistryClient(login(f"https://127.0.0.1:{registry.port}", Checks(), True), verify=_trusting(cert))
    async with client:
        with pytest.raises(Exception, match="redirected from https to http"):
            await client.login()
    assert len(registry.seen) == 1


def _trusting(cert: Path) -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.load_verify_locations(cert)
    return context


def _bearer(realm: str) -> Route:
    def answer(headers: dict[str, str]) -> Answer:
        if headers.get("authorization") == "Bearer t0ken":
            return 200, {}, b"{}"
        return 401, {"WWW-Authenticate": f'Bearer realm="{realm}",service="registry"'}, b"{}"

    return answer


def token(_: dict[str, str]) -> Answer:
    return 200, {}, json.dumps({"token": "t0ken"}).encode()


async def test_tls_is_verified_for_the_registrys_name_and_the_token_realm_is_checked_too(
    tmp_path: Path, registries: Callable[..., Registry]
) -> None:
    cert, key = self_signed(tmp_path, "registry.test")  # a name no resolver is asked for
    registry = registries({"/token?service=registry": token}, tls=(cert, key))
    base = f"https://registry.test:{registry.port}"
    registry.routes["/v2/"] = _bearer(f"{base}/token")
    checks = Checks()
    async with RegistryClient(login(base, checks, True), verify=_trusting(cert)) as client:
        await client.login()
    assert [path for path, _ in registry.seen] == ["/v2/", "/token?service=registry", "/v2/"]
    assert registry.seen[1][1]["authorization"].startswith("Basic ")  # the password goes to its own registry
    assert checks.asked == [("registry.test", registry.port)] * 3  # the realm's connection was checked as well
    # the same address under another name: the certificate names registry.test only
    async with RegistryClient(login(f"https://other.test:{registry.port}", checks, True), verify=_trusting(cert)) as c:
        with pytest.raises(Exception, match="did not answer"):
            await c.login()
    assert len(registry.seen) == 3  # refused in the handshake, before any request


async def test_a_token_realm_of_another_host_is_refused(tmp_path: Path, registries: Callable[..., Registry]) -> None:
    cert, key = self_signed(tmp_path, "127.0.0.1")
    realm = registries({"/token?service=registry": token}, tls=(cert, key))
    registry = registries({"/v2/": _bearer(f"https://127.0.0.1:{realm.port}/token")}, tls=(cert, key))
    async with RegistryClient(
        login(f"https://127.0.0.1:{registry.port}", Checks(), True), verify=_trusting(cert)
    ) as client:
        with pytest.raises(Exception, match=f"token service 127.0.0.1:{realm.port} is not the same registry"):
            await client.login()
    assert realm.seen == []  # the password never went there


def hub(api: str) -> dict[str, Route]:
    """A stand-in of Docker Hub's API as staxad uses it, with Hub's shapes: `POST
    /v2/auth/token` ({"identifier", "secret"} -> {"access_token"}; 401 {"message"}
    otherwise), paginated `{"count", "next", "previous", "results"}` listings of
    `/v2/namespaces/{ns}/repositories` (no tag count in them) and of
    `.../repositories/{repo}/tags` (`name`, `digest`, `full_size`), and 401 without the
    bearer token."""

    def login(headers: dict[str, str]) -> Answer:
        if json.loads(headers["body"]) == {"identifier": "acme", "secret": "s3cret"}:
            return 200, {}, json.dumps({"access_token": "hub-jwt"}).encode()
        return 401, {}, json.dumps({"message": "incorrect username or password"}).encode()

    def page(results: list[dict[str, Any]], count: int, following: str | None) -> Route:
        def answer(headers: dict[str, str]) -> Answer:
            if headers.get("authorization") != "Bearer hub-jwt":
                return 401, {}, json.dumps({"message": "authentication required"}).encode()
            return (
                200,
                {},
                json.dumps({"count": count, "next": following, "previous": None, "results": results}).encode(),
            )

        return answer

    def repo(name: str) -> dict[str, Any]:
        return {"name": name, "namespace": "acme", "repository_type": "image", "is_private": True, "pull_count": 3}

    def tag(name: str, digest: str, size: int) -> dict[str, Any]:
        return {"name": name, "digest": digest, "full_size": size, "images": [{"architecture": "amd64"}]}

    tags = [tag("2.0", "sha256:" + "b" * 64, 2048), tag("1.0", "sha256:" + "a" * 64, 1024)]
    repos = "/v2/namespaces/acme/repositories"
    return {
        "POST /v2/auth/token": login,
        f"{repos}?page_size=100": page([repo("app"), repo("web")], 3, f"{api}{repos}?page=2&page_size=100"),
        f"{repos}?page=2&page_size=100": page([repo("app-worker")], 3, None),
        f"{repos}/app/tags?page_size=1": page(tags[:1], 2, f"{api}{repos}/app/tags?page=2&page_size=1"),
        f"{repos}/app-worker/tags?page_size=1": page([], 0, None),
        f"{repos}/app/tags?page_size=100": page(tags, 2, None),
    }


HUB_REGISTRY = "https://registry-1.docker.io"  # what a Docker Hub credential logs in to


async def test_docker_hub_is_listed_through_hubs_own_api(tmp_path: Path, registries: Callable[..., Registry]) -> None:
    cert, key = self_signed(tmp_path, "hub.test")
    stand_in = registries({}, tls=(cert, key))
    api = f"https://hub.test:{stand_in.port}"
    stand_in.routes.update(hub(api))
    checks = Checks()
    hub_api = Registries(api, verify=_trusting(cert))
    found = await hub_api.repositories(login(HUB_REGISTRY, checks, True), "app", 25)
    assert found == [("acme/app", 2), ("acme/app-worker", 0)]  # both pages read; tag_count from the tag listing
    assert await hub_api.tags(login(HUB_REGISTRY, checks, True), "acme/app") == [
        ("2.0", "sha256:" + "b" * 64, 2048),
        ("1.0", "sha256:" + "a" * 64, 1024),
    ]
    # Hub's registry (its manifests count against the pull rate limit) was never asked
    assert {host for host, _ in checks.asked} == {"hub.test"}
    assert not any("/manifests/" in path for path, _ in stand_in.seen)
    wrong = RegistryLogin(HUB_REGISTRY, "acme", "wrong", True, checks)
    with pytest.raises(ValueError, match=r"Docker Hub refused the username or access token \(incorrect username"):
        await hub_api.repositories(wrong, "", 25)


async def test_a_registry_without_a_catalog_says_what_it_answered(registries: Callable[..., Registry]) -> None:
    unsupported = json.dumps({"errors": [{"code": "UNSUPPORTED", "message": "catalog is not served here"}]})
    registry = registries({"/v2/_catalog?n=1000": lambda _: (404, {}, unsupported.encode())})
    with pytest.raises(ValueError, match=r"GET /v2/_catalog answered 404 \(catalog is not served here\)"):
        await Registries().repositories(login(f"http://127.0.0.1:{registry.port}", Checks()), "", 10)
