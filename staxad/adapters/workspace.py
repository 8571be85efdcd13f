"""Build work dirs that root can manage without ever following the service user's links.

Layout under the work root (root-owned, not writable by anyone else):

    <work root>/builds/<deployment id>/            root, 0755: root's files only
    <work root>/builds/<deployment id>/Containerfile   root, 0644
    <work root>/builds/<deployment id>/repo/       the service user's, 0700: the checkout
    <work root>/builds/<deployment id>/git/        the service user's, 0700: its history

The service user cannot rename, replace or link anything root touches, because every
folder root writes to is root's. What is inside `repo` and `git` is deleted by the
service user itself (`find -delete` run as that user), and root only removes the
then-empty entries.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import stat
from pathlib import Path

from staxad.adapters import proc
from staxad.model.errors import PermanentError


def ensure_root_dir(path: Path, mode: int = 0o711) -> None:
    """Create `path` (root-owned, `mode`) and check that it and every parent is a real
    folder only root can change: otherwise the service user could redirect root's writes."""
    path.mkdir(parents=True, exist_ok=True, mode=mode)
    for folder in (path, *path.parents):
        info = os.lstat(folder)
        if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
            raise PermanentError(f"{folder} must be a real folder, not a link: staxad keeps build files below it")
        if info.st_uid != 0 or (info.st_mode & 0o022 and not info.st_mode & stat.S_ISVTX):
            raise PermanentError(
                f"{folder} must be owned by root and writable by root only (chown root: {folder}; chmod go-w {folder})"
            )
    if stat.S_IMODE(os.lstat(path).st_mode) != mode:
        os.chmod(path, mode, follow_symlinks=False)


USER_FOLDERS = ("repo", "git")  # the checkout, and the history git keeps apart from it


def _real_folder(path: Path) -> bool:
    return path.is_dir() and not path.is_symlink()


class Workspace:
    def __init__(self, root: Path, user: str) -> None:
        self.root = root
        self.user = user

    def prepare(self, name: str) -> Path:
        """A fresh work dir with empty `repo` and `git` folders owned by the service user."""
        ensure_root_dir(self.root)
        work = self.root / name
        work.mkdir(mode=0o755)
        work.chmod(0o755)  # whatever the umask: podman, as the service user, reads the Containerfile here
        account = pwd.getpwnam(self.user)
        for folder in USER_FOLDERS:
            (work / folder).mkdir(mode=0o700)
            os.chown(work / folder, account.pw_uid, account.pw_gid, follow_symlinks=False)
        return work

    def names(self) -> list[str]:
        with contextlib.suppress(FileNotFoundError):
            return sorted(entry.name for entry in os.scandir(self.root) if entry.is_dir(follow_symlinks=False))
        return []

    async def remove(self, name: str) -> bool:
        """Remove a work dir; False when something was left (the next sweep tries again)."""
        work = self.root / name
        owned = [str(work / folder) for folder in USER_FOLDERS if _real_folder(work / folder)]
        if owned:
            # The service user empties its own folders; root never walks into them.
            await proc.run(
                [*proc.as_user(self.user), "find", *owned, "-mindepth", "1", "-delete"], cwd="/", timeout=300
            )
        try:
            for folder in USER_FOLDERS:
                with contextlib.suppress(FileNotFoundError):
                    os.rmdir(work / folder)
            with contextlib.suppress(FileNotFoundError):
                for entry in os.scandir(work):
                    os.unlink(work / entry.name)  # root's own files; a folder here raises
                os.rmdir(work)
        except OSError:
            return False
        return True
