"""Clones of a tenant's repository, as the service user, hardened against hostile input.

Only https (and, when the operator allows it, local paths and file://) transports are
enabled; no system config is read; no credential prompt can hang a build. Every user
value is an argv element after `--` or a validated branch/commit (see
staxad.model.validation), never an option.

git runs as the service user in a folder that user owns, never as root: a repository is
tenant input, and root must not write or follow anything in it. The clone is bounded
before a single file is checked out: the downloaded pack by RLIMIT_FSIZE, the tree by
`ls-tree` (file count and total size), so neither a huge history nor a compression bomb
reaches the disk.
"""

from __future__ import annotations

import base64
import signal
from dataclasses import dataclass, field
from pathlib import Path

from staxad.adapters import proc
from staxad.model.errors import PermanentError


@dataclass(frozen=True)
class Commit:
    sha: str
    message: str


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_files: int
    timeout: float


def environment(global_config: str) -> dict[str, str]:
    return {
        "GIT_TERMINAL_PROMPT": "0",
        "GIT_CONFIG_NOSYSTEM": "1",
        "GIT_CONFIG_GLOBAL": global_config,
        "GIT_ASKPASS": "/bin/false",
        "HOME": "/nonexistent",
        "PATH": "/usr/bin:/bin",
        "LC_ALL": "C",
    }


@dataclass(frozen=True)
class HostToken:
    """A token git sends to one host only (`site`, as https://host[:port]): a GitHub App
    installation token. It reaches git through GIT_CONFIG_* variables, never argv (which
    every local user can read in /proc), scoped by git's own URL matching to `site`, with
    redirects off so no other host can be handed it."""

    site: str
    token: str = field(repr=False)
    ca_file: str = ""

    def config(self) -> dict[str, str]:
        basic = base64.b64encode(f"x-access-token:{self.token}".encode()).decode()
        site = self.site.rstrip("/") + "/"
        pairs = [(f"http.{site}.extraHeader", f"Authorization: Basic {basic}"), ("http.followRedirects", "false")]
        if self.ca_file:
            pairs.append((f"http.{site}.sslCAInfo", self.ca_file))
        env = {"GIT_CONFIG_COUNT": str(len(pairs))}
        for index, (key, value) in enumerate(pairs):
            env[f"GIT_CONFIG_KEY_{index}"] = key
            env[f"GIT_CONFIG_VALUE_{index}"] = value
        return env

    def covers(self, url: str) -> bool:
        return url.startswith(self.site.rstrip("/") + "/")


READING = "reading the repository"
SUBJECT = 500  # characters of a commit's subject kept
LISTED_BYTES_PER_FILE = 1024  # of `ls-tree -r -l` output read per allowed file: its path and more
OUTPUT_READ = 1 << 16  # of any other git command's output

# Local repositories (operator-allowed only) belong to someone else than the service user;
# git refuses to serve them unless this is in its global config.
LOCAL_CONFIG = "[safe]\n\tdirectory = *\n"


def _git(allow_local: bool) -> list[str]:
    allowed = ["-c", "protocol.allow=never", "-c", "protocol.https.allow=always"]
    if allow_local:
        allowed += ["-c", "protocol.file.allow=always"]
    return ["git", *allowed, "-c", "core.hooksPath=/dev/null", "-c", "advice.detachedHead=false"]


class Git:
    def __init__(self, user: str, allow_local: bool, local_config: Path | None) -> None:
        self.prefix = proc.as_user(user)
        self.allow_local = allow_local
        self.env = environment(str(local_config) if allow_local and local_config else "/dev/null")

    async def clone(
        self,
        url: str,
        branch: str,
        commit: str | None,
        work: Path,
        limits: Limits,
        token: HostToken | None = None,
    ) -> Commit:
        """Check `url` out into `work`/repo, its history kept in `work`/git (two empty
        folders the service user owns): the checkout gets no `.git`, which a build would
        copy, and nothing needs removing before it is built. The tree is checked against
        the limits before a file is written. `token` is used only if it covers `url`."""
        # Only the clone itself talks to the host: the token is in its environment alone.
        env = {**self.env, **(token.config() if token and token.covers(url) else {})}
        return await self._clone(url, branch, commit, work, limits, env)

    async def _clone(
        self, url: str, branch: str, commit: str | None, work: Path, limits: Limits, env: dict[str, str]
    ) -> Commit:
        dest, history = work / "repo", work / "git"
        git = [*self.prefix, *_git(self.allow_local)]
        # A pinned commit needs the branch's history; the head needs one commit only.
        depth = [] if commit else ["--depth", "1"]
        argv = [*git, "clone", "--quiet", "--bare", "--single-branch", "--no-tags", *depth, "--branch", branch]
        await self._run([*argv, "--", url, str(history)], limits, f"cloning {url} (branch {branch})", env)
        in_history = [*git, "--git-dir", str(history)]
        target = commit or "HEAD"
        if commit:
            found = await self._exec([*in_history, "cat-file", "-t", commit], limits, READING, self.env, check=False)
            if found.returncode != 0 or found.stdout.strip() != b"commit":
                raise PermanentError(f"commit {commit} is not on branch {branch} of {url}")
        # Both outputs grow with what the tenant committed (a tree of shared subtrees lists
        # billions of paths from a small pack): they are read up to a bound only.
        listed = limits.max_files * LISTED_BYTES_PER_FILE
        too_long = (
            f"the repository lists more than {listed >> 10} KiB of paths: more files than build.max_files "
            f"({limits.max_files}) allows, or paths that long"
        )
        listing, shown = await proc.side_by_side(
            self._output([*in_history, "ls-tree", "-r", "-l", "-z", target], limits, listed, too_long),
            self._output([*in_history, "log", "-1", f"--format=%H%n%<({SUBJECT},trunc)%s", target], limits),
        )
        check_tree(listing, limits)
        checkout = [*in_history, "--work-tree", str(dest), "checkout", "--quiet", "--detach", target]
        await self._run(checkout, limits, "checking out")
        sha, _, message = shown.decode(errors="replace").partition("\n")
        return Commit(sha.strip(), message.strip()[:SUBJECT])

    async def _output(
        self, argv: list[str], limits: Limits, max_output: int = OUTPUT_READ, too_long: str | None = None
    ) -> bytes:
        result = await self._exec(argv, limits, READING, self.env, max_output=max_output, too_long=too_long)
        return result.stdout

    async def _run(self, argv: list[str], limits: Limits, doing: str, env: dict[str, str] | None = None) -> None:
        await self._exec(argv, limits, doing, env or self.env)

    async def _exec(
        self,
        argv: list[str],
        limits: Limits,
        doing: str,
        env: dict[str, str],
        check: bool = True,
        max_output: int = OUTPUT_READ,
        too_long: str | None = None,
    ) -> proc.Completed:
        try:
            result = await proc.run(
                argv,
                env=env,
                timeout=limits.timeout,
                cwd="/",
                max_file_bytes=limits.max_bytes,
                max_output=max_output,
            )
        except TimeoutError:
            raise PermanentError(f"{doing} took longer than {limits.timeout:.0f} s") from None
        except proc.OutputTooLarge as exc:
            raise PermanentError(too_long or f"{doing} stopped: git wrote more than {exc.limit} bytes") from None
        stderr = result.stderr.decode(errors="replace")
        # SIGXFSZ stops git itself, or its index-pack child (then git says its output was invalid).
        if result.returncode in (-signal.SIGXFSZ, 128 + signal.SIGXFSZ) or "index-pack" in stderr:
            raise PermanentError(
                f"{doing} stopped: the repository is larger than build.max_repo_mb ({limits.max_bytes >> 20} MiB)"
            )
        if check and result.returncode != 0:
            error = stderr.strip().splitlines()
            detail = "; ".join(line.removeprefix("fatal: ") for line in error[-3:]) or f"git exited {result.returncode}"
            raise PermanentError(f"{doing} failed: {detail}")
        return result


def check_tree(listing: bytes, limits: Limits) -> None:
    """Refuse a tree (`ls-tree -r -l -z` output) over the file-count or size limit."""
    files = total = 0
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, _path = entry.partition(b"\t")
        fields = meta.split()
        files += 1
        if len(fields) == 4 and fields[3].isdigit():
            total += int(fields[3])
        if files > limits.max_files:
            raise PermanentError(f"the repository has more than build.max_files ({limits.max_files}) files")
    if total > limits.max_bytes:
        raise PermanentError(
            f"the checkout would be {total >> 20} MiB, more than build.max_repo_mb ({limits.max_bytes >> 20} MiB)"
        )
