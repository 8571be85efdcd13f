"""Root in a tenant's container is neither the service user nor any other tenant's uid.
A process with one tenant's host ids, which is what an escape from its container would
be, reads and writes none of another tenant's files and cannot reach podman's socket."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import tempfile

from tests.images import START, _rootfs_tar, podman
from tests.integration.helpers import Live, create
from tests.integration.test_volumes import exec_in, live_container

VOLUME = {"name": "data", "mount_path": "/data", "size_mb": 10}


def host_uid(container: str) -> int:
    pid = podman("inspect", "--format", "{{.State.Pid}}", container).stdout.decode().strip()
    with open(f"/proc/{pid}/status") as status:
        line = next(x for x in status if x.startswith("Uid:"))
    return int(line.split()[1])


def as_ids(uid: int, *argv: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--", *argv],
        capture_output=True,
        timeout=30,
        check=False,
    )


async def test_an_escape_from_one_tenants_container_reaches_none_of_another_tenants_files(
    live: Live, web_image: str
) -> None:
    body = {"source_type": "image", "image_url": web_image, "port": 8080, "volumes": [VOLUME]}
    a = await create(live, {**body, "name": "ids-a"})
    b = await create(live, {**body, "name": "ids-b"})
    await live.wait_status(a["id"], "ready")
    await live.wait_status(b["id"], "ready")
    container_a, container_b = await live_container(live, a["id"]), await live_container(live, b["id"])
    uid_a, uid_b = host_uid(container_a), host_uid(container_b)
    service_uid = pwd.getpwnam(live.daemon.settings.runtime.service_user).pw_uid
    assert service_uid not in (uid_a, uid_b)
    assert abs(uid_a - uid_b) >= 65536  # blocks apart: no id of one is any id of the other

    assert exec_in(container_b, "echo b-secret > /data/private && chmod 600 /data/private && echo ok") == "ok\n"
    [volume_b] = podman("volume", "ls", "-q", "--filter", f"label=io.staxa.tenant={b['id']}").stdout.decode().split()
    folder = podman("volume", "inspect", "--format", "{{.Mountpoint}}", volume_b).stdout.decode().strip()
    # podman's storage is closed to both (0700 folders of the service user's) ...
    assert as_ids(uid_a, "cat", f"{folder}/private").returncode != 0
    assert as_ids(uid_a, "sh", "-c", f"echo x > {folder}/planted").returncode != 0
    # ... and past that wall the ids alone keep A out: a copy with B's owner and mode in an
    # open folder is B's to read and not A's
    with tempfile.TemporaryDirectory(dir="/var/tmp") as open_folder:
        os.chmod(open_folder, 0o755)
        subprocess.run(["cp", "-a", f"{folder}/private", open_folder], check=True)
        copy = f"{open_folder}/private"
        assert os.stat(copy).st_uid == uid_b
        assert as_ids(uid_b, "cat", copy).stdout == b"b-secret\n"
        assert as_ids(uid_a, "cat", copy).returncode != 0
    reach = "import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])"
    assert as_ids(uid_a, "/usr/bin/python3", "-c", reach, str(live.daemon.podman.socket_path)).returncode != 0
    assert as_ids(service_uid, "/usr/bin/python3", "-c", reach, str(live.daemon.podman.socket_path)).returncode == 0


async def test_an_image_whose_user_is_outside_the_tenants_ids_fails_with_what_to_do(live: Live, web_image: str) -> None:
    """Without a mapping of its own a container sees all of the service user's ids, and an
    image's `USER 70000` would run as an id of another tenant's block."""
    image = f"localhost/staxatest/user70000-{live.daemon.settings.instance}:1"
    start = "CMD " + json.dumps(["/bin/sh", "-c", START])
    podman("import", "--change", start, "--change", "USER 70000", "-", image, stdin=_rootfs_tar("v1"))
    try:
        tenant = await create(live, {"name": "ids-user", "source_type": "image", "image_url": image, "port": 8080})
        failed = await live.wait_status(tenant["id"], "failed")
        assert "outside the ids a container has here" in str(failed), failed
    finally:
        podman("rmi", "-f", image, check=False)


async def test_a_network_under_a_tenants_name_is_joined_only_when_it_is_that_tenants(
    live: Live, web_image: str
) -> None:
    """One left by a deleted tenant of the same name is made again; one staxad did not make
    is refused with what to do, and left alone."""
    instance = live.daemon.settings.instance
    stale, foreign = f"staxa-{instance}-net-old", f"staxa-{instance}-net-planted"
    podman(
        "network", "create", "--label", f"io.staxa.instance={instance}", "--label", "io.staxa.tenant=ten_gone", stale
    )
    podman("network", "create", foreign)
    try:
        body = {"source_type": "image", "image_url": web_image, "port": 8080}
        old = await create(live, {**body, "name": "net-old"})
        await live.wait_status(old["id"], "ready")
        labels = json.loads(podman("network", "inspect", "--format", "{{json .Labels}}", stale).stdout)
        assert labels["io.staxa.tenant"] == old["id"]
        planted = await create(live, {**body, "name": "net-planted"})
        failed = await live.wait_status(planted["id"], "failed")
        assert "staxad did not make" in str(failed), failed
        assert podman("network", "exists", foreign, check=False).returncode == 0
    finally:
        podman("network", "rm", "-f", foreign, check=False)
