"""The container spec of a deployment: built in one place, and kept sealed in its record.

A repair (a container that was removed behind staxad's back) recreates the live
deployment's container from this snapshot, never from the tenant's current env or
settings: those may hold changes that were stored but never deployed, and a repair must
not deploy them (a breaking env value would turn a repair into an outage).
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable, Sequence

from staxad.model import envvars, names, userns
from staxad.model.containers import ContainerSpec
from staxad.model.records import Service, Tenant
from staxad.store import deployments as deployment_store
from staxad.store import env as env_store
from staxad.store import tenants as tenant_store
from staxad.store.db import Database
from staxad.store.secretbox import SecretBox


def container_spec(
    instance: str,
    tenant: Tenant,
    service: Service,
    deployment_id: str,
    image: str,
    env: Iterable[tuple[str, str]],
    volumes: dict[str, str] | None = None,
    command: Sequence[str] | None = None,
    udp: bool = False,
) -> ContainerSpec:
    """How staxad runs a deployment's container; the app also gets its port as $PORT.
    `volumes`: podman volume name -> where it is mounted; `udp`: publish the port over UDP
    too (an inbound UDP rule forwards to it)."""
    return ContainerSpec(
        name=names.container(instance, tenant.name, service.name, deployment_id),
        image=image,
        network=names.network(instance, tenant.name),
        alias=service.name,
        port=service.port,
        env={"PORT": str(service.port), **dict(env)},
        labels=names.labels(instance, tenant.id, service.name, deployment_id),
        resource_size=service.resource_size,
        volumes=dict(volumes or {}),
        command=list(command) if command else None,
        udp=udp,
        userns_base=userns.base(tenant.userns_slot),
    )


def seal(box: SecretBox, spec: ContainerSpec) -> bytes:
    return box.seal(json.dumps(dataclasses.asdict(spec), sort_keys=True))


def unseal(box: SecretBox, sealed: bytes) -> ContainerSpec:
    fields = json.loads(box.open(sealed))
    fields.setdefault("udp", True)  # sealed before the field existed, when every container published UDP
    return ContainerSpec(**fields)


async def seal_missing(db: Database, box: SecretBox, instance: str) -> int:
    """Seal a spec for every live deployment made before specs were kept (migration 0007),
    as its repair made it then: the tenant's current env, UDP published, and no volumes
    (none existed before 0007, and mounting one changed since deploys the service anew).
    Run at start, so a repair reads a sealed spec and nothing else; how many it sealed."""
    sealed = 0
    for row in await db.fetch_all(
        "SELECT d.id, d.tenant_id, d.service_id, d.image_ref FROM deployments d"
        " JOIN services s ON s.live_deployment_id = d.id WHERE d.spec IS NULL AND d.image_ref IS NOT NULL"
    ):
        tenant = await tenant_store.get_any(db, row["tenant_id"])
        service = next((s for s in tenant.services if s.id == row["service_id"]), None) if tenant else None
        if tenant is None or service is None:
            continue
        env = envvars.for_service(await env_store.read(db, box, tenant.id), service.name)
        spec = container_spec(instance, tenant, service, row["id"], row["image_ref"], env, udp=True)
        async with db.transaction() as tx:
            await deployment_store.update(tx, row["id"], spec=seal(box, spec))
        sealed += 1
    return sealed
