"""Small attacks that must fail: backups written through planted files, numbers that
crash parsing, and another tenant's built image named as one's own."""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from staxad.daemon import Daemon
from staxad.store import backup
from staxad.store import images as image_store
from tests.api.helpers import assert_error, assert_resource, create_tenant

HUGE = "9" * 5000  # past Python's 4300-digit limit for int()
LONG = "9" * 19


async def test_a_backup_never_writes_through_a_planted_file(daemon: Daemon, tmp_path: Path) -> None:
    s = daemon.settings
    target = tmp_path / "out" / "state.tar.gz"
    target.parent.mkdir()
    stolen = tmp_path / "stolen"
    os.symlink(stolen, target.with_name(target.name + ".partial"))
    with pytest.raises(backup.BackupError, match="already exists"):
        backup.create(s.database_path, s.secret_key_path, target)
    assert not stolen.exists() and not target.exists()

    target.with_name(target.name + ".partial").unlink()
    planted = target.with_name(target.name + ".partial")
    planted.write_bytes(b"someone else's")
    planted.chmod(0o644)
    with pytest.raises(backup.BackupError, match="already exists"):
        backup.create(s.database_path, s.secret_key_path, target)
    assert planted.read_bytes() == b"someone else's"
    planted.unlink()
    assert backup.create(s.database_path, s.secret_key_path, target)["schema"]
    assert target.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("value", ["²", "١٢", "٣", LONG, HUGE, "1e3", "-1"])
async def test_odd_digits_in_query_strings_and_headers_are_400s(
    client: httpx.AsyncClient, auth: dict[str, str], value: str
) -> None:
    tenant = await create_tenant(client, auth, "acme")
    for path, params in (
        ("/tenants", {"limit": value}),
        ("/tenants", {"offset": value}),
        ("/api-keys", {"limit": value}),
        (f"/tenants/{tenant['id']}/deployments", {"offset": value}),
        (f"/tenants/{tenant['id']}/logs", {"lines": value}),
        (f"/tenants/{tenant['id']}/events", {"since": value}),
    ):
        assert_error(await client.get(path, headers=auth, params=params), 400, "validation_error")
    for raw in (value.encode(), value.encode("latin-1", "replace")):  # as UTF-8 bytes, and as one byte
        response = await client.get(f"/tenants/{tenant['id']}/events", headers={**auth, "Last-Event-ID": raw})
        assert_error(response, 400, "validation_error")


@pytest.mark.parametrize("number", [LONG, "-" + LONG, HUGE])
async def test_overlong_json_numbers_are_400s(client: httpx.AsyncClient, auth: dict[str, str], number: str) -> None:
    body = '{"name": "acme", "source_type": "image", "image_url": "docker.io/x/y:1", "port": ' + number + "}"
    headers = {**auth, "Content-Type": "application/json"}
    error = assert_error(await client.post("/tenants", headers=headers, content=body), 400, "validation_error")
    assert "digits" in error["message"]


async def test_another_tenants_built_image_cannot_be_named(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    victim = await create_tenant(client, auth, "victim")
    theirs = "localhost/staxa-default/victim-web:0123456789ab"
    async with daemon.db.transaction() as tx:
        await image_store.record(tx, victim["id"], theirs, "built", victim["services"][0]["id"], "now")
    for ref in (theirs, "staxa-default/victim-web:0123456789ab", theirs + "@sha256:" + "a" * 64):
        body = {"name": "thief", "source_type": "image", "image_url": ref}
        error = assert_error(await client.post("/tenants", headers=auth, json=body), 400, "validation_error")
        assert "image_url" in error["details"]["fields"]
    thief = await create_tenant(client, auth, "thief")
    service = {"name": "stolen", "source_type": "image", "image_url": theirs, "port": 80}
    response = await client.post(f"/tenants/{thief['id']}/services", headers=auth, json=service)
    assert_error(response, 400, "validation_error")
    # the tenant's own builds stay usable
    own = {**service, "name": "mine"}
    assert_resource(await client.post(f"/tenants/{victim['id']}/services", headers=auth, json=own), 202)
