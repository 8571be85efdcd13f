"""The pure GitHub App rules: what proof a claim of an installation needs (the ownership
boundary), which URLs are repositories on the GitHub host (the token boundary), webhook
signatures, and which push payloads deploy."""

from __future__ import annotations

import pytest

from staxad.model.github import (
    REFUSED,
    Proof,
    Push,
    claim_proof,
    oauth_code,
    parse_push,
    repo_path,
    signature,
    valid_signature,
)

WEB = "https://github.com"


@pytest.mark.parametrize(
    ("client", "trust", "code", "proof"),
    [
        (True, False, True, Proof.CODE),
        (True, False, False, Proof.MISSING_CODE),
        (True, True, True, Proof.CODE),  # a host that can check always checks
        (True, True, False, Proof.MISSING_CODE),
        (False, False, True, Proof.UNPROVABLE),  # a code nobody can check proves nothing
        (False, False, False, Proof.UNPROVABLE),
        (False, True, True, Proof.TRUSTED),
        (False, True, False, Proof.TRUSTED),
    ],
)
def test_a_claim_needs_a_code_unless_the_operator_trusts_every_claim(
    client: bool, trust: bool, code: bool, proof: Proof
) -> None:
    assert claim_proof(client, trust, code) is proof


def test_each_refusal_says_what_to_do() -> None:
    assert set(REFUSED) == {Proof.MISSING_CODE, Proof.UNPROVABLE}
    assert "'code'" in REFUSED[Proof.MISSING_CODE] and "installation_id" in REFUSED[Proof.MISSING_CODE]
    unprovable = REFUSED[Proof.UNPROVABLE]
    assert "github.client_id" in unprovable and "github.client_secret" in unprovable
    assert "github.trust_installation_claims = true" in unprovable and "single team" in unprovable


@pytest.mark.parametrize("code", ["0123456789abcdef0123", "a", "A_b.c-d", "x" * 100])
def test_codes_in_github_s_alphabet_pass(code: str) -> None:
    assert oauth_code(code) == code


@pytest.mark.parametrize("code", ["", "x" * 101, "a b", "a&client_id=x", "a\n", "a/b", "é"])
def test_other_codes_are_refused(code: str) -> None:
    with pytest.raises(ValueError, match="callback URL"):
        oauth_code(code)


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
        "repository": {"full_name": "Acme/App", "pushed_at": 1_700_000_000},
        "installation": {"id": 7},
    }
    assert parse_push(base) == Push(7, "acme/app", "feature/x", "a" * 40, 1_700_000_000)
    for changed in (
        {"ref": "refs/tags/v1"},
        {"after": "0" * 40},
        {"deleted": True},
        {"after": "zz"},
        {"installation": {"id": True}},
        {"installation": None},
        {"repository": {"full_name": "no-slash", "pushed_at": 1}},
        {"repository": {"full_name": "Acme/App"}},  # no pushed_at: its age cannot be told
        {"repository": {"full_name": "Acme/App\n", "pushed_at": 1}},
        {"after": "a" * 40 + "\n"},
    ):
        assert parse_push({**base, **changed}) is None, changed
    assert parse_push([]) is None
