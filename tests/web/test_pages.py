"""What the server sends for the dashboard: the pages carry no data, assets are cached by
content, the security headers hold, and the API's own answers are untouched."""

from __future__ import annotations

import re

import httpx

from staxad.web.pages import POLICY


async def test_pages_are_data_free_shells_with_the_security_headers(served: str) -> None:
    async with httpx.AsyncClient(base_url=served) as client:
        for path in ("/", "/new", "/t/ten_anything"):
            page = await client.get(path)
            assert page.status_code == 200
            assert page.headers["content-type"].startswith("text/html")
            assert page.headers["content-security-policy"] == POLICY
            assert "script-src 'self'" in POLICY and "unsafe-inline" not in POLICY
            assert page.headers["x-frame-options"] == "DENY"
            assert page.headers["cache-control"] == "no-cache"
            assert "set-cookie" not in page.headers
            assert "<script>" not in page.text  # no inline script: the policy would refuse it


async def test_assets_are_named_by_content_and_cached_for_good(served: str) -> None:
    async with httpx.AsyncClient(base_url=served) as client:
        shell = (await client.get("/")).text
        found = {m.group(2): m.group(1) for m in re.finditer(r"(/static/app\.[0-9a-f]{12}\.(js|css))", shell)}
        assert sorted(found) == ["css", "js"]
        for path, kind in ((found["js"], "text/javascript"), (found["css"], "text/css")):
            asset = await client.get(path)
            assert asset.status_code == 200
            assert asset.headers["content-type"].startswith(kind)
            assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert (await client.get("/static/app.000000000000.js")).status_code == 404
        assert (await client.get("/static/../pages.py")).status_code == 404


async def test_the_api_still_answers_in_its_envelope(served: str) -> None:
    async with httpx.AsyncClient(base_url=served) as client:
        missing = await client.get("/no/such/page")
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "not_found"
        assert (await client.get("/api/v1/tenants")).status_code == 401
