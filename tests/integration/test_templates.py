"""A tenant made from an operator's template runs for real, offline."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.integration.helpers import create, running_daemon


async def test_a_template_tenant_is_served(tmp_path: Path, instance: str, web_image: str) -> None:
    folder = tmp_path / "templates.d"
    folder.mkdir()
    (folder / "web.toml").write_text(
        f'id = "tpl_test_web"\nname = "Test web"\nframework = "static"\ndescription = "busybox httpd"\n'
        f'image_url = "{web_image}"\ndefault_port = 8080\n'
    )
    async with running_daemon(tmp_path, instance, STAXAD_TEMPLATES_DIR=str(folder)) as live:
        tenant = await create(live, {"name": "quick", "template_id": "tpl_test_web"})
        await live.wait_status(tenant["id"], "ready")
        assert (await asyncio.to_thread(live.https, live.host("quick"))).stdout == "hello from v1\n\n200"
