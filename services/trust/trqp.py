"""The TRQP v2 HTTPS binding of a trust registry: a FastAPI router over the pure core.

Routes (spec: ``specification/v2/core/https_binding.md`` at the commit named in
:mod:`passerelle.trust._trqp`):

``POST /authorization``, ``POST /recognition``
    JSON body per the TRQP request schemas; ``Content-Type: application/json`` is
    required (the binding's MUST), anything else is 415. 200 with the TRQP response for
    every known entity, whether ``authorized``/``recognized`` is true or false; 400 for
    malformed JSON, wrong types or missing members; 404 for an unknown authority,
    entity, action or resource; 413 for a body over the size bound. ``X-Request-ID`` is
    echoed as in the binding's examples. No bearer token is required (the binding
    leaves that to the service; this registry is public).
``GET /metadata`` (our extension; TRQP v2 defines none)
    The TRQP version, the authorities served, their actions and resources, and how
    answers are signed.

Errors are Problem Details (RFC 9457, ``application/problem+json``) with ``type``,
``title``, ``status``, ``detail`` and our extension member ``reason`` (the
:class:`passerelle.PasserelleError` reason code, e.g. ``trqp.unknown_entity``).

Signed answers (our extension): when a signer is configured, every 200 answer carries
the member ``signed_answer``, a compact JWS of the answer (see
:func:`passerelle.trust._trqp.sign_answer`). A body member rather than a header, since
an ``x5c`` chain can outgrow what proxies accept in a header; TRQP's versioning rules
allow optional response members.

``get_registry`` is called on every request, so a rebuilt registry is served at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from passerelle._errors import Fault, PasserelleError, Reason, local_error
from passerelle._json import JsonObject, JsonValue, parse_json
from passerelle.jose import Signer
from passerelle.trust._trqp import (
    SIGNED_ANSWER_TYP,
    AuthorizationAnswer,
    AuthorizationQuery,
    RecognitionAnswer,
    RecognitionQuery,
    Registry,
    Standing,
    answer_authorization,
    answer_recognition,
    describe_registry,
    parse_authorization_query,
    parse_recognition_query,
    parse_registry,
    sign_answer,
)

from .sources import load_source

__all__ = [
    "MAX_QUERY_BYTES",
    "PROBLEM_TYPE_BASE",
    "TrqpService",
    "build_trqp_router",
    "load_registry_file",
]

MAX_QUERY_BYTES = 64 * 1024
"""Largest query body accepted; a TRQP query is a few hundred bytes."""
PROBLEM_TYPE_BASE = "tag:passerelle.example,2026:problem:"
"""Problem ``type`` URIs are this prefix plus the reason code (RFC 9457 §3.1.1 allows
non-dereferenceable URIs such as ``tag:``)."""

_PROBLEM_MEDIA_TYPE = "application/problem+json"

_STATUS: Mapping[Reason, int] = {
    Reason.TRQP_MALFORMED_QUERY: 400,
    Reason.TRQP_UNKNOWN_AUTHORITY: 404,
    Reason.TRQP_UNKNOWN_ENTITY: 404,
    Reason.TRQP_UNKNOWN_ACTION: 404,
    Reason.TRQP_UNKNOWN_RESOURCE: 404,
    Reason.INPUT_TOO_LARGE: 413,
    # The registry itself cannot be served: never a 500, never a silent answer.
    Reason.TRUST_LIST_MALFORMED: 503,
    Reason.TRUST_LIST_STALE: 503,
    Reason.TRUST_LIST_SIGNATURE: 503,
    Reason.TRUST_LIST_UNTRUSTED_OPERATOR: 503,
}
_TITLES: Mapping[Reason, str] = {
    Reason.TRQP_MALFORMED_QUERY: "Malformed TRQP query",
    Reason.TRQP_UNKNOWN_AUTHORITY: "Authority not found",
    Reason.TRQP_UNKNOWN_ENTITY: "Entity not found",
    Reason.TRQP_UNKNOWN_ACTION: "Action not found",
    Reason.TRQP_UNKNOWN_RESOURCE: "Resource not found",
    Reason.INPUT_TOO_LARGE: "Query too large",
    Reason.TRUST_LIST_MALFORMED: "Registry unavailable",
    Reason.TRUST_LIST_STALE: "Registry unavailable",
    Reason.TRUST_LIST_SIGNATURE: "Registry unavailable",
    Reason.TRUST_LIST_UNTRUSTED_OPERATOR: "Registry unavailable",
}

_QUERY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["entity_id", "authority_id", "action", "resource"],
    "properties": {
        "entity_id": {"type": "string"},
        "authority_id": {"type": "string"},
        "action": {"type": "string"},
        "resource": {"type": "string"},
        "context": {
            "type": "object",
            "properties": {"time": {"type": "string", "format": "date-time"}},
            "additionalProperties": {"type": "string"},
        },
    },
}
_PROBLEM_DOC = {"description": "Problem Details (RFC 9457)"}
_OPENAPI_QUERY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": _QUERY_SCHEMA}},
    }
}
_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _PROBLEM_DOC,
    404: _PROBLEM_DOC,
    413: _PROBLEM_DOC,
    415: _PROBLEM_DOC,
}

_Q = TypeVar("_Q", AuthorizationQuery, RecognitionQuery)


def _problem(
    status: int,
    reason: Reason,
    detail: str,
    headers: Mapping[str, str] | None = None,
    *,
    media_type: str = _PROBLEM_MEDIA_TYPE,
) -> JSONResponse:
    body = {
        "type": PROBLEM_TYPE_BASE + str(reason),
        "title": _TITLES.get(reason, "Error"),
        "status": status,
        "detail": detail,
        "reason": str(reason),
    }
    return JSONResponse(body, status_code=status, media_type=media_type, headers=headers)


def _no_record_authorization(query: AuthorizationQuery, now: datetime) -> AuthorizationAnswer:
    return AuthorizationAnswer(
        entity_id=query.entity_id,
        authority_id=query.authority_id,
        action=query.action,
        resource=query.resource,
        authorized=False,
        time_evaluated=now.replace(microsecond=0),
        time_requested=None if query.context is None else query.context.get("time"),
        message=f"{query.entity_id} has no record with {query.authority_id}.",
        context=query.context,
        standing=Standing.NO_RECORD,
    )


def _no_record_recognition(query: RecognitionQuery, now: datetime) -> RecognitionAnswer:
    return RecognitionAnswer(
        entity_id=query.entity_id,
        authority_id=query.authority_id,
        action=query.action,
        resource=query.resource,
        recognized=False,
        time_evaluated=now.replace(microsecond=0),
        time_requested=None if query.context is None else query.context.get("time"),
        message=f"{query.entity_id} has no record with {query.authority_id}.",
        context=query.context,
        standing=Standing.NO_RECORD,
    )


def _request_id(request: Request) -> dict[str, str]:
    value = request.headers.get("x-request-id")
    # Echo only a plain token: a header value we reflect must not carry anything else.
    if value and len(value) <= 128 and value.isascii() and value.isprintable():
        return {"X-Request-ID": value}
    return {}


def _is_json(content_type: str | None) -> bool:
    if content_type is None:
        return False
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


async def _read_query(request: Request) -> JsonValue:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_QUERY_BYTES:
        raise PasserelleError(Reason.INPUT_TOO_LARGE, f"query larger than {MAX_QUERY_BYTES}")
    raw = await request.body()
    if len(raw) > MAX_QUERY_BYTES:
        raise PasserelleError(Reason.INPUT_TOO_LARGE, f"query larger than {MAX_QUERY_BYTES}")
    try:
        return parse_json(raw, what="TRQP query")
    except PasserelleError as exc:
        if exc.reason is Reason.INPUT_TOO_LARGE:
            raise
        # Malformed or too deep JSON is a malformed query, as far as TRQP is concerned.
        raise PasserelleError(Reason.TRQP_MALFORMED_QUERY, exc.detail) from exc


@dataclass(frozen=True, slots=True)
class TrqpService:
    """What the TRQP routes share: the registry source, the signer, the clock, and the
    two behaviours the conformance suite's self-test may change."""

    get_registry: Callable[[], Registry]
    signer: Signer | None
    clock: Callable[[], datetime]
    x5c: Sequence[str] | None = None
    kid: str | None = None
    unknown_entity_is_404: bool = True
    problem_media_type: str = _PROBLEM_MEDIA_TYPE

    def signed(self, answer: AuthorizationAnswer | RecognitionAnswer) -> JsonObject:
        body = answer.as_json()
        if self.signer is not None:
            body["signed_answer"] = sign_answer(
                answer, signer=self.signer, x5c=self.x5c, kid=self.kid
            )
        return body

    def problem(
        self, status: int, reason: Reason, detail: str, headers: Mapping[str, str] | None = None
    ) -> JSONResponse:
        return _problem(status, reason, detail, headers, media_type=self.problem_media_type)

    async def handle(
        self,
        request: Request,
        parse: Callable[[JsonValue], _Q],
        answer: Callable[[Registry, _Q, datetime], AuthorizationAnswer | RecognitionAnswer],
        no_record: Callable[[_Q, datetime], AuthorizationAnswer | RecognitionAnswer],
    ) -> Response:
        headers = _request_id(request)
        if not _is_json(request.headers.get("content-type")):
            return self.problem(
                415,
                Reason.TRQP_MALFORMED_QUERY,
                "TRQP queries are sent with Content-Type: application/json",
                headers,
            )
        query: _Q | None = None
        try:
            query = parse(await _read_query(request))
            registry = self.get_registry()
            result = answer(registry, query, self.clock())
        except PasserelleError as exc:
            if (
                exc.reason is Reason.TRQP_UNKNOWN_ENTITY
                and not self.unknown_entity_is_404
                and query is not None
            ):
                return JSONResponse(self.signed(no_record(query, self.clock())), headers=headers)
            status = _STATUS.get(exc.reason)
            if status is None or exc.fault is Fault.LOCAL:
                # Our own misuse (a naive clock, say) is a server error, not the client's.
                raise
            return self.problem(status, exc.reason, exc.detail, headers)
        return JSONResponse(self.signed(result), headers=headers)

    def metadata(self) -> Response:
        try:
            body = describe_registry(self.get_registry())
        except PasserelleError as exc:
            status = _STATUS.get(exc.reason)
            if status is None:
                raise
            return self.problem(status, exc.reason, exc.detail)
        signing: JsonObject | None = None
        if self.signer is not None:
            signing = {"member": "signed_answer", "typ": SIGNED_ANSWER_TYP, "alg": self.signer.alg}
            if self.kid is not None:
                signing["kid"] = self.kid
            if self.x5c is not None:
                signing["x5c"] = list(self.x5c)
        body["signed_answers"] = signing
        return JSONResponse(body)


def build_trqp_router(
    get_registry: Callable[[], Registry],
    *,
    signer: Signer | None,
    clock: Callable[[], datetime],
    x5c: Sequence[str] | None = None,
    kid: str | None = None,
    unknown_entity_is_404: bool = True,
    problem_media_type: str = _PROBLEM_MEDIA_TYPE,
) -> APIRouter:
    """The TRQP v2 HTTPS routes over the registry ``get_registry`` returns per request.

    With a ``signer``, answers carry ``signed_answer``; the JWS header names the key by
    ``x5c`` and/or ``kid``, one of which is then required. The last two arguments exist
    for the conformance suite's self-test (:mod:`services.trust.quirks`); their defaults
    are what the binding requires. The service object is bound to the router rather
    than kept on ``app.state``, so the router can be mounted on any app, and twice.
    """
    if signer is not None and x5c is None and kid is None:
        raise local_error(Reason.JWS_HEADER_INVALID, "a signing registry needs x5c or kid")
    trqp = TrqpService(
        get_registry, signer, clock, x5c, kid, unknown_entity_is_404, problem_media_type
    )
    router = APIRouter(tags=["trqp"])

    @router.post(
        "/authorization",
        summary="TRQP authorization query",
        openapi_extra=_OPENAPI_QUERY,
        responses=_ERROR_RESPONSES,
    )
    async def authorization(request: Request) -> Response:
        return await trqp.handle(
            request,
            parse_authorization_query,
            lambda registry, query, now: answer_authorization(registry, query, now=now),
            _no_record_authorization,
        )

    @router.post(
        "/recognition",
        summary="TRQP recognition query",
        openapi_extra=_OPENAPI_QUERY,
        responses=_ERROR_RESPONSES,
    )
    async def recognition(request: Request) -> Response:
        return await trqp.handle(
            request,
            parse_recognition_query,
            lambda registry, query, now: answer_recognition(registry, query, now=now),
            _no_record_recognition,
        )

    @router.get("/metadata", summary="Registry metadata (Passerelle extension)")
    def metadata() -> Response:
        return trqp.metadata()

    return router


def load_registry_file(path: Path, *, substitutions: Mapping[str, str]) -> Registry:
    """Read a registry source (YAML or JSON) and build the :class:`Registry`, or raise
    ``trust.list_malformed``."""
    return parse_registry(load_source(path), substitutions=substitutions)
