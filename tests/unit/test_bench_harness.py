"""Benchmarks leave no process behind: a server started with bench.harness.spawn is ended
with its whole process group when the benchmark stops, fails, or is sent SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import harness

ROOT = Path(__file__).resolve().parents[2]
# A "server" that leaves a child of its own: the child must go with it.
SERVER = ["sh", "-c", "sleep 300 & echo $!; wait"]


def gone(group: int, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while group_alive(group) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not group_alive(group)


def group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    # members may linger as zombies until reaped by init; those are gone for our purpose
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == group and fields[0] != "Z":
                return True
    return False


def test_stop_ends_the_server_and_its_children() -> None:
    server = harness.spawn(SERVER, stdout=subprocess.PIPE)
    assert server.stdout is not None
    child = int(server.stdout.readline())
    assert group_alive(server.pid) and os.getpgid(child) == server.pid
    harness.stop(server, timeout=5)
    assert gone(server.pid)
    assert server not in harness.STARTED


# The server's own output goes nowhere: sharing the script's stdout, its `echo` could land
# in the middle of the pid line the test reads.
SCRIPT = """
import os, subprocess, sys, time
sys.path.insert(0, {root!r})
from bench import harness
server = harness.spawn({server!r}, stdout=subprocess.DEVNULL)
print(server.pid, flush=True)
if sys.argv[1] == "crash":
    raise RuntimeError("the benchmark failed")
time.sleep(300)
"""


@pytest.mark.parametrize("how", ["crash", "sigterm"])
def test_a_failed_or_killed_benchmark_leaves_no_process(tmp_path: Path, how: str) -> None:
    script = tmp_path / "bench_script.py"
    script.write_text(SCRIPT.format(root=str(ROOT), server=SERVER))
    bench = subprocess.Popen([sys.executable, str(script), how], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert bench.stdout is not None
        group = int(bench.stdout.readline())
        if how == "sigterm":
            time.sleep(0.2)
            bench.send_signal(signal.SIGTERM)
        bench.wait(20)
        assert bench.returncode != 0
        assert gone(group), "the benchmark's server outlived it"
    finally:
        if bench.poll() is None:
            bench.kill()
            bench.wait()
