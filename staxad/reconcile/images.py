"""Bringing an image onto the host for a tenant, for its service or as a build's base.

The provider's credential for the image's registry is used when it has one (podman then
pulls, so the registry checks it every time). Without one, an image another provider
pulled with its credential is refused before any pull and again once podman has named
the local image it would use: under another spelling of the reference (`:latest` left
out, `index.docker.io/`) or found by the last part of its name, it is still their copy.
"""

from __future__ import annotations

from staxad.adapters.podman import Podman
from staxad.core.platform import Platform
from staxad.model.errors import PermanentError, TemporaryError
from staxad.model.records import Tenant
from staxad.model.registries import image_host
from staxad.store import images as image_store


class Images:
    def __init__(self, platform: Platform, podman: Podman) -> None:
        self.platform = platform
        self.podman = podman

    async def obtain(self, tenant: Tenant, ref: str, service_id: str | None, registry_id: str | None) -> str:
        """Pull `ref` for `tenant` unless it may use the local copy; the image's id."""
        db = self.platform.ctx.db
        registry = image_host(ref)
        auth = await self.platform.registries.pull_login(tenant.provider_id, registry_id, registry, mode=tenant.mode)
        private = (
            f"the image {ref} is private to another team on this host; add a registry credential for {registry} "
            "(POST /api/v1/registries) to pull it with your own"
        )
        if auth is None and await image_store.private_to_another(db, tenant.provider_id, ref):
            raise PermanentError(private)
        tls = registry not in self.platform.ctx.settings.runtime.insecure_registries
        pulled = await self.podman.ensure_image(ref, tls_verify=tls, auth=auth)
        image_id = await self.podman.image_id(ref)
        if image_id is None:
            raise TemporaryError(f"image {ref} went away right after it was pulled")
        if auth is None and await image_store.private_to_another(db, tenant.provider_id, ref, image_id):
            raise PermanentError(private)
        if pulled and (service_id is not None or auth is not None):
            async with db.transaction() as tx:
                now = self.platform.ctx.now()
                await image_store.record(tx, tenant.id, ref, "pulled", service_id, now, auth is not None, image_id)
        return image_id
