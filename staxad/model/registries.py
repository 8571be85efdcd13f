"""Registry credentials: the record, where an image's registry is, and which hosts are one
registry. Pure.

One registry is what a credential may be sent to: its password goes to its hosts and to
no other (a redirect, a token realm, a PATCHed URL or an image on another host).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

DOCKER_HUB = "docker.io"
# Docker Hub's registry under its names, its token service and its listing site.
HUB_HOSTS = frozenset(
    {
        "docker.io",
        "index.docker.io",
        "registry-1.docker.io",
        "registry.hub.docker.com",
        "auth.docker.io",
        "hub.docker.com",
    }
)


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
    mode: str  # the key's that saved it: a test key sees it only if "test", and only test tenants pull with it


def where(host: str, port: int | None) -> str:
    """host[:port], as image references and `runtime.*_registries` name a registry."""
    return f"{host.lower()}:{port}" if port else host.lower()


def registry_of(host: str) -> str:
    """The registry a host[:port] belongs to: every Docker Hub host is docker.io; any other
    registry is exactly its host[:port] (another port or a subdomain is another registry)."""
    host = host.lower()
    return DOCKER_HUB if host in HUB_HOSTS else host


def same_registry(a: str, b: str) -> bool:
    return registry_of(a) == registry_of(b)


def url_host(url: str, insecure: tuple[str, ...]) -> str:
    """The registry of a registry URL: https, or http for the operator's insecure
    registries; no credentials, query or fragment."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if not host or parts.username or parts.password or parts.query or parts.fragment:
        raise ValueError("must be a registry URL such as https://registry.example.com")
    found = where(host, parts.port)
    if parts.scheme == "http" and found not in insecure:
        raise ValueError("must use https (http only for hosts in runtime.insecure_registries)")
    if parts.scheme not in ("https", "http"):
        raise ValueError("must be an https:// URL")
    return registry_of(found)


def image_host(ref: str) -> str:
    """The registry an image reference pulls from; a bare name is Docker Hub's."""
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return registry_of(first)
    return DOCKER_HUB


def api_base(registry: Registry) -> str:
    """Where the registry's v2 API answers."""
    if registry.host == DOCKER_HUB:
        return "https://registry-1.docker.io"
    scheme = urlsplit(registry.registry_url).scheme or "https"
    return f"{scheme}://{registry.host}"
