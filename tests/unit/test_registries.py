"""Which registry a credential and an image belong to."""

from __future__ import annotations

import pytest

from staxad.model.registries import image_host, url_host


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://index.docker.io/v1/", "docker.io"),
        ("https://registry-1.docker.io", "docker.io"),
        ("https://ghcr.io", "ghcr.io"),
        ("https://Registry.Example.com:5443/", "registry.example.com:5443"),
        ("http://127.0.0.1:5000", "127.0.0.1:5000"),  # listed as insecure below
    ],
)
def test_registry_urls(url: str, host: str) -> None:
    assert url_host(url, ("127.0.0.1:5000",)) == host


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://registry.example.com", "https"),
        ("ftp://registry.example.com", "https"),
        ("registry.example.com", "registry URL"),
        ("https://user:pw@registry.example.com", "registry URL"),
        ("https://registry.example.com/?x=1", "registry URL"),
    ],
)
def test_bad_registry_urls(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        url_host(url, ())


@pytest.mark.parametrize(
    ("ref", "host"),
    [
        ("nginx", "docker.io"),
        ("library/nginx:1", "docker.io"),
        ("docker.io/library/nginx", "docker.io"),
        ("ghcr.io/acme/app:1", "ghcr.io"),
        ("127.0.0.1:5000/team/app:1", "127.0.0.1:5000"),
        ("localhost/app:1", "localhost"),
    ],
)
def test_image_hosts(ref: str, host: str) -> None:
    assert image_host(ref) == host
