"""Stop, start and restart services or a whole tenant, and cancel a deployment.

A stop, start or restart is accepted (202) once recorded: the reconciler makes the
containers match, and the tenant's event stream says when it has. A cancel answers
once the deployment has stopped and what it made is gone.
"""

from __future__ import annotations

from starlette.responses import Response

from staxad.api import render
from staxad.api.endpoint import Call, Handler, Routes
from staxad.core.runstate import Request

routes = Routes()

_SERVICE_SUMMARY = {
    Request.STOP: "Stop one service; it stays stopped through repairs and restarts until started or deployed.",
    Request.START: "Start a stopped service.",
    Request.RESTART: "Restart one service's container (same version, same data).",
}
_TENANT_SUMMARY = {
    Request.STOP: "Stop every service of the tenant; its routes answer 503 meanwhile.",
    Request.START: "Start every service of the tenant.",
    Request.RESTART: "Restart every service of the tenant.",
}


def _service_endpoint(request: Request) -> Handler:
    async def handle(call: Call) -> Response:
        tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
        service = call.platform.services.find(tenant, call.param("service_name"))
        await call.platform.runstate.request(tenant, [service], request)
        changed = call.platform.services.find(await call.platform.tenants.get(call.who, tenant.id), service.name)
        return call.ok(render.service(changed), 202)

    return handle


def _tenant_endpoint(request: Request) -> Handler:
    async def handle(call: Call) -> Response:
        tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
        await call.platform.runstate.request(tenant, list(tenant.services), request)
        changed = await call.platform.tenants.get(call.who, tenant.id)
        return call.ok(render.tenant(call.settings, changed), 202)

    return handle


for _request in Request:
    routes.add(
        "POST",
        f"/tenants/{{tenant_id}}/services/{{service_name}}/{_request}",
        scope="deploy",
        errors=(422,),
        status=202,
        summary=_SERVICE_SUMMARY[_request],
    )(_service_endpoint(_request))
    routes.add(
        "POST",
        f"/tenants/{{tenant_id}}/{_request}",
        scope="deploy",
        errors=(422,),
        status=202,
        summary=_TENANT_SUMMARY[_request],
    )(_tenant_endpoint(_request))


@routes.add(
    "POST",
    "/tenants/{tenant_id}/deployments/{deployment_id}/cancel",
    scope="deploy",
    errors=(409,),
    summary="Cancel a queued deployment, or stop one under way and remove what it made; the live version serves on.",
)
async def cancel_deployment(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    cancelled = await call.platform.deployments.cancel(call.who, tenant, call.param("deployment_id"))
    return call.ok(render.deployment(cancelled, tenant.id))
