"""`staxad doctor`'s runtime trial against the real rootless podman: it passes on this
host, names the fix when a setting is broken, and leaves nothing behind either way."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from staxad import trial
from staxad.doctor import _runtime
from tests.conftest import make_settings
from tests.images import SERVICE_USER, podman

pytestmark = pytest.mark.host

SYSTEM_CONF = Path("/etc/containers/containers.conf")


def leftovers(tag: str) -> list[str]:
    name = f"staxa-doctor-{tag}"
    found = []
    if podman("container", "exists", name, check=False).returncode == 0:
        found.append(f"container {name}")
    if podman("network", "exists", name, check=False).returncode == 0:
        found.append(f"network {name}")
    if podman("image", "exists", f"localhost/staxad-doctor/trial:{tag}", check=False).returncode == 0:
        found.append(f"image of {tag}")
    found += [f"/run/{entry.name}" for entry in Path("/run").glob(f"staxad-doctor-{tag}-*")]
    return found


@pytest.fixture
def broken_init() -> Iterator[dict[str, str]]:
    """A containers.conf (this host's, if any) whose init binary does not exist, as when
    bootstrap left catatonit out; given only to the trial's own podman service."""
    text = SYSTEM_CONF.read_text() if SYSTEM_CONF.exists() else ""
    setting = 'init_path = "/nonexistent/catatonit"\n'
    text = (
        text.replace("[engine]\n", "[engine]\n" + setting, 1)
        if "[engine]\n" in text
        else text + "\n[engine]\n" + setting
    )
    folder = Path(tempfile.mkdtemp(prefix="staxad-test-conf-", dir="/var/tmp"))
    folder.chmod(0o755)
    conf = folder / "containers.conf"
    conf.write_text(text)
    conf.chmod(0o644)
    try:
        yield {"CONTAINERS_CONF": str(conf)}
    finally:
        conf.unlink()
        folder.rmdir()


def test_the_trial_container_runs_as_tenants_do_and_leaves_nothing() -> None:
    if os.geteuid() != 0:
        pytest.skip("the trial runs podman as the service user")
    said = asyncio.run(trial.run(SERVICE_USER, tag="itok0001"))
    assert "answered on 127.0.0.1:" in said and "resolved its alias" in said
    assert leftovers("itok0001") == []


def test_a_missing_init_binary_is_named_with_its_fix(tmp_path: Path, broken_init: dict[str, str]) -> None:
    if os.geteuid() != 0:
        pytest.skip("the trial runs podman as the service user")
    settings = make_settings(tmp_path, STAXAD_RUNTIME_ENABLED="true")
    finding = _runtime(settings, service_env=broken_init, tag="itinit01")
    assert not finding.ok and finding.blocking
    assert finding.what.startswith("catatonit is missing"), finding.what
    assert finding.fix == "apt-get install catatonit"
    assert leftovers("itinit01") == []


def test_preflight_command_passes_on_a_bootstrapped_host(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("the trial runs podman as the service user")
    env = {**os.environ, "STAXAD_STORE_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": os.getcwd()}
    result = subprocess.run(
        [sys.executable, "-m", "staxad", "doctor", "--preflight"], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("staxad preflight: ready: a tenant-style container ran")
