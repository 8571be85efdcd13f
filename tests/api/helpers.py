from __future__ import annotations

from typing import Any

import httpx

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
