"""Every spelling of an image reference has one canonical name."""

from __future__ import annotations

import pytest

from staxad.model.images import canonical


@pytest.mark.parametrize(
    ("ref", "name"),
    [
        ("app", "docker.io/library/app:latest"),
        ("app:latest", "docker.io/library/app:latest"),
        ("docker.io/app", "docker.io/library/app:latest"),
        ("index.docker.io/library/app", "docker.io/library/app:latest"),
        ("docker://registry-1.docker.io/library/app:latest", "docker.io/library/app:latest"),
        ("team/app:1", "docker.io/team/app:1"),
        ("Registry.Example.com:5000/team/app", "registry.example.com:5000/team/app:latest"),
        ("localhost/staxa-dev/x-web:abc", "localhost/staxa-dev/x-web:abc"),
        ("127.0.0.1:5000/app@sha256:" + "a" * 64, "127.0.0.1:5000/app@sha256:" + "a" * 64),
    ],
)
def test_canonical(ref: str, name: str) -> None:
    assert canonical(ref) == name
