"""The baseline: a bare Starlette JSON endpoint, no auth, no store."""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

BODY = {
    "data": {"id": "ten_000000000000", "name": "tenant-0", "status": "provisioning", "services": []},
    "meta": {"request_id": "req_0000000000000000"},
}


async def tenant(_request: Request) -> JSONResponse:
    return JSONResponse(BODY)


app = Starlette(routes=[Route("/api/v1/tenants/{tenant_id}", tenant)])

if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", access_log=False)
