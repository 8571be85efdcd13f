"""The appliance path for real: build the .deb, install it with apt, run the installed
staxad, serve a tenant, back up, purge, reinstall, restore, and serve it again."""

from __future__ import annotations

import os
import secrets
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.images import podman
from tests.integration.helpers import free_port, remove_instance_objects

ROOT = Path(__file__).resolve().parents[2]
CONFIG = "/etc/staxad/staxad.toml"
DATA = Path("/var/lib/staxad")
WORK = Path("/var/lib/staxad-work")
APT = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}


def sh(*argv: str, env: dict[str, str] | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, env=env, check=check, cwd="/")


def serve(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(["/usr/bin/staxad", "serve", "--config", CONFIG], env=env, stdout=out, stderr=out)


def wait_ready(api: httpx.Client, tenant_id: str, timeout: float = 90) -> dict[str, object]:
    deadline = time.monotonic() + timeout
    data: dict[str, object] = {}
    while time.monotonic() < deadline:
        try:
            data = api.get(f"/tenants/{tenant_id}").json()["data"]
        except httpx.HTTPError:
            data = {}
        if data.get("status") == "ready":
            return data
        time.sleep(0.3)
    raise AssertionError(f"tenant not ready: {data}")


def https(host: str, port: int, instance: str) -> str:
    ca = WORK / instance / "caddy" / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
    for _ in range(100):
        got = sh(
            "curl",
            "-sS",
            "--max-time",
            "5",
            "--resolve",
            f"{host}:{port}:127.0.0.1",
            "--cacert",
            str(ca),
            f"https://{host}:{port}/",
            check=False,
        ).stdout
        if got:
            return got
        time.sleep(0.2)
    return ""


def stop(process: subprocess.Popen[bytes] | None) -> None:
    if process is not None and process.poll() is None:
        process.terminate()
        process.wait(30)


@pytest.mark.skipif(os.geteuid() != 0, reason="installs a package")
def test_deb_install_serve_backup_purge_reinstall_restore(tmp_path: Path, web_image: str) -> None:
    build = sh(str(ROOT / "scripts" / "build-deb"), check=False)
    assert build.returncode == 0, build.stderr
    [deb] = sorted((ROOT / "dist").glob("staxad_*.deb"))
    instance = "pkg" + secrets.token_hex(3)
    https_port = free_port()
    env = {
        **os.environ,
        "STAXAD_INSTANCE": instance,
        "STAXAD_CADDY_MODE": "managed",  # no systemd here to run the system Caddy
        "STAXAD_CADDY_ADMIN": f"unix//run/staxad-{instance}-caddy/admin.sock",
        "STAXAD_CADDY_HTTP_PORT": str(free_port()),
        "STAXAD_DOMAINS_HTTPS_PORT": str(https_port),
        "STAXAD_DOMAINS_BASE_DOMAIN": "staxa.test",
        "STAXAD_SERVER_PORT": str(free_port()),
    }
    log = tmp_path / "staxad.log"
    process = None
    try:
        installed = sh("apt-get", "install", "-y", "-q", str(deb), env=APT, check=False)
        assert installed.returncode == 0, installed.stdout + installed.stderr
        assert Path(CONFIG).exists() and (DATA.stat().st_mode & 0o777) == 0o700
        units = ["/lib/systemd/system/staxad.service", "/lib/systemd/system/caddy.service"]  # with its drop-in
        verified = sh("systemd-analyze", "verify", *units, check=False)
        assert verified.returncode == 0 and verified.stderr.strip() == "", verified.stderr
        doctor = sh("/usr/bin/staxad", "doctor", "--config", CONFIG, env=env, check=False)
        assert doctor.returncode == 0, doctor.stdout
        made = sh("/usr/bin/staxad", "admin", "create-key", "--config", CONFIG, "--email", "ops@example.com", env=env)
        key = made.stdout.strip().splitlines()[-1]
        base = f"http://127.0.0.1:{env['STAXAD_SERVER_PORT']}/api/v1"
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=30) as api:
            process = serve(env, log)
            for _ in range(150):
                try:
                    api.get("/openapi.json")
                    break
                except httpx.HTTPError:
                    time.sleep(0.2)
            body = {"name": "boxed", "source_type": "image", "image_url": web_image, "port": 8080}
            tenant = api.post("/tenants", json=body).json()["data"]
            wait_ready(api, tenant["id"])
            assert https("boxed.staxa.test", https_port, instance) == "hello from v1\n"

            backup = tmp_path / "state.tar.gz"
            sh("/usr/bin/staxad", "admin", "backup", "--config", CONFIG, str(backup), env=env)
            stop(process)
            process = None

            purged = sh("apt-get", "purge", "-y", "-q", "staxad", env=APT, check=False)
            assert purged.returncode == 0, purged.stdout + purged.stderr
            assert not DATA.exists() and not WORK.exists()
            assert not Path("/usr/bin/staxad").exists() and not Path(CONFIG).exists()
            label = f"label=io.staxa.instance={instance}"
            assert podman("ps", "-aq", "--filter", label).stdout.strip() == b""

            assert sh("apt-get", "install", "-y", "-q", str(deb), env=APT, check=False).returncode == 0
            restored = sh("/usr/bin/staxad", "admin", "restore", "--config", CONFIG, str(backup), env=env)
            assert "restored 1 tenants" in restored.stdout
            process = serve(env, log)
            wait_ready(api, tenant["id"])
            assert https("boxed.staxa.test", https_port, instance) == "hello from v1\n"
    finally:
        stop(process)
        sh("apt-get", "purge", "-y", "-q", "staxad", env=APT, check=False)
        sh("nft", "delete", "table", "ip", f"staxad-{instance}", check=False)
        remove_instance_objects(instance)
