"""What the core needs from the host, as protocols; the daemon plugs adapters in."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

from staxad.model.github import Access
from staxad.model.ownership import Lookup


class LogReader(Protocol):
    async def logs(self, name: str, lines: int) -> bytes: ...

    def follow(self, name: str, lines: int) -> AsyncIterator[bytes]: ...


class Resolver(Protocol):
    async def lookup(self, name: str, rdtype: str) -> Lookup: ...


class RegistryApi(Protocol):
    """A registry's v2 API, logged in as `login` = (base URL, username, password, verify TLS).
    Raises ValueError with what went wrong."""

    async def check(self, login: tuple[str, str, str, bool]) -> None: ...

    async def repositories(
        self, login: tuple[str, str, str, bool], query: str, limit: int
    ) -> list[tuple[str, int]]: ...

    async def tags(self, login: tuple[str, str, str, bool], repo: str) -> list[tuple[str, str | None, int | None]]: ...


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
