"""One name for every spelling of an image reference: pure, so it has table tests.

`app`, `docker.io/app`, `docker.io/library/app:latest` and `index.docker.io/library/app`
are one image to podman, so whatever is decided about an image (pulled privately, and by
whom) is decided about this canonical name, and about the image id the name resolves to
on the host (podman also finds a local image by the last part of its name).
"""

from __future__ import annotations

DOCKER_HUB = "docker.io"
HUB_ALIASES = frozenset({"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"})


def canonical(ref: str) -> str:
    """`registry/path:tag` or `registry/path@digest`, lower-case where references are."""
    ref = ref.removeprefix("docker://")
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        registry, path = first.lower(), rest
    else:
        registry, path = DOCKER_HUB, ref
    if registry in HUB_ALIASES:
        registry = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    name, at, digest = path.partition("@")
    if not at and ":" not in name.rsplit("/", 1)[-1]:
        name += ":latest"
    return f"{registry}/{name}{at}{digest}"
