"""Keeps the sandbox table (staxad.model.sandbox) loaded in the host namespace.

It is loaded before the podman service starts, so no tenant process ever runs without
it, checked on every periodic pass (a `flush ruleset` removes it), and left in place when
staxad stops: containers keep running then, and so must their fence.
"""

from __future__ import annotations

import logging
import pwd

from staxad.adapters.hostinfo import subordinate_ids
from staxad.adapters.nft import Nft
from staxad.config import Settings
from staxad.model import names
from staxad.model.errors import PermanentError
from staxad.model.sandbox import render, sandbox_for

log = logging.getLogger("staxad.sandbox")


class SandboxTable:
    def __init__(self, settings: Settings, nft: Nft) -> None:
        self.settings = settings
        self.nft = nft
        self.name = names.sandbox_table(settings.instance)
        self._loaded: str | None = None

    def document(self) -> str:
        user = self.settings.runtime.service_user
        caddy_ports = (self.settings.domains.https_port, self.settings.caddy.http_port)
        subuids = subordinate_ids(user)
        if not subuids:  # a container's non-root users would run unfenced
            raise PermanentError(
                f"/etc/subuid lists no range for {user} by name; run packaging/host-setup (or add one)"
            )
        sandbox = sandbox_for(
            pwd.getpwnam(user).pw_uid,
            subuids,
            self.settings.runtime.insecure_registries,
            caddy_ports,
        )
        return render(self.name, sandbox)

    async def ensure(self, verify: bool = False) -> None:
        document = self.document()
        if document == self._loaded and (not verify or await self.nft.table("inet", self.name) is not None):
            return
        await self.nft.apply(document)
        self._loaded = document
        log.info("loaded sandbox table %s", self.name)
