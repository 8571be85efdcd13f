"""A service's and a tenant's status from what the store and the host say."""

from __future__ import annotations

import pytest

from staxad.model.lifecycle import Health, service_status, tenant_status
from staxad.model.records import SERVICE_STATUSES


@pytest.mark.parametrize(
    ("deploying", "live", "running", "answers", "last_failed", "want"),
    [
        (False, False, False, True, False, "pending"),
        (True, False, False, True, False, "deploying"),
        (True, True, True, True, False, "deploying"),  # a new version is under way
        (False, True, True, True, False, "running"),
        (False, True, True, True, True, "running"),  # a failed new version leaves the old one serving
        (False, True, True, False, False, "unhealthy"),  # runs, but does not answer
        (False, True, False, True, False, "stopped"),
        (False, False, False, True, True, "failed"),
    ],
)
def test_service_status(
    deploying: bool, live: bool, running: bool, answers: bool, last_failed: bool, want: str
) -> None:
    got = service_status(Health(deploying, live, running, answers, last_failed))
    assert got == want and got in SERVICE_STATUSES


def test_the_tenant_is_ready_only_when_every_service_is_live_running_and_answering() -> None:
    fine = Health(False, True, True, True, False)
    assert tenant_status([("web", 8080, fine), ("api", 9000, fine)]) == ("ready", None)
    assert tenant_status([("web", 8080, fine), ("api", 9000, Health(True, True, True, True, False))]) == (
        "deploying",
        None,
    )
    failed = Health(False, False, False, True, True, "the image could not be pulled")
    assert tenant_status([("web", 8080, fine), ("api", 9000, failed)]) == ("failed", "the image could not be pulled")


def test_services_stopped_by_request_are_stopped_and_left_out_of_the_tenant_status() -> None:
    fine = Health(False, True, True, True, False)
    off = Health(False, True, False, True, False, wanted=False)
    assert service_status(off) == "stopped"
    assert service_status(Health(True, True, False, True, False, wanted=False)) == "deploying"  # a deploy starts it
    assert tenant_status([("web", 8080, fine), ("api", 9000, off)]) == ("ready", None)
    assert tenant_status([("web", 8080, off), ("api", 9000, off)]) == ("stopped", "stopped by request")
