"""staxad.adapters.proc's commands, on asyncio's own loop and on uvloop (which the daemon runs)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
import uvloop

from staxad.adapters import proc

LOOPS: dict[str, Callable[[Coroutine[Any, Any, Any]], Any]] = {"asyncio": asyncio.run, "uvloop": uvloop.run}


@pytest.fixture(params=sorted(LOOPS))
def on_loop(request: pytest.FixtureRequest) -> Callable[[Coroutine[Any, Any, Any]], Any]:
    """Runs a coroutine on a fresh loop of each kind, and checks it left no descriptor or group."""
    run = LOOPS[request.param]

    run(asyncio.sleep(0))  # a loop's first run may open descriptors it keeps for the process

    def checked(coroutine: Coroutine[Any, Any, Any]) -> Any:
        before = set(os.listdir("/proc/self/fd"))
        result = run(coroutine)
        assert set(os.listdir("/proc/self/fd")) <= before
        assert not proc.LIVE_GROUPS
        return result

    return checked


def gone(pid: int) -> bool:
    """Not running: absent, or a zombie of a PID 1 that does not reap."""
    for _ in range(50):
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(") ", 1)[1][0]
        except OSError:
            return True
        if state == "Z":
            return True
        time.sleep(0.02)
    return False


def test_run_gives_output_errors_and_exit_code(on_loop: Callable[..., Any]) -> None:
    done = on_loop(proc.run(["sh", "-c", "echo out; echo err >&2; exit 3"]))
    assert (done.returncode, done.stdout, done.stderr) == (3, b"out\n", b"err\n")
    assert done.argv == ("sh", "-c", "echo out; echo err >&2; exit 3")


def test_run_feeds_stdin_larger_than_a_pipe(on_loop: Callable[..., Any]) -> None:
    data = os.urandom(1 << 20)
    assert on_loop(proc.run(["cat"], stdin=data)).stdout == data


def test_run_with_stdin_a_command_does_not_read(on_loop: Callable[..., Any]) -> None:
    """Whether the command exits before or after the write: uvloop closes the pipe as soon
    as the other end goes, and then refuses writes."""

    async def many() -> list[int]:
        codes = []
        for _ in range(100):
            codes.append((await proc.run(["true"], stdin=os.urandom(1 << 16))).returncode)
            codes.append((await proc.run(["sh", "-c", "exit 3"], stdin=b"x")).returncode)
        return codes

    assert on_loop(many()) == [0, 3] * 100


def test_run_reports_a_signal_as_a_negative_code(on_loop: Callable[..., Any]) -> None:
    assert on_loop(proc.run(["sh", "-c", "kill -KILL $$"])).returncode == -9


def test_run_caps_file_sizes(on_loop: Callable[..., Any], tmp_path: Path) -> None:
    done = on_loop(proc.run(["sh", "-c", f"head -c 100000 /dev/zero > {tmp_path}/f"], max_file_bytes=4096))
    assert done.returncode != 0
    assert (tmp_path / "f").stat().st_size == 4096


def test_run_timeout_kills_the_whole_group(on_loop: Callable[..., Any], tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    with pytest.raises(TimeoutError):
        on_loop(proc.run(["sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait"], timeout=0.5))
    assert gone(int(pid_file.read_text()))


def test_cancelling_run_kills_the_whole_group(on_loop: Callable[..., Any], tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"

    async def cancelled() -> None:
        task = asyncio.create_task(proc.run(["sh", "-c", f"sleep 30 & echo $! > {pid_file}; wait"]))
        while not pid_file.exists() or not pid_file.read_text():
            await asyncio.sleep(0.01)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    on_loop(cancelled())
    assert gone(int(pid_file.read_text()))


@pytest.mark.parametrize("steps", range(6))
def test_cancelling_at_any_step_closes_each_pipe_once(on_loop: Callable[..., Any], steps: int) -> None:
    """A descriptor closed twice closes, the second time, whatever file got its number in
    between: here, files opened after the cancel must stay open through a collection."""

    async def cancelled() -> None:
        task = asyncio.create_task(proc.run(["sleep", "5"], stdin=b"x"))
        for _ in range(steps):
            await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        opened = [os.open("/dev/null", os.O_RDONLY) for _ in range(4)]
        gc.collect()
        await asyncio.sleep(0.05)
        try:
            for fd in opened:
                os.fstat(fd)  # raises if something closed it
        finally:
            for fd in opened:
                os.close(fd)

    on_loop(cancelled())


def test_commands_never_close_another_threads_files(on_loop: Callable[..., Any]) -> None:
    null = os.stat("/dev/null").st_rdev
    lost: list[int] = []
    done = threading.Event()

    def opener() -> None:
        while not done.is_set():
            opened = [os.open("/dev/null", os.O_RDONLY) for _ in range(4)]
            for fd in opened:
                try:
                    if os.fstat(fd).st_rdev != null:
                        lost.append(fd)
                except OSError:
                    lost.append(fd)
            for fd in opened:
                with contextlib.suppress(OSError):
                    os.close(fd)

    async def many() -> None:
        thread = threading.Thread(target=opener)
        thread.start()
        try:
            for _ in range(40):
                runs = await asyncio.gather(*(proc.run(["echo", "hi"]) for _ in range(8)))
                assert all(run.stdout == b"hi\n" for run in runs)
        finally:
            done.set()
            thread.join()

    on_loop(many())
    assert lost == []


def test_run_stops_a_command_past_its_output_limit(on_loop: Callable[..., Any]) -> None:
    began = time.monotonic()
    with pytest.raises(proc.OutputTooLarge):
        on_loop(proc.run(["sh", "-c", "while :; do echo line; done"], max_output=100_000))
    assert time.monotonic() - began < 5
    assert on_loop(proc.run(["echo", "short"], max_output=100)).stdout == b"short\n"


def test_run_keeps_only_the_end_of_a_flood_of_errors(on_loop: Callable[..., Any]) -> None:
    done = on_loop(proc.run(["sh", "-c", "head -c 1000000 /dev/zero >&2; echo end >&2"]))
    assert len(done.stderr) == proc.ERRORS_KEPT
    assert done.stderr.endswith(b"\0end\n")


def test_a_missing_program_raises_and_leaks_nothing(on_loop: Callable[..., Any]) -> None:
    with pytest.raises(FileNotFoundError):
        on_loop(proc.run(["/nonexistent/program"]))


def test_lines_merges_stderr_and_checks_the_exit(on_loop: Callable[..., Any]) -> None:
    async def read() -> list[bytes]:
        seen = []
        with pytest.raises(proc.LinesExit) as failed:
            async for line in proc.lines(["sh", "-c", "echo one; echo two >&2; exit 4"], check=True):
                seen.append(line)
        assert failed.value.returncode == 4
        return seen

    assert on_loop(read()) == [b"one\n", b"two\n"]


def test_lines_cuts_an_endless_line_into_chunks(on_loop: Callable[..., Any]) -> None:
    async def read() -> list[int]:
        return [len(line) async for line in proc.lines(["head", "-c", "200000", "/dev/zero"])]

    sizes = on_loop(read())
    assert sum(sizes) == 200000
    assert max(sizes) <= proc.CHUNK


def test_leaving_lines_early_kills_the_group(on_loop: Callable[..., Any]) -> None:
    async def first_line() -> bytes:
        began = time.monotonic()
        async with contextlib.aclosing(proc.lines(["sh", "-c", "echo a; sleep 30"])) as output:
            line = await anext(output)
        assert time.monotonic() - began < 5
        return line

    assert on_loop(first_line()) == b"a\n"


def test_stream_moves_more_than_memory_chunk_by_chunk(on_loop: Callable[..., Any]) -> None:
    blob = os.urandom(3 << 20)

    async def round_trip() -> tuple[bytes, int]:
        async def source() -> AsyncIterator[bytes]:
            for start in range(0, len(blob), 1 << 16):
                yield blob[start : start + (1 << 16)]

        received = bytearray()

        async def sink(chunk: bytes) -> None:
            received.extend(chunk)

        done = await proc.stream(["cat"], source=source(), sink=sink)
        return bytes(received), done.returncode

    assert on_loop(round_trip()) == (blob, 0)


def test_stream_keeps_the_tail_of_stderr(on_loop: Callable[..., Any]) -> None:
    done = on_loop(proc.stream(["sh", "-c", "head -c 10000 /dev/zero | tr '\\0' x >&2; echo end >&2; exit 2"]))
    assert done.returncode == 2
    assert len(done.stderr) == 4000
    assert done.stderr.endswith(b"end\n")


def test_a_failing_sink_comes_out_as_itself_and_kills_the_command(on_loop: Callable[..., Any], tmp_path: Path) -> None:
    """A backup whose archive cannot be written says why (not "unhandled errors in a
    TaskGroup"), its command is stopped, and the caller's task is not left cancelling."""
    pid_file = tmp_path / "pid"

    async def failing() -> int:
        async def sink(chunk: bytes) -> None:
            raise OSError(28, "No space left on device")

        with pytest.raises(OSError, match="No space left"):
            await proc.stream(["sh", "-c", f"echo $$ > {pid_file}; exec yes"], sink=sink)
        task = asyncio.current_task()
        assert task is not None
        return task.cancelling()

    assert on_loop(failing()) == 0
    assert gone(int(pid_file.read_text()))


def test_side_by_side_gives_results_in_order_and_stops_the_rest_on_a_failure(on_loop: Callable[..., Any]) -> None:
    stopped: list[str] = []

    async def slow(name: str) -> str:
        try:
            await asyncio.sleep(30)
        finally:
            stopped.append(name)
        return name

    async def failing() -> str:
        await asyncio.sleep(0.01)
        raise ValueError("the first failure")

    async def both() -> tuple[list[Any], int]:
        results = await proc.side_by_side(asyncio.sleep(0.02, "b"), asyncio.sleep(0, "a"))
        with pytest.raises(ValueError, match="the first failure"):
            await proc.side_by_side(slow("other"), failing())
        task = asyncio.current_task()
        assert task is not None
        return results, task.cancelling()

    assert on_loop(both()) == (["b", "a"], 0)
    assert stopped == ["other"]
