"""nftables through `nft -j`: in the host namespace, and in the service user's rootless
network namespace (entered with `podman unshare --rootless-netns`, the only way in:
that namespace is bind-mounted in the user's own mount namespace)."""

from __future__ import annotations

import json
from typing import Any

from staxad.adapters import proc
from staxad.model.errors import TemporaryError
from staxad.model.nftables import Ruleset


class Nft:
    def __init__(self, prefix: list[str] | None = None) -> None:
        self.prefix = prefix or []

    @classmethod
    def rootless(cls, service_user: str) -> Nft:
        return cls([*proc.as_user(service_user), "podman", "unshare", "--rootless-netns"])

    async def apply(self, document: str) -> None:
        """One atomic transaction: all of it or none of it."""
        result = await proc.run([*self.prefix, "nft", "-f", "-"], stdin=document.encode(), timeout=30)
        if result.returncode != 0:
            raise TemporaryError(f"nft refused the ruleset: {result.stderr.decode(errors='replace').strip()[:500]}")

    async def table(self, family: str, name: str) -> dict[str, Any] | None:
        """The table as `nft -j list table` shows it, or None when it does not exist."""
        result = await proc.run([*self.prefix, "nft", "-j", "list", "table", family, name], timeout=30)
        if result.returncode != 0:
            return None
        return dict(json.loads(result.stdout))

    async def delete(self, family: str, name: str) -> None:
        if await self.table(family, name) is not None:
            await proc.run([*self.prefix, "nft", "delete", "table", family, name], timeout=30)


class Table:
    """One table staxad owns, kept equal to a `Ruleset`: when the kernel still holds what
    was last loaded, only the changed elements are loaded; otherwise the whole table, in
    one transaction either way."""

    def __init__(self, nft: Nft, family: str, name: str) -> None:
        self.nft, self.family, self.name = nft, family, name
        self.loaded: Ruleset | None = None
        self.loads = 0

    async def set(self, wanted: Ruleset, verify: bool = False) -> bool:
        """Load `wanted`; False when nothing needed loading. With `verify`, also make sure
        the table still exists (a flush, a recreated namespace), at a subprocess's cost."""
        change = wanted.diff(self.loaded) if self.loaded is not None else None
        if change == "":
            if not verify or await self.nft.table(self.family, self.name) is not None:
                return False
            change = None  # gone behind staxad's back: load it whole
        try:
            await self.nft.apply(change if change is not None else wanted.full())
        except TemporaryError:
            if change is None:
                raise
            await self.nft.apply(wanted.full())  # the table was not what staxad last loaded
        self.loaded = wanted
        self.loads += 1
        return True

    def forget(self) -> None:
        """Load the whole table next time."""
        self.loaded = None
