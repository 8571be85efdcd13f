"""Stored records as immutable values. Rows become records in staxad.store only."""

from __future__ import annotations

from dataclasses import dataclass, field

from staxad.model.lifecycle import ServiceStatus, TenantStatus

TENANT_STATUSES = tuple(TenantStatus)
SERVICE_STATUSES = tuple(ServiceStatus)


@dataclass(frozen=True, slots=True)
class Provider:
    id: str
    email: str
    name: str | None
    tenant_limit: int | None
    created_at: str
    updated_at: str


@dataclass(frozen=True, slots=True)
class ApiKey:
    id: str
    provider_id: str
    name: str
    prefix: str
    mode: str
    scopes: tuple[str, ...]
    expires_at: str | None
    created_at: str
    parent_key_id: str | None = None  # the key that minted it (None: the operator's, or made before it was kept)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: the key's provider, mode and scopes."""

    provider_id: str
    key_id: str
    mode: str
    scopes: tuple[str, ...]
    expires_at: str | None = None  # the key's own expiry: no key it mints outlives it


@dataclass(frozen=True, slots=True)
class Service:
    id: str
    tenant_id: str
    name: str
    source_type: str
    repo_url: str | None
    branch: str
    image_url: str | None
    port: int
    is_primary: bool
    is_routable: bool
    resource_size: str
    priority: int
    status: str
    created_at: str
    updated_at: str
    desired_state: str = "running"  # 'stopped' after POST .../stop, until a start or a deploy
    restart_requested_at: str | None = None
    registry_id: str | None = None  # the credential its image is pulled with
    auto_deploy: bool = True  # a push to its branch deploys it (a github service of an installation)


@dataclass(frozen=True, slots=True)
class Tenant:
    id: str
    provider_id: str
    name: str
    display_name: str | None
    mode: str
    status: str
    status_reason: str | None
    branch: str
    resource_size: str
    egress_mode: str
    generation: int
    created_at: str
    updated_at: str
    services: tuple[Service, ...] = field(default=())
    primary_domain: str | None = None  # verified and primary: what the tenant's url shows
    userns_slot: int | None = None  # its block of ids (staxad.model.userns); None: block 0


@dataclass(frozen=True, slots=True)
class Event:
    id: int
    tenant_id: str
    type: str
    stage: str | None
    message: str
    deployment_id: str | None
    service_name: str | None
    created_at: str


@dataclass(frozen=True, slots=True)
class Page:
    limit: int
    offset: int


@dataclass(frozen=True, slots=True)
class Domain:
    id: str
    tenant_id: str
    service_id: str | None
    domain: str
    is_primary: bool
    verified: bool
    ssl_status: str  # pending -> provisioning -> active
    token: str
    verified_at: str | None
    last_checked_at: str | None
    check_error: str | None
    created_at: str


@dataclass(frozen=True, slots=True)
class Deployment:
    id: str
    tenant_id: str
    service_id: str
    service_name: str
    status: str
    stage: str
    reason: str | None
    branch: str | None
    commit_sha: str | None
    commit_message: str | None
    framework: str | None
    build_seconds: float | None
    image_ref: str | None
    container_name: str | None
    host_port: int | None
    rollback_from: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
