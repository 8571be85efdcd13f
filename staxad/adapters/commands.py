"""Commands run in a tenant's running container (`POST .../exec`), through podman's exec
API as the service user's podman service.

A `podman exec` whose client goes leaves its command running in the container, so a
command that is stopped (past its time or output, or its caller gone) is killed by the
process id podman reports for the exec session, with its children, once the process is
seen to be in that container's PID namespace: root never signals a process it only
guessed at.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import signal
import struct
from collections.abc import AsyncGenerator, Callable
from typing import Any

from podman.errors import APIError, NotFound

from staxad.adapters.podman import Podman
from staxad.model.errors import PermanentError, TemporaryError

log = logging.getLogger("staxad.exec")
STREAMS = {1: "stdout", 2: "stderr"}

Put = Callable[[tuple[str, bytes]], None]


class ContainerCommands:
    def __init__(self, podman: Podman) -> None:
        self.podman = podman

    async def run(
        self, container: str, argv: list[str], timeout: float, max_bytes: int
    ) -> AsyncGenerator[tuple[str, bytes], None]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()

        def put(item: tuple[str, bytes]) -> None:
            with contextlib.suppress(RuntimeError):  # the loop is gone: the daemon stops
                loop.call_soon_threadsafe(queue.put_nowait, item)

        session: list[str] = []
        worker = asyncio.create_task(asyncio.to_thread(self._attach, container, argv, timeout, put, session))
        finished, stopped, sent = False, "", 0
        deadline = loop.time() + timeout
        try:
            # No asyncio.timeout around the yields: a caller may resume this generator
            # from another task each time (the SSE stream does), and a timeout is one task's.
            while True:
                try:
                    kind, chunk = await asyncio.wait_for(queue.get(), max(deadline - loop.time(), 0))
                except TimeoutError:
                    stopped = f"stopped after {timeout:g} s"
                    break
                if kind == "error":
                    finished = True
                    raise _error(chunk.decode(errors="replace"))
                if kind == "exit":
                    finished = True
                    yield kind, chunk
                    return
                sent += len(chunk)
                if sent > max_bytes:
                    stopped = f"stopped after more than {max_bytes >> 10} KiB of output"
                    break
                yield kind, chunk
        finally:
            if not finished and session:  # stopped, or the caller went away
                await asyncio.to_thread(self._kill, container, session[0])
            if not finished:
                worker.cancel()
        yield "stopped", stopped.encode()

    def _attach(self, container: str, argv: list[str], timeout: float, put: Put, session: list[str]) -> None:
        """In a thread: create the exec session, stream its frames, then its exit code."""
        api: Any = self.podman.client.api
        try:
            body = {"AttachStdout": True, "AttachStderr": True, "AttachStdin": False, "Cmd": argv, "Tty": False}
            created = api.post(f"/containers/{container}/exec", data=json.dumps(body))
            created.raise_for_status()
            session.append(created.json()["Id"])
            started = api.post(
                f"/exec/{session[0]}/start",
                data=json.dumps({"Detach": False, "Tty": False}),
                stream=True,
                timeout=(10, timeout + 30),
            )
            started.raise_for_status()
            while header := started.raw.read(8):
                kind, size = struct.unpack(">BxxxL", header)
                payload = started.raw.read(size) if size else b""
                if payload and kind in STREAMS:
                    put((STREAMS[kind], payload))
            info = api.get(f"/exec/{session[0]}/json")
            info.raise_for_status()
            put(("exit", str(info.json().get("ExitCode")).encode()))
        except NotFound as exc:
            put(("error", f"not found: {exc}".encode()))
        except Exception as exc:  # the thread reports; the stream raises
            put(("error", f"{type(exc).__name__}: {exc}".encode()))

    def _kill(self, container: str, session: str) -> None:
        """Kill the exec session's process and its children, once they are seen to be in
        the container's PID namespace."""
        api: Any = self.podman.client.api
        try:
            pid = int(api.get(f"/exec/{session}/json").json().get("Pid") or 0)
            init = int(api.get(f"/containers/{container}/json").json()["State"]["Pid"] or 0)
        except (APIError, KeyError, ValueError, OSError) as exc:
            log.warning("exec %s in %s not killed: %s", session, container, exc)
            return
        if pid <= 1 or init <= 1 or _pid_namespace(pid) != _pid_namespace(init) or _pid_namespace(pid) is None:
            return  # ended already, or not the container's: nothing of ours to kill
        for victim in [*_descendants(pid), pid]:
            if _pid_namespace(victim) == _pid_namespace(init):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(victim, signal.SIGKILL)


def _error(message: str) -> Exception:
    if message.startswith("not found"):
        return PermanentError("the service's container is gone; try again once it runs")
    return TemporaryError(f"podman could not run the command: {message[:300]}")


def _pid_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _descendants(pid: int) -> list[int]:
    """Every process below `pid`, deepest first, from /proc's parent links."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as stat:
                parent = int(stat.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry))
    found: list[int] = []
    stack = list(children.get(pid, []))
    while stack:
        child = stack.pop()
        found.append(child)
        stack.extend(children.get(child, []))
    return found[::-1]
