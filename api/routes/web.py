"""The planners' web map at ``/``: a page of plain ES modules (``api/web/``) with MapLibre GL JS
and Terra Draw served from ``api/web/node_modules`` (``npm ci``, which the set-up runs), so the
page asks for nothing outside the service. Its settings (language, optional base map) and the
zone colours go into the page itself; the page holds no plan data, so it is open to all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.responses import HTMLResponse

from api import symbology
from api.auth import ServicesDep
from api.errors import Problem

WEB = Path(__file__).resolve().parents[1] / "web"
NODE_MODULES = WEB / "node_modules"
#: npm packages whose ``dist`` folders the page loads, by the path it loads them under.
VENDOR = ("maplibre-gl", "terra-draw", "terra-draw-maplibre-gl-adapter")

router = APIRouter(tags=["web"])
router.mount("/web/static", StaticFiles(directory=WEB / "static"), name="web-static")
for package in VENDOR:
    router.mount(
        f"/web/vendor/{package}",
        StaticFiles(directory=NODE_MODULES / package / "dist", check_dir=False),
        name=f"web-vendor-{package}",
    )

_PAGES = Environment(
    loader=FileSystemLoader(WEB), autoescape=select_autoescape(["html"]), auto_reload=False
)


@router.get(
    "/",
    summary="The planners' web map (HTML)",
    response_class=HTMLResponse,
    responses={
        200: {"content": {"text/html": {}}, "description": "The page"},
        503: {
            "description": "The map's JavaScript libraries are not installed",
            "content": {"application/problem+json": {}},
        },
    },
)
def page(request: Request, services: ServicesDep) -> HTMLResponse:
    missing = [p for p in VENDOR if not (NODE_MODULES / p / "dist").is_dir()]
    if missing:
        raise Problem(
            "not-ready",
            "Web map not installed",
            f"the map's libraries ({', '.join(missing)}) are not in api/web/node_modules: run "
            "`npm ci` in api/web (`bash .ci/dev serve` does)",
            status=503,
        )
    web = services.settings.web
    config: dict[str, Any] = {
        "language": web.language,
        "basemap": (
            {"url": web.basemap_url, "attribution": web.basemap_attribution}
            if web.basemap_url
            else None
        ),
        "symbology": symbology.as_json(),
    }
    html = _PAGES.get_template("index.html").render(config=config)
    return HTMLResponse(html, headers={"Cache-Control": "no-cache"})
