"""The dashboard's pages and assets, served at / beside the API.

A page carries no data and no key: it is the same small shell for every visitor, and
its script asks /api/v1 for everything it shows, with the API key in the Authorization
header. The key lives in the tab's sessionStorage, never in a cookie, so no cross-site
form or link can act with it (nothing here is CSRF-able) and no page has to be rendered
with a user's data on the server. What the dashboard can do, the API does; the staxa
CLI and curl see the same thing.

Assets are named by their content hash and cached for a year; a page itself is checked
on every load, so a new release shows at once. The Content-Security-Policy allows
scripts, styles and requests from this origin only, and no inline script at all.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from importlib import resources

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

POLICY = "; ".join(
    (
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)
SECURITY = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
ASSET_TYPES = {"js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8"}
# Page name by path; the script reads it from <body data-page> and the tenant id from the path.
PAGES = {"/": "tenants", "/new": "new", "/t/{tenant_id}": "tenant", "/github/callback": "github-callback"}


@dataclass(frozen=True)
class Asset:
    path: str  # /static/<name>.<hash>.<ext>
    body: bytes
    media_type: str


def _asset(name: str) -> Asset:
    body = (resources.files("staxad.web") / "static" / name).read_bytes()
    stem, _, ext = name.rpartition(".")
    digest = hashlib.sha256(body).hexdigest()[:12]
    return Asset(f"/static/{stem}.{digest}.{ext}", body, ASSET_TYPES[ext])


def _shell(assets: dict[str, Asset], page: str) -> bytes:
    template = (resources.files("staxad.web") / "static" / "shell.html").read_text()
    filled = template.replace("{app.css}", assets["app.css"].path).replace("{app.js}", assets["app.js"].path)
    return filled.replace("{page}", page).encode()


def routes() -> list[Route]:
    """The pages and their assets, for the app to serve ahead of its fallback."""
    assets = {name: _asset(name) for name in ("app.js", "app.css")}
    by_path = {asset.path: asset for asset in assets.values()}

    def page(path: str, name: str) -> Route:
        body = _shell(assets, name)

        async def serve(request: Request) -> Response:
            headers = {**SECURITY, "Cache-Control": "no-cache"}
            return Response(body, media_type="text/html; charset=utf-8", headers=headers)

        return Route(path, serve, methods=["GET"])

    async def static(request: Request) -> Response:
        asset = by_path.get(request.url.path)
        if asset is None:
            return Response("Not found: assets are named by their content; reload the page.\n", 404, SECURITY)
        headers = {**SECURITY, "Cache-Control": "public, max-age=31536000, immutable"}
        return Response(asset.body, media_type=asset.media_type, headers=headers)

    async def no_icon(request: Request) -> Response:
        # Browsers ask for one on every site; an empty answer keeps their consoles clean.
        return Response(None, 204, {**SECURITY, "Cache-Control": "public, max-age=86400"})

    return [
        *(page(path, name) for path, name in PAGES.items()),
        Route("/static/{name}", static, methods=["GET"]),
        Route("/favicon.ico", no_icon, methods=["GET"]),
    ]
