"""``/docs`` without a network: Swagger UI's script and style are served by the
service itself, from the assets the ``fastapi-offline`` package ships (nothing is
downloaded at run time, and no page refers to a CDN)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

__all__ = ["ASSETS_PATH", "serve_docs_offline"]

ASSETS_PATH = "/docs-assets"
_DOCS_PATHS = ("/docs", "/docs/oauth2-redirect", "/redoc")


def _assets() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def serve_docs_offline(app: FastAPI) -> None:
    """Replace FastAPI's CDN-backed ``/docs`` (and ``/redoc``, whose script is not
    needed) with a Swagger UI whose assets this service serves."""
    app.router.routes[:] = [
        r for r in app.router.routes if getattr(r, "path", None) not in _DOCS_PATHS
    ]
    app.mount(ASSETS_PATH, StaticFiles(directory=_assets()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def docs(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} — API",
            oauth2_redirect_url=f"{root}/docs/oauth2-redirect",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
        )

    @app.get("/docs/oauth2-redirect", include_in_schema=False)
    def oauth2_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()
