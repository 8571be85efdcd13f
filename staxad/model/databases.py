"""Database engines staxad runs as services: their port, data path, env, start command
and the URL an app connects with. Pure.

Images come from config (`[databases]`); any image with the official images' interface
works: postgres reads POSTGRES_USER/POSTGRES_PASSWORD/POSTGRES_DB and keeps its data in
/var/lib/postgresql/data; redis is started through `sh` so its password stays in the env.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

REDIS_START = (
    'exec redis-server --port 6379 --dir /data --appendonly yes --protected-mode no --requirepass "$REDIS_PASSWORD"'
)


@dataclass(frozen=True)
class Engine:
    name: str
    port: int
    data_path: str
    url_key: str  # the env var a connection injects
    command: tuple[str, ...] | None = None


ENGINES = {
    "postgres": Engine("postgres", 5432, "/var/lib/postgresql/data", "DATABASE_URL"),
    "redis": Engine("redis", 6379, "/data", "REDIS_URL", ("sh", "-c", REDIS_START)),
}


@dataclass(frozen=True, slots=True)
class Database:
    id: str
    tenant_id: str
    service_id: str
    volume_id: str | None
    engine: str
    name: str
    version: str | None
    username: str
    created_at: str


@dataclass(frozen=True, slots=True)
class Connection:
    id: str
    database_id: str
    service_id: str
    env_key: str
    created_at: str


def env(engine: Engine, username: str, password: str, database: str) -> dict[str, str]:
    """What the engine's container gets to set itself up."""
    if engine.name == "postgres":
        return {"POSTGRES_USER": username, "POSTGRES_PASSWORD": password, "POSTGRES_DB": database}
    return {"REDIS_PASSWORD": password}


def url(engine: Engine, host: str, username: str, password: str, database: str) -> str:
    """How an app in the tenant's network reaches the database (the service name resolves there)."""
    secret = quote(password, safe="")
    if engine.name == "postgres":
        return f"postgresql://{quote(username, safe='')}:{secret}@{host}:{engine.port}/{quote(database, safe='')}"
    return f"redis://default:{secret}@{host}:{engine.port}/0"  # redis-cli 7.0 fails an empty user


def image(configured: str, version: str | None) -> str:
    """The configured image, at another tag when a version was asked for."""
    if not version:
        return configured
    repository = configured.rsplit("@", 1)[0]
    last = repository.rsplit("/", 1)[-1]
    if ":" in last:
        repository = repository[: repository.rfind(":")]
    return f"{repository}:{version}"
