"""The pure GitHub App rules: what proof a claim of an installation needs (the ownership
boundary), which URLs are repositories on the GitHub host (the token boundary), webhook
signatures, and which push payloads deploy."""

from __future__ import annotations

import pytest

from staxad.model.github import (
    ADMIN_ONLY,
    REFUSED,
    Access,
    Account,
    Membership,
    Proof,
    Push,
    claim_proof,
    claim_refusal,
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


ALICE = 101  # the code's user
ORG = Account("acme-org", 9001, "Organization")
ADMIN = Membership(200, "active", "admin")


@pytest.mark.parametrize(
    ("account", "membership", "refused"),
    [
        (Account("alice", ALICE, "User"), None, None),  # her own account
        (ORG, ADMIN, None),
        (None, None, "cannot access installation 7"),  # not among her installations
        (Account("bob", 102, "User"), None, "on the GitHub user account bob, not on alice"),  # a collaborator
        (Account("alice", 102, "User"), None, "on the GitHub user account alice"),  # a renamed or reused login
        (Account("bob", 102, "User"), ADMIN, "on the GitHub user account bob"),  # memberships prove nothing there
        (ORG, Membership(200, "active", "member"), "not an active admin of it (GitHub says: active member)"),
        (ORG, Membership(200, "active", "billing_manager"), "not an active admin"),
        (ORG, Membership(200, "pending", "admin"), "(GitHub says: pending admin)"),  # an invitation not accepted
        (ORG, Membership(200, "active", "Admin"), "not an active admin"),  # exactly GitHub's word, nothing like it
        (ORG, Membership(404), "alice is not a member of it"),  # an outside collaborator
        (ORG, None, "alice is not a member of it"),
        (ORG, Membership(403), "would not show alice's membership in it (403: "),
        (Account("acme-ent", 9002, "Enterprise"), ADMIN, "of type 'Enterprise'"),
        (Account("alice", ALICE, "Bot"), None, "of type 'Bot'"),  # the right id on the wrong kind of account
        (Account("acme-org", ALICE, "Organization"), None, "alice is not a member of it"),  # ids are not roles
    ],
)
def test_only_the_account_itself_or_an_active_org_admin_may_claim(
    account: Account | None, membership: Membership | None, refused: str | None
) -> None:
    why = claim_refusal(Access("alice", ALICE, account, membership), 7)
    if refused is None:
        assert why is None
    else:
        assert why is not None and refused in why and why.endswith(ADMIN_ONLY)
        assert "account itself, or an active admin of its organization" in why and "authorize_url" in why


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
