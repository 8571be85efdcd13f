"""GitHub App facts that need no network: the installation record, what proof a claim
of an installation needs, which repository a URL names on the configured GitHub host,
webhook signatures and push payloads. Pure.

`claim_proof` and `claim_refusal` are the ownership boundary: installation ids are small
guessable integers, so a claim is accepted only with an OAuth code whose GitHub user *is*
the installation's user account or an active admin of its organization, unless the
operator declared the host single-team. Access alone is not enough: GitHub lists an
installation to anyone with read access to one of its repositories.
`repo_path` is the token boundary: a clone gets an installation token only when its URL
is https on exactly the configured host (and port), with no credentials in it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import Enum
from urllib.parse import urlsplit

OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
REPO = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
SHA = re.compile(r"^[0-9a-f]{40}$")
DELIVERY = re.compile(r"[A-Za-z0-9-]{1,64}")
NO_COMMIT = "0" * 40  # a push that deleted the branch
# GitHub's codes are 20 hex digits today; the wider set leaves room for a format change
# while keeping anything that could smuggle syntax into a form body out.
OAUTH_CODE = re.compile(r"[A-Za-z0-9_.-]{1,100}")


class Proof(Enum):
    CODE = "code"  # exchange the code; the installation must be among its user's
    TRUSTED = "trusted"  # the operator vouches for every provider: a single-team host
    MISSING_CODE = "missing_code"  # refused
    UNPROVABLE = "unprovable"  # refused


REFUSED = {
    Proof.MISSING_CODE: (
        "Registering an installation needs proof that you can use it: send the 'code' GitHub "
        "adds to the app's callback URL, beside the installation_id, when you install the app "
        "(or when you authorize it again at authorize_url), within ten minutes."
    ),
    Proof.UNPROVABLE: (
        "This host cannot check who may use an installation, so it registers none. The "
        "operator either sets github.client_id and github.client_secret (the app's OAuth "
        "credentials, with 'Request user authorization (OAuth) during installation' on), "
        "after which a 'code' from the install proves access, or, on a host with a single "
        "team only, sets github.trust_installation_claims = true."
    ),
}

# Reading one repository of an organization is not owning its installation.
ADMIN_ONLY = (
    "The GitHub user who authorizes the code must be the installation's account itself, or an "
    "active admin of its organization: authorize the app at authorize_url as that user for a fresh code."
)


@dataclass(frozen=True, slots=True)
class Installation:
    provider_id: str
    installation_id: int
    account: str
    status: str
    created_at: str


@dataclass(frozen=True, slots=True)
class Account:
    """The account an installation is on, as GitHub's `account` object names it."""

    login: str
    id: int
    type: str  # "User" or "Organization"; anything else is refused


@dataclass(frozen=True, slots=True)
class Membership:
    """GitHub's answer to `GET /user/memberships/orgs/{org}`: 200 with a state and a role,
    404 (not a member, or not visible), or 403 (the organization blocks the app, or the app
    lacks the Members: read organization permission that the endpoint needs)."""

    status: int
    state: str = ""
    role: str = ""


@dataclass(frozen=True, slots=True)
class Access:
    """What an OAuth code's user is to one installation of the app."""

    user_login: str
    user_id: int
    account: Account | None  # None: the installation is not among the user's
    membership: Membership | None = None  # asked only for an organization's installation


@dataclass(frozen=True, slots=True)
class Push:
    installation_id: int
    repo: str  # owner/name, lower case
    branch: str
    sha: str
    pushed_at: int  # Unix seconds, signed with the rest: a replay older than the memory of deliveries is refused


def claim_proof(client_configured: bool, trust_claims: bool, has_code: bool) -> Proof:
    """What a claim of an installation must show on this host; a refusal is in REFUSED."""
    if client_configured:
        return Proof.CODE if has_code else Proof.MISSING_CODE
    return Proof.TRUSTED if trust_claims else Proof.UNPROVABLE


def claim_refusal(access: Access, installation_id: int) -> str | None:
    """Why the code's user may not claim the installation, or None when they may: only the
    installation's user account itself, or an active admin of its organization."""
    account, user = access.account, access.user_login
    if account is None:
        why = f"The GitHub user who authorized this code ({user}) cannot access installation {installation_id}."
    elif account.type == "User":
        if account.id == access.user_id:
            return None
        why = f"Installation {installation_id} is on the GitHub user account {account.login}, not on {user}."
    elif account.type == "Organization":
        if _active_admin(access.membership):
            return None
        on = f"Installation {installation_id} is on the organization {account.login}"
        why = f"{on}, and {_not_admin(access.membership, user)}"
    else:
        why = f"Installation {installation_id} is on a GitHub account of type {account.type[:40]!r}."
    return f"{why} {ADMIN_ONLY}"


def _active_admin(membership: Membership | None) -> bool:
    return membership is not None and (membership.status, membership.state, membership.role) == (200, "active", "admin")


def _not_admin(membership: Membership | None, user: str) -> str:
    if membership is not None and membership.status == 200:
        return f"{user} is not an active admin of it (GitHub says: {membership.state[:20]} {membership.role[:20]})."
    if membership is not None and membership.status == 403:
        return (
            f"GitHub would not show {user}'s membership in it (403: the organization blocks the app, "
            "or the app lacks the organization permission Members: read)."
        )
    return f"{user} is not a member of it."


def oauth_code(value: str) -> str:
    if not OAUTH_CODE.fullmatch(value):  # not match() with '$', which passes a trailing newline
        raise ValueError("must be the code GitHub put in the callback URL: up to 100 letters, digits, '_', '.' or '-'")
    return value


def valid_name(owner: str, repo: str) -> bool:
    # fullmatch: match() with '$' passes a trailing newline, which httpx then refuses (a 500)
    return bool(OWNER.fullmatch(owner)) and bool(REPO.fullmatch(repo)) and repo not in (".", "..")


def host_of(url: str) -> str:
    parts = urlsplit(url)
    return (parts.hostname or "").lower() + (f":{parts.port}" if parts.port else "")


def repo_path(url: str, web_url: str) -> str | None:
    """`owner/name` (lower case) when `url` is a repository on the GitHub host at `web_url`."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError:
        return None
    if parts.scheme != "https" or parts.username or parts.password or parts.query or parts.fragment:
        return None
    if host_of(url) != host_of(web_url):
        return None
    path = parts.path.strip("/").removesuffix(".git")
    owner, _, name = path.partition("/")
    return f"{owner}/{name}".lower() if valid_name(owner, name) else None


def signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def valid_signature(secret: str, body: bytes, header: str | None) -> bool:
    """GitHub's X-Hub-Signature-256, compared in constant time; no secret signs nothing."""
    if not secret or not header:
        return False
    return hmac.compare_digest(signature(secret, body).encode(), header.strip().encode())


def parse_push(payload: object) -> Push | None:
    """The push a `push` delivery describes, or None for one that deploys nothing (a tag,
    a deleted branch, a payload missing what a push carries)."""
    if not isinstance(payload, dict):
        return None
    installation = payload.get("installation")
    repository = payload.get("repository")
    ref, sha = payload.get("ref"), payload.get("after")
    if not isinstance(installation, dict) or not isinstance(repository, dict):
        return None
    installation_id, full_name = installation.get("id"), repository.get("full_name")
    if not isinstance(installation_id, int) or isinstance(installation_id, bool) or not isinstance(full_name, str):
        return None
    if not isinstance(ref, str) or not ref.startswith("refs/heads/") or not isinstance(sha, str):
        return None
    if not SHA.fullmatch(sha) or sha == NO_COMMIT or payload.get("deleted") is True:
        return None
    owner, _, name = full_name.partition("/")
    if not valid_name(owner, name):
        return None
    pushed_at = repository.get("pushed_at")  # a push event's is Unix seconds
    if not isinstance(pushed_at, int) or isinstance(pushed_at, bool):
        return None
    return Push(installation_id, full_name.lower(), ref.removeprefix("refs/heads/"), sha, pushed_at)


def body_key(body: bytes) -> str:
    """A delivery's key by content: the signature covers the body only, not the
    X-GitHub-Delivery header, so a signed body resent under a new delivery id is the
    same delivery."""
    return "sha256:" + hashlib.sha256(body).hexdigest()


STATE_PREFIX = "github-install"


def state_text(key_id: str, expires: int) -> str:
    """What an installation `state` seals: the key it was made for and its expiry (unix)."""
    return f"{STATE_PREFIX}:{key_id}:{expires}"


def read_state(text: str) -> tuple[str, int]:
    """(key id, expiry) of an opened state; ValueError for anything else."""
    prefix, key_id, expires = text.split(":")
    if prefix != STATE_PREFIX or not key_id or not expires.isdigit():
        raise ValueError("not an installation state")
    return key_id, int(expires)
