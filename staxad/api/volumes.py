"""Volumes of a tenant, their backups and restores."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from staxad.api import render
from staxad.api.endpoint import Call, Routes
from staxad.api.tenants import VOLUME_FIELDS, VOLUME_PATH
from staxad.core.volumes import parse_attach_target
from staxad.model.query import BoolParam

routes = Routes()
RETAINED = BoolParam("retained")
BASE = "/tenants/{tenant_id}/volumes"
ONE = BASE + "/{volume_id}"
BACKUP = ONE + "/backups/{backup_id}"
VOLUME_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["name", "size_mb"],
    "additionalProperties": False,
    "properties": {
        **VOLUME_FIELDS,
        "service": {"type": "string", "description": "The service that mounts it (mount_path then required)."},
    },
}
PATCH_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "size_mb": VOLUME_FIELDS["size_mb"],
        "retain": VOLUME_FIELDS["retain"],
        "backup_schedule": {"type": ["string", "null"]},
        "keep_last": VOLUME_FIELDS["keep_last"],
        "service": {"type": ["string", "null"], "description": "Mount it in this service; null detaches it."},
        "mount_path": VOLUME_PATH,
    },
}


ATTACH_BODY: dict[str, Any] = {
    "type": "object",
    "required": ["tenant_id"],
    "additionalProperties": False,
    "properties": {
        "tenant_id": {"type": "string", "description": "One of the provider's tenants."},
        **VOLUME_BODY["properties"],
        "name": {**VOLUME_FIELDS["name"], "description": "Default: the name it had."},
        "size_mb": {**VOLUME_FIELDS["size_mb"], "description": "Default: the size it had."},
    },
}


@routes.add(
    "GET",
    "/volumes",
    scope="tenants:read",
    query=(RETAINED,),
    summary="The provider's volumes in every tenant; with retained=true, those kept after their tenant was deleted.",
)
async def list_provider_volumes(call: Call) -> Response:
    volumes = call.platform.volumes
    if call.read(RETAINED):
        data = [render.retained_volume(x) for x in await volumes.retained(call.who)]
    else:
        data = []
        for tenant in await call.platform.tenants.all_of(call.who):
            data += [{**render.volume(x, tenant), "tenant_id": tenant.id} for x in await volumes.of(tenant)]
    return call.listing(data, len(data), len(data), 0)


@routes.add(
    "POST",
    "/volumes/{volume_id}/attach",
    scope="tenants:write",
    body=ATTACH_BODY,
    status=201,
    errors=(409, 422),
    summary="Give a retained volume, with its data, to one of the provider's tenants.",
)
async def attach_volume(call: Call) -> Response:
    body = await call.body()
    tenant = await call.platform.tenants.get(call.who, parse_attach_target(body))
    volume, queued = await call.platform.volumes.attach(call.who, call.param("volume_id"), tenant, body)
    shown = render.volume(volume, tenant)
    return call.ok({**shown, "deployment": render.deployment(queued, tenant.id) if queued else None}, 201)


@routes.add(
    "DELETE",
    "/volumes/{volume_id}",
    scope="tenants:write",
    status=204,
    summary="Delete a retained volume and its data (the next periodic pass removes it from the host).",
)
async def delete_retained_volume(call: Call) -> Response:
    await call.platform.volumes.delete_retained(call.who, call.param("volume_id"))
    return call.empty(204)


@routes.add("GET", BASE, scope="tenants:read", summary="The tenant's volumes with their size and use.")
async def list_volumes(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    data = [render.volume(x, tenant) for x in await call.platform.volumes.of(tenant)]
    return call.listing(data, len(data), len(data), 0)


@routes.add(
    "POST",
    BASE,
    scope="tenants:write",
    body=VOLUME_BODY,
    status=201,
    errors=(409, 422),
    summary="Create a volume; with service and mount_path, that service is deployed again with it mounted.",
)
async def create_volume(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    volume, queued = await call.platform.volumes.create(tenant, await call.body())
    shown = render.volume(volume, tenant)
    return call.ok({**shown, "deployment": render.deployment(queued, tenant.id) if queued else None}, 201)


@routes.add("GET", ONE, scope="tenants:read", summary="One volume.")
async def get_volume(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    return call.ok(render.volume(await call.platform.volumes.get(tenant, call.param("volume_id")), tenant))


@routes.add(
    "PATCH",
    ONE,
    scope="tenants:write",
    body=PATCH_BODY,
    errors=(422,),
    summary="Change size, retention, backup schedule, or which service mounts it (that service redeploys).",
)
async def update_volume(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    volume, queued = await call.platform.volumes.update(tenant, call.param("volume_id"), await call.body())
    tenant = await call.platform.tenants.get(call.who, tenant.id)
    shown = render.volume(volume, tenant)
    return call.ok({**shown, "deployment": render.deployment(queued, tenant.id) if queued else None})


@routes.add(
    "DELETE",
    ONE,
    scope="tenants:write",
    status=204,
    errors=(409,),
    summary="Delete a volume no service mounts (409 otherwise), its data and its backups.",
)
async def delete_volume(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    await call.platform.volumes.delete(tenant, call.param("volume_id"))
    return call.empty(204)


@routes.add("GET", ONE + "/backups", scope="tenants:read", summary="The volume's backups, newest first.")
async def list_backups(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    data = [render.backup(b) for b in await call.platform.backups.page(tenant, call.param("volume_id"))]
    return call.listing(data, len(data), len(data), 0)


@routes.add(
    "POST",
    ONE + "/backups",
    scope="tenants:write",
    status=202,
    errors=(422,),
    summary="Back the volume up now (its service stops while it is copied).",
)
async def create_backup(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    return call.ok(render.backup(await call.platform.backups.create(tenant, call.param("volume_id"))), 202)


@routes.add("GET", BACKUP, scope="tenants:read", summary="One backup with its size, checksum and status.")
async def get_backup(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    found = await call.platform.backups.get(tenant, call.param("volume_id"), call.param("backup_id"))
    return call.ok(render.backup(found))


@routes.add(
    "DELETE", BACKUP, scope="tenants:write", status=204, errors=(409,), summary="Delete a backup (409 while pinned)."
)
async def delete_backup(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    await call.platform.backups.delete(tenant, call.param("volume_id"), call.param("backup_id"))
    return call.empty(204)


async def _pin(call: Call, pinned: bool) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    found = await call.platform.backups.pin(tenant, call.param("volume_id"), call.param("backup_id"), pinned)
    return call.ok(render.backup(found))


@routes.add("POST", BACKUP + "/pin", scope="tenants:write", summary="Pin a backup: never pruned.")
async def pin_backup(call: Call) -> Response:
    return await _pin(call, True)


@routes.add("POST", BACKUP + "/unpin", scope="tenants:write", summary="Unpin a backup: pruned by keep_last again.")
async def unpin_backup(call: Call) -> Response:
    return await _pin(call, False)


@routes.add(
    "POST",
    BACKUP + "/restore",
    scope="tenants:write",
    status=202,
    errors=(422,),
    summary="Restore the volume from this backup: its service stops, the data is replaced, the service starts.",
)
async def restore_backup(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    found = await call.platform.backups.restore(tenant, call.param("volume_id"), call.param("backup_id"))
    return call.ok(render.restore(found), 202)


@routes.add("GET", ONE + "/restores/{restore_id}", scope="tenants:read", summary="One restore and its status.")
async def get_restore(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    found = await call.platform.backups.get_restore(tenant, call.param("volume_id"), call.param("restore_id"))
    return call.ok(render.restore(found))
