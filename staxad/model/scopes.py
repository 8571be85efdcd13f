"""API key scopes.

`*` grants every scope except `admin`, `secrets:read` and `exec`; `admin` (the host
operator's), `secrets:read` (reading secret env values) and `exec` (running commands in a
tenant's containers) must be given explicitly. A key may only
mint keys whose scopes it holds itself.
"""

from __future__ import annotations

from collections.abc import Iterable

SCOPES: dict[str, str] = {
    "account": "read and update the provider account",
    "keys": "list, create and revoke API keys",
    "tenants:read": "list and read tenants, services, env, deployments, events and logs",
    "tenants:write": "create, update and delete tenants, services and env",
    "deploy": "trigger deployments and rollbacks",
    "domains": "add, verify and delete custom domains",
    "network": "create and delete network rules",
    "registries": "save, verify and browse private registry credentials",
    "github": "register the GitHub App installation and list its repositories and branches",
    "webhooks": "register, change and delete webhook endpoints and see their deliveries",
    "secrets:read": "reveal secret env values with reveal=true (never included in '*')",
    "exec": "run commands in a tenant's containers, which can print every secret (never included in '*')",
    "admin": "register providers on this host (never included in '*')",
}
WILDCARD = "*"
ADMIN = "admin"
SECRETS_READ = "secrets:read"
EXEC = "exec"
EXPLICIT = frozenset({ADMIN, SECRETS_READ, EXEC})  # held only when named


def grants(held: Iterable[str], needed: str) -> bool:
    held_set = set(held)
    if needed in held_set:
        return True
    return needed not in EXPLICIT and WILDCARD in held_set


def unknown(requested: Iterable[str]) -> list[str]:
    return [s for s in requested if s != WILDCARD and s not in SCOPES]


def exceeding(requested: Iterable[str], held: Iterable[str]) -> list[str]:
    """The requested scopes that the creator's own scopes do not cover."""
    held_list = list(held)
    missing = []
    for scope in requested:
        if scope == WILDCARD:
            if WILDCARD not in held_list:
                missing.append(scope)
        elif not grants(held_list, scope):
            missing.append(scope)
    return missing
