"""Template files checked one by one, and a template's defaults under what was asked."""

from __future__ import annotations

from typing import Any

import pytest

from staxad.model.templates import Template, parse, tenant_body

GOOD: dict[str, Any] = {
    "id": "tpl_site",
    "name": "Site",
    "framework": "static",
    "description": "A static site",
    "repo_url": "https://github.com/staxa/site",
    "default_port": 8080,
    "default_env": {"A": "1"},
}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"id": "site"}, "id must be tpl_"),
        ({"name": ""}, "name"),
        ({"framework": 3}, "framework"),
        ({"image_url": "localhost/app:1"}, "exactly one"),
        ({"repo_url": None}, "exactly one"),
        ({"repo_url": "--upload-pack=x"}, "not allowed"),
        ({"default_port": 0}, "default_port"),
        ({"default_port": True}, "default_port"),
        ({"default_env": {"1A": "x"}}, "not a valid variable name"),
        ({"extra": 1}, "unknown keys extra"),
    ],
)
def test_bad_template_files(change: dict[str, Any], problem: str) -> None:
    data = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    with pytest.raises(ValueError, match=problem):
        parse(data, "x.toml")


def test_a_good_template_file() -> None:
    t = parse(GOOD, "x.toml")
    assert (t.id, t.repo_url, t.default_port, t.default_env, t.source) == (
        "tpl_site",
        "https://github.com/staxa/site",
        8080,
        {"A": "1"},
        "x.toml",
    )


TEMPLATE = Template(
    "tpl_site", "Site", "static", "d", "https://github.com/staxa/site", None, 8080, {"A": "1", "B": "2"}
)


@pytest.mark.parametrize(
    ("asked", "want"),
    [
        (
            {"name": "t", "template_id": "tpl_site"},
            {
                "name": "t",
                "source_type": "github",
                "repo_url": "https://github.com/staxa/site",
                "port": 8080,
                "env": {"A": "1", "B": "2"},
            },
        ),
        (
            {"name": "t", "template_id": "tpl_site", "port": 9000, "env": {"B": "x", "C": "3"}},
            {
                "name": "t",
                "source_type": "github",
                "repo_url": "https://github.com/staxa/site",
                "port": 9000,
                "env": {"A": "1", "B": "x", "C": "3"},
            },
        ),
        (
            {"name": "t", "template_id": "tpl_site", "source_type": "image", "image_url": "localhost/a:1"},
            {
                "name": "t",
                "source_type": "image",
                "image_url": "localhost/a:1",
                "port": 8080,
                "env": {"A": "1", "B": "2"},
            },
        ),
        (
            {"name": "t", "template_id": "tpl_site", "app_port": 7000},
            {
                "name": "t",
                "source_type": "github",
                "repo_url": "https://github.com/staxa/site",
                "app_port": 7000,
                "env": {"A": "1", "B": "2"},
            },
        ),
    ],
)
def test_what_was_asked_wins_over_the_template(asked: dict[str, Any], want: dict[str, Any]) -> None:
    assert tenant_body(TEMPLATE, asked) == want
