"""Names of everything staxad creates on the host. Each carries the instance, so two
instances on one host (parallel test runs) never touch each other's objects."""

from __future__ import annotations

import re

LABEL = "io.staxa"


def network(instance: str, tenant: str) -> str:
    return f"staxa-{instance}-{tenant}"


def container(instance: str, tenant: str, service: str, deployment_id: str) -> str:
    return f"staxa-{instance}-{tenant}-{service}-{deployment_id.removeprefix('dep_')}"


def labels(
    instance: str,
    tenant_id: str,
    service: str | None = None,
    deployment_id: str | None = None,
    volume_id: str | None = None,
) -> dict[str, str]:
    out = {f"{LABEL}.instance": instance, f"{LABEL}.tenant": tenant_id}
    if volume_id:
        out[f"{LABEL}.volume"] = volume_id
    if service:
        out[f"{LABEL}.service"] = service
    if deployment_id:
        out[f"{LABEL}.deployment"] = deployment_id
    return out


def network_prefix(instance: str) -> str:
    """What every tenant network of this instance starts with; the rest is the tenant's name."""
    return f"staxa-{instance}-"


def hostname(base_domain: str, tenant: str, service: str, primary: bool) -> str:
    """Where a routable service answers: the primary at `<tenant>.<base>`, any other at
    `<service>--<tenant>.<base>` (tenant names cannot contain `--`, so the two never collide)."""
    return f"{tenant}.{base_domain}" if primary else f"{service}--{tenant}.{base_domain}"


def route(instance: str, tenant: str, service: str) -> str:
    """The id of a service's route in Caddy's config."""
    return f"staxa-{instance}-{tenant}-{service}"


def image_prefix(instance: str, tenant: str) -> str:
    """Images staxad builds for a tenant are tagged `<prefix><deployment>`."""
    return f"localhost/staxa-{instance}/{tenant}-"


def firewall_table(instance: str) -> str:
    return f"staxad-{instance}"


def sandbox_table(instance: str) -> str:
    return f"staxad-{instance}-sandbox"


def volume(instance: str, tenant: str, name: str) -> str:
    """A tenant's named volume; `--` (never inside a tenant or volume name) keeps tenant `a`'s
    volume `b-c` apart from tenant `a-b`'s volume `c`."""
    return f"staxa-{instance}-{tenant}--{name}"


VOLUME = re.compile(r"staxa-[a-z0-9][a-z0-9-]*")


def own_volume(name: str) -> str:
    """A volume name staxad made. podman-py turns a volumes key that is not a volume name
    into a bind mount of that host path, and the CLI would read an option: neither may
    happen."""
    if not VOLUME.fullmatch(name):
        raise ValueError(f"not a staxad volume name: {name[:80]!r}")
    return name


# Caddy sends a request whose Host has capitals and matches no route to this path of
# staxad's listener, with the request's own URI in this header (staxad.adapters.caddy).
HOST_CASE_PATH = "/internal/host-case"
ORIGINAL_URI = "X-Staxa-Original-Uri"
NOT_SERVED_TEXT = "No app is served at this address.\n"

_HOST = re.compile(
    r"(?P<name>(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)(?::[0-9]{1,5})?",
    re.ASCII,
)
_URI = re.compile(r"/[\x21-\x7e]*", re.ASCII)


def lowercase_location(host: str, uri: str) -> tuple[str, str] | None:
    """For a request whose Host has capitals: the lowercase name it asks for, and the same
    URL on that name (Caddy maps hosts exactly, and host names are case-insensitive).
    None for a Host that is not a name with an optional port."""
    host = host.lower()
    found = _HOST.fullmatch(host)
    if found is None or len(found["name"]) > 253:
        return None
    return found["name"], f"https://{host}{uri if _URI.fullmatch(uri) else '/'}"
