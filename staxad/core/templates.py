"""The template catalog: the TOML files shipped in staxad.templates, then the operator's
`templates.dir` (a file there with a shipped id replaces that template). Read once at
start; a bad file is skipped and reported (doctor lists it), never a crash."""

from __future__ import annotations

import logging
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from staxad.config import Settings
from staxad.model import templates as model
from staxad.model.errors import NotFound, ValidationError
from staxad.model.templates import Template

log = logging.getLogger("staxad.templates")


def load(settings: Settings) -> tuple[dict[str, Template], list[str]]:
    """(id -> template, problems as 'file: reason')."""
    found: dict[str, Template] = {}
    problems: list[str] = []
    shipped = sorted(
        (entry.name, entry.read_text())
        for entry in resources.files("staxad.templates").iterdir()
        if entry.name.endswith(".toml")
    )
    operator_dir = Path(settings.templates.dir)
    own: list[tuple[str, str]] = []
    if operator_dir.is_dir():
        for path in sorted(operator_dir.glob("*.toml")):
            try:
                own.append((str(path), path.read_text()))
            except (OSError, UnicodeDecodeError) as exc:
                problems.append(f"{path}: {exc}")
    for source, text in [*shipped, *own]:
        try:
            template = model.parse(tomllib.loads(text), source, settings.git.allow_local_repos)
        except (tomllib.TOMLDecodeError, ValueError) as exc:
            problems.append(f"{source}: {exc}")
            continue
        found[template.id] = template
    for problem in problems:
        log.warning("template skipped: %s", problem)
    return found, problems


class Templates:
    def __init__(self, settings: Settings) -> None:
        self.catalog, self.problems = load(settings)

    def all(self) -> list[Template]:
        return sorted(self.catalog.values(), key=lambda t: t.id)

    def get(self, template_id: str) -> Template:
        found = self.catalog.get(template_id)
        if found is None:
            raise NotFound(f"Template '{template_id[:64]}' not found.")
        return found

    def apply(self, payload: object) -> object:
        """A Create Tenant body with `template_id` filled from that template."""
        if not isinstance(payload, dict) or "template_id" not in payload:
            return payload
        asked: dict[str, Any] = payload
        template_id = asked["template_id"]
        if "services" in asked:
            raise ValidationError(
                "Invalid template_id.", {"fields": {"template_id": "is for the single-service form, not services[]"}}
            )
        if not isinstance(template_id, str) or template_id not in self.catalog:
            raise ValidationError(
                "Invalid template_id.", {"fields": {"template_id": "no such template; see GET /api/v1/templates"}}
            )
        return model.tenant_body(self.catalog[template_id], asked)
