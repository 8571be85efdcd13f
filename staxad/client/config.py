"""Where the CLI finds its API and key: `--url` and env first, then a profile file.

Profiles live in `$XDG_CONFIG_HOME/staxa/config.toml` (default `~/.config/staxa/`),
written 0600 by `staxa login`. Invariants: a key is never taken from the command line,
where it would sit in the shell history and the process list; and a profile's key is
only ever sent to that profile's URL (`--url` elsewhere takes STAXA_API_KEY or nothing).
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "http://127.0.0.1:7070"


class ConfigError(Exception):
    """The config file cannot be read as profiles."""


@dataclass(frozen=True)
class Target:
    url: str
    key: str | None


def path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "staxa" / "config.toml"


def profiles() -> dict[str, dict[str, str]]:
    try:
        data = tomllib.loads(path().read_text())
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path()} is not valid TOML ({exc}); fix it or run staxa login again") from None
    return {name: {k: str(v) for k, v in values.items()} for name, values in data.items() if isinstance(values, dict)}


def save(profile: str, url: str, key: str) -> Path:
    """Write (or replace) one profile; the file is created 0600 and stays so."""
    found = profiles()
    found[profile] = {"url": url, "key": key}
    target = path()
    target.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = "".join(
        f"[{json.dumps(name)}]\nurl = {json.dumps(values['url'])}\nkey = {json.dumps(values['key'])}\n\n"
        for name, values in sorted(found.items())
    )
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # an older file keeps its mode through O_TRUNC
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    return target


def resolve(url: str | None, profile: str) -> Target:
    chosen = profiles().get(profile, {})
    saved_url = chosen.get("url", "").rstrip("/")
    wanted = (url or os.environ.get("STAXA_URL") or saved_url or DEFAULT_URL).rstrip("/")
    key = os.environ.get("STAXA_API_KEY") or (chosen.get("key") if wanted == saved_url else None)
    return Target(wanted, key)
