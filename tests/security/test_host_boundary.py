"""root against the service user: Caddy's admin is out of the service user's reach, root
never follows a link the service user planted, and what staxad supervises dies with it.

The service user stands for any tenant code that escaped its container."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from staxad.adapters.caddy import socket_path
from tests.images import SERVICE_USER
from tests.integration.helpers import Live


def as_user(user: str, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["runuser", "-u", user, "--", *argv], capture_output=True, text=True, check=False, cwd="/")


@pytest.mark.host
async def test_caddy_admin_is_out_of_reach_of_every_other_user(live: Live) -> None:
    admin = socket_path(live.daemon.settings.caddy_admin)
    request = ["curl", "-s", "-H", "Host: ", "--unix-socket", str(admin), "--max-time", "3", "http://caddy/config/"]
    root = subprocess.run(request, capture_output=True, text=True, check=False)
    assert root.returncode == 0 and '"admin"' in root.stdout  # root (staxad) reaches it
    for user in (SERVICE_USER, "nobody"):
        tried = as_user(user, *request)
        assert tried.returncode != 0 and '"admin"' not in tried.stdout, (user, tried)
        load = as_user(user, *request[:-1], "-d", "{}", "http://caddy/load")
        assert load.returncode != 0, (user, load)
    assert live.daemon.managed_caddy is not None
    process = live.daemon.managed_caddy.process.process
    assert process is not None
    owner = subprocess.run(["ps", "-o", "user=", "-p", str(process.pid)], capture_output=True, text=True).stdout
    assert owner.strip() == "caddy"  # not root


@pytest.mark.host
async def test_root_never_follows_links_the_service_user_planted(live: Live, tmp_path: Path) -> None:
    victim = Path("/root") / f"staxad-victim-{live.daemon.settings.instance}"
    victim.mkdir(mode=0o755)
    (victim / "precious").write_text("root's\n")
    try:
        pipeline = live.daemon.tenant_reconciler.pipeline
        assert pipeline is not None
        workspace = pipeline.builder.workspace
        # the build root is root's: the service user cannot put anything in it
        work = workspace.prepare("dep_interrupted")
        assert as_user(SERVICE_USER, "ln", "-s", str(victim), str(workspace.root / "planted")).returncode != 0
        assert as_user(SERVICE_USER, "ln", "-s", str(victim), str(work / "Containerfile")).returncode != 0
        # inside its own checkout folder it may plant anything: links to root's files
        repo = work / "repo"
        for argv in (
            ["ln", "-s", str(victim), str(repo / "victim")],
            ["ln", "-s", str(victim / "precious"), str(repo / "precious")],
            ["mkdir", "-p", str(repo / "deep" / "er")],
            ["ln", "-s", "/", str(repo / "deep" / "er" / "root")],
        ):
            assert as_user(SERVICE_USER, *argv).returncode == 0
        await live.daemon.tenant_reconciler.sweep()  # an interrupted build's leftovers go
        assert workspace.names() == []
        assert (victim / "precious").read_text() == "root's\n"
        assert sorted(p.name for p in victim.iterdir()) == ["precious"]
        assert os.stat(victim / "precious").st_uid == 0
    finally:
        for entry in victim.iterdir():
            entry.unlink()
        victim.rmdir()


@pytest.mark.host
def test_host_setup_replaces_a_planted_link_instead_of_writing_through_it() -> None:
    home = Path(f"/home/{SERVICE_USER}")
    conf = home / ".config" / "containers" / "containers.conf"
    canary = Path("/root/staxad-host-setup-canary")
    canary.write_text("root's\n")
    kept = conf.read_bytes()
    try:
        as_user(SERVICE_USER, "rm", "-f", str(conf))
        assert as_user(SERVICE_USER, "ln", "-s", str(canary), str(conf)).returncode == 0
        setup = Path(__file__).resolve().parents[2] / "packaging" / "host-setup"
        done = subprocess.run([str(setup), SERVICE_USER], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stderr
        assert canary.read_text() == "root's\n"
        assert not conf.is_symlink() and conf.read_bytes() == kept
    finally:
        canary.unlink()


SUPERVISOR = textwrap.dedent(
    """
    import asyncio, sys
    from staxad.adapters.proc import Supervised

    async def main():
        child = Supervised("sleeper", sys.argv[1:])
        await child.start()
        print(child.process.pid, flush=True)
        await asyncio.sleep(300)

    asyncio.run(main())
    """
)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0]
    except (FileNotFoundError, IndexError):
        return False
    return state != "Z"


def _descendants(pid: int) -> list[int]:
    found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(pid)], capture_output=True, text=True).stdout.split()
    children = [int(p) for p in found]
    return children + [d for c in children for d in _descendants(c)]


@pytest.mark.parametrize("wrapper", [[], ["runuser", "-u", SERVICE_USER, "--"]])
def test_supervised_processes_die_with_staxad_even_on_sigkill(wrapper: list[str]) -> None:
    if os.geteuid() != 0 and wrapper:
        pytest.skip("runuser needs root")
    parent = subprocess.Popen(
        [sys.executable, "-c", SUPERVISOR, *wrapper, "sleep", "300"], stdout=subprocess.PIPE, text=True, cwd="/"
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        time.sleep(0.5)
        tree = [child, *_descendants(child)]
        assert all(_alive(pid) for pid in tree)
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(pid) for pid in tree):
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in tree), [pid for pid in tree if _alive(pid)]
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()


async def test_the_data_dir_is_root_s_alone(tmp_path: Path) -> None:
    from staxad.daemon import Daemon
    from tests.conftest import make_settings

    (tmp_path / "data").mkdir(mode=0o755)
    daemon = Daemon(make_settings(tmp_path))
    await daemon.start()
    try:
        assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700
    finally:
        await daemon.stop()


async def test_a_child_left_by_an_earlier_run_is_replaced_not_doubled(tmp_path: Path) -> None:
    from staxad.adapters.proc import Supervised

    pid_file = tmp_path / "run" / "sleeper.pid"
    argv = ["sleep", "301"]
    # default SIGTERM even if this test process ignores it (children inherit SIG_IGN)
    stale = subprocess.Popen(
        argv, start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL)
    )
    try:
        pid_file.parent.mkdir()
        pid_file.write_text(f"{stale.pid}\n")
        child = Supervised("sleeper", argv, pid_file=pid_file)
        await child.start()
        try:
            stale.wait(timeout=30)  # the earlier one was stopped
            assert child.process is not None and pid_file.read_text().strip() == str(child.process.pid)
        finally:
            await child.stop()
        assert not pid_file.exists()
        # a pid file naming some other program is left alone
        other = subprocess.Popen(["sleep", "302"], start_new_session=True)
        pid_file.write_text(f"{other.pid}\n")
        child = Supervised("sleeper", argv, pid_file=pid_file)
        await child.start()
        await child.stop()
        assert other.poll() is None
        other.kill()
        other.wait()
    finally:
        if stale.poll() is None:
            stale.kill()
            stale.wait()
