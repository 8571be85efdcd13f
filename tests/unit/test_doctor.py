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
