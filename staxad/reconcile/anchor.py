"""The network anchor: one idle container that holds the service user's rootless network
namespace up. Like tenants' containers it stays across daemon restarts; a purge removes it.

podman removes that namespace when the last container on a bridge network stops and
makes a new one at the next start. staxad's egress table lives in it, so a new one ran a
restricted tenant's container with open egress until the periodic pass reloaded the
table (a tenant alone on the host could bring that about by crashing its own app), and
every start after an idle moment paid for a new namespace (slirp4netns and netavark's
base chains: 17 ms here). The anchor is catatonit paused on a network of its own: no
ports, no capabilities, nothing to serve. Its image is made offline from the host's
catatonit and checked before each start (its one layer is that tar, it carries no
labels), so an image planted under its name is not what runs.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import logging
import shutil
import tarfile
from pathlib import Path
from typing import TypeGuard

from staxad.adapters.podman import ImageContents, Podman
from staxad.model import names
from staxad.model.errors import TemporaryError

log = logging.getLogger("staxad.anchor")

ENTRYPOINT = ["/bin/catatonit", "-P"]  # catatonit's pause mode: wait for a signal, do nothing


def rootfs(catatonit: Path | None = None) -> bytes:
    """A root filesystem tar holding only catatonit (static in Debian's package); the same
    bytes each time, so its digest names its content."""
    binary = catatonit or Path(shutil.which("catatonit") or "/usr/bin/catatonit")
    data = binary.read_bytes()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        folder = tarfile.TarInfo("bin")
        folder.type, folder.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(folder)
        member = tarfile.TarInfo("bin/catatonit")
        member.size, member.mode = len(data), 0o755
        tar.addfile(member, io.BytesIO(data))
    return buffer.getvalue()


class Anchor:
    def __init__(self, podman: Podman, instance: str) -> None:
        self.podman = podman
        self.name = names.anchor(instance)
        self.image = names.anchor_image(instance)
        self.labels = {f"{names.LABEL}.instance": instance, f"{names.LABEL}.anchor": "true"}
        self._lock = asyncio.Lock()  # the periodic pass and an event may both repair it

    async def ensure(self) -> bool:
        """Running after this; True when it was not (the namespace may be a new one, without
        staxad's egress table)."""
        async with self._lock:
            state = await self.podman.inspect(self.name)
            if state is not None and state.running:
                return False
            if state is not None:
                await self.podman.remove(self.name)  # made again from the checked image
            await self.podman.ensure_network(self.name, self.labels)
            image_id = await self._checked_image()
            await self.podman.run_idle(self.name, image_id, ENTRYPOINT, self.name, self.labels)
            log.info("network anchor %s started", self.name)
            return True

    async def _checked_image(self) -> str:
        """The anchor image's id, imported anew unless it is exactly ours: one layer that is
        our tar, no labels (podman copies an image's labels onto its containers)."""
        tar = rootfs()
        layer = f"sha256:{hashlib.sha256(tar).hexdigest()}"

        def ours(found: ImageContents | None) -> TypeGuard[ImageContents]:
            return found is not None and found.layers == [layer] and not found.labels

        found = await self.podman.image_contents(self.image)
        if ours(found):
            return found.id
        if found is not None:
            log.warning("image %s is not staxad's anchor image; importing it again", self.image)
            await self.podman.remove_image(self.image)
        await self.podman.import_rootfs(tar, self.image, ENTRYPOINT)
        found = await self.podman.image_contents(self.image)
        if found is None or not ours(found):
            raise TemporaryError(f"podman stored {self.image} with other contents than staxad imported")
        return found.id
