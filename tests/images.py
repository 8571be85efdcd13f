"""Test images built offline: a busybox rootfs imported into the service user's podman.

`localhost/staxatest/web:N` serves "hello from vN" on $PORT (after sleeping $DELAY
seconds, if set) and its environment at /cgi-bin/env."""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import tarfile
from pathlib import Path

from staxad.trial import busybox_rootfs

SERVICE_USER = "staxa"
IMAGE = "localhost/staxatest/web:1"
CGI_ENV = "#!/bin/sh\necho 'Content-Type: text/plain'\necho\nenv\n"
START = 'sleep "${DELAY:-0}"; echo "web starting on $PORT"; exec httpd -f -v -p "$PORT" -h /www'


def podman(*args: str, stdin: bytes | None = None, check: bool = True) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["runuser", "-u", SERVICE_USER, "--", "podman", *args], input=stdin, capture_output=True, check=check, cwd="/"
    )


def _rootfs_tar(version: str) -> bytes:
    return busybox_rootfs(
        ("sh", "httpd", "nc", "env", "echo", "cat", "sleep", "wget", "nslookup", "ls"),
        {"www/index.html": (f"hello from {version}\n".encode(), 0o644), "www/cgi-bin/env": (CGI_ENV.encode(), 0o755)},
    )


def build_web_images() -> str:
    """A busybox web server image, built offline: it serves "hello from v1" on $PORT."""
    for version in ("1", "2"):
        ref = f"localhost/staxatest/web:{version}"
        if podman("image", "inspect", "--format", "{{.Config.Cmd}}", ref, check=False).stdout.find(b"DELAY") < 0:
            podman("rmi", "-f", ref, check=False)
        if podman("image", "exists", ref, check=False).returncode != 0:
            cmd = "CMD " + json.dumps(["/bin/sh", "-c", START])
            podman("import", "--change", cmd, "-", ref, stdin=_rootfs_tar(f"v{version}"))
    return IMAGE


UDP_IMAGE = "localhost/staxatest/udp:1"
UDP_START = (
    'exec dnsmasq --keep-in-foreground --port="$PORT" --user= --group= --pid-file= --no-resolv --no-hosts'
    " --address=/udp.test/198.18.0.7 --log-facility=-"
)


def build_udp_image() -> str:
    """A UDP (and TCP) DNS server on $PORT answering 198.18.0.7 for *.udp.test: Debian's
    dnsmasq and the libraries it links, imported offline. Runs with no capabilities."""
    if podman("image", "exists", UDP_IMAGE, check=False).returncode == 0:
        return UDP_IMAGE
    dnsmasq = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
    linked = subprocess.run(["ldd", dnsmasq], capture_output=True, text=True, check=True).stdout
    libraries = sorted({word for word in linked.split() if word.startswith("/")})
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        tar.add(dnsmasq, "bin/dnsmasq")
        tar.add(shutil.which("busybox") or "/bin/busybox", "bin/busybox")
        link = tarfile.TarInfo("bin/sh")
        link.type, link.linkname = tarfile.SYMTYPE, "busybox"
        tar.addfile(link)
        for library in libraries:
            tar.add(str(Path(library).resolve()), library.lstrip("/"))
    cmd = "CMD " + json.dumps(["/bin/sh", "-c", UDP_START])
    podman("import", "--change", cmd, "-", UDP_IMAGE, stdin=buffer.getvalue())
    return UDP_IMAGE
