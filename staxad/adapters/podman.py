"""Rootless Podman through the service user's API socket.

staxad (root) starts `podman system service` as the service user and talks to it with
podman-py; its blocking calls run in threads. Every container is hardened: no
privileges, all capabilities dropped, no-new-privileges, a pids limit, and the
memory/CPU of its size. Published ports bind to 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import pwd
import re
import socket
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from podman import PodmanClient
from podman.errors import APIError, ImageNotFound, NotFound

from staxad.adapters import proc
from staxad.adapters.imagegate import ImageGate
from staxad.adapters.proc import Supervised
from staxad.model import userns
from staxad.model.containers import ContainerSpec, ContainerState
from staxad.model.errors import PermanentError, TemporaryError
from staxad.model.names import IDS_LABEL, LABEL, own_volume
from staxad.model.resources import SIZES

log = logging.getLogger("staxad.podman")

STOP_SECONDS = 5  # SIGTERM, then SIGKILL after this long
SERVICE_WAIT_SECONDS = 30.0  # how long a call waits for the API service to (re)start


@dataclass(frozen=True)
class BuildLimits:
    memory_mb: int
    cpu_percent: int


@dataclass(frozen=True)
class ImageContents:
    id: str
    layers: list[str]  # the digests of the layers' contents, bottom first
    labels: dict[str, str]


PORT_RACE_ATTEMPTS = 3
# `podman unshare` enters the service user's user namespace, where `unshare` may make the
# build's PID namespace; --kill-child ends it when the group is killed (staxad's cancel).
BUILD_PID_NAMESPACE = ("podman", "unshare", "unshare", "--pid", "--fork", "--kill-child", "--mount-proc", "--")
_RFC3339 = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|z|[+-]\d\d:\d\d)$")

# Removes aardvark-dns configs of networks that no longer exist, then prints and stops the
# pid of an aardvark-dns whose network namespace is not the rootless one podman uses now
# (or when there is none). Fixed text: nothing of a tenant's reaches it.
STALE_DNS = r"""
run=$(podman info --format '{{.Store.RunRoot}}') || exit 0
dns="$run/networks/aardvark-dns"
# configs of networks that no longer exist (a minute old at least: never one being made)
networks=$(podman network ls --format '{{.Name}}') || exit 0
find "$dns" -maxdepth 1 -type f ! -name aardvark.pid -mmin +1 2>/dev/null | while read -r f; do
  printf '%s\n' "$networks" | grep -qxF -- "$(basename "$f")" || rm -f -- "$f"
done
pid=$(cat "$dns/aardvark.pid" 2>/dev/null) || exit 0
case "$pid" in ''|*[!0-9]*) exit 0 ;; esac
theirs=$(readlink "/proc/$pid/ns/net" 2>/dev/null) || exit 0
case "$(cat "/proc/$pid/comm" 2>/dev/null)" in aardvark-dns) ;; *) exit 0 ;; esac
# the namespace is under podman's runtime dir, which podman names in XDG_RUNTIME_DIR (not
# the run root's parent: a storage.conf parts the two); none there means aardvark is stale
ours=$(podman unshare sh -c 'd=${XDG_RUNTIME_DIR:?}
  for f in "$d"/netns/rootless-netns-*; do [ -e "$f" ] && stat -L -c %i "$f"; done; true') || exit 0
[ -n "$ours" ] && [ "$theirs" = "net:[$ours]" ] && exit 0
# and its pid file: one left to a process not yet reaped would be signalled, not replaced
kill "$pid" && rm -f -- "$dns/aardvark.pid" && echo "$pid"
"""


class Podman:
    def __init__(
        self,
        socket_path: Path,
        service_user: str,
        service_env: dict[str, str] | None = None,
        pid_file: Path | None = None,
        log_bytes: int = 10 << 20,
    ) -> None:
        self.socket_path = socket_path
        self.log_bytes = log_bytes  # each container's log file: conmon cuts it past this
        self.service_user = service_user
        self.service_env = service_env or {}  # extra environment of the API service (doctor's trials)
        self.pid_file = pid_file
        self.service: Supervised | None = None
        self._client: PodmanClient | None = None
        self._stopping = False
        self._failed_checks = 0
        self._triggers: dict[str, list[str]] = {}  # image id -> its ONBUILD triggers
        self.images = ImageGate()  # builds and image removals never overlap

    @property
    def client(self) -> PodmanClient:
        if self._client is None:
            self._client = PodmanClient(base_url=f"unix://{self.socket_path}", timeout=120)
        return self._client

    async def start_service(self) -> None:
        user = pwd.getpwnam(self.service_user)
        folder = self.socket_path.parent
        folder.mkdir(parents=True, exist_ok=True)
        os.chown(folder, user.pw_uid, user.pw_gid)
        folder.chmod(0o700)
        with contextlib.suppress(FileNotFoundError):
            self.socket_path.unlink()
        self.service = Supervised(
            "podman-service",
            [
                *proc.as_user(self.service_user),
                "podman",
                "system",
                "service",
                "--time=0",
                f"unix://{self.socket_path}",
            ],
            env={"HOME": user.pw_dir, **self.service_env},
            pid_file=self.pid_file,
        )
        await self.service.start()
        try:
            await self.wait_ready()
        except TimeoutError:
            raise TemporaryError(
                f"podman's API service did not answer on {self.socket_path} within 30 s; `staxad doctor` says why"
            ) from None

    async def wait_ready(self, timeout: float = 30.0) -> None:
        async with asyncio.timeout(timeout):
            while True:
                try:
                    await asyncio.to_thread(self.client.ping)
                    return
                except Exception:
                    await asyncio.sleep(0.1)

    async def check_service(self) -> bool:
        """Is the API answering on the socket? A live process whose socket is gone (another
        podman removed it, say) serves nobody: after two failed checks in a row it is
        restarted. True when healthy."""
        try:
            await asyncio.to_thread(self._ping_anew)
            self._failed_checks = 0
            return True
        except OSError as exc:
            self._failed_checks += 1
            if self.service is not None and self._failed_checks >= 2:
                log.warning("podman API at %s does not answer (%s); restarting the service", self.socket_path, exc)
                self._failed_checks = 0
                self.service.restart()
            return False

    async def stop_stale_dns(self) -> int | None:
        """Stop an aardvark-dns (the tenant networks' DNS server) left in a rootless network
        namespace podman no longer uses; its pid, or None when there was none.

        Seen with podman 4.3: a container whose start failed leaves its network's file in
        aardvark's config even after the network is removed, so aardvark outlives the
        namespace when the last container goes; podman then builds a new namespace and
        only signals the old aardvark, and no tenant resolves another's name. Run as the
        service user, which can only touch its own files and processes."""
        return await stop_stale_dns(self.service_user)

    def _ping_anew(self) -> None:
        """A ping on a new connection: the client's pooled one outlives a removed socket."""
        with socket.socket(socket.AF_UNIX) as probe:
            probe.settimeout(10)
            probe.connect(str(self.socket_path))
            probe.sendall(b"GET /_ping HTTP/1.0\r\nHost: podman\r\n\r\n")
            answer = probe.recv(64)
        if not answer.startswith(b"HTTP/1.") or b" 200 " not in answer:
            raise OSError(f"unexpected answer {answer[:40]!r}")

    async def stop_service(self) -> None:
        self._stopping = True
        if self._client is not None:
            self._client.close()  # type: ignore[no-untyped-call]
        if self.service:
            await self.service.stop()
            with contextlib.suppress(OSError):  # the folder goes only if staxad's socket was all it held
                self.socket_path.unlink(missing_ok=True)
                self.socket_path.parent.rmdir()

    async def _call(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        """One API call in a thread. When the socket does not answer (the service is still
        starting, or restarting after a crash) it waits for the service once, then retries."""
        for attempt in (1, 2):
            try:
                return await asyncio.to_thread(fn, *args, **kwargs)
            except (NotFound, ImageNotFound):  # the second is an APIError, not a NotFound
                raise
            except OSError as exc:  # podman-py's APIError is an OSError too
                unreachable = not isinstance(exc, APIError) or exc.response is None
                if unreachable and attempt == 1 and await self._service_back():
                    continue
                if unreachable:
                    raise TemporaryError(f"podman API unreachable at {self.socket_path}: {exc}") from exc
                assert isinstance(exc, APIError)
                raise TemporaryError(f"podman: {exc.explanation or exc}") from exc
        raise AssertionError("unreachable")

    async def _service_back(self) -> bool:
        if self._stopping:
            return False
        try:
            await self.wait_ready(SERVICE_WAIT_SECONDS)
        except TimeoutError:
            return False
        return True

    # networks

    async def ensure_network(self, name: str, labels: dict[str, str]) -> None:
        """The network, made when missing. One under this name is used only when its labels
        are `labels`: one of a deleted tenant of the same name (its removal failed) is
        removed and made again, and one staxad did not make is refused, never joined."""
        if await self._call(self.client.networks.exists, name):
            found = dict((await self._call(self.client.networks.get, name)).attrs.get("labels") or {})
            if all(found.get(key) == value for key, value in labels.items()):
                return
            if found.get(f"{LABEL}.instance") != labels.get(f"{LABEL}.instance") or f"{LABEL}.tenant" not in found:
                raise PermanentError(
                    f"a network named {name} exists that staxad did not make; it is not joined: remove it "
                    f"(podman network rm {name}, as {self.service_user}) if it is not yours"
                )
            log.info("network %s was a deleted tenant's; making it again", name)
            await self.remove_network(name)
        await self._call(
            self.client.networks.create,
            name,
            driver="bridge",
            dns_enabled=True,
            options={"isolate": "true"},
            labels=labels,
        )
        log.info("created network %s", name)

    async def remove_network(self, name: str) -> None:
        if await self._call(self.client.networks.exists, name):
            with contextlib.suppress(NotFound):
                await self._call(self.client.networks.get(name).remove, force=True)

    async def subnet(self, name: str) -> str | None:
        """The IPv4 subnet podman gave a network, e.g. 10.89.3.0/24."""
        try:
            network = await self._call(self.client.networks.get, name)
        except NotFound:
            return None
        for entry in network.attrs.get("subnets") or []:
            if "." in str(entry.get("subnet", "")):
                return str(entry["subnet"])
        return None

    async def networks(self, instance: str) -> list[str]:
        found = await self._call(self.client.networks.list, filters={"label": f"{LABEL}.instance={instance}"})
        return [n.name for n in found]

    # images

    async def ensure_image(self, ref: str, tls_verify: bool = True, auth: tuple[str, str] | None = None) -> bool:
        """Pull `ref` unless present; True when this call pulled it. With `auth` it is always
        pulled (the registry checks the credential each time; cached layers are not fetched
        again). The credential goes to the podman service in the request's X-Registry-Auth
        header: never on disk, in a log or in `podman inspect`."""
        if auth is None and await self._call(self.client.images.exists, ref):
            return False
        extra: dict[str, Any] = {"auth_config": {"username": auth[0], "password": auth[1]}} if auth else {}
        try:
            await self._call(self.client.images.pull, ref, tls_verify=tls_verify, **extra)
        except (ImageNotFound, NotFound, TemporaryError) as exc:
            raise PermanentError(f"image {ref} could not be pulled: {exc}") from exc
        if not await self._call(self.client.images.exists, ref):
            raise PermanentError(f"image {ref} could not be pulled")
        log.info("pulled image %s", ref)
        return True

    def build(
        self,
        context: Path,
        containerfile: Path,
        tag: str,
        limits: BuildLimits | None = None,
    ) -> AsyncGenerator[bytes, None]:
        """`podman build` as the service user, its output line by line; raises LinesExit on failure.

        No --label: podman 4 adds each as one more committed layer (~0.1 s apiece); the
        store's images table knows which images are staxad's. RUN steps get the default
        rootless network (slirp4netns): package registries are reachable, the host is not
        (the sandbox table drops the service user's connections to host addresses).

        The build is pid 1 of a PID namespace of its own (made inside the service user's
        user namespace, with its own /proc: podman outside it could not see the pause
        process), so its RUN steps' containers, which runc starts outside podman's process
        group, live in it too: killing the group ends the namespace and everything in it,
        and no other build's steps (cgroups v1 gives rootless builds no cgroup to kill).
        """
        bounds = (
            [
                "--memory",
                f"{limits.memory_mb}m",
                "--cpu-period",
                "100000",
                "--cpu-quota",
                str(limits.cpu_percent * 1000),
            ]
            if limits
            else []
        )
        return self._gated(
            [
                *proc.as_user(self.service_user),
                *BUILD_PID_NAMESPACE,
                "podman",
                "build",
                "--pull=missing",
                "--layers",
                *bounds,
                "--file",
                str(containerfile),
                "--tag",
                tag,
                str(context),
            ]
        )

    async def _gated(self, argv: list[str]) -> AsyncGenerator[bytes, None]:
        async with self.images.building(), contextlib.aclosing(proc.lines(argv, check=True)) as output:
            async for line in output:
                yield line

    async def onbuild_triggers(self, ref: str) -> list[str]:
        """The ONBUILD instructions of an image, which run when a build starts FROM it.
        Only buildah shows them; podman's inspect leaves them out. An image id names its
        config, so the triggers of an id never change: they are read once per id (a
        buildah subprocess costs a tenth of a second on every build otherwise)."""
        image = await self._image(ref)
        image_id = image.id if image is not None else None
        if image_id in self._triggers:
            return self._triggers[image_id]
        result = await proc.run(
            [*proc.as_user(self.service_user), "buildah", "inspect", "--type", "image", "--", ref], cwd="/", timeout=60
        )
        if result.returncode != 0:
            raise PermanentError(f"image {ref} could not be inspected: {result.stderr.decode(errors='replace')[:300]}")
        inspected = json.loads(result.stdout)
        config = inspected.get("Docker", {}).get("config") or {}
        triggers = [str(trigger) for trigger in config.get("OnBuild") or []]
        if image_id is not None and inspected.get("FromImageID") == image_id.removeprefix("sha256:"):
            self._triggers[image_id] = triggers  # the image buildah read is the one podman named
        return triggers

    async def import_rootfs(self, rootfs: bytes, ref: str, command: list[str]) -> None:
        """`podman import` of a root filesystem tar as the service user: an image made offline."""
        change = "CMD " + json.dumps(command)
        argv = [*proc.as_user(self.service_user), "podman", "import", "--change", change, "-", ref]
        (await proc.run(argv, stdin=rootfs, cwd="/", timeout=60)).check()

    async def image_contents(self, ref: str) -> ImageContents | None:
        image = await self._image(ref)
        if image is None:
            return None
        layers = (image.attrs.get("RootFS") or {}).get("Layers") or []
        labels = image.attrs.get("Labels") or (image.attrs.get("Config") or {}).get("Labels") or {}
        return ImageContents(str(image.attrs.get("Id")), list(layers), dict(labels))

    async def run_idle(
        self, name: str, image: str, entrypoint: list[str], network: str, labels: dict[str, str]
    ) -> None:
        """Create and start a container that only waits: no ports, no capabilities, a
        read-only root and the smallest limits."""
        container = await self._create(
            image,
            name=name,
            entrypoint=entrypoint,
            command=[],
            labels=labels,
            network_mode="bridge",
            networks={network: {}},
            cap_drop=["ALL"],
            no_new_privileges=True,
            read_only=True,
            privileged=False,
            pids_limit=8,
            mem_limit="16m",
            restart_policy={"Name": "no"},
        )
        try:
            await self._call(container.start)
        except Exception:
            with contextlib.suppress(Exception):
                await self._call(container.remove, force=True)
            raise

    async def image_size(self, ref: str) -> int | None:
        image = await self._image(ref)
        return int(image.attrs.get("Size") or 0) if image is not None else None

    async def image_id(self, ref: str) -> str | None:
        """The full id (64 hex digits) of the image `ref` names now, or None."""
        image = await self._image(ref)
        return str(image.id).removeprefix("sha256:") if image is not None else None

    async def _image(self, ref: str) -> Any:
        """podman-py's image, or None when there is none by that name."""
        try:
            return await self._call(self.client.images.get, ref)
        except (ImageNotFound, NotFound):
            return None

    async def remove_image(self, ref: str) -> None:
        """Untag `ref`, deleting the image once no tag is left; kept while a container uses it."""
        try:
            async with self.images.removing():
                await self._call(self.client.images.remove, ref)
            log.info("removed image %s", ref)
        except (ImageNotFound, NotFound):
            return
        except TemporaryError as exc:
            log.warning("image %s kept: %s", ref, exc)

    # containers

    async def run(self, spec: ContainerSpec) -> ContainerState:
        """Create and start the container; its state, with the host port its TCP port is
        published on (never None).

        podman picks the ports when it creates the container, so create's answer has them
        and no inspect after the start is needed; whether the app came up is the caller's
        health check."""
        size = SIZES[spec.resource_size]
        protocols = ("tcp", "udp") if spec.udp else ("tcp",)
        kwargs: dict[str, Any] = {
            "name": spec.name,
            "environment": spec.env,
            # cgroups v1 rootless hosts drop these limits; the label keeps what was asked.
            "labels": {
                **spec.labels,
                f"{LABEL}.resources": f"cpus={size.cpus},memory={size.memory_mib}m,pids={size.pids}",
                IDS_LABEL: str(spec.userns_base),
            },
            "network_mode": "bridge",
            "networks": {spec.network: {"aliases": [spec.alias]}},
            # 0: podman picks a free port. UDP only for a service with an inbound UDP rule:
            # each published port costs netavark a dozen iptables runs (17 ms here) and a
            # listening proxy, at every start and stop.
            "ports": {f"{spec.port}/{protocol}": ("127.0.0.1", 0) for protocol in protocols},
            "cap_drop": ["ALL"],
            "no_new_privileges": True,
            # An init as PID 1 forwards signals and reaps zombies, so apps stop on SIGTERM
            # instead of waiting out the stop timeout.
            "init": True,
            "privileged": False,
            "pids_limit": size.pids,
            "mem_limit": f"{size.memory_mib}m",
            "nano_cpus": int(size.cpus * 1e9),
            "restart_policy": {"Name": "no"},
            "log_config": {"Type": "k8s-file", "Config": {"size": self.log_bytes}},
            # Its own ids and no others: root in it is the service user only in block 0,
            # and no image's USER reaches another tenant's block (an unmapped one fails).
            **_own_ids(spec.userns_base),
        }
        if spec.command:
            kwargs["command"] = spec.command
        if spec.volumes:
            kwargs["volumes"] = {own_volume(name): {"bind": path, "mode": "rw"} for name, path in spec.volumes.items()}
        for attempt in range(PORT_RACE_ATTEMPTS):
            container = await self._create(spec.image, **kwargs)
            try:
                created = _state(container.attrs)
                if not created.host_port:
                    raise TemporaryError(
                        f"podman published no TCP port of {spec.name} on 127.0.0.1 "
                        f"(see `podman port {spec.name}` as {self.service_user})"
                    )
                await self._call(container.start)
                return dataclasses.replace(created, running=True, status="running", started_at=datetime.now(UTC))
            except Exception as exc:
                with contextlib.suppress(Exception):
                    await self._call(container.remove, force=True)
                if "doesn't map UID" in str(exc) or "doesn't map GID" in str(exc):
                    raise PermanentError(
                        f"the image's USER is outside the ids a container has here (0-{userns.BLOCK - 1}): "
                        "give the image a user id below 65536"
                    ) from exc
                # podman picks a free port when the container is created and binds it when
                # it starts: with many starting at once, another can take it in between.
                if "address already in use" not in str(exc) or attempt == PORT_RACE_ATTEMPTS - 1:
                    raise
                log.info("published port of %s was taken before it started; creating it again", spec.name)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _create(self, image: str, **kwargs: Any) -> Any:
        try:
            return await self._call(self.client.containers.create, image, **kwargs)
        except ImageNotFound as exc:  # removed since it was pulled or built: the next try gets it again
            raise TemporaryError(f"podman: image {image} is gone: {exc.explanation or exc}") from exc

    async def inspect(self, name: str) -> ContainerState | None:
        try:
            container = await self._call(self.client.containers.get, name)
        except NotFound:
            return None
        return _state(container.attrs)

    async def start(self, name: str) -> ContainerState | None:
        try:
            container = await self._call(self.client.containers.get, name)
            await self._call(container.start)
        except NotFound:
            return None
        return await self.inspect(name)

    async def stop(self, name: str) -> ContainerState | None:
        """Stop a container (SIGTERM, then SIGKILL after STOP_SECONDS); it stays, with its
        writable layer, for a later start."""
        try:
            container = await self._call(self.client.containers.get, name)
            with contextlib.suppress(TemporaryError):  # already exited
                await self._call(container.stop, timeout=STOP_SECONDS)
        except NotFound:
            return None
        return await self.inspect(name)

    async def restart(self, name: str) -> ContainerState | None:
        try:
            container = await self._call(self.client.containers.get, name)
            await self._call(container.restart, timeout=STOP_SECONDS)
        except NotFound:
            return None
        return await self.inspect(name)

    async def remove(self, name: str) -> None:
        try:
            container = await self._call(self.client.containers.get, name)
            with contextlib.suppress(TemporaryError):  # already exited: nothing to stop
                await self._call(container.stop, timeout=STOP_SECONDS)
            await self._call(container.remove, force=True, v=True)
        except NotFound:
            return
        except TemporaryError:
            if await self.inspect(name) is not None:  # removed meanwhile by someone else: done
                raise

    async def containers(self, instance: str) -> list[ContainerState]:
        found = await self._call(
            self.client.containers.list, all=True, filters={"label": f"{LABEL}.instance={instance}"}
        )
        return [_state(c.attrs) for c in found]

    async def logs(self, name: str, lines: int, timestamps: bool = False) -> bytes:
        try:
            container = await self._call(self.client.containers.get, name)
        except NotFound:
            return b""
        output = await self._call(
            container.logs, stdout=True, stderr=True, tail=lines, stream=False, timestamps=timestamps
        )
        return output if isinstance(output, bytes) else b"".join(output)

    def follow(self, name: str, lines: int) -> AsyncIterator[bytes]:
        """Stream a container's output with `podman logs -f` run as the service user."""
        return self._lines("logs", "-f", "--tail", str(lines), name)

    async def events(self, instance: str) -> AsyncIterator[tuple[str, str]]:
        """(tenant id, status) for every container event of this instance, as it happens;
        the tenant id is "" for the network anchor's.

        Ends when the podman process does (e.g. the service user's storage was reset);
        the caller restarts it.
        """
        async for line in self._lines(
            "events", "--format", "json", "--filter", "type=container", "--filter", f"label={LABEL}.instance={instance}"
        ):
            try:
                event = json.loads(line)
                attributes = event.get("Attributes") or {}
                tenant = attributes.get(f"{LABEL}.tenant") or ("" if attributes.get(f"{LABEL}.anchor") else None)
                status = str(event.get("Status", ""))
            except (ValueError, AttributeError):
                continue
            if tenant is not None:
                yield str(tenant), status

    def _lines(self, *args: str) -> AsyncIterator[bytes]:
        return proc.lines([*proc.as_user(self.service_user), "podman", *args])


def _own_ids(base: int) -> dict[str, Any]:
    """Create arguments that map a container's ids 0-65535 to the block at `base` alone."""
    mapping = [{"container_id": 0, "host_id": base, "size": userns.BLOCK}]
    return {"userns_mode": "private", "idmappings": {"UIDMap": mapping, "GIDMap": mapping}}


def _state(attrs: dict[str, Any]) -> ContainerState:
    state = attrs.get("State") or {}
    running = bool(state.get("Running")) if isinstance(state, dict) else attrs.get("State") == "running"
    status = state.get("Status", "") if isinstance(state, dict) else str(state)
    published: dict[str, int] = {}
    ports = ((attrs.get("NetworkSettings") or {}).get("Ports")) or {}
    for key, bindings in ports.items():
        for binding in bindings or []:
            if binding.get("HostPort"):
                published[key] = int(binding["HostPort"])
    host_port = next((port for key, port in published.items() if key.endswith("/tcp")), None)
    name = str(attrs.get("Name") or (attrs.get("Names") or [""])[0]).lstrip("/")
    labels = (attrs.get("Config") or {}).get("Labels") or attrs.get("Labels") or {}
    started = _started_at(state.get("StartedAt") if isinstance(state, dict) else attrs.get("StartedAt"))
    return ContainerState(str(attrs.get("Id")), name, running, status, host_port, dict(labels), published, started)


def _started_at(value: Any) -> datetime | None:
    """Inspect gives RFC 3339 with nanoseconds, a listing gives Unix seconds; podman's
    zero time means the container never started."""
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC) if value > 0 else None
    if not isinstance(value, str) or not value or value.startswith("0001-"):
        return None
    match = _RFC3339.match(value)
    if match is None:
        return None
    whole, fraction, zone = match.groups()
    zone = "+00:00" if zone in ("Z", "z") else zone
    return datetime.fromisoformat(f"{whole}.{(fraction or '0')[:6]:0<6}{zone}").astimezone(UTC)


async def stop_stale_dns(service_user: str) -> int | None:
    """Podman.stop_stale_dns, for callers without a podman service (doctor's trial)."""
    result = await proc.run([*proc.as_user(service_user), "sh", "-c", STALE_DNS], cwd="/", timeout=30)
    found = result.stdout.decode(errors="replace").strip()
    return int(found) if found.isdigit() else None
