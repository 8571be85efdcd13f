"""The runtime trial behind `staxad doctor`: one container started exactly as tenants' are.

As the service user, on a podman API socket of its own, the trial imports a tiny busybox
image made offline, creates a tenant-style network (isolate, DNS) and runs a container
through the very adapter call the reconciler uses (init, all capabilities dropped,
no-new-privileges, pids limit, port published on 127.0.0.1). It then fetches a page over
the published port and a CGI that resolves the container's own alias through the
network's DNS. Whatever happens, it removes what it made, by name, and nothing else; its
objects carry only the `io.staxa.doctor` label, so no instance's sweep mistakes them for
its own. A failure names the package or setting that fixes it (`diagnose`).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import secrets
import shutil
import tarfile
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from staxad.adapters import proc
from staxad.adapters.podman import Podman, stop_stale_dns
from staxad.model.containers import ContainerSpec
from staxad.model.names import LABEL

PORT = 8080
ALIAS = "trial"
START = ["/bin/sh", "-c", 'exec httpd -f -p "$PORT" -h /www']
DNS_CGI = (
    "#!/bin/sh\necho 'Content-Type: text/plain'\necho\n"
    f'if out=$(nslookup {ALIAS} 2>&1); then echo resolved; else echo unresolved; fi\necho "$out"\n'
)
RESOLUTION = (
    "containers cannot resolve each other's names in a tenant network (podman's DNS, aardvark-dns)",
    "apt-get install netavark aardvark-dns (podman must use the netavark network backend)",
)

# (words any of which in podman's error point at the cause, what is wrong, the fix); first match wins.
FIXES: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (
        ("catatonit", "container-init", "init binary"),
        "catatonit is missing: podman cannot start a container with --init",
        "apt-get install catatonit",
    ),
    (
        # netavark 1.4 drives iptables; without it every network set-up ends in EACCES.
        ("netavark: permission denied", "iptables"),
        "iptables is missing: netavark sets up each tenant network's NAT with it",
        "apt-get install iptables",
    ),
    (("aardvark",), "aardvark-dns is missing: tenant networks get no DNS", "apt-get install aardvark-dns"),
    (
        ("netavark",),
        "netavark is missing: podman cannot create tenant networks",
        "apt-get install netavark aardvark-dns",
    ),
    (
        ("newuidmap", "newgidmap", "subuid", "subgid", "uid mapping"),
        "the service user's uid/gid mapping does not work",
        "apt-get install uidmap, and give the user 65536 ids in /etc/subuid and /etc/subgid",
    ),
    (("slirp4netns",), "slirp4netns is missing (rootless networking)", "apt-get install slirp4netns"),
    (("pasta", "passt"), "passt is missing (rootless networking)", "apt-get install passt"),
    (("/dev/net/tun",), "/dev/net/tun is not usable by the service user", "chmod 0666 /dev/net/tun"),
    (("fuse-overlayfs",), "fuse-overlayfs is missing (rootless image storage)", "apt-get install fuse-overlayfs"),
    (
        ("crun",),
        "podman's OCI runtime crun fails on this host",
        'apt-get install runc and set [engine] runtime = "runc" in /etc/containers/containers.conf',
    ),
    (("runc",), "podman's OCI runtime runc is missing or fails", "apt-get install runc"),
    (
        ("rlimit", "ulimit", "nofile"),
        "podman asks for more open files than this host allows",
        'set [containers] default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"] in /etc/containers/containers.conf',
    ),
    (
        ("name resolution", "unresolved", "nslookup"),
        *RESOLUTION,
    ),
)


class TrialFailed(Exception):
    def __init__(self, what: str, fix: str) -> None:
        super().__init__(f"{what} (fix: {fix})")
        self.what = what
        self.fix = fix


def diagnose(step: str, error: str) -> TrialFailed:
    """The cause and fix behind an error text of podman (or of the trial's own checks)."""
    lowered = error.lower()
    for words, what, fix in FIXES:
        if any(word in lowered for word in words):
            return TrialFailed(f"{what} ({step}: {error.strip()[:300]})", fix)
    return TrialFailed(
        f"{step} failed: {error.strip()[:500]}",
        "see `podman info` and `podman run --init --rm <image>` as the service user for details",
    )


def busybox_rootfs(applets: tuple[str, ...], files: dict[str, tuple[bytes, int]]) -> bytes:
    """A root filesystem tar of busybox (Debian's busybox-static) with these applets linked
    in /bin and these files (path -> content, mode): an image made with no registry."""
    busybox = Path(shutil.which("busybox") or "/bin/busybox")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:

        def add(name: str, data: bytes | None = None, mode: int = 0o755, link: str | None = None) -> None:
            info = tarfile.TarInfo(name)
            if link is not None:
                info.type, info.linkname = tarfile.SYMTYPE, link
            elif data is None:
                info.type = tarfile.DIRTYPE
            else:
                info.size = len(data)
            info.mode = mode
            tar.addfile(info, io.BytesIO(data) if data is not None else None)

        folders = {"bin", "tmp"} | {
            str(parent) for name in files for parent in Path(name).parents if str(parent) != "."
        }
        for folder in sorted(folders):
            add(folder)
        add("bin/busybox", busybox.read_bytes())
        for applet in applets:
            add(f"bin/{applet}", link="busybox")
        for name, (data, mode) in files.items():
            add(name, data, mode)
    return buffer.getvalue()


def rootfs(token: str) -> bytes:
    """The trial's image: httpd serving `token`, and a CGI that resolves a name."""
    return busybox_rootfs(
        ("sh", "httpd", "nslookup", "echo"),
        {"www/index.html": (token.encode(), 0o644), "www/cgi-bin/dns": (DNS_CGI.encode(), 0o755)},
    )


@dataclass(frozen=True)
class Trial:
    """What one trial makes, all named after its tag."""

    service_user: str
    tag: str

    @property
    def name(self) -> str:
        return f"staxa-doctor-{self.tag}"

    @property
    def image(self) -> str:
        return f"localhost/staxad-doctor/trial:{self.tag}"


async def run(service_user: str, *, tag: str | None = None, service_env: dict[str, str] | None = None) -> str:
    """Run the trial; a sentence saying what worked, or TrialFailed with the fix."""
    if shutil.which("busybox") is None:
        raise TrialFailed("busybox is missing (the trial's image is made from it)", "apt-get install busybox-static")
    trial = Trial(service_user, tag or secrets.token_hex(4))
    began = time.monotonic()
    await _podman_info(service_user)
    await stop_stale_dns(service_user)  # a tenant network's DNS must be podman's live one
    folder = Path(tempfile.mkdtemp(prefix=f"staxad-doctor-{trial.tag}-", dir="/run"))
    podman = Podman(folder / "podman.sock", service_user, service_env)
    try:
        port = await _start(podman, trial)
        await _expect(port, "/", trial.tag, "the container's page over its published port")
        await _expect(port, "/cgi-bin/dns", "resolved", "name resolution inside the tenant network")
    finally:
        await _clean(podman, trial, folder)
    return (
        f"a tenant-style container ran as {service_user} (init, no capabilities, tenant network with DNS), "
        f"answered on 127.0.0.1:{port} and resolved its alias ({time.monotonic() - began:.1f} s)"
    )


async def _podman_info(user: str) -> None:
    """`podman info` as the user: the plainest error text when rootless podman itself is broken."""
    argv = [*proc.as_user(user), "podman", "info", "--format", "{{.Host.NetworkBackend}}"]
    try:
        result = await proc.run(argv, cwd="/", timeout=60)
    except FileNotFoundError as exc:
        raise TrialFailed(f"cannot run podman as {user}: {exc}", "apt-get install podman") from None
    if result.returncode != 0:
        raise diagnose("podman info", result.stderr.decode(errors="replace"))
    backend = result.stdout.decode().strip()
    if backend and backend != "netavark":
        raise TrialFailed(
            f"podman uses the {backend} network backend: tenant networks get no aardvark-dns",
            "apt-get install netavark aardvark-dns; podman picks netavark for a user with no CNI networks left",
        )


async def _start(podman: Podman, trial: Trial) -> int:
    step = "starting podman's API service"
    try:
        await podman.start_service()
        step = "importing the trial image"
        await podman.import_rootfs(rootfs(trial.tag), trial.image, START)
        step = "creating a tenant-style network"
        labels = {f"{LABEL}.doctor": trial.tag}
        await podman.ensure_network(trial.name, labels)
        step = "starting a container with the options tenants get"
        started = await podman.run(
            ContainerSpec(
                name=trial.name,
                image=trial.image,
                network=trial.name,
                alias=ALIAS,
                port=PORT,
                env={"PORT": str(PORT)},
                labels=labels,
                resource_size="small",
            )
        )
        host_port = started.host_port
        assert host_port is not None  # run raises otherwise
    except TimeoutError:
        raise TrialFailed(
            f"{step} timed out",
            f"check `runuser -u {trial.service_user} -- podman info` and `podman system service` by hand",
        ) from None
    except TrialFailed:
        raise
    except Exception as exc:
        raise diagnose(step, str(exc)) from None
    return host_port


async def _expect(port: int, path: str, want: str, what: str, timeout: float = 20.0) -> None:
    """GET until the answer contains `want`: rootless port forwarding accepts connections
    before the app listens, and a new network's DNS may take a moment."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    async with httpx.AsyncClient(timeout=3) as client:
        while time.monotonic() < deadline:
            try:
                response = await client.get(f"http://127.0.0.1:{port}{path}")
                last = f"HTTP {response.status_code}: {response.text.strip()[:300]}"
                if response.status_code == 200 and response.text.splitlines()[:1] == [want]:
                    return
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            await asyncio.sleep(0.2)
    if path == "/cgi-bin/dns":
        raise TrialFailed(f"{RESOLUTION[0]}; the trial container said: {last}", RESOLUTION[1])
    raise diagnose(what, last)


async def _clean(podman: Podman, trial: Trial, folder: Path) -> None:
    """Remove what the trial made, by name: through the API, else with the podman command."""
    user = proc.as_user(trial.service_user)
    for remove, argv in (
        (podman.remove(trial.name), ["podman", "rm", "--force", "--ignore", trial.name]),
        (podman.remove_network(trial.name), ["podman", "network", "rm", "--force", trial.name]),
        (podman.remove_image(trial.image), ["podman", "rmi", "--force", trial.image]),
    ):
        try:
            await remove
        except Exception:
            with contextlib.suppress(Exception):
                await proc.run([*user, *argv], cwd="/", timeout=60)
    await podman.stop_service()
    with contextlib.suppress(OSError):
        await asyncio.to_thread(folder.rmdir)
