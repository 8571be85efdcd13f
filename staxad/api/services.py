"""Services and deployments of a tenant."""

from __future__ import annotations

from starlette.responses import Response

from staxad.api import render
from staxad.api.endpoint import Call, Routes
from staxad.api.tenants import SERVICE_BODY
from staxad.model.lifecycle import TenantStatus
from staxad.model.query import PAGE
from staxad.model.validation import BRANCH, COMMIT_SHA

routes = Routes()


@routes.add("GET", "/tenants/{tenant_id}/services", scope="tenants:read", summary="The tenant's services.")
async def list_services(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    data = [render.service(s) for s in tenant.services]
    return call.listing(data, len(data), len(data), 0)


@routes.add(
    "POST",
    "/tenants/{tenant_id}/services",
    scope="tenants:write",
    errors=(409, 422),
    status=202,
    body=SERVICE_BODY,
    summary="Add a service; it is deployed at once.",
)
async def add_service(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    service, queued = await call.platform.services.add(tenant, await call.body())
    return call.ok({**render.service(service), "deployment": render.deployment(queued, tenant.id)}, 202)


@routes.add(
    "DELETE",
    "/tenants/{tenant_id}/services/{service_name}",
    scope="tenants:write",
    errors=(409, 422),
    status=204,
    summary="Remove a service (never the primary one).",
)
async def remove_service(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    await call.platform.services.remove(tenant, call.param("service_name"))
    return call.empty(204)


@routes.add(
    "POST",
    "/tenants/{tenant_id}/services/{service_name}/deploy",
    scope="deploy",
    errors=(409, 422),
    status=202,
    summary="Deploy one service again.",
)
async def deploy_service(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    service = call.platform.services.find(tenant, call.param("service_name"))
    [queued] = await call.platform.deployments.deploy(tenant, [service], "deploy requested")
    return call.ok(render.deployment(queued, tenant.id), 202)


@routes.add(
    "GET",
    "/tenants/{tenant_id}/services/{service_name}/deployments",
    scope="tenants:read",
    query=PAGE,
    summary="Deployment history of one service.",
)
async def list_service_deployments(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    service = call.platform.services.find(tenant, call.param("service_name"))
    limit, offset = call.page()
    found, total = await call.platform.deployments.page(tenant, limit, offset, service)
    return call.listing([render.deployment(d, tenant.id) for d in found], total, limit, offset)


@routes.add(
    "POST",
    "/tenants/{tenant_id}/deploy",
    scope="deploy",
    errors=(409, 422),
    rate="deploy",
    status=202,
    summary="Deploy all services in priority order.",
)
async def deploy_all(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    queued = await call.platform.deployments.deploy(tenant, list(tenant.services), "deploy all requested")
    return call.ok(
        {
            "tenant_id": tenant.id,
            "status": TenantStatus.DEPLOYING,
            "services": [d.service_name for d in queued],
            "deployments": [render.deployment(d, tenant.id) for d in queued],
        },
        202,
    )


@routes.add(
    "GET",
    "/tenants/{tenant_id}/deployments",
    scope="tenants:read",
    query=PAGE,
    summary="Deployment history of the tenant, newest first.",
)
async def list_deployments(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    limit, offset = call.page()
    found, total = await call.platform.deployments.page(tenant, limit, offset)
    return call.listing([render.deployment(d, tenant.id) for d in found], total, limit, offset)


@routes.add(
    "GET",
    "/tenants/{tenant_id}/deployments/{deployment_id}",
    scope="tenants:read",
    summary="One deployment with its stage, reason and times.",
)
async def get_deployment(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    found = await call.platform.deployments.get(call.who, tenant, call.param("deployment_id"))
    return call.ok(render.deployment(found, tenant.id))


DEPLOYMENT_BODY = {
    "type": "object",
    "properties": {
        "branch": {"type": "string", "pattern": BRANCH.pattern, "description": "Git branch; default the service's."},
        "commit_sha": {"type": "string", "pattern": COMMIT_SHA.pattern, "description": "A commit; default the head."},
    },
}


@routes.add(
    "POST",
    "/tenants/{tenant_id}/deployments",
    scope="deploy",
    errors=(409, 422),
    status=202,
    body=DEPLOYMENT_BODY,
    summary="Deploy the primary service, optionally at a branch or commit.",
)
async def create_deployment(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    queued = await call.platform.deployments.create(tenant, await call.body(optional=True))
    return call.ok(render.deployment(queued, tenant.id), 202)


@routes.add(
    "POST",
    "/tenants/{tenant_id}/deployments/{deployment_id}/rollback",
    scope="deploy",
    errors=(409, 422),
    status=202,
    summary="A new deployment running the image of an earlier one (no rebuild).",
)
async def rollback_deployment(call: Call) -> Response:
    tenant = await call.platform.tenants.get(call.who, call.param("tenant_id"))
    queued = await call.platform.deployments.rollback(call.who, tenant, call.param("deployment_id"))
    return call.ok(render.deployment(queued, tenant.id), 202)
