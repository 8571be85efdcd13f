"""Named podman volumes of the service user, through the podman CLI run as that user.

Archives stream through pipes (`podman volume export`/`import`), never through memory.
Every path inside a volume is touched only by the service user inside its own user
namespace (`podman unshare`), never by root: the volume's content is the tenant's.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable

from staxad.adapters import proc
from staxad.model import userns
from staxad.model.errors import PermanentError, TemporaryError
from staxad.model.names import LABEL, own_volume

# Moves a volume's files from one block of ids to another (staxad.model.userns.shifted),
# run by the service user inside its namespace: links are changed, never followed, ids
# outside the source block stay (a second run after a crash finishes the first), POSIX
# ACLs, which would name the old block's ids, are dropped, and any error fails the move.
MOVE_IDS = """
import errno, os, stat, sys
root, source, target, block = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ACLS = ("system.posix_acl_access", "system.posix_acl_default")
def move(i):
    return i - source + target if source <= i < source + block else i
def fail(error):
    raise error
def fix(path):
    st = os.lstat(path)
    uid, gid = move(st.st_uid), move(st.st_gid)
    if (uid, gid) != (st.st_uid, st.st_gid):
        os.lchown(path, uid, gid)
        if not stat.S_ISLNK(st.st_mode):
            os.chmod(path, stat.S_IMODE(st.st_mode))  # chown drops setuid and setgid bits
    if not stat.S_ISLNK(st.st_mode):
        for acl in ACLS:  # they would name the old block's ids: dropped, the mode bits stay
            try:
                os.removexattr(path, acl)
            except OSError as exc:
                if exc.errno not in (errno.ENODATA, errno.ENOTSUP, errno.EOPNOTSUPP):
                    raise
for folder, subfolders, files in os.walk(root, onerror=fail):
    for name in subfolders + files:
        fix(os.path.join(folder, name))
fix(root)
"""


class Volumes:
    def __init__(self, service_user: str) -> None:
        self.service_user = service_user

    def _argv(self, *args: str) -> list[str]:
        return [*proc.as_user(self.service_user), "podman", *args]

    async def _podman(self, *args: str, timeout: float = 60) -> proc.Completed:
        return await proc.run(self._argv(*args), timeout=timeout)

    async def create(self, name: str, labels: dict[str, str]) -> None:
        """Make the volume; one that exists already is used only when it carries `labels`
        (a volume under this name that someone else made is refused, never adopted)."""
        flags = [f"--label={key}={value}" for key, value in sorted(labels.items())]
        result = await self._podman("volume", "create", *flags, own_volume(name))
        if result.returncode == 0:
            return
        found = await self.labels(name)
        if found is None:
            raise TemporaryError(f"volume {name} could not be created: {result.stderr.decode(errors='replace')[-300:]}")
        if any(found.get(key) != value for key, value in labels.items()):
            raise PermanentError(
                f"a volume named {name} exists that staxad did not make for this volume (its labels name another "
                "owner); it is left as it is and not mounted: see `staxad doctor`"
            )

    async def labels(self, name: str) -> dict[str, str] | None:
        """The volume's labels, or None when there is no volume by that name."""
        result = await self._podman("volume", "inspect", "--format=json", own_volume(name))
        if result.returncode != 0:
            return None
        found = json.loads(result.stdout or b"[]") or [{}]
        return dict(found[0].get("Labels") or {})

    async def remove(self, name: str) -> None:
        """Remove a volume no container uses; a volume still in use is a TemporaryError."""
        if (await self._podman("volume", "exists", own_volume(name))).returncode != 0:
            return
        result = await self._podman("volume", "rm", name)
        if result.returncode != 0:
            raise TemporaryError(f"volume {name} not removed: {result.stderr.decode(errors='replace')[-300:]}")

    async def listing(self, instance: str) -> dict[str, dict[str, str]]:
        """This instance's volumes: name -> labels."""
        result = await self._podman("volume", "ls", f"--filter=label={LABEL}.instance={instance}", "--format=json")
        result.check()
        found = json.loads(result.stdout or b"[]") or []
        return {str(v["Name"]): dict(v.get("Labels") or {}) for v in found}

    async def named_for(self, instance: str) -> dict[str, dict[str, str]]:
        """Every volume labelled for this instance or named like its volumes, labelled or
        not (for `staxad doctor`, which reports the ones staxad did not make)."""
        result = (await self._podman("volume", "ls", "--format=json")).check()
        found = json.loads(result.stdout or b"[]") or []
        prefix = f"staxa-{instance}-"
        return {
            str(v["Name"]): dict(v.get("Labels") or {})
            for v in found
            if str(v["Name"]).startswith(prefix) or (v.get("Labels") or {}).get(f"{LABEL}.instance") == instance
        }

    async def mountpoint(self, name: str) -> str:
        result = (await self._podman("volume", "inspect", "--format={{.Mountpoint}}", own_volume(name))).check()
        return result.stdout.decode().strip()

    async def used_bytes(self, name: str) -> int:
        """Disk the volume's files take, counted inside the service user's namespace (files
        a container wrote as another uid are readable only there)."""
        where = await self.mountpoint(name)
        result = await self._podman("unshare", "du", "-s", "-B1", "-x", "--", where, timeout=300)
        result.check()
        return int(result.stdout.split()[0])

    async def move_ids(self, name: str, source: int, target: int) -> None:
        """Give the volume's files, owned in the block at `source`, to the block at `target`
        (a volume given to a tenant of another block; no container may mount it meanwhile)."""
        where = await self.mountpoint(name)
        # Debian's, which every user may run (root's PATH may name a python under /root)
        argv = ["unshare", "/usr/bin/python3", "-I", "-c", MOVE_IDS, where, str(source), str(target), str(userns.BLOCK)]
        result = await self._podman(*argv, timeout=3600)
        if result.returncode != 0:
            raise PermanentError(
                f"the volume's files could not be moved: {result.stderr.decode(errors='replace')[-300:]}"
            )

    def _piped(self, script: str, name: str) -> list[str]:
        """podman opens /dev/stdout (or /dev/stdin) anew, which the service user may not do
        with a pipe root made: a shell of the service user's owns the pipe podman sees."""
        return [*proc.as_user(self.service_user), "bash", "-o", "pipefail", "-c", script, "staxad", own_volume(name)]

    async def export(self, name: str, sink: Callable[[bytes], Awaitable[None]]) -> None:
        result = await proc.stream(self._piped('podman volume export -- "$1" | cat', name), sink=sink)
        if result.returncode != 0:
            raise PermanentError(f"podman volume export failed: {result.stderr.decode(errors='replace')[-300:]}")

    async def replace_content(self, name: str, archive: AsyncIterator[bytes]) -> None:
        """Empty the volume, then unpack a tar archive into it."""
        where = await self.mountpoint(name)
        emptied = await self._podman("unshare", "find", where, "-mindepth", "1", "-delete", timeout=600)
        if emptied.returncode != 0:
            raise PermanentError(f"the volume could not be emptied: {emptied.stderr.decode(errors='replace')[-300:]}")
        result = await proc.stream(self._piped('cat | podman volume import -- "$1" -', name), source=archive)
        if result.returncode != 0:
            raise PermanentError(f"podman volume import failed: {result.stderr.decode(errors='replace')[-300:]}")
