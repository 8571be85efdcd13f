"""Frozen settings from a TOML file, overridden by STAXAD_<SECTION>_<KEY> variables.

Every setting has a default; `config/staxad.toml` documents each one (a test keeps
the two in step). Errors name the key and say what is expected.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import re
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from staxad.model.validation import IMAGE_REF

# GitHub's client ids are "Iv1." plus hex or "Iv23" plus base62; the set is kept loose
# for GitHub Enterprise, yet it goes into a form body so nothing else is let in.
CLIENT_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")


class ConfigError(Exception):
    pass


@dataclass(frozen=True)
class ServerSettings:
    host: str = "127.0.0.1"
    port: int = 8780
    max_body_bytes: int = 65536
    log_level: str = "info"
    shutdown_timeout: int = 10


@dataclass(frozen=True)
class StoreSettings:
    data_dir: str = "/var/lib/staxad"
    work_dir: str = "/var/lib/staxad-work"
    synchronous: str = "FULL"


@dataclass(frozen=True)
class DomainSettings:
    base_domain: str = "localhost"
    https_port: int = 443
    server_ip: str = ""
    nameservers: tuple[str, ...] = ()
    dns_port: int = 53
    dns_timeout_seconds: int = 3
    reverify_interval_minutes: int = 60
    allow_mixed_scripts: bool = False
    a_record_proves_ownership: bool = False
    unverified_claim_hours: int = 72


@dataclass(frozen=True)
class LimitSettings:
    tenants_per_provider: int = 25
    test_tenants_per_provider: int = 3
    services_per_tenant: int = 10
    env_vars_per_tenant: int = 200
    domains_per_tenant: int = 20
    streams_per_provider: int = 10
    streams_total: int = 200


@dataclass(frozen=True)
class RateLimitSettings:
    create_tenant: int = 10
    deploy: int = 20
    list_tenants: int = 60
    get_tenant: int = 120
    events: int = 10
    create_key: int = 5
    exec: int = 10
    default: int = 60
    unauthenticated: int = 120
    window_seconds: int = 60


@dataclass(frozen=True)
class GitSettings:
    allow_local_repos: bool = False
    clone_timeout_seconds: int = 120


@dataclass(frozen=True)
class NetworkSettings:
    enabled: bool = True
    node_port_min: int = 30000
    node_port_max: int = 32767
    min_prefix_v4: int = 16
    min_prefix_v4_outbound: int = 8
    max_cidrs: int = 20
    rules_per_tenant: int = 20


@dataclass(frozen=True)
class BuildSettings:
    timeout_seconds: int = 900
    max_repo_mb: int = 500
    max_image_mb: int = 4096
    keep_images: int = 5
    max_concurrent: int = 2
    max_log_mb: int = 20
    keep_logs: int = 20  # build logs kept per service: its newest deployments'
    max_files: int = 20000
    memory_mb: int = 2048
    cpu_percent: int = 100
    node_image: str = "docker.io/library/node:20-alpine"
    python_image: str = "docker.io/library/python:3.12-slim"
    go_image: str = "docker.io/library/golang:1.22-alpine"
    go_runtime_image: str = "docker.io/library/alpine:3.20"
    static_image: str = "docker.io/library/busybox:1.36"


@dataclass(frozen=True)
class RuntimeSettings:
    enabled: bool = True
    service_user: str = "staxa"
    podman_socket: str = ""
    health_timeout_seconds: int = 60
    reconcile_interval_seconds: int = 15
    container_log_mb: int = 10  # a container's log file, cut (by conmon) past this size
    insecure_registries: tuple[str, ...] = ()
    # Registries (host or host:port) staxad may call although they resolve to loopback,
    # private, link-local or CGNAT addresses or to this host; TLS is still verified.
    private_registries: tuple[str, ...] = ()
    # Docker Hub's API, which lists a Hub credential's repositories and tags (its
    # registry has no catalog); another value is a mirror's or a test's stand-in.
    docker_hub_api: str = "https://hub.docker.com"


@dataclass(frozen=True)
class EventSettings:
    retention_days: int = 30


@dataclass(frozen=True)
class ExecSettings:
    timeout_seconds: int = 300  # a command run through exec is killed past this
    max_output_kb: int = 1024  # and past this much output (stdout and stderr together)


@dataclass(frozen=True)
class VolumeSettings:
    per_tenant: int = 10
    max_size_mb: int = 102400
    measure_interval_seconds: int = 300
    keep_last: int = 7  # backups a volume keeps unless it says otherwise (pinned ones never count)
    backup_quota_mb: int = 20480  # bytes of backups a provider may keep, pinned included
    min_backup_interval_minutes: int = 60  # the shortest gap a backup_schedule may have
    backups_dir: str = ""  # where archives go ("": <data_dir>/volume-backups); may be another filesystem


@dataclass(frozen=True)
class WebhookSettings:
    per_provider: int = 10
    timeout_seconds: int = 10
    # Hosts (names or addresses) a webhook may target although they are loopback, private
    # or this host; http:// is allowed only to these.
    allow_private_targets: tuple[str, ...] = ()
    ca_file: str = ""  # extra CA bundle to trust for receivers with a private CA


@dataclass(frozen=True)
class GitHubSettings:
    app_id: int = 0  # 0: no GitHub App; the /github endpoints say what to configure
    private_key_file: str = ""  # the app's RSA private key (PEM), root's alone
    webhook_secret: str = ""
    webhook_secret_file: str = ""  # read at start; wins over webhook_secret
    api_url: str = "https://api.github.com"
    web_url: str = "https://github.com"  # where repositories are cloned from: the only host given a token
    ca_file: str = ""  # extra CA bundle (PEM) for the API and clones; a GitHub Enterprise or test stand-in
    client_id: str = ""  # the app's OAuth client: with a secret, a claim of an installation needs a code
    client_secret: str = ""
    client_secret_file: str = ""  # read at each use; wins over client_secret
    trust_installation_claims: bool = False  # without a client: accept unproven claims (one team only)
    app_slug: str = ""  # the app's name in its URL (github.com/apps/<slug>): GET /github/install links to it

    @property
    def configured(self) -> bool:
        return self.app_id > 0 and bool(self.private_key_file)

    @property
    def client_configured(self) -> bool:
        return bool(self.client_id) and bool(self.client_secret or self.client_secret_file)


@dataclass(frozen=True)
class TemplateSettings:
    dir: str = "/etc/staxad/templates.d"  # the operator's own templates, beside the shipped ones


@dataclass(frozen=True)
class DatabaseSettings:
    postgres_image: str = "docker.io/library/postgres:16"
    redis_image: str = "docker.io/library/redis:7"
    size_mb: int = 1024  # the data volume's size_mb unless asked
    backup_schedule: str = "daily@03:00"  # a new database's backups (UTC); "" for manual only


@dataclass(frozen=True)
class CaddySettings:
    mode: str = "managed"
    admin: str = ""
    user: str = "caddy"
    binary: str = "caddy"
    http_port: int = 80
    issuer: str = "internal"
    acme_email: str = ""


@dataclass(frozen=True)
class Settings:
    instance: str = "default"
    server: ServerSettings = field(default_factory=ServerSettings)
    store: StoreSettings = field(default_factory=StoreSettings)
    domains: DomainSettings = field(default_factory=DomainSettings)
    limits: LimitSettings = field(default_factory=LimitSettings)
    rate_limits: RateLimitSettings = field(default_factory=RateLimitSettings)
    git: GitSettings = field(default_factory=GitSettings)
    build: BuildSettings = field(default_factory=BuildSettings)
    network: NetworkSettings = field(default_factory=NetworkSettings)
    runtime: RuntimeSettings = field(default_factory=RuntimeSettings)
    caddy: CaddySettings = field(default_factory=CaddySettings)
    events: EventSettings = field(default_factory=EventSettings)
    exec: ExecSettings = field(default_factory=ExecSettings)
    volumes: VolumeSettings = field(default_factory=VolumeSettings)
    webhooks: WebhookSettings = field(default_factory=WebhookSettings)
    github: GitHubSettings = field(default_factory=GitHubSettings)
    templates: TemplateSettings = field(default_factory=TemplateSettings)
    databases: DatabaseSettings = field(default_factory=DatabaseSettings)
    source: str = "defaults"

    @property
    def data_dir(self) -> Path:
        return Path(self.store.data_dir)

    @property
    def database_path(self) -> Path:
        return self.data_dir / "staxad.db"

    @property
    def secret_key_path(self) -> Path:
        return self.data_dir / "secret.key"

    @property
    def work_root(self) -> Path:
        """Build checkouts and the managed Caddy's files: apart from data_dir (root only),
        because the service user and Caddy's user must reach their own parts of it."""
        return Path(self.store.work_dir) / self.instance

    @property
    def caddy_admin(self) -> str:
        """Caddy's admin endpoint, a unix socket in a folder only root and Caddy can enter."""
        return self.caddy.admin or f"unix//run/staxad-{self.instance}-caddy/admin.sock"

    @property
    def build_logs(self) -> Path:
        return self.data_dir / "build-logs"

    def build_log(self, deployment_id: str) -> Path:
        return self.build_logs / f"{deployment_id}.log"

    @property
    def backups_dir(self) -> Path:
        """Volume backups: root's (0700), under the data dir unless volumes.backups_dir says."""
        return Path(self.volumes.backups_dir) if self.volumes.backups_dir else self.data_dir / "volume-backups"

    @property
    def podman_socket(self) -> Path:
        return Path(self.runtime.podman_socket or f"/run/staxad-{self.instance}/podman.sock")

    @property
    def ask_url(self) -> str:
        """Where Caddy asks whether to get a certificate: staxad's own listener."""
        host = self.server.host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.server.port}/internal/tls/ask"


SCALARS = (str, int, bool)


def _sections() -> dict[str, type[Any]]:
    hints = typing.get_type_hints(Settings)
    return {f.name: hints[f.name] for f in dataclasses.fields(Settings) if dataclasses.is_dataclass(hints[f.name])}


def _coerce(where: str, kind: type[Any], value: object) -> object:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on", "0", "false", "no", "off"):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"Config '{where}' must be true or false, not {value!r}.")
    if kind is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lstrip("-").isdigit():
            return int(value)
        raise ConfigError(f"Config '{where}' must be an integer, not {value!r}.")
    if kind == tuple[str, ...]:
        items = value.split(",") if isinstance(value, str) else value  # env vars: comma-separated
        if not isinstance(items, list | tuple) or not all(isinstance(item, str) for item in items):
            raise ConfigError(f"Config '{where}' must be a list of strings, not {value!r}.")
        return tuple(item.strip() for item in items if item.strip())
    if not isinstance(value, str):
        raise ConfigError(f"Config '{where}' must be a string, not {value!r}.")
    return value


def _build(kind: type[Any], where: str, values: Mapping[str, object]) -> Any:
    hints = typing.get_type_hints(kind)
    known = {f.name for f in dataclasses.fields(kind)}
    for key in values:
        if key not in known:
            raise ConfigError(f"Config '{where}{key}' is not a setting; known: {', '.join(sorted(known))}.")
    args = {}
    for key, value in values.items():
        hint = hints[key]
        if isinstance(hint, types.UnionType):
            hint = next(a for a in typing.get_args(hint) if a is not type(None))
        args[key] = _coerce(where + key, hint, value)
    return kind(**args)


def load(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(Path(path).read_text())
        except FileNotFoundError:
            raise ConfigError(f"Config file '{path}' does not exist.") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"Config file '{path}' is not valid TOML: {exc}.") from None
    sections = _sections()
    top = {k: v for k, v in raw.items() if k not in sections}
    for key in top:
        if key not in ("instance",):
            raise ConfigError(f"Config '{key}' is not a setting; sections: {', '.join(sections)}.")
    merged: dict[str, dict[str, object]] = {name: dict(raw.get(name) or {}) for name in sections}
    for name in sections:
        if not isinstance(raw.get(name, {}), dict):
            raise ConfigError(f"Config '[{name}]' must be a table.")
    for var, value in environ.items():
        if not var.startswith("STAXAD_") or var in ("STAXAD_CONFIG",):
            continue
        rest = var[len("STAXAD_") :].lower()
        if rest == "instance":
            top["instance"] = value
            continue
        for name in sections:
            if rest.startswith(name + "_"):
                merged[name][rest[len(name) + 1 :]] = value
                break
    built = {name: _build(kind, f"{name}.", merged[name]) for name, kind in sections.items()}
    instance = _coerce("instance", str, top.get("instance", "default"))
    settings = Settings(instance=str(instance), source=str(path or "defaults"), **built)
    _check(settings)
    return settings


def _check(settings: Settings) -> None:
    if not settings.instance.replace("-", "").isalnum() or len(settings.instance) > 32:
        raise ConfigError("Config 'instance' must be up to 32 letters, digits or '-'.")
    if settings.store.synchronous.upper() not in ("NORMAL", "FULL", "EXTRA"):
        raise ConfigError("Config 'store.synchronous' must be NORMAL, FULL or EXTRA.")
    if settings.caddy.mode not in ("managed", "external"):
        raise ConfigError("Config 'caddy.mode' must be 'managed' (staxad starts Caddy) or 'external'.")
    if settings.caddy.issuer not in ("internal", "acme"):
        raise ConfigError("Config 'caddy.issuer' must be 'internal' or 'acme'.")
    for key in ("node_image", "python_image", "go_image", "go_runtime_image", "static_image"):
        if not IMAGE_REF.match(getattr(settings.build, key)):
            raise ConfigError(f"Config 'build.{key}' must be an image reference such as 'docker.io/library/node:20'.")
    n = settings.network
    if not 1 <= n.node_port_min <= n.node_port_max <= 65535:
        raise ConfigError("Config 'network.node_port_min'..'node_port_max' must be a port range, low to high.")
    if not 0 <= n.min_prefix_v4 <= 32:
        raise ConfigError("Config 'network.min_prefix_v4' must be between 0 and 32.")
    if not settings.caddy.admin.startswith("unix/") and settings.caddy.admin:
        raise ConfigError(
            "Config 'caddy.admin' must be a unix socket such as 'unix//run/caddy/admin.sock': a TCP admin "
            "endpoint can be rewritten by any local user, tenants' code included."
        )
    if settings.build.max_concurrent < 1 or settings.build.max_log_mb < 1 or settings.build.max_files < 1:
        raise ConfigError("Config 'build.max_concurrent', 'build.max_log_mb' and 'build.max_files' must be at least 1.")
    if not 0 <= n.min_prefix_v4_outbound <= 32:
        raise ConfigError("Config 'network.min_prefix_v4_outbound' must be between 0 and 32.")
    if settings.build.keep_images < 1:
        raise ConfigError("Config 'build.keep_images' must be at least 1 (the running image).")
    for server in settings.domains.nameservers:
        try:
            ipaddress.ip_address(server)
        except ValueError:
            raise ConfigError(f"Config 'domains.nameservers' must list IP addresses, not {server!r}.") from None
    if settings.domains.server_ip:
        try:
            ipaddress.ip_address(settings.domains.server_ip)
        except ValueError:
            raise ConfigError("Config 'domains.server_ip' must be an IP address.") from None
    if settings.domains.unverified_claim_hours < 1:
        raise ConfigError("Config 'domains.unverified_claim_hours' must be at least 1.")
    if not 1 <= settings.limits.streams_per_provider <= settings.limits.streams_total:
        raise ConfigError("Config 'limits.streams_per_provider' must be at least 1 and at most 'limits.streams_total'.")
    if settings.events.retention_days < 0:
        raise ConfigError("Config 'events.retention_days' must be 0 (prune at once) or more.")
    if settings.server.shutdown_timeout < 2:
        raise ConfigError("Config 'server.shutdown_timeout' must be at least 2 (seconds).")
    if not 1 <= settings.server.port <= 65535:
        raise ConfigError("Config 'server.port' must be between 1 and 65535.")
    github = settings.github
    if not github.api_url.startswith("https://"):
        raise ConfigError(f"Config 'github.api_url' must be an https:// URL, not {github.api_url!r}.")
    if not github.web_url.startswith("https://") or github.web_url.rstrip("/").count("/") != 2:
        raise ConfigError(f"Config 'github.web_url' must be https://<host> without a path, not {github.web_url!r}.")
    if github.app_id < 0:
        raise ConfigError("Config 'github.app_id' must be the app's numeric id (0 for none).")
    _check_github_client(github)


def _check_github_client(github: GitHubSettings) -> None:
    if github.client_id and not CLIENT_ID.fullmatch(github.client_id):
        raise ConfigError("Config 'github.client_id' must be the app's Client ID (letters, digits, '.', '_', '-').")
    if bool(github.client_id) != bool(github.client_secret or github.client_secret_file):
        raise ConfigError(
            "Config 'github.client_id' and 'github.client_secret' (or 'github.client_secret_file') go together: "
            "set both, from the app's settings page, or neither."
        )
    if github.client_secret_file:
        try:
            readable = bool(Path(github.client_secret_file).read_text().strip())
        except (OSError, UnicodeDecodeError):
            readable = False
        if not readable:
            where = github.client_secret_file
            raise ConfigError(f"Config 'github.client_secret_file' ({where}) cannot be read or is empty.")
    if github.client_id and github.trust_installation_claims:
        raise ConfigError(
            "Config 'github.trust_installation_claims' is for a host without github.client_id; with a client, "
            "every claim is proven by a code, so remove one of the two."
        )


def settings_keys() -> list[str]:
    """Every setting as 'section.key' (and 'instance'), for the docs test."""
    keys = ["instance"]
    for name, kind in _sections().items():
        keys.extend(f"{name}.{f.name}" for f in dataclasses.fields(kind))
    return keys
