"""The pure GitHub App rules: which URLs are repositories on the GitHub host (the token
boundary), webhook signatures, and which push payloads deploy."""

from __future__ import annotations

import pytest

from staxad.model.github import Push, parse_push, repo_path, signature, valid_signature

WEB = "https://github.com"


@pytest.mark.parametrize(
    ("url", "found"),
    [
        ("https://github.com/Acme/WebApp", "acme/webapp"),
        ("https://github.com/acme/webapp.git", "acme/webapp"),
        ("https://GitHub.com/acme/webapp/", "acme/webapp"),
        ("http://github.com/acme/webapp", None),
        ("https://github.com.evil.example/acme/webapp", None),
        ("https://evil.example/github.com/acme/webapp", None),
        ("https://x@github.com/acme/webapp", None),
        ("https://github.com:8443/acme/webapp", None),
        ("https://github.com/acme", None),
        ("https://github.com/acme/webapp/tree/main", None),
        ("https://github.com/../etc", None),
        ("https://github.com:bad/acme/webapp", None),
    ],
)
def test_only_repositories_on_the_github_host_are_named(url: str, found: str | None) -> None:
    assert repo_path(url, WEB) == found


def test_signatures_are_github_s_and_nothing_else_passes() -> None:
    body = b'{"zen": "hi"}'
    good = signature("s3cret", body)
    assert good.startswith("sha256=") and valid_signature("s3cret", body, good)
    for header in (None, "", good.upper(), good[:-1], signature("other", body)):
        assert not valid_signature("s3cret", body, header)
    assert not valid_signature("", body, signature("", body))  # no secret signs nothing


def test_only_branch_pushes_with_a_commit_deploy() -> None:
    base = {
        "ref": "refs/heads/feature/x",
        "after": "a" * 40,
        "repository": {"full_name": "Acme/App"},
        "installation": {"id": 7},
    }
    assert parse_push(base) == Push(7, "acme/app", "feature/x", "a" * 40)
    for changed in (
        {"ref": "refs/tags/v1"},
        {"after": "0" * 40},
        {"deleted": True},
        {"after": "zz"},
        {"installation": {"id": True}},
        {"installation": None},
        {"repository": {"full_name": "no-slash"}},
    ):
        assert parse_push({**base, **changed}) is None, changed
    assert parse_push([]) is None
