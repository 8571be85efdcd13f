"""Errors sorted by what the caller should do.

`ApiError` subclasses are the user's mistakes or conflicts; the HTTP layer maps each
class to exactly one status code (staxad.api.responses.STATUS). Reconciler code uses
`PermanentError` (don't retry) and `TemporaryError` (retry after a delay).
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    code = "error"

    def __init__(self, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or {}


class ValidationError(ApiError):
    code = "validation_error"


class Unauthorized(ApiError):
    code = "unauthorized"


class Forbidden(ApiError):
    code = "forbidden"


class NotFound(ApiError):
    code = "not_found"


class MethodNotAllowed(ApiError):
    code = "method_not_allowed"


class Conflict(ApiError):
    code = "conflict"


class Unprocessable(ApiError):
    code = "unprocessable_entity"


class LimitExceeded(Unprocessable):
    """A quota is used up; `details` say what is used and what the limit is."""

    code = "limit_exceeded"


def limit_reached(what: str, used: int, limit: int, setting: str, then: str = "") -> LimitExceeded:
    """A count limit reached: a 422 `limit_exceeded` whose details say what is used."""
    message = f"Limit reached: {used} of {limit} {what} ({setting})." + (f" {then}" if then else "")
    return LimitExceeded(message, {"used": used, "limit": limit, "setting": setting})


class RateLimited(ApiError):
    code = "rate_limited"


class PermanentError(Exception):
    """A host operation that will fail the same way if retried (bad image, bad config)."""


class TemporaryError(Exception):
    """A host operation that may succeed later (a component restarting, a busy lock)."""

    def __init__(self, message: str, delay: float = 1.0) -> None:
        super().__init__(message)
        self.delay = delay


class AlreadyExists(Exception):
    """A write the store refused because the row must be unique (or must refer to one that
    exists): its integrity constraints, which the core turns into a Conflict."""


class SchemaTooNew(Exception):
    """The database was written by a newer staxad than this one."""
