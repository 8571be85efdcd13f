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

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        external = make_settings(
            tmp_path, STAXAD_CADDY_MODE="external", STAXAD_CADDY_ADMIN=f"127.0.0.1:{closed.getsockname()[1]}"
        )
        assert run_doctor(external) == 1
    out = capsys.readouterr().out
    assert "[FAIL] Caddy's admin endpoint" in out and "systemctl restart caddy" in out
    assert "staxad doctor:" in out.splitlines()[-1]
