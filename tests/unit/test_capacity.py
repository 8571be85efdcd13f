"""The tenant ceiling a host's limits give, and which limit binds."""

from __future__ import annotations

import pytest

from staxad.model.capacity import HostLimits, ceiling
from staxad.model.resources import SIZES


@pytest.mark.parametrize(
    ("host", "size", "tenants", "bound"),
    [
        # a large host with podman's default keyring: the key quota binds at about 200
        (HostLimits(200_000, 200, 100_000, 28_000), "small", 195, "kernel keys"),
        # keyring off: memory binds (24 GB less 512 MiB, at 268 MiB a tenant)
        (HostLimits(24_000, None, 100_000, 28_000), "small", 87, "memory"),
        (HostLimits(2_000, None, 100_000, 28_000), "small", 5, "memory"),
        (HostLimits(2_000, None, 100_000, 28_000), "large", 1, "memory"),
        # a tight process limit
        (HostLimits(64_000, None, 600, 28_000), "small", 100, "processes"),
        (HostLimits(64_000, None, 100_000, 50), "small", 50, "ephemeral ports"),
        (HostLimits(256, None, 100_000, 28_000), "small", 0, "memory"),
    ],
)
def test_the_first_limit_reached_bounds_the_host(host: HostLimits, size: str, tenants: int, bound: str) -> None:
    found = ceiling(host, SIZES[size])
    assert found.tenants == tenants and found.bound_by.startswith(bound), found
    assert [n for _, n in found.all_bounds] == sorted(n for _, n in found.all_bounds)
