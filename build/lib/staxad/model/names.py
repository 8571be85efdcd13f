"""Names of everything staxad creates on the host. Each carries the instance, so two
instances on one host (parallel test runs) never touch each other's objects."""

from __future__ import annotations

LABEL = "io.staxa"


def network(instance: str, tenant: str) -> str:
    return f"staxa-{instance}-{tenant}"


def container(instance: str, tenant: str, service: str, deployment_id: str) -> str:
    return f"staxa-{instance}-{tenant}-{service}-{deployment_id.removeprefix('dep_')}"


def labels(
    instance: str, tenant_id: str, service: str | None = None, deployment_id: str | None = None
) -> dict[str, str]:
    out = {f"{LABEL}.instance": instance, f"{LABEL}.tenant": tenant_id}
    if service:
        out[f"{LABEL}.service"] = service
    if deployment_id:
        out[f"{LABEL}.deployment"] = deployment_id
    return out
