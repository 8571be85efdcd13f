"""GET /api/v1/metrics: admin keys only, Prometheus text with what the daemon did."""

from __future__ import annotations

import httpx

from tests.api.helpers import assert_error, create_tenant
from tests.conftest import Keys


async def test_metrics_need_admin_and_count_what_happened(
    client: httpx.AsyncClient, auth: dict[str, str], keys: Keys
) -> None:
    assert_error(await client.get("/metrics", headers=auth), 403, "forbidden")  # "*" never includes admin
    await create_tenant(client, auth, "counted")
    for _ in range(6):  # the create-key limit is 5 a minute
        await client.post("/api-keys", headers=auth, json={"name": "k", "scopes": ["tenants:read"]})
    admin = await keys.make("ops@example.com", scopes=("admin",))
    response = await client.get("/metrics", headers=admin)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/plain")
    text = response.text
    assert 'staxad_http_requests_total{method="POST",route="/tenants",status="202"} 1.0' in text
    assert 'staxad_http_requests_total{method="GET",route="/metrics",status="403"} 1.0' in text
    assert 'staxad_http_request_seconds_count{method="POST",route="/tenants"} 1.0' in text
    assert 'staxad_rate_limit_rejections_total{bucket="create_key"} 1.0' in text
    assert 'staxad_tenants{status="provisioning"} 1.0' in text
    assert "staxad_reconcile_errors_total 0.0" in text
