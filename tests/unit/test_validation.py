from __future__ import annotations

import pytest

from staxad.model import validation as v
from staxad.model.errors import ValidationError


@pytest.mark.parametrize("name", ["a", "acme", "acme-corp", "a1", "x" * 63, "0day"])
def test_valid_tenant_names(name: str) -> None:
    assert v.tenant_name(name) == name


@pytest.mark.parametrize("name", ["", "-a", "a-", "A", "a--b", "a_b", "a.b", "x" * 64, "www", "api", "é", "a b"])
def test_invalid_tenant_names(name: str) -> None:
    with pytest.raises(ValueError):
        v.tenant_name(name)


@pytest.mark.parametrize("branch", ["main", "release/1.2", "feature/auth", "v1", "a-b_c"])
def test_valid_branches(branch: str) -> None:
    assert v.branch_name(branch) == branch


@pytest.mark.parametrize(
    "branch",
    [
        "-x",
        "--upload-pack=x",
        "a..b",
        "a b",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[",
        "a\\b",
        "a/",
        "/a",
        "a.lock",
        "@",
        "a@{1}",
        ".hidden",
        "a/.b",
        "a\nb",
        "",
        "x" * 256,
    ],
)
def test_invalid_branches(branch: str) -> None:
    with pytest.raises(ValueError):
        v.branch_name(branch)


@pytest.mark.parametrize(
    ("url", "local"),
    [
        ("https://github.com/acme/webapp", False),
        ("https://git.example.com:8443/a/b.git", False),
        ("file:///srv/repo", True),
        ("/srv/repo", True),
    ],
)
def test_valid_repo_urls(url: str, local: bool) -> None:
    assert v.repo_url(url, local) == url


@pytest.mark.parametrize(
    "url",
    [
        "http://github.com/a/b",
        "git://github.com/a/b",
        "ssh://git@github.com/a/b",
        "ext::sh -c id",
        "-uhttps://x",
        "https://",
        "https://h.example.com/a\n",
        "file:///srv/repo",
        "/srv/repo",
        "fd::17",
        "https://h.example.com/" + "a" * 2048,
    ],
)
def test_invalid_repo_urls_without_local(url: str) -> None:
    with pytest.raises(ValueError):
        v.repo_url(url, allow_local=False)


@pytest.mark.parametrize(
    "ref",
    [
        "nginx",
        "nginx:1.25",
        "library/nginx",
        "ghcr.io/acme/app:v1",
        "localhost:5000/a/b:c",
        "localhost/staxatest/web:1",
        "a/b@sha256:" + "0" * 64,
    ],
)
def test_valid_image_refs(ref: str) -> None:
    assert v.image_ref(ref) == ref


@pytest.mark.parametrize("ref", ["", "-x", "--privileged", "UPPER", "a b", "a:b:c:d", "a/../b", "a;id"])
def test_invalid_image_refs(ref: str) -> None:
    with pytest.raises(ValueError):
        v.image_ref(ref)


@pytest.mark.parametrize(
    ("key", "value", "secret"),
    [
        ("DATABASE_PASSWORD", "x", True),
        ("API_KEY", "x", True),
        ("GITHUB_TOKEN", "x", True),
        ("DATABASE_URL", "postgres://u:p@db/x", True),
        ("NODE_ENV", "production", False),
        ("DATABASE_URL", "postgres://db/x", False),
        ("PORT", "3000", False),
    ],
)
def test_secret_detection(key: str, value: str, secret: bool) -> None:
    assert v.looks_secret(key, value) is secret


def test_body_collects_every_error() -> None:
    body = v.Body({"a": 1, "b": "x" * 300, "c": "1", "zzz": 0}, ("a", "b", "c"))
    body.string("a")
    body.string("b")
    body.integer("c", 0, 10)
    with pytest.raises(ValidationError) as caught:
        body.done()
    assert set(caught.value.details["fields"]) == {"a", "b", "c", "zzz"}


def test_body_must_be_an_object() -> None:
    with pytest.raises(ValidationError):
        v.Body([1], ())


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("app.example.com", "app.example.com"),
        ("App.Example.COM.", "app.example.com"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a-b.c-d.example.org", "a-b.c-d.example.org"),
    ],
)
def test_valid_custom_domains(given: str, stored: str) -> None:
    assert v.custom_domain(given, "staxa.test") == stored


@pytest.mark.parametrize(
    "given",
    [
        "1.2.3.4",
        "::1",
        "[2001:db8::1]",
        "staxa.test",
        "app.staxa.test",
        "APP.Staxa.Test",
        "localhost",
        "x.localhost",
        "printer.local",
        "example",
        "-a.example.com",
        "a..example.com",
        "*.example.com",
        "a_b.example.com",
        "a.123",
        "x" * 64 + ".com",
        ("a" * 60 + ".") * 5 + "com",
        "app.example.com\n",
        "app example.com",
        "x" * 400,
    ],
)
def test_invalid_custom_domains(given: str) -> None:
    with pytest.raises(ValueError):
        v.custom_domain(given, "staxa.test")


@pytest.mark.parametrize(
    "url",
    [
        "https://user:s3cr3t@github.com/a/b",
        "https://s3cr3t@github.com/a/b",
        "https://:s3cr3t@github.com/a/b",
        "https://user:s3cr3t@github.com:443/a/b",
    ],
)
def test_repo_urls_with_credentials_are_refused_without_echoing_them(url: str) -> None:
    with pytest.raises(ValueError, match="credentials") as caught:
        v.repo_url(url, allow_local=True)
    assert "s3cr3t" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:s3cr3t@github.com/a/b", "https://github.com/a/b"),
        ("https://s3cr3t@github.com:8443/a/b", "https://github.com:8443/a/b"),
        ("https://github.com/a/b", "https://github.com/a/b"),
        ("/srv/repo", "/srv/repo"),
    ],
)
def test_urls_stored_before_are_shown_without_userinfo(url: str, shown: str) -> None:
    assert v.without_userinfo(url) == shown


OWN = ("localhost/staxa-default/acme-web:0123456789ab",)


@pytest.mark.parametrize(
    ("ref", "allowed"),
    [
        ("docker.io/library/nginx:1", True),
        ("localhost/staxatest/web:1", True),  # a local image staxad did not build
        ("localhost:5000/staxa-default/x:1", True),  # another registry, not local storage
        (OWN[0], True),
        ("staxa-default/acme-web:0123456789ab", True),  # the short name of its own build
        (OWN[0] + "@sha256:" + "a" * 64, True),
        ("localhost/staxa-default/other-web:0123456789ab", False),
        ("staxa-default/other-web:0123456789ab", False),  # short names resolve locally first
        ("localhost/staxa-other/acme-web:0123456789ab", False),
    ],
)
def test_a_tenant_names_only_its_own_built_images(ref: str, allowed: bool) -> None:
    if allowed:
        assert v.image_of_own(ref, OWN) == ref
    else:
        with pytest.raises(ValueError, match="not one this tenant built"):
            v.image_of_own(ref, OWN)


@pytest.mark.parametrize(
    ("name", "mixed"),
    [
        ("\u0430pple.com", True),  # a Cyrillic a, then Latin letters
        ("p\u0430ypal.com", True),
        ("\u0430\u0440\u0440\u0435.com", False),  # all Cyrillic: one script
        ("bücher.de", False),
        ("例え.jp", False),
        ("ｔｅｓｔ日本.jp", False),  # Latin (fullwidth, mapped) with Han
        ("abc-123.example", False),
        ("\u03b1\u03b2\u03b3abc.com", True),  # Greek with Latin
    ],
)
def test_mixed_script_names_are_refused_unless_allowed(name: str, mixed: bool) -> None:
    if mixed:
        with pytest.raises(ValueError, match="mixes letters of different scripts"):
            v.custom_domain(name, "staxa.test")
        assert v.custom_domain(name, "staxa.test", allow_mixed_scripts=True).startswith("xn--")
    else:
        v.custom_domain(name, "staxa.test")
