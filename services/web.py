"""What every Passerelle service shares at the HTTP edge: the one translation of
:class:`PasserelleError` into the protocol's error response, ``no-store``, a
correlation id per request, and a ``/health`` body that states versions and transport.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from passerelle import Fault, JsonObject, PasserelleError, __version__
from passerelle.oid4vci import HTTP_STATUS_FOR_ERROR, error_body, error_headers

__all__ = [
    "NO_STORE",
    "health_body",
    "install_edge",
    "oauth_error",
]

NO_STORE: Mapping[str, str] = {"Cache-Control": "no-store", "Pragma": "no-cache"}
CORRELATION_HEADER = "X-Request-ID"

log = logging.getLogger("passerelle")

# Codes outside the OAuth/OpenID4VCI table of the core (passerelle.oid4vci).
_MORE_STATUS: Mapping[str, int] = {
    "access_denied": 403,
    "not_found": 404,
    "server_error": 500,
    "temporarily_unavailable": 503,
}


def oauth_error(
    exc: PasserelleError, *, headers: Mapping[str, str] | None = None, status: int | None = None
) -> JSONResponse:
    """The error response of RFC 6749 §5.2 (and OpenID4VCI §8.3.1.2): ``error`` and
    ``error_description``, plus our ``reason`` code so reports can say exactly why."""
    if exc.wire_error is None:
        wire = "server_error" if exc.fault is Fault.LOCAL else "invalid_request"
        exc = exc.for_wire(wire)
    wire = str(exc.wire_error)
    body: JsonObject = {**error_body(exc), "reason": str(exc.reason)}
    default = 500 if exc.fault is Fault.LOCAL else 400
    code = status or HTTP_STATUS_FOR_ERROR.get(wire) or _MORE_STATUS.get(wire, default)
    return JSONResponse(
        body, status_code=code, headers={**error_headers(exc), **NO_STORE, **(headers or {})}
    )


def health_body(
    *, service: str, profile: str | None, request: Request, versions: JsonObject
) -> JsonObject:
    return {
        "service": service,
        "profile": profile,
        "status": "ok",
        # Plain HTTP on loopback is a development relaxation; say which one is in use.
        "transport": request.url.scheme,
        "versions": {"passerelle": __version__, **versions},
    }


def install_edge(app: FastAPI, *, service: str) -> None:
    """Error handlers and a correlation-id, JSON-logging middleware."""

    @app.exception_handler(PasserelleError)
    async def _passerelle_error(_: Request, exc: PasserelleError) -> JSONResponse:
        return oauth_error(exc)

    @app.exception_handler(RequestValidationError)
    async def _validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        body = {
            "error": "invalid_request",
            "error_description": f"{where}: {first.get('msg', 'invalid request')}",
            "reason": "input.malformed",
        }
        return JSONResponse(body, status_code=400, headers=dict(NO_STORE))

    @app.middleware("http")
    async def _correlate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        correlation = request.headers.get(CORRELATION_HEADER) or secrets.token_hex(8)
        started = time.perf_counter()
        response = await call_next(request)
        response.headers[CORRELATION_HEADER] = correlation
        # No personal data: method, path template, status and timing only.
        route = request.scope.get("route")
        log.info(
            json.dumps(
                {
                    "service": service,
                    "correlation_id": correlation,
                    "method": request.method,
                    "path": getattr(route, "path", request.url.path),
                    "status": response.status_code,
                    "ms": round((time.perf_counter() - started) * 1000, 1),
                }
            )
        )
        return response
