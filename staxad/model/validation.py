"""The security boundary for user values.

Every value a user sends that later reaches a host component (a container name, a
git argv, a Caddy or nft document) passes one of these checks first. Checks raise
`ValidationError` whose details name the field and say what is expected.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import idna

from staxad.model.errors import ValidationError
from staxad.model.scripts import mixed_script_label

HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")  # also xn-- labels
ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,127}$")
EMAIL = re.compile(r"^[^@\s\x00-\x1f]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
# registry/path:tag@digest, as podman parses it; a leading "-" can never match.
IMAGE_REF = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?(?::[0-9]{1,5})?/)?"
    r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(?:@sha256:[a-f0-9]{64})?$"
)
COMMIT_SHA = re.compile(r"^[0-9a-f]{7,40}$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"  # the JSON Schema of what CONTROL refuses
# A DNS label with single hyphens only: tenant and service names (hosts use `--` between them).
NAME = re.compile(r"^(?!.*--)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# `git check-ref-format --branch`, never option-like: the check itself and its JSON Schema pattern.
BRANCH = re.compile(
    r"^(?![-/.])(?!.*(?:\.\.|//|@\{|/\.))(?!.*(?:/|\.|\.lock)$)(?!@$)[^\x00-\x1f\x7f ~^:?*\[\\]{1,255}$"
)

RESERVED_TENANT_NAMES = frozenset({"api", "www", "admin", "staxa", "staxad", "caddy", "localhost"})
RESOURCE_SIZES = ("small", "medium", "large")
EGRESS_MODES = ("open", "restricted")
SOURCE_TYPES = ("github", "image")


def dns_label(value: str, what: str) -> str:
    if not NAME.fullmatch(value):
        raise ValueError(
            f"{what} must be 1-63 characters of lowercase letters, digits and single "
            "hyphens, starting and ending with a letter or digit"
        )
    return value


def tenant_name(value: str) -> str:
    dns_label(value, "a tenant name")
    if value in RESERVED_TENANT_NAMES:
        raise ValueError(f"'{value}' is reserved; choose another name")
    return value


def branch_name(value: str) -> str:
    """A git branch name by `git check-ref-format --branch` rules, never option-like."""
    if not BRANCH.fullmatch(value):
        raise ValueError("must be a valid git branch name (no spaces, '..', '~^:?*[\\', or leading '-')")
    return value


def commit_sha(value: str) -> str:
    if not COMMIT_SHA.fullmatch(value):
        raise ValueError("must be 7 to 40 lowercase hexadecimal characters")
    return value


def repo_url(value: str, allow_local: bool) -> str:
    if len(value) > 2048 or CONTROL.search(value) or " " in value:
        raise ValueError("must be a URL without spaces or control characters")
    if value.startswith("-") or "::" in value.split("/")[0]:
        raise ValueError("transport prefixes such as 'ext::' are not allowed")
    parts = urlsplit(value)
    if "@" in parts.netloc:
        # Never echo the value: it would carry the secret into the error, the log and the client.
        raise ValueError(
            "must not carry credentials (https://user:token@host/...): a URL is stored, logged and shown "
            "to every key that reads the tenant; give the public https URL, and keep credentials out of it"
        )
    if parts.scheme == "https":
        if not parts.hostname:
            raise ValueError("an https URL needs a host, e.g. https://github.com/acme/webapp")
        return value
    if allow_local and (parts.scheme == "file" or (not parts.scheme and value.startswith("/"))):
        return value
    hint = " or a local path (enabled by git.allow_local_repos)" if allow_local else ""
    raise ValueError(f"must be an https:// git URL{hint}")


MAX_INT_DIGITS = 18  # below 2**63: fits SQLite's INTEGER, far below Python's 4300-digit limit


def ascii_int(text: str, max_digits: int = MAX_INT_DIGITS) -> int | None:
    """A non-negative integer written in ASCII digits, else None. `str.isdigit` would pass
    '²' and Arabic-Indic digits (then int() raises or reads them), and a huge number
    costs time and breaks SQLite: both must be a 400, never a 500."""
    if not 0 < len(text) <= max_digits or not text.isascii() or not text.isdigit():
        return None
    return int(text)


def without_userinfo(url: str) -> str:
    """A URL as shown: any `user:token@` (stored before such URLs were refused) removed."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


def custom_domain(value: str, base_domain: str, allow_mixed_scripts: bool = False) -> str:
    """A user's own hostname in ASCII (IDNA 2008 / UTS 46), lowercase, without the final dot."""
    if len(value) > 300 or CONTROL.search(value):
        raise ValueError("must be a hostname such as 'app.example.com'")
    if _is_ip(value.strip().strip("[]")):
        raise ValueError("must be a hostname, not an IP address")
    try:
        ascii_name = idna.encode(value.strip().rstrip("."), uts46=True).decode()
    except idna.IDNAError as exc:
        raise ValueError(f"is not a valid hostname ({exc})") from None
    labels = ascii_name.split(".")
    if len(ascii_name) > 253 or len(labels) < 2 or not all(HOST_LABEL.match(label) for label in labels):
        raise ValueError("must be a hostname of two or more labels such as 'app.example.com' (at most 253 characters)")
    if labels[-1].isdigit():
        raise ValueError("must end in a top-level domain, not a number")
    if ascii_name == base_domain or ascii_name.endswith("." + base_domain):
        raise ValueError(f"must not be under the platform's own domain '{base_domain}'")
    if labels[-1] in ("localhost", "local", "internal", "arpa"):
        raise ValueError(f"must be a public name; '.{labels[-1]}' names cannot be verified")
    mixed = None if allow_mixed_scripts else mixed_script_label(ascii_name)
    if mixed is not None:
        raise ValueError(
            f"mixes letters of different scripts in '{mixed}', which can pass for another name; "
            "the operator can allow it with domains.allow_mixed_scripts"
        )
    return ascii_name


def _is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def image_ref(value: str) -> str:
    if len(value) > 512 or not IMAGE_REF.match(value):
        raise ValueError("must be an image reference such as 'registry.example.com/team/app:1.2'")
    return value


BUILT_PREFIX = "localhost/staxa-"  # where staxad tags the images it builds


def image_of_own(ref: str, own_built: Iterable[str]) -> str:
    """`ref`, unless it names an image staxad built for another tenant (its tag is short
    enough to guess). Short names (`staxa-...`) resolve to local storage first, so they
    count too. Raises ValueError."""
    full = ref if ref.startswith("localhost/") else f"localhost/{ref}"
    if full.startswith(BUILT_PREFIX) and full.split("@", 1)[0] not in set(own_built):
        raise ValueError(
            "names an image staxad built, and not one this tenant built; deploy or roll back to use its own builds"
        )
    return ref


def email(value: str) -> str:
    if len(value) > 254 or not EMAIL.match(value):
        raise ValueError("must be an email address such as 'ops@example.com'")
    return value.lower()


def env_map(value: object, max_keys: int = 200, max_value: int = 32768) -> dict[str, str]:
    if not isinstance(value, dict):
        raise ValueError("must be a flat object of string keys to string values")
    if len(value) > max_keys:
        raise ValueError(f"at most {max_keys} variables are allowed")
    for key, item in value.items():
        if not ENV_KEY.match(key):
            raise ValueError(
                f"'{key[:64]}' is not a valid variable name (letters, digits, '_', not starting "
                "with a digit, at most 128 characters)"
            )
        if not isinstance(item, str):
            raise ValueError(f"the value of '{key}' must be a string")
        if len(item) > max_value or "\x00" in item:
            raise ValueError(f"the value of '{key}' must be at most {max_value} characters, no NUL")
    return dict(value)


SECRET_WORDS = ("PASSWORD", "PASSWD", "SECRET", "TOKEN", "KEY", "CREDENTIAL", "PRIVATE", "AUTH")
URL_WITH_PASSWORD = re.compile(r"^[a-z][a-z0-9+.-]*://[^/@\s]+:[^/@\s]+@", re.IGNORECASE)


def looks_secret(key: str, value: str) -> bool:
    """Env vars masked in responses: secret-sounding names and URLs carrying a password."""
    upper = key.upper()
    return any(word in upper for word in SECRET_WORDS) or bool(URL_WITH_PASSWORD.match(value))


class Body:
    """Typed, collected reads of a JSON object body.

    All problems are gathered and raised together by `done()`, so a client learns every
    mistake in one round trip.
    """

    def __init__(self, payload: object, allowed: Iterable[str], where: str = "") -> None:
        self.errors: dict[str, str] = {}
        self._where = where
        if not isinstance(payload, dict):
            raise ValidationError("The request body must be a JSON object.")
        self.data: dict[str, Any] = payload
        allowed_set = set(allowed)
        for key in payload:
            if key not in allowed_set:
                self.fail(str(key)[:64], f"unknown field; allowed: {', '.join(sorted(allowed_set))}")

    def fail(self, field: str, message: str) -> None:
        self.errors.setdefault(self._where + field, message)

    def has(self, field: str) -> bool:
        return field in self.data and self.data[field] is not None

    def string(self, field: str, *, required: bool = False, max_len: int = 255) -> str | None:
        value = self.data.get(field)
        if value is None:
            if required:
                self.fail(field, "is required")
            return None
        if not isinstance(value, str):
            self.fail(field, "must be a string")
            return None
        if required and not value.strip():
            self.fail(field, "must not be empty")
            return None
        if len(value) > max_len:
            self.fail(field, f"must be at most {max_len} characters")
            return None
        if CONTROL.search(value):
            self.fail(field, "must not contain control characters")
            return None
        return value

    def choice(self, field: str, options: tuple[str, ...], *, required: bool = False) -> str | None:
        value = self.string(field, required=required, max_len=64)
        if value is not None and value not in options:
            self.fail(field, f"must be one of: {', '.join(options)}")
            return None
        return value

    def integer(self, field: str, low: int, high: int, *, required: bool = False) -> int | None:
        value = self.data.get(field)
        if value is None:
            if required:
                self.fail(field, "is required")
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(field, "must be an integer")
            return None
        if not low <= value <= high:
            self.fail(field, f"must be between {low} and {high}")
            return None
        return value

    def boolean(self, field: str) -> bool | None:
        value = self.data.get(field)
        if value is None:
            return None
        if not isinstance(value, bool):
            self.fail(field, "must be true or false")
            return None
        return value

    def strings(self, field: str, *, max_items: int, max_len: int = 255) -> list[str] | None:
        value = self.data.get(field)
        if value is None:
            return None
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(field, "must be a list of strings")
            return None
        if len(value) > max_items:
            self.fail(field, f"must have at most {max_items} items")
            return None
        if any(len(v) > max_len or CONTROL.search(v) for v in value):
            self.fail(field, f"items must be at most {max_len} characters, no control characters")
            return None
        return list(value)

    def check(self, field: str, value: str | None, checker: Any) -> Any:
        """Run `checker(value)` and record its ValueError against `field`."""
        if value is None:
            return None
        try:
            return checker(value)
        except ValueError as exc:
            self.fail(field, str(exc))
            return None

    def done(self) -> None:
        if self.errors:
            fields = ", ".join(sorted(self.errors))
            raise ValidationError(f"Invalid request: check {fields}.", {"fields": self.errors})


def raise_field(field: str, message: str) -> None:
    raise ValidationError(f"Invalid {field}: {message}", {"fields": {field: message}})
