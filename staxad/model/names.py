"""Names of everything staxad creates on the host. Each carries the instance, so two
instances on one host (parallel test runs) never touch each other's objects."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from staxad.model.records import Tenant

LABEL = "io.staxa"
# Where a tenant container's ids start (staxad.model.userns); containers made before
# tenants had blocks lack it and ran with all of the service user's ids.
IDS_LABEL = f"{LABEL}.ids"


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
    provider_id: str | None = None,
) -> dict[str, str]:
    out = {f"{LABEL}.instance": instance, f"{LABEL}.tenant": tenant_id}
    if provider_id:
        out[f"{LABEL}.provider"] = provider_id
    if volume_id:
        out[f"{LABEL}.volume"] = volume_id
    if service:
        out[f"{LABEL}.service"] = service
    if deployment_id:
        out[f"{LABEL}.deployment"] = deployment_id
    return out


def anchor(instance: str) -> str:
    """The network anchor's container and network (`--`: no tenant's network is named so)."""
    return f"staxa-{instance}--anchor"


def anchor_image(instance: str) -> str:
    """The anchor's image; no tenant's build is tagged so (tenant names have no dot)."""
    return f"localhost/staxa-{instance}/netns.anchor:1"


def network_prefix(instance: str) -> str:
    """What every tenant network of this instance starts with; the rest is the tenant's name."""
    return f"staxa-{instance}-"


MAX_LABEL = 63  # a DNS label's length limit; a longer one can have no certificate


def host_label(tenant: str, service: str, primary: bool) -> str:
    """The first label of a routable service's hostname: the tenant's name for the primary,
    `<service>--<tenant>` for any other (tenant names cannot contain `--`, so the two
    never collide)."""
    return tenant if primary else f"{service}--{tenant}"


def hostname(base_domain: str, tenant: str, service: str, primary: bool) -> str:
    """Where a routable service answers: `<host_label>.<base>`."""
    return f"{host_label(tenant, service, primary)}.{base_domain}"


def tenant_url(base_domain: str, https_port: int, tenant: Tenant) -> str | None:
    """The tenant's public URL: its primary custom domain, else the host of its primary
    service, else of its first routable one; None when no service is routable."""
    routable = sorted((s for s in tenant.services if s.is_routable), key=lambda s: s.priority)
    if not routable:
        return None
    suffix = "" if https_port == 443 else f":{https_port}"
    if tenant.primary_domain:
        return f"https://{tenant.primary_domain}{suffix}"
    shown = next((s for s in routable if s.is_primary), routable[0])
    return f"https://{hostname(base_domain, tenant.name, shown.name, shown.is_primary)}{suffix}"


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


def volume(instance: str, volume_id: str) -> str:
    """A tenant's volume on the host, named by the volume's id: tenant and volume names are
    free again after a delete (another provider's tenant `shop` may ask for volume `data`),
    ids never. `--` keeps it apart from every name made from a tenant's name."""
    return f"staxa-{instance}--{volume_id.replace('_', '-')}"


def owns(labels: dict[str, str], tenant_id: str, volume_id: str, provider_id: str | None = None) -> bool:
    """Whether a host volume's labels name exactly this tenant's volume (and, when they
    name a provider, this one): a volume under a staxad name with other labels, or none,
    is never mounted, backed up or deleted. Volumes made before providers were labelled
    name none."""
    provider = labels.get(f"{LABEL}.provider")
    return (
        labels.get(f"{LABEL}.tenant") == tenant_id
        and labels.get(f"{LABEL}.volume") == volume_id
        and (provider is None or provider == provider_id)
    )


VOLUME = re.compile(r"staxa-[a-z0-9][a-z0-9-]*")


def own_volume(name: str) -> str:
    """A volume name staxad made. podman-py turns a volumes key that is not a volume name
    into a bind mount of that host path, and the CLI would read an option: neither may
    happen."""
    if not VOLUME.fullmatch(name):
        raise ValueError(f"not a staxad volume name: {name[:80]!r}")
    return name
