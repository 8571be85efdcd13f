"""Read access, as root, to a checkout the service user owns, without following a link.

A checkout is hostile input that a process running as the service user may change at any
moment. Each path component is opened relative to its parent's file descriptor with
O_NOFOLLOW, so no link (planted in the repository or swapped in later) can send root's
read anywhere else; a FIFO or device never blocks or is read.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path

from staxad.model.errors import PermanentError

READ_LIMIT = 1 << 20  # detection reads at most 1 MiB of any file
_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
_FILE = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def _is_link(name: str, dir_fd: int) -> bool:
    try:
        return stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode)
    except OSError:
        return False


class Checkout:
    def __init__(self, root: Path) -> None:
        self.root = root

    @contextlib.contextmanager
    def _open(self, path: str, *, directory: bool) -> Iterator[int | None]:
        """A descriptor for `path` below the root, or None when it does not exist."""
        parts = [p for p in path.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise PermanentError(f"{path}: paths in a checkout stay inside it")
        opened: list[int] = []
        try:
            fd = os.open(self.root, _DIR)
            opened.append(fd)
            for index, part in enumerate(parts):
                last = index == len(parts) - 1
                try:
                    fd = os.open(part, _FILE if last and not directory else _DIR, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR) and _is_link(part, fd):
                        raise PermanentError(
                            f"{path} in the repository is a symbolic link; staxad does not follow links in a checkout"
                        ) from None
                    if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                        yield None
                        return
                    raise
                opened.append(fd)
            yield fd
        finally:
            for fd in reversed(opened):
                os.close(fd)

    def read(self, path: str) -> str | None:
        with self._open(path, directory=False) as fd:
            if fd is None or not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            chunks, left = [], READ_LIMIT
            while left > 0 and (chunk := os.read(fd, min(left, 1 << 16))):
                chunks.append(chunk)
                left -= len(chunk)
            return b"".join(chunks).decode(errors="replace")

    def exists(self, path: str) -> bool:
        try:
            with self._open(path, directory=False) as fd:
                return fd is not None
        except PermanentError:
            return True  # a link: present, and refused when read

    def list_dir(self, path: str) -> list[str]:
        with self._open(path, directory=True) as fd:
            if fd is None:
                return []
            with os.scandir(fd) as entries:
                return sorted(entry.name for entry in entries if entry.is_dir(follow_symlinks=False))
