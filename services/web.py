"""What every Passerelle service shares at the HTTP edge: the one translation of
:class:`PasserelleError` into the protocol's error response, ``no-store``, a
correlation id per request, and a ``/health`` body that states versions and transport.

Before any route parses anything, :class:`BoundedRequests` (plain ASGI) refuses what
is too big to be honest: a body over 1 MiB, headers over 32 KiB, a query string over
64 KiB, a JSON body nested deeper than 64. Every error any service sends, including
FastAPI's own (validation, unknown route, wrong method), is the one envelope
``{"error", "error_description", "reason"}``, and a description quotes at most a short
excerpt of what the peer sent.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from passerelle import Fault, JsonObject, PasserelleError, Reason, __version__
from passerelle._net import is_loopback_host
from passerelle.oid4vci import HTTP_STATUS_FOR_ERROR, error_body, error_headers

from .docs import serve_docs_offline

__all__ = [
    "ERROR_RESPONSES",
    "MAX_BODY_BYTES",
    "NO_STORE",
    "BackchannelGuard",
    "BoundedRequests",
    "Correlated",
    "backchannel_guard",
    "bounded",
    "error_envelope",
    "health_body",
    "install_edge",
    "is_loopback_development",
    "oauth_error",
    "off_loop",
    "protect_backchannel",
]

MAX_BODY_BYTES = 1 << 20
MAX_HEADER_BYTES = 32 << 10
MAX_QUERY_BYTES = 64 << 10
MAX_JSON_DEPTH = 64
"""A guard at the edge against stack and CPU exhaustion, above any depth a protocol
message needs; the core holds parsed documents to its own, tighter bound."""
MAX_DESCRIPTION = 300
"""The longest ``error_description``: enough for a sentence and an excerpt."""

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


_P = ParamSpec("_P")
_T = TypeVar("_T")
# As many threads as Starlette's own pool allows (anyio's default of 40), made as needed.
_BLOCKING = ThreadPoolExecutor(max_workers=40, thread_name_prefix="passerelle-blocking")


async def off_loop(fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """``fn(*args, **kwargs)`` in a worker thread, awaited: a route's blocking work
    (the store, a decision), so that it never stalls the event loop. What a plain ``def``
    route gets from FastAPI, at half the cost per call (anyio's thread hop takes its
    capacity limiter, cancel scope and queue, ~0.1 ms of CPU per request here)."""
    call = functools.partial(fn, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(_BLOCKING, call)


def bounded(text: str, limit: int = MAX_DESCRIPTION) -> str:
    """``text`` cut to ``limit`` characters: error texts quote peers' input, and a
    5 MB identifier must not come back whole."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def error_envelope(
    status: int,
    *,
    error: str,
    reason: str,
    description: str,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """The one error body of every service (RFC 6749 §5.2 plus our ``reason``)."""
    return JSONResponse(
        {"error": error, "error_description": bounded(description), "reason": reason},
        status_code=status,
        headers={**NO_STORE, **(headers or {})},
    )


_ENVELOPE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {"type": "string"},
        "error_description": {"type": "string"},
        "reason": {"type": "string"},
    },
}


def _error_doc(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error_doc("Malformed or refused request: `error` is the protocol's code, `reason` ours"),
    401: _error_doc("A token is missing or wrong (`invalid_token`)"),
    404: _error_doc("No such route or resource"),
    405: _error_doc("Method not allowed on this route"),
    413: _error_doc("Body over the size bound (`input.too_large`)"),
    414: _error_doc("Query string over the size bound (`input.too_large`)"),
    431: _error_doc("Headers over the size bound (`input.too_large`)"),
}
"""The error responses every route may answer, for ``responses=`` in OpenAPI."""


def is_loopback_development(hosts: Mapping[str, str]) -> bool:
    """The laptop stack: every service on this machine, over plain HTTP. Anything else
    (``--tls``, or a host others can reach) is a deployment partners talk to."""
    return all(
        url.startswith("http://") and is_loopback_host(urlsplit(url).hostname or "")
        for url in hosts.values()
    )


BackchannelGuard = Callable[[str | None], None]
"""Raises unless the ``Authorization`` header value carries the backchannel token."""


def backchannel_guard(
    *, hosts: Mapping[str, str], token_file: Path, env: str = "PASSERELLE_API_TOKEN"
) -> BackchannelGuard:
    """The guard of a service's backchannel (the issuer's ``POST /offers``, the wallet's
    and the connectors' ``/api``): open in loopback development, where the suite and
    the demo drive it with no set-up; elsewhere a bearer token, from ``env`` or made
    once into ``token_file`` (mode 0600), which the conformance targets file names
    (``token`` or ``token_file`` of the target)."""
    if is_loopback_development(hosts):
        return lambda _authorization: None
    token = os.environ.get(env) or _token_from(token_file)

    def guard(authorization: str | None) -> None:
        # RFC 7235 §2.1: the scheme is case-insensitive.
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            value.strip().encode(), token.encode()
        ):
            raise PasserelleError(
                Reason.OID4VCI_ACCESS_TOKEN_INVALID,
                "this backchannel needs its bearer token outside loopback development",
                wire_error="invalid_token",
            )

    return guard


def protect_backchannel(
    app: FastAPI,
    guard: BackchannelGuard,
    *,
    prefixes: tuple[str, ...] = (),
    paths: tuple[str, ...] = (),
) -> None:
    """Put ``guard`` in front of every request whose path starts with one of
    ``prefixes`` or is one of ``paths`` (every method)."""

    app.add_middleware(_Backchannel, guard=guard, prefixes=prefixes, paths=paths)


class _Backchannel:
    """Pure ASGI (see :class:`Correlated`): the guard of :func:`protect_backchannel`."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        guard: BackchannelGuard,
        prefixes: tuple[str, ...],
        paths: tuple[str, ...],
    ) -> None:
        self.app = app
        self.guard = guard
        self.prefixes = prefixes
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            request = Request(scope)
            path = request.url.path
            if path in self.paths or path.startswith(self.prefixes):
                try:
                    self.guard(request.headers.get("authorization"))
                except PasserelleError as exc:
                    refusal = oauth_error(
                        exc,
                        status=401,
                        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
                    )
                    await refusal(scope, receive, send)
                    return
        await self.app(scope, receive, send)


def _token_from(path: Path) -> str:
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another replica made it first
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(24))
    return path.read_text().strip()


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
    if isinstance(body.get("error_description"), str):
        body["error_description"] = bounded(str(body["error_description"]))
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


def install_edge(
    app: FastAPI,
    *,
    service: str,
    other_errors: Mapping[str, JsonObject] | None = None,
    wire_errors: Mapping[str, str] | None = None,
) -> None:
    """Error handlers, the size bounds and a correlation-id, JSON-logging middleware.

    ``wire_errors`` maps a path to the protocol's own code for a request the edge
    refuses there (OpenID4VCI's ``invalid_credential_request`` at the credential
    endpoint, say); elsewhere it is OAuth's ``invalid_request``.

    ``other_errors`` maps a path prefix to the JSON Schema of the error body a protocol
    of its own answers there with (the Dataspace Protocol's ``*Error`` messages): the
    OpenAPI document then says that body or our envelope (the edge's own refusals)."""

    serve_docs_offline(app)

    @app.exception_handler(PasserelleError)
    async def _passerelle_error(_: Request, exc: PasserelleError) -> JSONResponse:
        return oauth_error(exc)

    wires = dict(wire_errors or {})

    @app.exception_handler(RequestValidationError)
    async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(bounded(str(p), 40) for p in first.get("loc", ()))
        return error_envelope(
            400,
            error=wires.get(request.url.path, "invalid_request"),
            reason="input.malformed",
            description=f"{where}: {first.get('msg', 'invalid request')}",
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # FastAPI's own refusals (no such route, wrong method, a body it cannot parse).
        error, reason = _HTTP_ERRORS.get(exc.status_code, ("invalid_request", "input.malformed"))
        if exc.status_code in (400, 413):
            error = wires.get(request.url.path, error)
        return error_envelope(
            exc.status_code,
            error=error,
            reason=reason,
            description=str(exc.detail),
            headers=exc.headers,
        )

    app.add_middleware(BoundedRequests, wire_errors=wires)
    _document_errors(app, other_errors or {})

    app.add_middleware(Correlated, service=service)


class Correlated:
    """Pure ASGI: a correlation id on every response (the request's ``X-Request-ID``,
    or a fresh one) and one JSON log line per request. Pure ASGI rather than
    ``@app.middleware``, whose per-request task group and memory streams cost more
    than many a route's own work."""

    def __init__(self, app: ASGIApp, *, service: str) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = CORRELATION_HEADER.lower().encode()
        correlation = (
            next((v for k, v in scope.get("headers", ()) if k == header and v), None)
            or secrets.token_hex(8).encode()
        )
        started = time.perf_counter()
        status = 500

        async def correlated(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", ()) if k.lower() != header]
                message = {**message, "headers": [*headers, (header, correlation)]}
            await send(message)

        await self.app(scope, receive, correlated)
        if log.isEnabledFor(logging.INFO):
            # No personal data: method, path template, status and timing only.
            route = scope.get("route")
            log.info(
                json.dumps(
                    {
                        "service": self.service,
                        "correlation_id": correlation.decode("latin-1"),
                        "method": scope["method"],
                        "path": getattr(route, "path", scope["path"]),
                        "status": status,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                    }
                )
            )


_HTTP_ERRORS: Mapping[int, tuple[str, str]] = {
    404: ("not_found", "input.malformed"),
    413: ("invalid_request", "input.too_large"),
}


def _document_errors(app: FastAPI, other_errors: Mapping[str, JsonObject]) -> None:
    """The OpenAPI document says what the services send: the error envelope on 400 and
    413 of every route, never FastAPI's ``422 HTTPValidationError`` (the validation
    handler above answers 400)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(
            title=app.title, version=app.version, routes=app.routes, description=app.description
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.pop("HTTPValidationError", None)
        components.pop("ValidationError", None)
        components["Error"] = _ENVELOPE_SCHEMA
        for path, item in schema.get("paths", {}).items():
            other = next((v for k, v in other_errors.items() if path.startswith(k)), None)
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                responses.pop("422", None)
                for code, doc in ERROR_RESPONSES.items():
                    if other is not None:
                        either = {"anyOf": [{"$ref": "#/components/schemas/Error"}, other]}
                        doc = {**doc, "content": {"application/json": {"schema": either}}}
                    responses.setdefault(str(code), doc)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(rb"[\[\]{}]")


def _json_too_deep(body: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    if body.count(b"[") + body.count(b"{") <= limit:
        return False
    depth = 0
    for match in _BRACKET.finditer(_STRING.sub(b"", body)):
        if match.group() in (b"[", b"{"):
            depth += 1
            if depth > limit:
                return True
        else:
            depth -= 1
    return False


class BoundedRequests:
    """Pure ASGI: refuse oversized headers, query strings and bodies, and JSON bodies
    nested too deep, before any route or parser sees them. The body is read here (at
    most ``MAX_BODY_BYTES`` + 1 bytes) and handed on unchanged."""

    def __init__(self, app: ASGIApp, *, wire_errors: Mapping[str, str] | None = None) -> None:
        self.app = app
        self.wire_errors = dict(wire_errors or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        if sum(len(k) + len(v) for k, v in headers) > MAX_HEADER_BYTES:
            await self._refuse(scope, receive, send, 431, "request headers are too large")
            return
        if len(scope.get("query_string", b"")) > MAX_QUERY_BYTES:
            await self._refuse(scope, receive, send, 414, "the query string is too long")
            return
        declared = dict(headers).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
            await self._refuse(
                scope, receive, send, 413, f"the body is larger than {MAX_BODY_BYTES} bytes"
            )
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([], message, receive), send)
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                await self._refuse(
                    scope, receive, send, 413, f"the body is larger than {MAX_BODY_BYTES} bytes"
                )
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = dict(headers).get(b"content-type", b"").lower()
        if b"json" in content_type and _json_too_deep(body):
            await self._refuse(
                scope,
                receive,
                send,
                400,
                f"the JSON body is nested deeper than {MAX_JSON_DEPTH}",
                reason="input.too_deep",
            )
            return
        await self.app(scope, _replay([body], None, receive), send)

    async def _refuse(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        status: int,
        description: str,
        *,
        reason: str = "input.too_large",
    ) -> None:
        error = self.wire_errors.get(scope.get("path", ""), "invalid_request")
        response = error_envelope(status, error=error, reason=reason, description=description)
        await response(scope, receive, send)


def _replay(bodies: list[bytes], pending: Message | None, receive: Receive) -> Receive:
    """A ``receive`` that gives the already-read body once, then defers to the server."""
    queue: list[Message] = [{"type": "http.request", "body": b, "more_body": False} for b in bodies]
    if pending is not None:
        queue.append(pending)

    async def replay() -> Message:
        if queue:
            return queue.pop(0)
        return await receive()

    return replay
