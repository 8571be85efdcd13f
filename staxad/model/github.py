"""GitHub App facts that need no network: the installation record, which repository a
URL names on the configured GitHub host, webhook signatures and push payloads. Pure.

`repo_path` is the token boundary: a clone gets an installation token only when its URL
is https on exactly the configured host (and port), with no credentials in it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})$")
REPO = re.compile(r"^[A-Za-z0-9._-]{1,100}$")
SHA = re.compile(r"^[0-9a-f]{40}$")
DELIVERY = re.compile(r"^[A-Za-z0-9-]{1,64}$")
NO_COMMIT = "0" * 40  # a push that deleted the branch


@dataclass(frozen=True, slots=True)
class Installation:
    provider_id: str
    installation_id: int
    account: str
    status: str
    created_at: str


@dataclass(frozen=True, slots=True)
class Push:
    installation_id: int
    repo: str  # owner/name, lower case
    branch: str
    sha: str


def valid_name(owner: str, repo: str) -> bool:
    return bool(OWNER.match(owner)) and bool(REPO.match(repo)) and repo not in (".", "..")


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
    if not SHA.match(sha) or sha == NO_COMMIT or payload.get("deleted") is True:
        return None
    owner, _, name = full_name.partition("/")
    if not valid_name(owner, name):
        return None
    return Push(installation_id, full_name.lower(), ref.removeprefix("refs/heads/"), sha)
