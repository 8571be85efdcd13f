"""`staxad admin backup` while the daemon runs, and `restore` onto a fresh data dir."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import httpx
import pytest

from staxad.cli import main
from staxad.daemon import Daemon
from tests.api.helpers import create_tenant
from tests.conftest import make_settings


def environ(monkeypatch: pytest.MonkeyPatch, data: Path) -> None:
    monkeypatch.setenv("STAXAD_STORE_DATA_DIR", str(data))
    monkeypatch.setenv("STAXAD_RUNTIME_ENABLED", "false")


async def test_online_backup_and_restore_onto_a_fresh_install(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    daemon: Daemon,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    tenant = await create_tenant(client, auth, "keepme", env={"API_TOKEN": "tok-secret-1"})
    archive = tmp_path / "state.tar.gz"
    environ(monkeypatch, daemon.settings.data_dir)
    assert main(["admin", "backup", str(archive)]) == 0  # the daemon keeps running meanwhile
    assert "backed up 1 tenants" in capsys.readouterr().out
    assert archive.stat().st_mode & 0o077 == 0  # it holds the secret key
    with tarfile.open(archive) as tar:
        assert sorted(tar.getnames()) == ["manifest.json", "secret.key", "staxad.db"]

    fresh = tmp_path / "fresh"
    environ(monkeypatch, fresh)
    assert main(["admin", "restore", str(archive)]) == 0
    assert main(["admin", "restore", str(archive)]) == 1  # never over an existing database by accident
    assert "already holds providers" in capsys.readouterr().err
    assert main(["admin", "restore", "--force", str(archive)]) == 0

    restored = Daemon(make_settings(tmp_path / "ignored", STAXAD_STORE_DATA_DIR=str(fresh)))
    await restored.start()
    try:
        found = await restored.platform.tenants.get(
            (await restored.platform.keys.authenticate(auth["Authorization"])), tenant["id"]
        )
        assert found.name == "keepme"
        env = await restored.platform.env.listing(found)
        assert env == [{"key": "API_TOKEN", "value": "****"}]
        from staxad.model.envvars import EnvVar
        from staxad.store import env as env_store

        assert await env_store.read(restored.db, restored.ctx.box, found.id) == [
            EnvVar("API_TOKEN", "tok-secret-1", True)
        ]
    finally:
        await restored.stop()


def test_restore_refuses_what_it_cannot_use(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    environ(monkeypatch, tmp_path / "data")
    not_backup = tmp_path / "x.tar.gz"
    with tarfile.open(not_backup, "w:gz") as tar:
        info = tarfile.TarInfo("hello")
        tar.addfile(info, io.BytesIO(b""))
    assert main(["admin", "restore", str(not_backup)]) == 1
    assert "not a staxad backup" in capsys.readouterr().err
    newer = tmp_path / "newer.tar.gz"
    with tarfile.open(newer, "w:gz") as tar:
        for name, data in (
            ("staxad.db", b""),
            ("secret.key", b"k"),
            ("manifest.json", json.dumps({"schema": 999}).encode()),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    assert main(["admin", "restore", str(newer)]) == 2
    assert "newer than this staxad" in capsys.readouterr().err
    assert main(["admin", "backup", str(tmp_path / "none.tar.gz")]) == 1
