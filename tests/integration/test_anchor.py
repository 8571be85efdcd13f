"""The network anchor runs staxad's own image only: one planted under its name (any image
the service user's podman holds could be tagged so) is replaced, not run."""

from __future__ import annotations

import hashlib
from pathlib import Path

from staxad.model import names
from staxad.reconcile.anchor import rootfs
from tests.images import podman
from tests.integration.helpers import running_daemon


async def test_an_image_planted_under_the_anchors_name_is_not_what_runs(
    tmp_path: Path, web_image: str, instance: str
) -> None:
    planted = names.anchor_image(instance)
    podman("tag", web_image, planted)
    try:
        async with running_daemon(tmp_path, instance) as live:
            anchor = names.anchor(live.daemon.settings.instance)
            image = podman("inspect", "--format", "{{.Image}}", anchor).stdout.decode().strip()
            layers = podman("image", "inspect", "--format", "{{json .RootFS.Layers}}", image).stdout.decode()
            assert layers.strip() == f'["sha256:{hashlib.sha256(rootfs()).hexdigest()}"]'
            command = podman("inspect", "--format", "{{json .Config.Entrypoint}}", anchor).stdout.decode()
            assert command.strip() == '"/bin/catatonit -P"'  # podman 4.3 shows it joined
            assert podman("image", "exists", web_image, check=False).returncode == 0  # untagged only
    finally:
        podman("rmi", planted, check=False)
