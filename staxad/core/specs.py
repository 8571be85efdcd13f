"""Request bodies turned into validated specs for tenants and services.

Create Tenant takes either the single-service form (`source_type` + `repo_url` or
`image_url`) or the multi-service form (`services: [...]`), never both.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from staxad.config import Settings
from staxad.core.volumes import VolumeSpec, parse_service_volumes
from staxad.model import names
from staxad.model import validation as v
from staxad.model.clock import new_id
from staxad.model.errors import ValidationError
from staxad.model.lifecycle import ServiceStatus
from staxad.model.records import Service

DEFAULT_PORT = 3000
SINGLE_SERVICE_NAME = "web"

SERVICE_FIELDS = (
    "name",
    "source_type",
    "repo_url",
    "branch",
    "image_url",
    "port",
    "app_port",
    "is_routable",
    "is_primary",
    "resource_size",
    "volumes",
    "registry_id",
    "auto_deploy",
)
TENANT_FIELDS = (
    "name",
    "display_name",
    "source_type",
    "repo_url",
    "branch",
    "image_url",
    "port",
    "app_port",
    "resource_size",
    "egress_mode",
    "services",
    "env",
    "volumes",
    "registry_id",
    "auto_deploy",
)
PATCH_FIELDS = ("display_name", "branch", "resource_size", "app_port", "egress_mode")
PER_SERVICE = ("repo_url", "image_url")  # beside services[] they would name no service


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    source_type: str
    repo_url: str | None
    branch: str
    image_url: str | None
    port: int
    is_routable: bool
    is_primary: bool
    resource_size: str
    volumes: tuple[VolumeSpec, ...] = ()
    registry_id: str | None = None
    auto_deploy: bool = True

    def to_service(self, tenant_id: str, priority: int, now: str) -> Service:
        return Service(
            id=new_id("svc"),
            tenant_id=tenant_id,
            name=self.name,
            source_type=self.source_type,
            repo_url=self.repo_url,
            branch=self.branch,
            image_url=self.image_url,
            port=self.port,
            is_primary=self.is_primary,
            is_routable=self.is_routable,
            resource_size=self.resource_size,
            priority=priority,
            status=ServiceStatus.PENDING,
            created_at=now,
            updated_at=now,
            registry_id=self.registry_id,
            auto_deploy=self.auto_deploy,
        )


@dataclass(frozen=True)
class TenantSpec:
    name: str
    display_name: str | None
    branch: str
    resource_size: str
    egress_mode: str
    services: tuple[ServiceSpec, ...]
    env: dict[str, str] = field(default_factory=dict)


def _source(body: v.Body, settings: Settings, prefix: str = "") -> tuple[str | None, str | None, str | None, str]:
    """Read source_type with its repo_url/image_url and branch."""
    source_type = body.choice("source_type", v.SOURCE_TYPES, required=True)
    repo = body.check(
        "repo_url",
        body.string("repo_url", max_len=2048),
        lambda u: v.repo_url(u, settings.git.allow_local_repos),
    )
    image = body.check("image_url", body.string("image_url", max_len=512), v.image_ref)
    branch = body.check("branch", body.string("branch"), v.branch_name) or "main"
    if source_type == "github" and not body.has("repo_url"):
        body.fail("repo_url", 'is required when source_type is "github"')
    if source_type == "image" and not body.has("image_url"):
        body.fail("image_url", 'is required when source_type is "image"')
    if source_type == "github" and body.has("image_url"):
        body.fail("image_url", 'is only for source_type "image"')
    if source_type == "image" and body.has("repo_url"):
        body.fail("repo_url", 'is only for source_type "github"')
    return source_type, repo, image, branch


def _port(body: v.Body) -> int | None:
    port = body.integer("port", 1, 65535)
    app_port = body.integer("app_port", 1, 65535)
    if port is not None and app_port is not None and port != app_port:
        body.fail("app_port", "differs from port; give one of them")
    return port if port is not None else app_port


def parse_service(payload: object, settings: Settings, where: str = "", default_routable: bool = False) -> ServiceSpec:
    body = v.Body(payload, SERVICE_FIELDS, where)
    name = body.check(
        "name", body.string("name", required=True, max_len=63), lambda n: v.dns_label(n, "a service name")
    )
    source_type, repo, image, branch = _source(body, settings)
    port = _port(body)
    routable = body.boolean("is_routable")
    primary = body.boolean("is_primary")
    size = body.choice("resource_size", v.RESOURCE_SIZES)
    volumes = parse_service_volumes(body, settings)
    registry = body.string("registry_id", max_len=64)
    if registry is not None and source_type != "image":
        body.fail("registry_id", 'is only for source_type "image"')
    auto_deploy = body.boolean("auto_deploy")
    body.done()
    assert name is not None and source_type is not None
    return ServiceSpec(
        volumes=volumes,
        registry_id=registry,
        auto_deploy=auto_deploy is not False,
        name=name,
        source_type=source_type,
        repo_url=repo,
        branch=branch,
        image_url=image,
        port=port or DEFAULT_PORT,
        is_routable=default_routable if routable is None else routable,
        is_primary=bool(primary),
        resource_size=size or "small",
    )


def parse_tenant(payload: object, settings: Settings) -> TenantSpec:
    body = v.Body(payload, TENANT_FIELDS)
    name = body.check("name", body.string("name", required=True, max_len=63), v.tenant_name)
    display = body.string("display_name", max_len=100)
    size = body.choice("resource_size", v.RESOURCE_SIZES) or "small"
    egress = body.choice("egress_mode", v.EGRESS_MODES) or "open"
    env: dict[str, str] = {}
    if body.has("env"):
        env = body.check("env", body.data["env"], lambda e: v.env_map(e, settings.limits.env_vars_per_tenant)) or {}
    services: list[ServiceSpec] = []
    single = body.has("source_type")
    multi = body.has("services")
    if multi:
        for each in ("source_type", *PER_SERVICE):
            if body.has(each):
                body.fail(each, "is given per service in the multi-service form: set it in services[]")
    if not single and not multi:
        body.fail("source_type", "give either source_type (one service) or services[]")
    if multi:
        services = _parse_services(body, settings, size)
    elif single:
        services = _single_service(body, settings, size)
    if name is not None:
        for index, service in enumerate(services):
            problem = hostname_problem(name, service)
            if problem:
                body.fail("name" if not multi else f"services[{index}].name", problem)
    body.done()
    assert name is not None
    primary = next(s for s in services if s.is_primary)
    return TenantSpec(
        name=name,
        display_name=display,
        branch=primary.branch,
        resource_size=size,
        egress_mode=egress,
        services=tuple(services),
        env=env,
    )


def hostname_problem(tenant: str, service: ServiceSpec) -> str | None:
    """Why a routable service's hostname cannot be served, or None."""
    label = names.host_label(tenant, service.name, service.is_primary)
    if not service.is_routable or len(label) <= names.MAX_LABEL:
        return None
    return (
        f"makes the hostname label '{label}' ({len(label)} characters; a DNS label holds at most "
        f"{names.MAX_LABEL}): shorten the service or tenant name, or set is_routable: false"
    )


def _single_service(body: v.Body, settings: Settings, size: str) -> list[ServiceSpec]:
    """The one routable primary service `web` of the single-service form. Its field errors
    join the tenant's, so one answer names every bad field."""
    fields = {k: val for k, val in body.data.items() if k not in ("name", "display_name", "env", "egress_mode")}
    try:
        service = parse_service({**fields, "name": SINGLE_SERVICE_NAME}, settings, default_routable=True)
    except ValidationError as exc:
        for key, message in exc.details.get("fields", {}).items():
            body.fail(key, message)
        return []
    service = replace(service, is_primary=True)
    return [service if body.has("resource_size") else replace(service, resource_size=size)]


def _defaults(body: v.Body, size: str) -> dict[str, Any]:
    """The tenant-level fields of the multi-service form, checked under their own names:
    the values of every service that omits them."""
    found: dict[str, Any] = {"resource_size": size}
    if body.has("branch"):
        found["branch"] = body.check("branch", body.string("branch"), v.branch_name)
    port = _port(body)
    if port is not None:
        found["port"] = port
    if body.has("auto_deploy"):
        found["auto_deploy"] = body.boolean("auto_deploy")
    if body.has("registry_id"):
        found["registry_id"] = body.string("registry_id", max_len=64)
    return found


def _with_defaults(item: object, defaults: dict[str, Any], volumes: object | None) -> object:
    if not isinstance(item, dict):
        return item
    inherited = {k: val for k, val in defaults.items() if item.get(k) is None}
    if "port" in inherited and item.get("app_port") is not None:
        del inherited["port"]  # the service gave its port as app_port
    if item.get("source_type") != "image":
        inherited.pop("registry_id", None)
    return {**item, **inherited, **({"volumes": volumes} if volumes is not None else {})}


def _parse_services(body: v.Body, settings: Settings, size: str) -> list[ServiceSpec]:
    """Each service of the multi-service form. Tenant-level `branch`, `resource_size`,
    `port`/`app_port`, `auto_deploy` and `registry_id` (image services) are the values of
    the services that omit them, top-level `volumes` are the primary's, and the primary
    (the one marked, else the first) is routable unless it says otherwise."""
    raw = body.data["services"]
    limit = settings.limits.services_per_tenant
    if not isinstance(raw, list) or not raw:
        body.fail("services", "must be a non-empty list of service definitions")
        return []
    if len(raw) > limit:
        body.fail("services", f"at most {limit} services per tenant")
        return []
    defaults = _defaults(body, size)
    marked = [i for i, item in enumerate(raw) if isinstance(item, dict) and item.get("is_primary") is True]
    primary = marked[0] if marked else 0
    volumes = body.data.get("volumes")
    if volumes is not None and isinstance(raw[primary], dict) and raw[primary].get("volumes") is not None:
        body.fail("volumes", f"give the primary service's volumes here or in services[{primary}], not both")
        volumes = None
    services: list[ServiceSpec] = []
    for index, item in enumerate(raw):
        given = _with_defaults(item, defaults, volumes if index == primary else None)
        where = f"services[{index}]."
        try:
            services.append(parse_service(given, settings, where=where, default_routable=index == primary))
        except ValidationError as exc:
            for key, message in exc.details.get("fields", {"services": exc.message}).items():
                body.fail(key if key.startswith("services") else f"services[{index}]", message)
    names = [s.name for s in services]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        body.fail("services", f"duplicate service names: {', '.join(duplicates)}")
    primaries = [s for s in services if s.is_primary]
    if len(primaries) > 1:
        body.fail("services", "at most one service may have is_primary: true")
    if services and not primaries:
        services[0] = replace(services[0], is_primary=True)
    return services


def parse_patch(payload: object) -> dict[str, Any]:
    body = v.Body(payload, PATCH_FIELDS)
    changes: dict[str, Any] = {}
    if "display_name" in body.data:
        changes["display_name"] = body.string("display_name", max_len=100)
    if body.has("branch"):
        changes["branch"] = body.check("branch", body.string("branch"), v.branch_name)
    if body.has("resource_size"):
        changes["resource_size"] = body.choice("resource_size", v.RESOURCE_SIZES)
    if body.has("egress_mode"):
        changes["egress_mode"] = body.choice("egress_mode", v.EGRESS_MODES)
    if body.has("app_port"):
        changes["app_port"] = body.integer("app_port", 1, 65535)
    for key in PATCH_FIELDS:
        if key in body.data and body.data[key] is None and key != "display_name":
            body.fail(key, "must not be null")
    body.done()
    return changes
