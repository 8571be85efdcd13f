"""What the in-process API tests share (and the security tests that drive the same app):
envelope assertions, tenant creation, custom-domain calls. One module, so no test
module imports another."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from staxad.config import Settings
from tests.conftest import make_settings

IMAGE_TENANT = {"source_type": "image", "image_url": "localhost/staxatest/web:1"}


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code
    assert body["error"]["message"]
    return dict(body["error"])


def assert_resource(response: httpx.Response, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"data", "meta"}
    assert body["meta"]["request_id"].startswith("req_")
    return body["data"]


async def create_tenant(client: httpx.AsyncClient, auth: dict[str, str], name: str, **extra: Any) -> dict[str, Any]:
    response = await client.post("/tenants", headers=auth, json={"name": name, **IMAGE_TENANT, **extra})
    return assert_resource(response, 202)


SERVER_IP = "198.18.0.10"  # only ever compared, never contacted


def domain_settings(tmp_path: Path, port: int, a_proves: bool = True) -> Settings:
    """Settings for custom domains against the test DNS server on `port`: a single-provider
    host by default (A records prove ownership), as tests/api/test_domains.py wants; the
    shared-host default is exercised in tests/security/test_domain_claims.py."""
    return make_settings(
        tmp_path,
        STAXAD_DOMAINS_A_RECORD_PROVES_OWNERSHIP=str(a_proves).lower(),
        STAXAD_DOMAINS_BASE_DOMAIN="staxa.test",
        STAXAD_DOMAINS_SERVER_IP=SERVER_IP,
        STAXAD_DOMAINS_NAMESERVERS="127.0.0.1",
        STAXAD_DOMAINS_DNS_PORT=str(port),
        STAXAD_DOMAINS_DNS_TIMEOUT_SECONDS="1",
    )


async def add(client: httpx.AsyncClient, auth: dict[str, str], tenant: dict[str, Any], **body: Any) -> Any:
    return assert_resource(await client.post(f"/tenants/{tenant['id']}/domains", headers=auth, json=body), 201)


async def verify(client: httpx.AsyncClient, auth: dict[str, str], tenant: dict[str, Any], dom: dict[str, Any]) -> Any:
    return await client.post(f"/tenants/{tenant['id']}/domains/{dom['id']}/verify", headers=auth)


async def ask(client: httpx.AsyncClient, name: str) -> int:
    return (await client.get("http://testserver/internal/tls/ask", params={"domain": name})).status_code
