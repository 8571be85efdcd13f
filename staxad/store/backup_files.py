"""Volume backup archives on disk: `<data_dir>/volume-backups/<backup id>.tar.gz`, root's
alone (the data dir is 0700), written through a `.partial` file and renamed once whole,
with their SHA-256 kept in the store and checked before any restore."""

from __future__ import annotations

import asyncio
import hashlib
import os
import zlib
from collections.abc import AsyncIterator
from pathlib import Path

from staxad.model.errors import PermanentError

CHUNK = 1 << 20


class Writer:
    """Compresses (gzip) and hashes a stream into a partial file; `finish` makes it whole."""

    def __init__(self, folder: Path, backup_id: str) -> None:
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.final = folder / f"{backup_id}.tar.gz"
        self.partial = folder / f"{backup_id}.tar.gz.partial"
        fd = os.open(self.partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        self._file = os.fdopen(fd, "wb")
        self._zip = zlib.compressobj(6, zlib.DEFLATED, 31)  # 31: a gzip header and trailer
        self._hash = hashlib.sha256()
        self.size = 0

    def _write(self, data: bytes) -> None:
        self._file.write(data)
        self._hash.update(data)
        self.size += len(data)

    async def add(self, chunk: bytes) -> None:
        await asyncio.to_thread(self._write, self._zip.compress(chunk))

    async def finish(self) -> str:
        """Flush, fsync and rename into place; the archive's SHA-256."""

        def close() -> None:
            self._write(self._zip.flush())
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self.partial.rename(self.final)

        await asyncio.to_thread(close)
        return self._hash.hexdigest()

    def abandon(self) -> None:
        if not self._file.closed:
            self._file.close()
        self.partial.unlink(missing_ok=True)


def path(folder: Path, backup_id: str) -> Path:
    return folder / f"{backup_id}.tar.gz"


def remove(folder: Path, backup_id: str) -> None:
    path(folder, backup_id).unlink(missing_ok=True)
    (folder / f"{backup_id}.tar.gz.partial").unlink(missing_ok=True)


async def verify(folder: Path, backup_id: str, sha256: str) -> None:
    """Raise PermanentError unless the archive is there and has the recorded checksum."""

    def digest() -> str:
        h = hashlib.sha256()
        with path(folder, backup_id).open("rb") as handle:
            while block := handle.read(CHUNK):
                h.update(block)
        return h.hexdigest()

    try:
        found = await asyncio.to_thread(digest)
    except FileNotFoundError:
        raise PermanentError(f"the archive of backup {backup_id} is missing") from None
    if found != sha256:
        raise PermanentError(
            f"the archive of backup {backup_id} is damaged (checksum {found[:12]}, expected {sha256[:12]})"
        )


async def unpacked(folder: Path, backup_id: str) -> AsyncIterator[bytes]:
    """The archive's tar stream, decompressed chunk by chunk."""
    unzip = zlib.decompressobj(31)
    with path(folder, backup_id).open("rb") as handle:
        while block := await asyncio.to_thread(handle.read, CHUNK):
            yield unzip.decompress(block)
    yield unzip.flush()


def unknown(folder: Path, backups: dict[str, str]) -> list[Path]:
    """Archives of backups the store does not know, and partial ones of backups not running
    (a crash left them); `backups`: id -> status."""
    if not folder.is_dir():
        return []
    found = []
    for entry in sorted(folder.iterdir()):
        backup_id, _, rest = entry.name.partition(".")
        partial = rest.endswith("partial")
        if backup_id not in backups or (partial and backups[backup_id] != "running"):
            found.append(entry)
    return found
