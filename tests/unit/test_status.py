"""A service's status from what the store and the host say."""

from __future__ import annotations

import pytest

from staxad.model.records import SERVICE_STATUSES
from staxad.model.status import service_status


@pytest.mark.parametrize(
    ("deploying", "live", "running", "last_failed", "want"),
    [
        (False, False, False, False, "pending"),
        (True, False, False, False, "deploying"),
        (True, True, True, False, "deploying"),  # a new version is under way
        (False, True, True, False, "running"),
        (False, True, True, True, "running"),  # a failed new version leaves the old one serving
        (False, True, False, False, "stopped"),
        (False, False, False, True, "failed"),
    ],
)
def test_service_status(deploying: bool, live: bool, running: bool, last_failed: bool, want: str) -> None:
    got = service_status(deploying=deploying, live=live, running=running, last_failed=last_failed)
    assert got == want and got in SERVICE_STATUSES
