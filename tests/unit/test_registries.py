"""Which registry a credential and an image belong to, and which hosts are one registry."""

from __future__ import annotations

import pytest

from staxad.model.registries import image_host, registry_of, same_registry, url_host


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://index.docker.io/v1/", "docker.io"),
        ("https://registry-1.docker.io", "docker.io"),
        ("https://auth.docker.io", "docker.io"),
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


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        # Docker Hub's registry, its token service and its listing are one registry
        ("docker.io", "index.docker.io", True),
        ("docker.io", "registry-1.docker.io", True),
        ("registry-1.docker.io", "auth.docker.io", True),
        ("index.docker.io", "hub.docker.com", True),
        ("Registry-1.Docker.IO", "docker.io", True),
        # any other registry is exactly its host[:port]
        ("ghcr.io", "ghcr.io", True),
        ("Registry.Example.com:5443", "registry.example.com:5443", True),
        ("registry.example.com", "registry.example.com:5443", False),
        ("registry.example.com:5000", "registry.example.com:5001", False),
        ("registry.example.com", "auth.registry.example.com", False),
        ("registry.example.com", "example.com", False),
        ("ghcr.io", "docker.io", False),
        ("docker.io.evil.example", "docker.io", False),
        ("evil-docker.io", "docker.io", False),
        ("registry-1.docker.io:5000", "docker.io", False),
        ("127.0.0.1:5000", "127.0.0.1:5001", False),
        ("localhost:5000", "127.0.0.1:5000", False),
    ],
)
def test_which_hosts_are_one_registry(a: str, b: str, same: bool) -> None:
    assert same_registry(a, b) is same
    assert same_registry(b, a) is same


@pytest.mark.parametrize(
    ("host", "registry"),
    [("auth.docker.io", "docker.io"), ("hub.docker.com", "docker.io"), ("GHCR.io", "ghcr.io"), ("a.b:5", "a.b:5")],
)
def test_a_hosts_registry(host: str, registry: str) -> None:
    assert registry_of(host) == registry
