"""Caddy: staxad renders Caddy's whole JSON config from the store and loads it through
the admin API in one request, only when it differs from what Caddy runs.

Caddy reloads its whole config on any change (even a PATCH by @id), so one `POST /load`
of the full document costs the same and can never leave a half-applied state; what
grows with the tenants is kept to one host map (server_routes). Bursts are coalesced:
callers `submit()` the latest desired config; one loader task loads the newest. TLS is
on-demand, gated by staxad's `ask` endpoint.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import pwd
import shutil
import string
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from staxad.adapters.proc import Supervised
from staxad.adapters.workspace import ensure_root_dir

log = logging.getLogger("staxad.caddy")


@dataclass(frozen=True)
class Route:
    id: str
    hosts: tuple[str, ...]
    upstream_port: int | None  # None: the service was stopped by request


# A stopped service's hosts answer this rather than a connection error (a 502).
STOPPED = {
    "handler": "static_response",
    "status_code": 503,
    "headers": {"Retry-After": ["60"], "Content-Type": ["text/plain; charset=utf-8"]},
    "body": "This app is stopped. Its team can start it again.\n",
}


# Where a request goes: a service's loopback address, STOPPED_TARGET, or "" when no
# route has the request's host. The host map fills it, looked up again each time it is read.
TARGET = "{staxa_target}"
STOPPED_TARGET = "stopped"


def targets(routes: list[Route]) -> dict[str, str]:
    """Each routed host, in lowercase, and where it goes. A host two routes claim goes to
    the first route by id (a map input must be unique; Caddy refuses the document otherwise)."""
    found: dict[str, str] = {}
    for route in sorted(routes, key=lambda r: r.id):
        target = STOPPED_TARGET if route.upstream_port is None else f"127.0.0.1:{route.upstream_port}"
        for host in route.hosts:
            found.setdefault(host.lower(), target)
    return dict(sorted(found.items()))


# Caddy has no lowercase function; a request header operation on Host changes the
# request's host, and these 26 replacements make it lowercase.
LOWERCASE_HOST = {
    "handler": "headers",
    "request": {"replace": {"Host": [{"search": c, "replace": c.lower()} for c in string.ascii_uppercase]}},
}

# Caddy answers an unmatched request with an empty 200; say plainly that nothing is here.
NOT_SERVED = {"handler": "static_response", "status_code": 404, "body": "No app is served at this address.\n"}


def server_routes(routes: list[Route]) -> list[dict[str, Any]]:
    """A host map and four fixed routes, however many tenants there are.

    A route per service (a host matcher and a reverse proxy each) made a config load at
    1,000 tenants take 46 ms: Caddy provisions every matcher and handler again on each
    load, about 13 µs apiece. The map is one handler (12-14 ms at 1,000). It compares
    hosts exactly, so hosts go in lowercase, and a Host with capitals that misses it is
    made lowercase and looked up again (host names are case-insensitive).
    """
    mapping = [{"input": host, "outputs": [target]} for host, target in targets(routes).items()]
    host_map = {"handler": "map", "source": "{http.request.host}", "destinations": [TARGET]}
    missed = {"vars": {TARGET: [""]}}
    return [
        {"handle": [{**host_map, "mappings": mapping, "defaults": [""]}]},
        {"match": [{**missed, "header_regexp": {"Host": {"pattern": "[A-Z]"}}}], "handle": [LOWERCASE_HOST]},
        {"match": [{"vars": {TARGET: [STOPPED_TARGET]}}], "handle": [STOPPED], "terminal": True},
        {"match": [missed], "handle": [NOT_SERVED], "terminal": True},
        {"handle": [{"handler": "reverse_proxy", "upstreams": [{"dial": TARGET}]}]},
    ]


def build_config(
    routes: list[Route],
    *,
    admin: str,
    https_port: int,
    http_port: int,
    ask_url: str,
    issuer: str,
    acme_email: str,
    storage: str | None,
) -> dict[str, Any]:
    """The whole Caddy document for these routes; pure, so it is tested without Caddy."""
    issuers: list[dict[str, Any]] = (
        [{"module": "internal"}]
        if issuer == "internal"
        else [{"module": "acme", **({"email": acme_email} if acme_email else {})}]
    )
    config: dict[str, Any] = {
        "admin": {"listen": admin},
        "apps": {
            "http": {
                "http_port": http_port,
                "https_port": https_port,
                "servers": {
                    "staxad": {
                        "listen": [f":{https_port}"],
                        "routes": server_routes(routes),
                        "tls_connection_policies": [{}],
                    },
                },
            },
            "tls": {
                "automation": {
                    "policies": [{"issuers": issuers, "on_demand": True}],
                    "on_demand": {"ask": ask_url},
                },
            },
            "pki": {"certificate_authorities": {"local": {"install_trust": False}}},
        },
    }
    if storage:
        config["storage"] = {"module": "file_system", "root": storage}
    return config


def socket_path(admin: str) -> Path:
    """The file of a `unix//path` admin address."""
    return Path(admin.removeprefix("unix/"))


def admin_client(admin: str, timeout: float) -> httpx.AsyncClient:
    """A client of Caddy's admin socket. Caddy checks the Host header against the listen
    address, and for a unix socket only an empty one matches."""
    # No TLS on a unix socket: verify=False keeps httpx from loading the CA store per client.
    transport = httpx.AsyncHTTPTransport(uds=str(socket_path(admin)), verify=False)
    return httpx.AsyncClient(transport=transport, base_url="http://caddy", headers={"Host": ""}, timeout=timeout)


class CaddyAdmin:
    def __init__(self, admin: str) -> None:
        self.admin = admin
        self._desired: str | None = None  # the config to run, as sent: encoded once per submission
        self._loaded: str | None = None
        self._wake = asyncio.Event()
        self.loads = 0
        self.last_error: str | None = None

    def submit(self, config: dict[str, Any]) -> None:
        self._desired = json.dumps(config, sort_keys=True)
        self._wake.set()

    def forget_loaded(self) -> None:
        """Caddy restarted (empty): the next run loads again even if nothing changed."""
        self._loaded = None
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await asyncio.sleep(0.05)  # let a burst of submissions settle into one load
            await self.sync()

    async def sync(self) -> bool:
        """Load the desired config if Caddy does not run it already. True when in step."""
        text = self._desired
        if text is None or text == self._loaded:
            return True
        try:
            async with admin_client(self.admin, 30) as client:
                response = await client.post("/load", content=text, headers={"Content-Type": "application/json"})
            if response.status_code != 200:
                self.last_error = response.text[:500]
                log.error("caddy refused the config: %s", self.last_error)
                return False
        except httpx.HTTPError as exc:
            self.last_error = str(exc)
            log.warning("caddy admin unreachable (%s); will retry", exc)
            asyncio.get_running_loop().call_later(1.0, self._wake.set)
            return False
        self._loaded = text
        self.loads += 1
        self.last_error = None
        return True

    async def running_matches(self) -> bool:
        """Ask Caddy what it runs: an emptied Caddy (restarted by hand) differs."""
        if self._loaded is None:
            return False
        try:
            async with admin_client(self.admin, 10) as client:
                response = await client.get("/config/")
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and response.json() == json.loads(self._loaded)

    async def wait_in_step(self, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            while not await self.sync():  # noqa: ASYNC110 - sync() does I/O, no event to wait on
                await asyncio.sleep(0.2)


class ManagedCaddy:
    """A private Caddy that staxad starts and keeps running (development and tests).

    It runs as Caddy's own unprivileged user with CAP_NET_BIND_SERVICE only (for ports
    below 1024), keeps its state in a folder of that user's, and listens for admin requests
    on a unix socket in a folder only that user (and root) can enter. It gets SIGTERM when
    staxad dies, however it dies.
    """

    def __init__(
        self, binary: str, admin: str, state_dir: Path, user: str, log_path: Path, pid_file: Path | None = None
    ) -> None:
        self.state_dir = state_dir
        self.admin = admin
        self.user = user
        bootstrap = state_dir / "bootstrap.json"
        setpriv = shutil.which("setpriv") or "/usr/bin/setpriv"
        self.process = Supervised(
            "caddy",
            [
                setpriv,
                f"--reuid={user}",
                f"--regid={user}",
                "--init-groups",
                "--inh-caps=-all,+net_bind_service",
                "--ambient-caps=+net_bind_service",
                "--pdeathsig=TERM",  # setpriv's own: a credential change clears the one staxad set
                "--",
                binary,
                "run",
                "--config",
                str(bootstrap),
            ],
            env={
                "XDG_DATA_HOME": str(state_dir / "data"),
                "XDG_CONFIG_HOME": str(state_dir / "config"),
                "HOME": str(state_dir),
            },
            log_path=str(log_path),
            pid_file=pid_file,
        )

    @property
    def storage(self) -> str:
        return str(self.state_dir / "data" / "caddy")

    @property
    def root_certificate(self) -> Path:
        return Path(self.storage) / "pki" / "authorities" / "local" / "root.crt"

    def _prepare(self) -> None:
        account = pwd.getpwnam(self.user)
        ensure_root_dir(self.state_dir.parent)
        for folder in (self.state_dir, socket_path(self.admin).parent):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chown(folder, account.pw_uid, account.pw_gid, follow_symlinks=False)
            folder.chmod(0o700)
        bootstrap = self.state_dir / "bootstrap.json"
        fd = os.open(bootstrap, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "w") as handle:
            handle.write(json.dumps({"admin": {"listen": self.admin}}))

    async def start(self) -> None:
        await asyncio.to_thread(self._prepare)
        await self.process.start()
        async with asyncio.timeout(20):
            while True:
                try:
                    async with admin_client(self.admin, 2) as client:
                        if (await client.get("/config/")).status_code == 200:
                            return
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.1)

    async def stop(self) -> None:
        await self.process.stop()
        folder = socket_path(self.admin).parent
        with contextlib.suppress(OSError):  # the socket's folder goes with the Caddy that made it
            socket_path(self.admin).unlink(missing_ok=True)
            folder.rmdir()
