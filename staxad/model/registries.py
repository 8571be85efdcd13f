"""Registry credentials: the record, and where an image's registry is. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

DOCKER_HUB = "docker.io"
HUB_ALIASES = {"index.docker.io", "registry-1.docker.io", "registry.hub.docker.com", "docker.io"}


@dataclass(frozen=True, slots=True)
class Registry:
    id: str
    provider_id: str
    name: str
    registry_url: str
    host: str
    username: str
    verified: bool
    verify_error: str | None
    created_at: str
    updated_at: str


def url_host(url: str, insecure: tuple[str, ...]) -> str:
    """The host[:port] of a registry URL: https, or http for the operator's insecure
    registries; no credentials, query or fragment. Docker Hub's many names are one."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if not host or parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("must be a registry URL such as https://registry.example.com")
    where = f"{host}:{parts.port}" if parts.port else host
    if parts.scheme == "http" and where not in insecure:
        raise ValueError("must use https (http only for hosts in runtime.insecure_registries)")
    if parts.scheme not in ("https", "http"):
        raise ValueError("must be an https:// URL")
    return DOCKER_HUB if host in HUB_ALIASES else where


def image_host(ref: str) -> str:
    """The registry an image reference pulls from; a bare name is Docker Hub's."""
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return DOCKER_HUB if first in HUB_ALIASES else first
    return DOCKER_HUB


def api_base(registry: Registry) -> str:
    """Where the registry's v2 API answers."""
    if registry.host == DOCKER_HUB:
        return "https://registry-1.docker.io"
    scheme = urlsplit(registry.registry_url).scheme or "https"
    return f"{scheme}://{registry.host}"
