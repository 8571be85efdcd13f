"""Database engine images built offline from this host's Debian packages (redis-tools,
postgresql-15): the binaries, the files they read and the libraries `ldd` lists, on a
busybox root, imported into the service user's podman. They follow the official images'
interface (POSTGRES_USER/PASSWORD/DB and /var/lib/postgresql/data; redis started by
staxad's own `sh -c` command), so staxad runs them as it would the real ones."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

from tests.images import podman

REDIS = "localhost/staxatest/redis:7"
POSTGRES = "localhost/staxatest/postgres:15"
PG = Path("/usr/lib/postgresql/15")
PG_START = r"""set -e
export PGDATA=/var/lib/postgresql/data PATH=/usr/lib/postgresql/15/bin:/bin
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  echo "$POSTGRES_PASSWORD" > /tmp/pw
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile=/tmp/pw --auth-local=trust --auth-host=scram-sha-256 \
    --no-locale -E UTF8 >/dev/null
  rm /tmp/pw
  echo "host all all 0.0.0.0/0 scram-sha-256" >> "$PGDATA/pg_hba.conf"
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/tmp" -w start >/dev/null
  psql -h /tmp -U "$POSTGRES_USER" -d postgres -v ON_ERROR_STOP=1 -c "CREATE DATABASE \"$POSTGRES_DB\"" >/dev/null
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
fi
exec postgres -D "$PGDATA" -c listen_addresses='*' -c unix_socket_directories=/tmp
"""


def _libraries(binaries: list[Path]) -> set[str]:
    found: set[str] = set()
    for binary in binaries:
        linked = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=False).stdout
        found |= {word for word in linked.split() if word.startswith("/")}
    return found


class _Root:
    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        self.tar = tarfile.open(fileobj=self.buffer, mode="w")  # noqa: SIM115 - closed in image()
        self.seen: set[str] = set()

    def folder(self, name: str, mode: int = 0o755, uid: int = 0) -> None:
        if name in self.seen:
            return
        self.seen.add(name)
        info = tarfile.TarInfo(name)
        info.type, info.mode, info.uid, info.gid = tarfile.DIRTYPE, mode, uid, uid
        self.tar.addfile(info)

    def file(self, name: str, data: bytes, mode: int = 0o644) -> None:
        self.seen.add(name)
        info = tarfile.TarInfo(name)
        info.size, info.mode = len(data), mode
        self.tar.addfile(info, io.BytesIO(data))

    def link(self, name: str, target: str) -> None:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = tarfile.SYMTYPE, target
        self.tar.addfile(info)

    def copy(self, path: Path, name: str | None = None) -> None:
        target = (name or str(path)).lstrip("/")
        if target in self.seen:
            return
        self.seen.add(target)
        self.tar.add(str(path.resolve()), target, recursive=False)

    def tree(self, folder: Path) -> None:
        for path in sorted(folder.rglob("*")):
            if path.is_dir():
                self.folder(str(path).lstrip("/"))
            elif path.is_file():
                self.copy(path)

    def busybox(self, applets: tuple[str, ...]) -> None:
        self.folder("bin")
        self.copy(Path(shutil.which("busybox") or "/bin/busybox"), "bin/busybox")
        for applet in applets:
            self.link(f"bin/{applet}", "busybox")

    def libraries(self, binaries: list[Path]) -> None:
        for library in sorted(_libraries(binaries)):
            self.copy(Path(library))

    def image(self, ref: str, changes: list[str]) -> None:
        self.tar.close()
        flags = [item for change in changes for item in ("--change", change)]
        podman("import", *flags, "-", ref, stdin=self.buffer.getvalue())


def build_redis_image() -> str:
    if podman("image", "exists", REDIS, check=False).returncode == 0:
        return REDIS
    root = _Root()
    root.busybox(("sh", "cat", "ls", "echo"))
    binaries = [Path("/usr/bin/redis-check-rdb"), Path("/usr/bin/redis-cli")]
    for binary in binaries:
        root.copy(binary)
    root.link("usr/bin/redis-server", "redis-check-rdb")
    root.libraries(binaries)
    root.folder("tmp", 0o1777)
    root.folder("data", 0o755)
    root.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n")
    root.image(REDIS, ["ENV PATH=/usr/bin:/bin", "CMD " + json.dumps(["redis-server"])])
    return REDIS


def build_postgres_image() -> str:
    if podman("image", "exists", POSTGRES, check=False).returncode == 0:
        return POSTGRES
    root = _Root()
    root.busybox(("sh", "cat", "ls", "echo", "rm", "env"))
    root.tree(PG)
    root.tree(Path("/usr/share/postgresql/15"))
    for zone in ("UTC", "Etc/UTC"):
        if (Path("/usr/share/zoneinfo") / zone).exists():
            root.copy(Path("/usr/share/zoneinfo") / zone)
    root.libraries([*(PG / "bin").iterdir(), *(PG / "lib").glob("*.so")])
    root.folder("tmp", 0o1777)
    root.folder("var/lib/postgresql", 0o755, uid=999)
    root.folder("var/lib/postgresql/data", 0o700, uid=999)
    root.file("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\npostgres:x:999:999::/var/lib/postgresql:/bin/sh\n")
    root.file("etc/group", b"root:x:0:\npostgres:x:999:\n")
    root.file("usr/local/bin/start-postgres", PG_START.encode(), 0o755)
    root.image(
        POSTGRES,
        ["USER 999", "ENV TZ=UTC", "CMD " + json.dumps(["/bin/sh", "/usr/local/bin/start-postgres"])],
    )
    return POSTGRES
