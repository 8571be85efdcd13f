"""The CLI's pure parts: reading Server-Sent Events and choosing a URL and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from staxad.client import config
from staxad.client.api import sse


def test_sse_joins_data_lines_names_events_and_reports_keep_alives() -> None:
    lines = [
        ": connected",
        "",
        "id: 7",
        "event: deployment.stage",
        'data: {"a":',
        "data: 1}",
        "",
        "data: plain",
        "data:",
        "",
        ": keep-alive",
        "",
        "event: error",
        "data: {}",
    ]  # the last event has no blank line after it yet: not complete, not given
    assert list(sse(iter(lines))) == [None, ("deployment.stage", '{"a":\n1}'), ("message", "plain\n"), None]


def test_a_profiles_key_goes_only_to_its_own_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("STAXA_URL", raising=False)
    monkeypatch.delenv("STAXA_API_KEY", raising=False)
    assert config.resolve(None, "default") == config.Target(config.DEFAULT_URL, None)
    config.save("prod", "https://staxa.example.com", "sk_live_prod")
    assert config.resolve(None, "prod") == config.Target("https://staxa.example.com", "sk_live_prod")
    assert config.resolve("https://staxa.example.com/", "prod").key == "sk_live_prod"
    assert config.resolve("http://elsewhere", "prod") == config.Target("http://elsewhere", None)
    monkeypatch.setenv("STAXA_API_KEY", "sk_live_env")
    assert config.resolve("http://elsewhere", "prod").key == "sk_live_env"


def test_saving_a_profile_keeps_the_others_and_the_file_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    config.save("a", "http://a", "sk_live_a")
    config.path().chmod(0o644)  # loosened by hand: the next save makes it private again
    config.save("b", "http://b", 'sk_live_"quoted"')
    assert config.profiles() == {
        "a": {"url": "http://a", "key": "sk_live_a"},
        "b": {"url": "http://b", "key": 'sk_live_"quoted"'},
    }
    assert config.path().stat().st_mode & 0o777 == 0o600
    config.path().write_text("not [toml")
    with pytest.raises(config.ConfigError, match="is not valid TOML"):
        config.profiles()
