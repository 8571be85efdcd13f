"""Which services a variable reaches, and which a change to it redeploys."""

from __future__ import annotations

import pytest

from staxad.model.envvars import EnvVar, for_service, reached

ALL = ("web", "api", "worker")


def test_a_container_gets_the_variables_that_apply_to_its_service() -> None:
    variables = [EnvVar("A", "1", False), EnvVar("B", "2", True, ("api",)), EnvVar("C", "3", False, ())]
    assert for_service(variables, "web") == [("A", "1")]
    assert for_service(variables, "api") == [("A", "1"), ("B", "2")]


@pytest.mark.parametrize(
    ("before", "after", "want"),
    [
        (None, EnvVar("A", "1", False), ["web", "api", "worker"]),  # new, for everyone
        (None, EnvVar("A", "1", False, ("api",)), ["api"]),
        (EnvVar("A", "1", False, ("api",)), EnvVar("A", "2", False, ("web",)), ["web", "api"]),  # moved
        (EnvVar("A", "1", False, ("worker",)), None, ["worker"]),  # removed
        (EnvVar("A", "1", False, ()), EnvVar("A", "1", False, ()), []),  # reaches nobody
    ],
)
def test_a_change_reaches_the_services_of_the_old_and_the_new_variable(
    before: EnvVar | None, after: EnvVar | None, want: list[str]
) -> None:
    assert reached(before, after, ALL) == want
