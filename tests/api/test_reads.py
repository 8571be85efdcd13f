"""GET /tenants/{id} is kept encoded between commits: it must never show what the store
no longer holds, nor one provider's or mode's answer to another."""

from __future__ import annotations

import httpx

from staxad.daemon import Daemon
from tests.api.helpers import assert_error, assert_resource, create_tenant
from tests.conftest import Keys


async def test_a_kept_answer_is_replaced_by_the_next_commit(
    client: httpx.AsyncClient, auth: dict[str, str], daemon: Daemon
) -> None:
    tenant = await create_tenant(client, auth, "kept")
    url = f"/tenants/{tenant['id']}"
    first = assert_resource(await client.get(url, headers=auth))
    again = await client.get(url, headers=auth)
    assert assert_resource(again) == first and daemon.platform.reads.hits >= 1
    assert again.json()["meta"]["request_id"] != (await client.get(url, headers=auth)).json()["meta"]["request_id"]

    patched = await client.patch(url, headers=auth, json={"display_name": "Kept Co"})
    assert patched.status_code == 200, patched.text
    assert assert_resource(await client.get(url, headers=auth))["display_name"] == "Kept Co"

    assert (await client.delete(url, headers=auth)).status_code == 202
    assert assert_resource(await client.get(url, headers=auth))["status"] == "deleting"


async def test_a_kept_answer_is_never_served_to_another_provider(
    client: httpx.AsyncClient, auth: dict[str, str], keys: Keys
) -> None:
    other = await keys.make(email="other@example.com")
    test_key = await keys.make(mode="test")  # the same provider, in test mode
    tenant = await create_tenant(client, auth, "mine")
    url = f"/tenants/{tenant['id']}"
    assert_resource(await client.get(url, headers=auth))
    assert_resource(await client.get(url, headers=auth))  # kept now
    assert_error(await client.get(url, headers=other), 404, "not_found")
    assert_error(await client.get(url, headers=test_key), 404, "not_found")
