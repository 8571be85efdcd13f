"""Templates: what a quick-start tenant is made from. The catalog is data (TOML files);
this checks one file's content and turns a template into tenant defaults. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from staxad.model import validation as v

ID = re.compile(r"^tpl_[a-z0-9_]{1,40}$")
KEYS = {"id", "name", "framework", "description", "repo_url", "image_url", "default_env", "default_port"}


@dataclass(frozen=True)
class Template:
    id: str
    name: str
    framework: str
    description: str
    repo_url: str | None
    image_url: str | None
    default_port: int
    default_env: dict[str, str] = field(default_factory=dict)
    source: str = ""  # the file it came from


def parse(data: dict[str, Any], source: str, allow_local_repos: bool = False) -> Template:
    """One template file's table; ValueError naming the first problem."""
    unknown = sorted(set(data) - KEYS)
    if unknown:
        raise ValueError(f"unknown keys {', '.join(unknown)}")
    ident = data.get("id")
    if not isinstance(ident, str) or not ID.fullmatch(ident):
        raise ValueError("id must be tpl_ followed by 1-40 lowercase letters, digits or '_'")
    texts = {key: data.get(key) for key in ("name", "framework", "description")}
    for key, value in texts.items():
        if not isinstance(value, str) or not value.strip() or len(value) > 200 or v.CONTROL.search(value):
            raise ValueError(f"{key} must be a non-empty string of at most 200 characters")
    repo, image = data.get("repo_url"), data.get("image_url")
    if (repo is None) == (image is None):
        raise ValueError("give exactly one of repo_url and image_url")
    if repo is not None:
        if not isinstance(repo, str):
            raise ValueError("repo_url must be a string")
        v.repo_url(repo, allow_local_repos)
    if image is not None:
        if not isinstance(image, str):
            raise ValueError("image_url must be a string")
        v.image_ref(image)
    port = data.get("default_port", 3000)
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise ValueError("default_port must be an integer from 1 to 65535")
    env = v.env_map(data.get("default_env", {}))
    return Template(ident, texts["name"], texts["framework"], texts["description"], repo, image, port, env, source)  # type: ignore[arg-type]


def tenant_body(template: Template, asked: dict[str, Any]) -> dict[str, Any]:
    """A Create Tenant body from the template's defaults and what was asked; what was
    asked wins, and env is merged key by key."""
    body: dict[str, Any] = {
        "source_type": "github" if template.repo_url else "image",
        "port": template.default_port,
        **({"repo_url": template.repo_url} if template.repo_url else {"image_url": template.image_url}),
    }
    if "app_port" in asked:
        body.pop("port")
    if "source_type" in asked:  # a different source replaces the template's
        body = {k: val for k, val in body.items() if k not in ("source_type", "repo_url", "image_url")}
    body.update({k: val for k, val in asked.items() if k not in ("template_id", "env")})
    sent = asked.get("env")
    if isinstance(sent, dict):
        body["env"] = {**template.default_env, **sent}
    elif sent is not None:
        body["env"] = sent  # not an object: the parser says so
    elif template.default_env:
        body["env"] = dict(template.default_env)
    return body
