"""External commands, argv lists only, and supervised long-running processes.

No user value reaches a shell: every command is an argv list given to exec.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import shutil
import signal
import subprocess
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger("staxad.proc")

CHUNK = 64 * 1024  # the longest line `lines` yields; longer output comes in pieces
ERRORS_KEPT = 64 * 1024  # of a command's stderr, the end

# The process group of every child staxad started and has not reaped yet (each child
# leads its own group): what a forced exit kills, so no child outlives the daemon.
LIVE_GROUPS: set[int] = set()


def kill_all() -> None:
    """SIGKILL every child's process group; for a shutdown that ran out of time."""
    for group in list(LIVE_GROUPS):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(group, signal.SIGKILL)


def as_user(user: str) -> list[str]:
    """The argv prefix that runs a command as `user` (the service user, never root)."""
    return [shutil.which("runuser") or "/usr/sbin/runuser", "-u", user, "--"]


@dataclass(frozen=True)
class Completed:
    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: bytes

    def check(self) -> Completed:
        if self.returncode != 0:
            raise CommandError(self)
        return self


class CommandError(Exception):
    def __init__(self, result: Completed) -> None:
        tail = result.stderr.decode(errors="replace").strip()[-500:]
        super().__init__(f"{result.argv[0]} exited with {result.returncode}: {tail}")
        self.result = result


PIPE, STDOUT = "pipe", "stdout"  # where a Child's stderr goes (else /dev/null)


class Child:
    """A command started by subprocess.Popen, its pipes and its exit watched by the event loop.

    Not asyncio's own subprocesses: on uvloop those fork the whole daemon (libuv's
    uv_spawn), 2.6 ms per command with the daemon's imports alone and 5.8 ms at 250 MiB,
    the event loop standing still meanwhile; Popen uses vfork, 0.4 ms at any size. The
    exit is watched and reaped through a pidfd (Linux 5.4), so no child watcher or
    SIGCHLD handler is involved. The command leads a process group of its own."""

    def __init__(self, popen: subprocess.Popen[bytes], pidfd: int) -> None:
        self.popen = popen
        self.pid = popen.pid
        self.stdin: asyncio.StreamWriter | None = None
        self.stdout: asyncio.StreamReader | None = None
        self.stderr: asyncio.StreamReader | None = None
        self._transports: list[asyncio.BaseTransport] = []
        self._loop = asyncio.get_running_loop()
        # uvloop gives a pipe's descriptor to libuv, which closes it; asyncio's loop closes
        # the file object. A file object that closed it as well would close it twice, and
        # the second time it may be another thread's file by then.
        self._file_closes = not type(self._loop).__module__.startswith("uvloop")
        self._exited: asyncio.Future[int] = self._loop.create_future()
        self._pidfd = pidfd
        self._loop.add_reader(pidfd, self._reap)
        LIVE_GROUPS.add(self.pid)

    @classmethod
    async def start(
        cls,
        argv: Sequence[str],
        *,
        stdin: bool = False,
        stdout: bool = True,
        stderr: str | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str | None = "/",
    ) -> Child:
        """Start `argv` with pipes to the parts asked for (`stderr`: PIPE, STDOUT or None)."""
        ours: list[int] = []  # the parent's ends, kept
        theirs: list[int] = []  # the child's ends, closed here once it has them

        def pipe(child_reads: bool) -> int:
            read, write = os.pipe2(os.O_CLOEXEC)
            ours.append(write if child_reads else read)
            theirs.append(read if child_reads else write)
            return theirs[-1]

        try:
            popen = subprocess.Popen(  # noqa: ASYNC220 - a vfork and exec, as asyncio's own start
                list(argv),
                stdin=pipe(True) if stdin else subprocess.DEVNULL,
                stdout=pipe(False) if stdout else subprocess.DEVNULL,
                stderr=pipe(False) if stderr == PIPE else subprocess.STDOUT if stderr == STDOUT else subprocess.DEVNULL,
                env=dict(env) if env is not None else None,
                cwd=cwd,
                start_new_session=True,
            )
        except BaseException:
            for fd in ours:
                os.close(fd)
            raise
        finally:
            for fd in theirs:
                os.close(fd)
        try:
            child = cls(popen, os.pidfd_open(popen.pid))
        except BaseException:  # out of descriptors: the command must not run unwatched
            with contextlib.suppress(ProcessLookupError):
                os.killpg(popen.pid, signal.SIGKILL)
            popen.wait()
            for fd in ours:
                os.close(fd)
            raise
        ends = iter(ours)
        try:
            if stdin:
                child.stdin = await child._writer(next(ends))
            if stdout:
                child.stdout = await child._reader(next(ends))
            if stderr == PIPE:
                child.stderr = await child._reader(next(ends))
        except BaseException:
            for fd in ends:  # the ends no transport took yet (the loop closes one it refused)
                os.close(fd)
            await child.end(kill=True)
            raise
        return child

    async def _reader(self, fd: int) -> asyncio.StreamReader:
        reader = asyncio.StreamReader(limit=CHUNK)
        pipe = os.fdopen(fd, "rb", buffering=0, closefd=self._file_closes)
        transport, _ = await self._loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), pipe)
        self._transports.append(transport)
        return reader

    async def _writer(self, fd: int) -> asyncio.StreamWriter:
        pipe = os.fdopen(fd, "wb", buffering=0, closefd=self._file_closes)
        transport, protocol = await self._loop.connect_write_pipe(asyncio.streams.FlowControlMixin, pipe)
        self._transports.append(transport)
        return asyncio.StreamWriter(transport, protocol, None, self._loop)

    def _reap(self) -> None:
        self._loop.remove_reader(self._pidfd)
        try:  # through the pidfd: only this command can be reaped, and never twice
            exited = os.waitid(os.P_PIDFD, self._pidfd, os.WEXITED)
        except OSError as exc:  # something else reaped it (ECHILD): its code is unknown
            self._exited.set_exception(exc)
        else:
            assert exited is not None
            code = exited.si_status if exited.si_code == os.CLD_EXITED else -exited.si_status
            self.popen.returncode = code
            self._exited.set_result(code)
        finally:
            os.close(self._pidfd)
            LIVE_GROUPS.discard(self.pid)

    async def feed(self, source: AsyncIterator[bytes]) -> None:
        """Write `source` to stdin chunk by chunk, then close it. A command that stopped
        reading is no error: its exit code says why."""
        if self.stdin is None:
            return
        try:
            async for chunk in source:
                # uvloop closes the pipe as soon as the command closes its end, and then
                # refuses writes
                if self.stdin.transport.is_closing():
                    return
                self.stdin.write(chunk)
                await self.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            return
        finally:
            self.stdin.close()

    async def read_all(self, limit: int | None = None) -> bytes:
        """All of stdout; past `limit` bytes, OutputTooLarge."""
        if self.stdout is None:
            return b""
        chunks, size = [], 0
        while chunk := await self.stdout.read(CHUNK):
            size += len(chunk)
            if limit is not None and size > limit:
                raise OutputTooLarge(limit)
            chunks.append(chunk)
        return b"".join(chunks)

    async def read_errors(self) -> bytes:
        """stderr's last ERRORS_KEPT bytes: what says why it failed, in bounded memory."""
        if self.stderr is None:
            return b""
        tail = b""
        while chunk := await self.stderr.read(CHUNK):
            tail = (tail + chunk)[-ERRORS_KEPT:]
        return tail

    async def wait(self) -> int:
        return await asyncio.shield(self._exited)

    def kill(self) -> None:
        """SIGKILL the whole process group."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.pid, signal.SIGKILL)

    async def end(self, kill: bool) -> None:
        """Reap the command (killing its group first with `kill`) and close the pipes now:
        a transport left to the garbage collector closes them on whatever loop it was
        made on, which may be gone by then."""
        if kill:
            self.kill()
        try:  # bounded: a killed command in uninterruptible sleep may take its time
            await asyncio.wait_for(self.wait(), 30)
        except TimeoutError:
            log.warning("process %d was killed but has not exited; it is reaped when it does", self.pid)
        finally:
            for transport in self._transports:
                transport.close()


class OutputTooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the command wrote more than {limit} bytes")
        self.limit = limit


async def run(
    argv: Sequence[str],
    *,
    stdin: bytes | None = None,
    timeout: float = 120.0,
    env: Mapping[str, str] | None = None,
    cwd: str | None = "/",  # staxad's own folder may be root's alone; commands may run as another user
    max_file_bytes: int | None = None,
    max_output: int | None = None,
) -> Completed:
    """Run to completion; on timeout the whole process group is killed and TimeoutError raised.
    Past `max_output` bytes of stdout it is killed too, and OutputTooLarge raised: what a
    command prints about tenant input may be as large as that input makes it.

    `max_file_bytes` caps every file the command (and its children) writes: past it the
    kernel stops the command with SIGXFSZ, which bounds a download by the size of disk it
    may take. util-linux's prlimit sets it and execs the command (same process): a
    preexec_fn would run Python between fork and exec, which is unsafe beside staxad's
    threads and forces a full fork of the daemon."""
    prlimit = shutil.which("prlimit") or "/usr/bin/prlimit"
    capped = [prlimit, f"--fsize={max_file_bytes}", "--"] if max_file_bytes else []
    child = await Child.start([*capped, *argv], stdin=stdin is not None, stderr=PIPE, env=env, cwd=cwd)
    try:
        async with asyncio.timeout(timeout):
            out, err, _ = await side_by_side(
                child.read_all(max_output), child.read_errors(), child.feed(_chunks(stdin))
            )
            code = await child.wait()
    except BaseException:
        await child.end(kill=True)
        raise
    await child.end(kill=False)
    return Completed(tuple(argv), code, out, err)


async def _chunks(data: bytes | None) -> AsyncIterator[bytes]:
    if data:
        yield data


async def side_by_side(*steps: Awaitable[Any]) -> list[Any]:
    """Run `steps` concurrently; their results, in order. The first failure, or a cancel,
    stops the others and waits for them (their commands reaped), and comes out as itself.
    Not a TaskGroup: it wraps failures in a group, and on Python 3.11 a child's failure
    leaves the caller's task marked as cancelling, which reads as a real cancel later."""
    futures = [asyncio.ensure_future(step) for step in steps]
    try:
        return list(await asyncio.gather(*futures))
    finally:
        for future in futures:
            future.cancel()
        await asyncio.gather(*futures, return_exceptions=True)


async def stream(
    argv: Sequence[str],
    *,
    source: AsyncIterator[bytes] | None = None,
    sink: Callable[[bytes], Awaitable[None]] | None = None,
    timeout: float = 3600.0,
) -> Completed:
    """Run a command feeding its stdin from `source` and handing its stdout to `sink`, chunk
    by chunk: for archives larger than memory. Its own process group, killed on timeout,
    on error and when the caller is cancelled."""
    child = await Child.start(argv, stdin=source is not None, stdout=sink is not None, stderr=PIPE)

    async def drain() -> None:
        assert child.stdout is not None and sink is not None
        while chunk := await child.stdout.read(CHUNK):
            await sink(chunk)

    steps = [child.feed(source)] if source is not None else []
    if sink is not None:
        steps.append(drain())
    try:
        async with asyncio.timeout(timeout):
            *_, errors = await side_by_side(*steps, child.read_errors())
            code = await child.wait()
    except BaseException:
        await child.end(kill=True)
        raise
    await child.end(kill=False)
    return Completed(tuple(argv), code, b"", errors[-4000:])


async def lines(
    argv: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    cwd: str = "/",
    check: bool = False,
) -> AsyncGenerator[bytes, None]:
    """Yield a command's output (stdout and stderr) line by line.

    The command gets its own process group, killed when the caller stops reading:
    wrappers such as runuser leave children that would otherwise hold the pipe open.
    With `check`, a non-zero exit raises `LinesExit` after the last line.
    """
    child = await Child.start(argv, stderr=STDOUT, env=env, cwd=cwd)
    assert child.stdout is not None
    try:
        while line := await _read_line(child.stdout):
            yield line
        code = await child.wait()
        if check and code != 0:
            raise LinesExit(code)
    finally:
        await child.end(kill=True)  # what runuser and the like leave in the group


async def _read_line(stream: asyncio.StreamReader) -> bytes:
    """The next line, or the next CHUNK bytes of an over-long one: output without line
    breaks (`head -c 1G /dev/zero`) must not raise or grow without bound."""
    try:
        return await stream.readuntil(b"\n")
    except asyncio.IncompleteReadError as exc:
        return exc.partial
    except asyncio.LimitOverrunError as exc:
        return await stream.read(min(exc.consumed, CHUNK) or CHUNK)


class LinesExit(Exception):
    def __init__(self, returncode: int) -> None:
        super().__init__(f"exited with {returncode}")
        self.returncode = returncode


_libc = ctypes.CDLL(None, use_errno=True)
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child: get SIGTERM when staxad dies, even by SIGKILL, so a restarted staxad
    never finds a stale Caddy or podman service holding its ports and sockets. runuser
    passes the SIGTERM on to the command it runs."""
    _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _recorded(pid_file: Path, argv: Sequence[str]) -> int | None:
    """The pid in `pid_file` if that process is alive and runs `argv` (a reused pid runs
    something else and is left alone)."""
    try:
        pid = int(pid_file.read_text().strip())
        running = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
    except (OSError, ValueError, IndexError):
        return None
    command = [part.decode(errors="replace") for part in running if part]
    # a wrapper that execs (setpriv) leaves only the command after its `--`
    wrapped = list(argv[argv.index("--") + 1 :]) if "--" in argv else None
    if state == "Z" or command not in (list(argv), wrapped):
        return None
    return pid


class Supervised:
    """Keeps one child process running: restarts it with back-off when it exits.

    `ready` is awaited after each start; `on_restart` runs after a restart so callers
    can re-apply state the process lost (Caddy's config, for one).
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        log_path: str | None = None,
        pid_file: Path | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = env
        self.log_path = log_path
        self.pid_file = pid_file
        self.process: asyncio.subprocess.Process | None = None
        self.restarts = 0
        self.on_restart: Callable[[], None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    async def start(self) -> None:
        await self._replace_stale()
        await self._spawn()
        self._task = asyncio.create_task(self._watch())

    async def _replace_stale(self) -> None:
        """A child an earlier staxad left running (it died before it could stop it) would
        hold the same ports and sockets: stop it first, so there is never two."""
        if self.pid_file is None:
            return
        stale = _recorded(self.pid_file, self.argv)
        if stale is None:
            return
        log.warning("%s (pid %d) from an earlier run is still running; stopping it", self.name, stale)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(stale, signal.SIGTERM)
        for _ in range(100):
            if _recorded(self.pid_file, self.argv) is None:
                break
            await asyncio.sleep(0.1)
        else:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(stale, signal.SIGKILL)
        self.pid_file.unlink(missing_ok=True)

    async def _spawn(self) -> None:
        output = open(self.log_path, "ab") if self.log_path else asyncio.subprocess.DEVNULL  # noqa: SIM115, ASYNC230
        env = {**os.environ, **(self.env or {})}
        self.process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=output,
            stderr=output,
            env=env,
            cwd="/",  # staxad's own folder may be root's alone, and the child may run as another user
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        if not isinstance(output, int):
            output.close()
        if self.pid_file is not None:
            self.pid_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            self.pid_file.write_text(f"{self.process.pid}\n")
        LIVE_GROUPS.add(self.process.pid)
        log.info("started %s (pid %d)", self.name, self.process.pid)

    async def _watch(self) -> None:
        delay = 0.5
        while not self._stopping:
            assert self.process is not None
            code = await self.process.wait()
            LIVE_GROUPS.discard(self.process.pid)
            if self._stopping:
                return
            log.warning("%s exited with %s; restarting in %.1f s", self.name, code, delay)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 15.0)
            await self._spawn()
            self.restarts += 1
            if self.on_restart:
                self.on_restart()

    def restart(self) -> None:
        """Stop the running child; the watcher starts a new one (with `on_restart`)."""
        if self.process is not None and self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)

    async def stop(self) -> None:
        self._stopping = True
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.process and self.process.returncode is None:
            self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self.pid_file is not None:
            self.pid_file.unlink(missing_ok=True)
        if self.process:
            with contextlib.suppress(ProcessLookupError):  # what the child left in its group
                os.killpg(self.process.pid, signal.SIGKILL)
            LIVE_GROUPS.discard(self.process.pid)
