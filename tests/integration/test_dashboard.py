"""The dashboard end to end on the real host, in Debian's chromium: sign in, create an
image tenant from the form, watch its deploy reach ready, open its URL through Caddy,
see its logs stream, delete it. Screenshots of each page land in test-results/."""

from __future__ import annotations

import asyncio

import pytest

from tests.browser import chromium
from tests.integration.helpers import Live

pytestmark = pytest.mark.host


async def test_a_team_deploys_opens_and_deletes_an_app_from_the_dashboard(live: Live, web_image: str) -> None:
    base = str(live.client.base_url).rstrip("/").removesuffix("/api/v1")
    key = live.auth["Authorization"].removeprefix("Bearer ")
    # The tenant's name resolves to loopback in this browser only; Caddy's certificate
    # comes from its internal CA, which this throwaway browser profile does not know.
    options = (f"--host-resolver-rules=MAP *.{live.base_domain} 127.0.0.1", "--ignore-certificate-errors")

    def steps() -> str:
        with chromium(*options) as browser:
            browser.sign_in(base, key)
            browser.open(base + "/new")
            browser.fill("#create", name="dash", source_type="image", image_url=web_image, port="8080")
            browser.until(lambda: "/t/ten_" in browser.driver.current_url, what="the tenant's page")
            browser.until(lambda: browser.all("#summary .badge[data-status=ready]"), timeout=120, what="ready")
            browser.until(lambda: "succeeded" in browser.text_of("#deployments"), what="the deployment's end")
            browser.until(lambda: "web starting on 8080" in browser.text_of("#logs"), what="the logs")
            tenant_id = browser.driver.current_url.rsplit("/", 1)[1]
            url = browser.find("#url a").get_attribute("href") or ""
            assert url.startswith(f"https://dash.{live.base_domain}:")
            browser.open(base + "/")
            browser.until(lambda: "ready" in browser.text_of("#tenants"))
            browser.screenshot("tenants")
            browser.open(f"{base}/t/{tenant_id}")
            browser.until(lambda: "web starting on 8080" in browser.text_of("#logs"), what="the logs again")
            browser.screenshot("tenant")
            served = browser.text_of("#logs").count("response:200")
            assert live.https(live.host("dash")).stdout.startswith("hello from v1")
            browser.until(lambda: browser.text_of("#logs").count("response:200") > served, what="a new log line")
            browser.open(url)
            browser.until(lambda: "hello from v1" in browser.text_of("body"), what="the app through Caddy")
            browser.open(f"{base}/t/{tenant_id}")
            browser.click("#delete")
            browser.fill("#confirm-delete", name="dash")
            browser.until(lambda: browser.driver.current_url == base + "/", what="back on the list")
            return tenant_id

    tenant_id = await asyncio.to_thread(steps)
    await live.wait_status(tenant_id, "gone", timeout=60)
