"""Backups of staxad's state: a consistent online copy of the SQLite store (SQLite's
backup API, safe while the daemon writes) and the key that opens its secrets, in one
tar.gz readable only by root."""

from __future__ import annotations

import io
import json
import os
import sqlite3
import tarfile
import tempfile
import time
from pathlib import Path

from staxad.model.errors import SchemaTooNew
from staxad.store import migrations

DB_NAME, KEY_NAME, MANIFEST = "staxad.db", "secret.key", "manifest.json"


class BackupError(Exception):
    pass


def create(database: Path, key: Path, target: Path) -> dict[str, object]:
    if not database.exists():
        raise BackupError(f"no database at {database}; nothing to back up")
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / DB_NAME
        source = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            destination = sqlite3.connect(copy)
            with destination:
                source.backup(destination)
            schema = int(destination.execute("PRAGMA user_version").fetchone()[0])
            tenants = int(destination.execute("SELECT count(*) FROM tenants").fetchone()[0])
            destination.close()
        finally:
            source.close()
        manifest = {"schema": schema, "tenants": tenants, "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        partial = target.with_name(target.name + ".partial")
        fd = _create_new(partial)
        try:
            with os.fdopen(fd, "wb") as raw, tarfile.open(fileobj=raw, mode="w:gz") as tar:
                tar.add(copy, DB_NAME)
                tar.add(key, KEY_NAME)
                data = json.dumps(manifest).encode()
                info = tarfile.TarInfo(MANIFEST)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        except BaseException:
            partial.unlink(missing_ok=True)  # ours: created exclusively above
            raise
        partial.replace(target)  # a crash never leaves a truncated backup under the real name
    return manifest


def restore(source: Path, database: Path, key: Path, force: bool = False) -> dict[str, object]:
    if database.exists() and not force and not _empty(database):
        raise BackupError(f"{database} already holds providers; restore onto a fresh install, or pass --force")
    try:
        with tarfile.open(source, "r:gz") as tar:
            names = set(tar.getnames())
            if not {DB_NAME, KEY_NAME, MANIFEST} <= names:
                raise BackupError(f"{source} is not a staxad backup (it lacks {DB_NAME}, {KEY_NAME} or {MANIFEST})")
            manifest = json.loads(_read(tar, MANIFEST))
            if int(manifest["schema"]) > migrations.latest():
                raise SchemaTooNew(
                    f"the backup has schema {manifest['schema']}, newer than this staxad ({migrations.latest()}); "
                    "install the staxad that made it, or a newer one"
                )
            database.parent.mkdir(parents=True, exist_ok=True)
            for name, path in ((DB_NAME, database), (KEY_NAME, key)):
                partial = path.with_name(path.name + ".restoring")
                partial.unlink(missing_ok=True)  # a crashed restore's leftover; unlink never follows a link
                fd = _create_new(partial)
                with os.fdopen(fd, "wb") as out:
                    out.write(_read(tar, name))
                partial.replace(path)
            for stale in (database.with_name(database.name + "-wal"), database.with_name(database.name + "-shm")):
                stale.unlink(missing_ok=True)
    except (tarfile.TarError, OSError, ValueError, KeyError) as exc:
        raise BackupError(f"cannot restore from {source}: {exc}") from None
    return dict(manifest)


def _create_new(path: Path) -> int:
    """A new file only root can read. Never opens what is already there: a planted
    symlink or file would otherwise receive the database and the secret key."""
    try:
        return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        raise BackupError(
            f"{path} already exists (a backup still running, or one that crashed, or a planted file); "
            "check what it is, remove it and try again"
        ) from None


def _empty(database: Path) -> bool:
    """A fresh install's database: migrated, nobody registered yet."""
    try:
        conn = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
        try:
            return int(conn.execute("SELECT count(*) FROM providers").fetchone()[0]) == 0
        finally:
            conn.close()
    except sqlite3.Error:
        return False


def _read(tar: tarfile.TarFile, name: str) -> bytes:
    member = tar.getmember(name)
    if not member.isfile():
        raise BackupError(f"{name} in the backup is not a regular file")
    handle = tar.extractfile(member)
    assert handle is not None
    return handle.read()
