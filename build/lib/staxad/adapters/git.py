"""Shallow clones of a tenant's repository, hardened against hostile input.

Only https (and, when the operator allows it, local paths and file://) transports are
enabled; no system or global git config is read; no credential prompt can hang a
build. Every user value is an argv element after `--` or a validated branch/commit
(see staxad.model.validation), never an option.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from staxad.adapters import proc
from staxad.model.errors import PermanentError


@dataclass(frozen=True)
class Commit:
    sha: str
    message: str


ENV = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_CONFIG_NOSYSTEM": "1",
    "GIT_CONFIG_GLOBAL": "/dev/null",
    "GIT_ASKPASS": "/bin/false",
    "HOME": "/nonexistent",
    "PATH": "/usr/bin:/bin",
    "LC_ALL": "C",
}


def _git(allow_local: bool) -> list[str]:
    allowed = ["-c", "protocol.allow=never", "-c", "protocol.https.allow=always"]
    if allow_local:
        allowed += ["-c", "protocol.file.allow=always"]
    return ["git", *allowed, "-c", "core.hooksPath=/dev/null", "-c", "advice.detachedHead=false"]


async def clone(url: str, branch: str, commit: str | None, dest: Path, *, allow_local: bool, timeout: float) -> Commit:
    git = _git(allow_local)
    # A pinned commit needs the branch's history; the head needs one commit only.
    depth = [] if commit else ["--depth", "1"]
    argv = [*git, "clone", "--quiet", "--single-branch", "--no-tags", *depth, "--branch", branch]
    await _run([*argv, "--", url, str(dest)], timeout, f"cloning {url} (branch {branch})")
    if commit:
        found = await proc.run([*git, "-C", str(dest), "cat-file", "-t", commit], env=ENV, timeout=timeout)
        if found.returncode != 0 or found.stdout.strip() != b"commit":
            raise PermanentError(f"commit {commit} is not on branch {branch} of {url}")
        await _run([*git, "-C", str(dest), "checkout", "--quiet", "--detach", commit], timeout, "checking out")
    shown = await proc.run([*git, "-C", str(dest), "log", "-1", "--format=%H%n%s"], env=ENV, timeout=timeout)
    sha, _, message = shown.check().stdout.decode(errors="replace").partition("\n")
    return Commit(sha.strip(), message.strip()[:500])


async def _run(argv: list[str], timeout: float, doing: str) -> None:
    try:
        result = await proc.run(argv, env=ENV, timeout=timeout)
    except TimeoutError:
        raise PermanentError(f"{doing} took longer than {timeout:.0f} s") from None
    if result.returncode != 0:
        error = result.stderr.decode(errors="replace").strip().splitlines()
        detail = "; ".join(line.removeprefix("fatal: ") for line in error[-3:]) or f"git exited {result.returncode}"
        raise PermanentError(f"{doing} failed: {detail}")
