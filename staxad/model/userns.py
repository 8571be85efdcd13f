"""Each tenant's own block of ids, so root in its containers is neither the service user
nor any other tenant's uid.

Rootless podman runs in the service user's user namespace, whose ids are "intermediate":
0 is the service user, 1.. its subordinate ids from /etc/subuid in file order. Block 0
(intermediate 0-65535, root being the service user) is shared by builds, the network
anchor and tenants made before blocks existed; block k >= 1 is the tenant's that was
given slot k, mapped with `--uidmap 0:<k * 65536>:65536`. A slot is given again only
when nothing of its last tenant is left on the host (staxad.store.tenants): podman keeps
its id-shifted copy of an image's layers for each mapping, so slots used again also keep
that disk from growing with every tenant ever made.
"""

from __future__ import annotations

BLOCK = 65536  # ids a container sees: 0 (root) to 65535 (nobody is 65534)


def capacity(subids: list[tuple[int, int]]) -> int:
    """Tenant slots the service user's ranges hold: intermediate ids go up to their total."""
    total = sum(count for _, count in subids if count > 0)
    return max((1 + total) // BLOCK - 1, 0)


def base(slot: int | None) -> int:
    """The intermediate id of container root in a slot; block 0 without one."""
    return 0 if slot is None else slot * BLOCK


def shifted(owner: int, source: int, target: int) -> int:
    """An id of a file owned in the block at `source`, moved to the block at `target`;
    ids outside that block (the service user's own, another block's) stay as they are,
    so moving a volume again after a crash changes nothing already moved."""
    return owner - source + target if source <= owner < source + BLOCK else owner
