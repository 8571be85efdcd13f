"""Load generation for the benchmarks with wrk (Debian package `wrk`): a C client, so
the numbers measure the server, not the client. Loopback only; each run is bounded by
its duration."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

SCRIPT = """
paths = {%s}
counter = 0
request = function()
  counter = counter + 1
  return wrk.format("GET", paths[(counter %% #paths) + 1])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%f %%f %%f %%d\\n", summary.requests, summary.duration / 1e6,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    e.connect + e.read + e.write + e.status + e.timeout))
end
"""


@dataclass(frozen=True)
class Result:
    name: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    def line(self) -> str:
        return (
            f"{self.name:<34} {self.rps:>9.0f} req/s   p50 {self.p50_ms:6.2f} ms   "
            f"p99 {self.p99_ms:6.2f} ms   errors {self.errors}"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listened on 127.0.0.1:{port} within {timeout} s")


def run_wrk(name: str, port: int, paths: list[str], headers: dict[str, str], seconds: int, connections: int) -> Result:
    if shutil.which("wrk") is None:
        raise SystemExit("bench: wrk is not installed (apt-get install wrk)")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(SCRIPT % ", ".join(f'"{p}"' for p in paths))
    argv = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "-s", handle.name]
    for key, value in headers.items():
        argv += ["-H", f"{key}: {value}"]
    output = subprocess.run([*argv, f"http://127.0.0.1:{port}/"], capture_output=True, text=True, check=True).stdout
    Path(handle.name).unlink()
    fields = next(line for line in output.splitlines() if line.startswith("RESULT")).split()[1:]
    return Result(name, int(fields[0]), float(fields[1]), float(fields[2]), float(fields[3]), int(fields[4]))
