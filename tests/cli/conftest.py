"""The CLI run with click's CliRunner against the daemon's app in-process: the runner in
a worker thread, the app on the test's loop (tests/cli/bridge.py joins the two)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from staxad.client.cli import cli
from staxad.daemon import Daemon
from tests.cli.bridge import ThreadedASGI
from tests.conftest import Keys


@dataclass
class Staxa:
    daemon: Daemon
    loop: asyncio.AbstractEventLoop

    async def __call__(self, *args: str, input: str | None = None, env: dict[str, str | None] | None = None) -> Result:
        """`staxa ARGS...`: its exit code, stdout and stderr, run over the in-process app."""
        runner = CliRunner(env=env)
        app, loop = self.daemon.app, self.loop
        return await asyncio.to_thread(
            runner.invoke, cli, list(args), input=input, obj=lambda: ThreadedASGI(app, loop), prog_name="staxa"
        )


@pytest.fixture
async def staxa(daemon: Daemon, keys: Keys, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Staxa:
    """The CLI with a live key in STAXA_API_KEY and a config folder of the test's own."""
    key = (await keys.make())["Authorization"].removeprefix("Bearer ")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("STAXA_URL", "http://testserver")
    monkeypatch.setenv("STAXA_API_KEY", key)
    return Staxa(daemon, asyncio.get_running_loop())
