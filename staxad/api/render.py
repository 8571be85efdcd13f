"""Records to the contract's JSON shapes."""

from __future__ import annotations

from typing import Any

from staxad.config import Settings
from staxad.model import names, validation
from staxad.model.ownership import Expected
from staxad.model.records import ApiKey, Deployment, Domain, Provider, Service, Tenant
from staxad.model.volumes import Backup, Restore, RetainedVolume, Volume


def tenant_url(settings: Settings, t: Tenant) -> str | None:
    return names.tenant_url(settings.domains.base_domain, settings.domains.https_port, t)


def provider(p: Provider, tenant_count: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"id": p.id, "email": p.email, "name": p.name}
    if tenant_count is not None:
        data["tenant_count"] = tenant_count
    data["created_at"] = p.created_at
    return data


def api_key(k: ApiKey) -> dict[str, Any]:
    return {
        "id": k.id,
        "name": k.name,
        "prefix": k.prefix,
        "mode": k.mode,
        "scopes": list(k.scopes),
        "expires_at": k.expires_at,
        "created_at": k.created_at,
        "parent_key_id": k.parent_key_id,
    }


def service(s: Service) -> dict[str, Any]:
    return {
        "id": s.id,
        "name": s.name,
        "source_type": s.source_type,
        "repo_url": validation.without_userinfo(s.repo_url) if s.repo_url else None,
        "branch": s.branch,
        "image_url": s.image_url,
        "status": s.status,
        "desired_state": s.desired_state,
        "registry_id": s.registry_id,
        "auto_deploy": s.auto_deploy,
        "is_primary": s.is_primary,
        "is_routable": s.is_routable,
        "port": s.port,
        "resource_size": s.resource_size,
        "created_at": s.created_at,
    }


def volume(x: Volume, t: Tenant) -> dict[str, Any]:
    return {
        "id": x.id,
        "name": x.name,
        "service": next((s.name for s in t.services if s.id == x.service_id), None),
        "mount_path": x.mount_path,
        "size_mb": x.size_mb,
        "used_bytes": x.used_bytes,
        "over_limit": x.over_limit,
        "retain": x.retain,
        "backup_schedule": x.backup_schedule,
        "keep_last": x.keep_last,
        "created_at": x.created_at,
    }


def retained_volume(x: RetainedVolume) -> dict[str, Any]:
    return {
        "id": x.id,
        "name": x.name,
        "size_mb": x.size_mb,
        "used_bytes": x.used_bytes,
        "retained": True,
        "retained_from": {"tenant_id": x.tenant_id, "tenant_name": x.tenant_name},
        "retained_at": x.retained_at,
    }


def backup(b: Backup) -> dict[str, Any]:
    return {
        "id": b.id,
        "volume_id": b.volume_id,
        "kind": b.kind,
        "status": b.status,
        "reason": b.reason,
        "pinned": b.pinned,
        "size_bytes": b.size_bytes,
        "sha256": b.sha256,
        "blocked_ms": b.blocked_ms,
        "created_at": b.created_at,
        "finished_at": b.finished_at,
    }


def restore(r: Restore) -> dict[str, Any]:
    return {
        "id": r.id,
        "volume_id": r.volume_id,
        "backup_id": r.backup_id,
        "status": r.status,
        "reason": r.reason,
        "created_at": r.created_at,
        "finished_at": r.finished_at,
    }


def tenant_summary(settings: Settings, t: Tenant) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "display_name": t.display_name,
        "status": t.status,
        "url": tenant_url(settings, t),
        "mode": t.mode,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    }


def domain(d: Domain, t: Tenant, want: Expected) -> dict[str, Any]:
    service = next((s.name for s in t.services if s.id == d.service_id), None)
    return {
        "id": d.id,
        "domain": d.domain,
        "is_primary": d.is_primary,
        "verified": d.verified,
        "ssl_status": d.ssl_status,
        "service": service,
        "verification": {
            "txt_name": want.txt_name,
            "txt_value": want.txt_value,
            "a": list(want.server_ips),
            "cname": want.platform_host,
        },
        "last_checked_at": d.last_checked_at,
        "check_error": d.check_error,
        "verified_at": d.verified_at,
        "created_at": d.created_at,
    }


def tenant(settings: Settings, t: Tenant, domains: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    primary = next((s for s in t.services if s.is_primary), None)
    return {
        **tenant_summary(settings, t),
        "status_reason": t.status_reason,
        "branch": t.branch,
        "resource_size": t.resource_size,
        "egress_mode": t.egress_mode,
        "app_port": primary.port if primary else None,
        "services": [service(s) for s in t.services],
        "domains": domains or [],
        "deployments": [],
    }


def deployment(d: Deployment, tenant_id: str) -> dict[str, Any]:
    return {
        "id": d.id,
        "service_name": d.service_name,
        "status": d.status,
        "stage": d.stage,
        "reason": d.reason,
        "branch": d.branch,
        "commit_sha": d.commit_sha,
        "commit_message": d.commit_message,
        "framework": d.framework,
        "build_duration_seconds": d.build_seconds,
        "image": d.image_ref,
        "rollback_from": d.rollback_from,
        "build_log_url": f"/api/v1/tenants/{tenant_id}/deployments/{d.id}/logs",
        "created_at": d.created_at,
        "started_at": d.started_at,
        "finished_at": d.finished_at,
    }
