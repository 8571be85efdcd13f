"""The dashboard in a real browser (Debian's chromium), the runtime off: signing in, the
tenants list, creating a tenant and its errors, a tenant's page and its forms, deleting
with confirmation, and hostile values shown as text. The full flow with containers and
Caddy is tests/integration/test_dashboard.py."""

from __future__ import annotations

import asyncio
import contextlib

import httpx
from selenium.common.exceptions import StaleElementReferenceException

from staxad.daemon import Daemon
from tests.browser import chromium
from tests.conftest import Keys


def key_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


def api_as(served: str, auth: dict[str, str]) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=served + "/api/v1", headers={"Authorization": auth["Authorization"]})


async def image_tenant(api: httpx.AsyncClient, name: str, **extra: str) -> dict[str, str]:
    body = {"name": name, "source_type": "image", "image_url": f"localhost/{name}:1", **extra}
    created = await api.post("/tenants", json=body)
    assert created.status_code == 202, created.text
    return dict(created.json()["data"])


async def test_a_bad_key_is_refused_and_a_good_one_stays_out_of_cookies(served: str, keys: Keys) -> None:
    key = key_of(await keys.make())

    def steps() -> None:
        with chromium() as browser:
            browser.open(served + "/")
            browser.fill("#sign-in", key="sk_live_not_a_key")
            browser.until(lambda: "refused" in browser.text_of("#notice"), what="the refusal")
            browser.screenshot("sign-in")
            browser.sign_in(served, key)
            browser.find("#tenants")
            assert browser.text_of("#tenants") == "No tenants yet: create one."
            assert browser.script("return document.cookie") == ""
            assert browser.driver.get_cookies() == []
            assert browser.script("return sessionStorage.getItem('staxa.key')") == key
            browser.click("#sign-out")
            browser.find("#sign-in")
            assert browser.script("return sessionStorage.getItem('staxa.key')") is None
            assert all("401" in error for error in browser.errors())  # only the refused key's answer

    await asyncio.to_thread(steps)


async def test_create_shows_the_api_errors_then_opens_the_new_tenant(served: str, keys: Keys) -> None:
    key = key_of(await keys.make())

    def steps() -> None:
        with chromium() as browser:
            browser.sign_in(served, key)
            browser.open(served + "/new")
            browser.fill("#create", name="shop", source_type="image")  # no image given
            browser.until(lambda: "image_url" in browser.text_of("#notice"), what="the field error")
            browser.screenshot("new-tenant")
            browser.fill("#create", image_url="localhost/team/shop:1", port="8080")
            browser.until(lambda: "/t/ten_" in browser.driver.current_url, what="the tenant's page")
            browser.until(lambda: browser.text_of("#summary h1").startswith("shop"))
            browser.until(lambda: "tenant.created" in browser.text_of("#events"), what="the event stream")
            assert "8080" in browser.text_of("#services")
            browser.open(served + "/")
            browser.until(lambda: "shop" in browser.text_of("#tenants"))
            browser.open(served + "/new")
            browser.fill("#create", name="shop", source_type="image", image_url="localhost/team/shop:1")
            browser.until(lambda: "already" in browser.text_of("#notice"), what="the name conflict")

    await asyncio.to_thread(steps)


async def test_the_tenant_page_sets_env_adds_a_domain_and_deletes_after_confirmation(served: str, keys: Keys) -> None:
    auth = await keys.make()
    async with api_as(served, auth) as api:
        tenant = await image_tenant(api, "blog")

    def steps() -> None:
        with chromium() as browser:
            browser.sign_in(served, key_of(auth))
            browser.open(f"{served}/t/{tenant['id']}")
            browser.fill("#env-form", key="API_TOKEN", value="s3cret-value")
            browser.until(lambda: "API_TOKEN" in browser.text_of("#env"), what="the variable")
            assert "s3cret-value" not in browser.text_of("#env")  # a secret by its name: masked
            browser.fill("#env-form", key="MODE", value="production")
            browser.until(lambda: "production" in browser.text_of("#env"))
            browser.fill("#domain-form", domain="blog.example.com")
            browser.until(lambda: "_staxa-challenge.blog.example.com" in browser.text_of("#domains"), what="records")
            browser.fill("#rule-form", direction="inbound", cidrs="198.18.0.0/24")
            browser.until(lambda: "198.18.0.0/24" in browser.text_of("#rules"), what="the rule")
            browser.screenshot("tenant-settings")
            browser.click("#delete")
            browser.fill("#confirm-delete", name="not-blog")
            browser.until(lambda: "nothing was deleted" in browser.text_of("#notice"))
            browser.fill("#confirm-delete", name="blog")
            browser.until(lambda: browser.driver.current_url == served + "/", what="back on the list")

    await asyncio.to_thread(steps)
    async with api_as(served, auth) as api:
        found = await api.get(f"/tenants/{tenant['id']}")
        assert found.status_code == 404 or found.json()["data"]["status"] == "deleting"


async def test_hostile_values_are_shown_as_text_and_never_run(served: str, keys: Keys) -> None:
    auth = await keys.make()
    hostile = '<img src=x onerror="window.pwned=1">'
    async with api_as(served, auth) as api:
        tenant = await image_tenant(api, "evil", display_name=hostile)
        await api.put(f"/tenants/{tenant['id']}/env/NOTE", json={"value": "<script>window.pwned=2</script>"})

    def steps() -> None:
        with chromium() as browser:
            browser.sign_in(served, key_of(auth))
            browser.until(lambda: hostile in browser.text_of("#tenants"), what="the name as text")
            browser.open(f"{served}/t/{tenant['id']}")
            browser.until(lambda: "window.pwned=2" in browser.text_of("#env"), what="the value as text")
            assert hostile in browser.text_of("#summary h1")
            assert browser.all("#summary img, #env script") == []
            assert browser.script("return window.pwned === undefined") is True

    await asyncio.to_thread(steps)


async def test_another_providers_tenant_is_not_found_in_the_dashboard(served: str, keys: Keys) -> None:
    owner = await keys.make("owner@example.com")
    other = await keys.make("other@example.com")
    async with api_as(served, owner) as api:
        tenant = await image_tenant(api, "private")

    def steps() -> None:
        with chromium() as browser:
            browser.sign_in(served, key_of(other))
            browser.find("#tenants")
            assert "private" not in browser.text_of("#tenants")
            browser.open(f"{served}/t/{tenant['id']}")
            browser.until(lambda: "not found" in browser.text_of("main").lower(), what="a not-found page")

    await asyncio.to_thread(steps)


async def test_a_built_deployment_shows_its_build_log_and_a_revoked_key_signs_out(
    served: str, keys: Keys, daemon: Daemon
) -> None:
    auth = await keys.make()
    async with api_as(served, auth) as api:
        tenant = await image_tenant(api, "built")
    # A git build's deployment, as far as the page can tell: it has a commit.
    async with daemon.db.transaction() as tx:
        await tx.execute("UPDATE deployments SET commit_sha = ? WHERE tenant_id = ?", ("ab" * 20, tenant["id"]))

    def steps() -> None:
        with chromium() as browser:
            browser.sign_in(served, key_of(auth))
            browser.open(f"{served}/t/{tenant['id']}")
            browser.click("#deployments .build-log")
            browser.until(lambda: "Build log of web at ababababab" in browser.text_of("#build-log"), what="the log")
            # the key is revoked meanwhile: reading a log signs the tab out, as any call does
            # (the event stream or the page's refresh may be the first call to be refused)
            revoked = httpx.delete(f"{served}/api/v1/api-keys/{auth['X-Key-Id']}", headers=auth)
            assert revoked.status_code == 204, revoked.text
            for button in browser.all("#deployments .build-log"):
                with contextlib.suppress(StaleElementReferenceException):
                    button.click()
            browser.find("#sign-in")
            browser.until(lambda: "refused" in browser.text_of("#notice"), what="the sign-out")
            assert browser.script("return sessionStorage.getItem('staxa.key')") is None

    await asyncio.to_thread(steps)


async def test_the_github_callback_page_registers_with_the_tabs_key_and_drops_the_code(served: str, keys: Keys) -> None:
    auth = await keys.make()

    def steps() -> None:
        with chromium() as browser:
            browser.open(f"{served}/github/callback?installation_id=42&code=abc123&setup_action=install")
            browser.fill("#sign-in", key=key_of(auth))  # not signed in yet: the query waits
            # This host has no GitHub App configured: the API's answer is shown as it is.
            browser.until(lambda: "No GitHub App is configured" in browser.text_of("#github-result"), what="answer")
            assert browser.driver.current_url == f"{served}/github/callback"

    await asyncio.to_thread(steps)
