"""`staxad doctor` on this host: findings with fixes, and a non-zero exit when blocked."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from staxad.doctor import run_doctor
from tests.conftest import make_settings


def test_a_taken_port_and_an_unreachable_caddy_block(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        managed = make_settings(tmp_path, STAXAD_CADDY_HTTP_PORT=str(port), STAXAD_DOMAINS_HTTPS_PORT="0")
        assert run_doctor(managed) == 1
    out = capsys.readouterr().out
    assert f"[FAIL] port {port} is taken by another process" in out and f"fix: ss -ltnp 'sport = :{port}'" in out

    with socket.socket(socket.AF_UNIX) as closed:
        closed.bind(str(tmp_path / "admin.sock"))  # bound, never listening: connections are refused
        external = make_settings(
            tmp_path, STAXAD_CADDY_MODE="external", STAXAD_CADDY_ADMIN=f"unix/{tmp_path / 'admin.sock'}"
        )
        assert run_doctor(external) == 1
    out = capsys.readouterr().out
    assert "[FAIL] Caddy's admin socket" in out and "systemctl restart caddy" in out
    assert "staxad doctor:" in out.splitlines()[-1]


def test_a_tcp_admin_endpoint_is_refused(tmp_path: Path) -> None:
    from staxad.config import ConfigError

    with pytest.raises(ConfigError, match="unix socket"):
        make_settings(tmp_path, STAXAD_CADDY_ADMIN="127.0.0.1:2019")


def test_podman_errors_are_mapped_to_the_package_or_setting_that_fixes_them() -> None:
    from staxad.trial import diagnose

    init = diagnose("starting a container", "podman: container-init binary not found on the host: stat x: no such file")
    assert init.what.startswith("catatonit is missing") and init.fix == "apt-get install catatonit"
    dns = diagnose("name resolution", "HTTP 200: unresolved\n** server can't find trial: NXDOMAIN")
    assert "aardvark-dns" in dns.what and dns.fix.startswith("apt-get install netavark aardvark-dns")
    assert diagnose("creating a network", "netavark: executable file not found").fix.startswith(
        "apt-get install netavark"
    )
    # Found on a fresh Debian 12: netavark 1.4 without iptables (only Suggested by podman).
    nat = diagnose("starting a container", "podman: netavark: Permission denied (os error 13)")
    assert nat.what.startswith("iptables is missing") and nat.fix == "apt-get install iptables"
    assert diagnose("podman info", "cannot find newuidmap: exec: not found").fix.startswith("apt-get install uidmap")
    unknown = diagnose("starting a container", "something new went wrong")
    assert "something new went wrong" in unknown.what and "podman info" in unknown.fix


def test_preflight_skips_advice_and_ports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        port = taken.getsockname()[1]
        settings = make_settings(tmp_path, STAXAD_CADDY_HTTP_PORT=str(port), STAXAD_DOMAINS_HTTPS_PORT="0")
        assert run_doctor(settings, preflight=True) == 0  # the port is the later command's business
    out = capsys.readouterr().out
    assert out.splitlines() == [out.splitlines()[-1]] and out.startswith("staxad preflight: ready")


@pytest.mark.parametrize(
    ("drivers", "ok", "says"),
    [
        (set(), True, "not made yet"),
        ({"overlay"}, True, "image storage is overlay"),
        ({"vfs"}, False, "image storage is vfs: each container and build step copies whole images"),
        ({"overlay", "vfs"}, False, "image storage is overlay, vfs"),
    ],
)
def test_image_storage_other_than_overlay_is_a_warning(drivers: set[str], ok: bool, says: str) -> None:
    from staxad.doctor import image_storage

    found = image_storage(drivers)
    assert (found.ok, found.blocking) == (ok, False) and says in found.what
    assert ok or "Image storage" in found.fix
