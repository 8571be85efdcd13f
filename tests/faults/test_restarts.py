"""Fault drill: staxad restarts, cleanly and by SIGKILL, cost no HTTPS request.

As in production, Caddy is a service of its own (started here as the `caddy` user with
its admin on a unix socket, as the package's drop-in does) and staxad runs as a separate
process. A poller sends an HTTPS request every 100 ms across both restarts.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.integration.helpers import environ_for, remove_instance_objects

pytestmark = pytest.mark.host
STAXAD = str(Path(__file__).resolve().parents[2] / ".venv" / "bin" / "staxad")


@contextlib.contextmanager
def system_caddy(instance: str) -> Iterator[tuple[str, Path]]:
    """Caddy as the system service runs it: its own user, admin on a 0700 socket folder."""
    state = Path("/var/lib/staxad-work") / f"{instance}-caddy"
    run = Path(f"/run/staxad-{instance}-syscaddy")
    for folder in (state, run):
        folder.mkdir(parents=True, mode=0o700)
        shutil.chown(folder, "caddy", "caddy")
    admin = f"unix/{run / 'admin.sock'}"
    bootstrap = state / "bootstrap.json"
    bootstrap.write_text(json.dumps({"admin": {"listen": admin}}))
    shutil.chown(bootstrap, "caddy", "caddy")
    process = subprocess.Popen(
        [
            "setpriv",
            "--reuid=caddy",
            "--regid=caddy",
            "--init-groups",
            "--",
            "caddy",
            "run",
            "--resume",
            "--config",
            str(bootstrap),
        ],
        env={"HOME": str(state), "XDG_DATA_HOME": str(state), "XDG_CONFIG_HOME": str(state), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd="/",
    )
    try:
        deadline = time.monotonic() + 20
        while not (run / "admin.sock").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        yield admin, state / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(state, ignore_errors=True)
        shutil.rmtree(run, ignore_errors=True)


class Staxad:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = {**os.environ, **env}
        self.process: subprocess.Popen[bytes] | None = None
        self.port = int(env["STAXAD_SERVER_PORT"])

    def start(self) -> None:
        self.process = subprocess.Popen(
            [STAXAD, "serve"], env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/"
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return
            time.sleep(0.05)
        raise AssertionError("staxad did not start listening")

    def stop(self, sig: signal.Signals) -> None:
        assert self.process is not None
        self.process.send_signal(sig)
        self.process.wait(timeout=30)


class Poller(threading.Thread):
    def __init__(self, host: str, port: int, ca: Path) -> None:
        super().__init__(daemon=True)
        self.host, self.port = host, port
        self.context = ssl.create_default_context(cafile=str(ca))
        self.ok = 0
        self.failures: list[str] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                raw = socket.create_connection(("127.0.0.1", self.port), timeout=3)
                conn = http.client.HTTPSConnection(self.host, self.port, timeout=3, context=self.context)
                conn.sock = self.context.wrap_socket(raw, server_hostname=self.host)
                conn.request("GET", "/")
                status = conn.getresponse().status
                conn.close()
                if status == 200:
                    self.ok += 1
                else:
                    self.failures.append(f"{time.monotonic():.1f}: HTTP {status}")
            except OSError as exc:
                self.failures.append(f"{time.monotonic():.1f}: {exc}")
            time.sleep(0.1)


def podman_services(instance: str) -> list[int]:
    """The podman API services serving this instance's socket: the outermost podman of
    each (rootless podman re-executes itself in a user namespace, so each is two)."""
    found: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if argv[0].endswith(b"podman") and f"staxad-{instance}/podman.sock".encode() in b" ".join(argv):
                found[int(entry.name)] = int((entry / "stat").read_text().rsplit(") ", 1)[1].split()[1])
    return sorted(pid for pid, parent in found.items() if parent not in found)


def _api(staxad: Staxad, key: str) -> httpx.Client:
    return httpx.Client(
        base_url=f"http://127.0.0.1:{staxad.port}/api/v1", headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


def _wait_ready(staxad: Staxad, key: str, tenant_id: str) -> None:
    with _api(staxad, key) as api:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if api.get(f"/tenants/{tenant_id}").json()["data"]["status"] == "ready":
                return
            time.sleep(0.2)
    raise AssertionError("tenant did not become ready")


def test_restarts_clean_and_by_sigkill_lose_no_request(tmp_path: Path, instance: str, web_image: str) -> None:
    with system_caddy(instance) as (admin, ca):
        env = {
            **environ_for(tmp_path, instance),
            "STAXAD_CADDY_MODE": "external",
            "STAXAD_CADDY_ADMIN": admin,
            "STAXAD_CADDY_ISSUER": "internal",
        }
        made = subprocess.run(
            [STAXAD, "admin", "create-key", "--email", "ops@example.com"],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=True,
        )
        key = made.stdout.strip().splitlines()[-1]
        staxad = Staxad(env)
        staxad.start()
        try:
            with _api(staxad, key) as api:
                body = {"name": "steady", "source_type": "image", "image_url": web_image, "port": 8080}
                tenant = api.post("/tenants", json=body).json()["data"]
            _wait_ready(staxad, key, tenant["id"])
            poller = Poller(f"steady.{env['STAXAD_DOMAINS_BASE_DOMAIN']}", int(env["STAXAD_DOMAINS_HTTPS_PORT"]), ca)
            poller.start()
            time.sleep(1)
            for sig in (signal.SIGTERM, signal.SIGKILL):
                staxad.stop(sig)
                time.sleep(1)  # down for a while, as a real restart is
                staxad.start()
                _wait_ready(staxad, key, tenant["id"])
                time.sleep(2)
                assert len(podman_services(instance)) == 1, f"after {sig.name}: {podman_services(instance)}"
            poller.stopping.set()
            poller.join(timeout=10)
            assert poller.failures == [], poller.failures[:10]
            assert poller.ok > 40
        finally:
            with contextlib.suppress(Exception):
                staxad.stop(signal.SIGTERM)
            remove_instance_objects(instance)
