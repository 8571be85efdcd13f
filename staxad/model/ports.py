"""What the core needs from the host, as protocols; the daemon plugs adapters in."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from staxad.model.github import Access
from staxad.model.ownership import Lookup


class LogReader(Protocol):
    async def logs(self, name: str, lines: int, timestamps: bool = False) -> bytes:
        """The newest `lines`; with `timestamps`, each line starts with its RFC 3339 time."""
        ...

    def follow(self, name: str, lines: int) -> AsyncIterator[bytes]: ...


class CommandRunner(Protocol):
    def run(
        self, container: str, argv: list[str], timeout: float, max_bytes: int
    ) -> AsyncGenerator[tuple[str, bytes], None]:
        """Run `argv` in the running container; ("stdout" | "stderr", chunk) as they come,
        then ("exit", b"<code>") or, when it was stopped, ("stopped", b"<why>")."""
        ...


class Resolver(Protocol):
    async def lookup(self, name: str, rdtype: str) -> Lookup: ...


# The addresses a connection to host (and port) may go to, each checked; ValueError
# saying why when the host may not be connected to.
Addresses = Callable[[str, int | None], Awaitable[list[str]]]


@dataclass(frozen=True)
class RegistryLogin:
    base: str  # where the v2 API answers, such as https://registry.example.com
    username: str
    password: str = field(repr=False)
    verify_tls: bool
    addresses: Addresses  # asked at every connection, to the registry and its token service alike


class RegistryApi(Protocol):
    """A registry's v2 API, logged in as `login`. Raises ValueError with what went wrong."""

    async def check(self, login: RegistryLogin) -> None: ...

    async def repositories(self, login: RegistryLogin, query: str, limit: int) -> list[tuple[str, int | None]]: ...

    async def tags(self, login: RegistryLogin, repo: str) -> list[tuple[str, str | None, int | None]]: ...


class GitHubApi(Protocol):
    """GitHub's REST API as the operator's GitHub App. Raises LookupError when GitHub does not
    know the installation or repository, PermissionError when it refuses an OAuth code
    (expired, used, or not its own), ValueError for any other failure."""

    async def installation_account(self, installation_id: int) -> str: ...

    async def token(self, installation_id: int) -> str: ...

    def forget(self, installation_id: int) -> None: ...

    async def repositories(self, installation_id: int) -> list[dict[str, Any]]: ...

    async def branches(self, installation_id: int, owner: str, repo: str) -> list[dict[str, Any]]: ...

    async def user_access(self, code: str, installation_id: int) -> Access: ...
