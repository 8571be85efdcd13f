from __future__ import annotations

import re
from pathlib import Path

import pytest

from staxad.config import ConfigError, load, settings_keys

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_need_no_file() -> None:
    settings = load(None, {})
    assert settings.server.port == 8780
    assert settings.rate_limits.create_tenant == 10
    assert settings.domains.base_domain == "localhost"


@pytest.mark.parametrize(
    ("host", "url"),
    [("127.0.0.1", "http://127.0.0.1:8780/internal/tls/ask"), ("::1", "http://[::1]:8780/internal/tls/ask")],
)
def test_caddy_asks_staxad_at_its_listener_ipv6_in_brackets(host: str, url: str) -> None:
    assert load(None, {"STAXAD_SERVER_HOST": host}).ask_url == url


def test_env_overrides_file(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('instance = "a"\n[server]\nport = 9000\n[git]\nallow_local_repos = false\n')
    settings = load(
        path, {"STAXAD_SERVER_PORT": "9100", "STAXAD_GIT_ALLOW_LOCAL_REPOS": "true", "STAXAD_INSTANCE": "b"}
    )
    assert settings.server.port == 9100
    assert settings.git.allow_local_repos is True
    assert settings.instance == "b"


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ("[server]\nport = 'x'\n", {}, "server.port' must be an integer"),
        ("[server]\nprot = 1\n", {}, "server.prot' is not a setting"),
        ("nonsense = 1\n", {}, "'nonsense' is not a setting"),
        ("[server\n", {}, "not valid TOML"),
        ("", {"STAXAD_GIT_ALLOW_LOCAL_REPOS": "maybe"}, "must be true or false"),
        ("", {"STAXAD_STORE_SYNCHRONOUS": "OFF"}, "store.synchronous"),
        ("[github]\nclient_id = 'Iv1.abc'\n", {}, "'github.client_id' and 'github.client_secret'"),
        ("[github]\nclient_secret = 's'\n", {}, "'github.client_id' and 'github.client_secret'"),
        ("[github]\nclient_id = 'Iv1 abc'\nclient_secret = 's'\n", {}, "the app's Client ID"),
        ("[github]\nclient_id = 'a'\nclient_secret_file = '/nonexistent/s'\n", {}, "cannot be read or is empty"),
        (
            "[github]\nclient_id = 'a'\nclient_secret = 's'\ntrust_installation_claims = true\n",
            {},
            "github.trust_installation_claims' is for a host without github.client_id",
        ),
    ],
)
def test_errors_name_the_key(tmp_path: Path, text: str, env: dict[str, str], message: str) -> None:
    path = tmp_path / "c.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(path, env)


def test_a_github_client_is_configured_with_its_secret_inline_or_in_a_file(tmp_path: Path) -> None:
    secret = tmp_path / "client-secret"
    secret.write_text("s3cret\n")
    by_file = load(None, {"STAXAD_GITHUB_CLIENT_ID": "Iv1.0a", "STAXAD_GITHUB_CLIENT_SECRET_FILE": str(secret)})
    assert by_file.github.client_configured and not by_file.github.trust_installation_claims
    assert not load(None, {}).github.client_configured
    trusting = load(None, {"STAXAD_GITHUB_TRUST_INSTALLATION_CLAIMS": "true"})
    assert trusting.github.trust_installation_claims and not trusting.github.client_configured


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load(tmp_path / "absent.toml", {})


def test_every_setting_is_documented_in_the_example_config() -> None:
    example = (ROOT / "config" / "staxad.toml").read_text()
    section = ""
    documented = set()
    for line in example.splitlines():
        line = line.strip().lstrip("#").strip()
        if match := re.match(r"^\[(\w+)\]$", line):
            section = match.group(1)
        elif match := re.match(r"^(\w+)\s*=", line):
            documented.add(f"{section}.{match.group(1)}" if section else match.group(1))
    assert set(settings_keys()) <= documented, set(settings_keys()) - documented
    assert load(ROOT / "config" / "staxad.toml", {}) is not None


def test_every_route_is_documented_in_the_readme() -> None:
    from staxad.api.app import all_endpoints
    from staxad.api.openapi import shown_path

    readme = (ROOT / "README.md").read_text()
    for endpoint in all_endpoints():
        assert f"{endpoint.method} /api/v1{shown_path(endpoint.path)}" in readme, endpoint.path
