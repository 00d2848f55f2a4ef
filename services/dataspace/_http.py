"""What every router of the connector uses to speak HTTP: the token header, DSP bodies,
answers, errors, and follow-up work after a response."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Header, Request
from fastapi.responses import JSONResponse

from passerelle import Fault, JsonObject, PasserelleError, Reason
from passerelle.dsp import http_status
from passerelle.services.web import NO_STORE, bounded, off_loop

from .records import DspRefusal, Kind, dsp_response, read_json
from .state import ConnectorDep, ConnectorState

__all__ = [
    "Auth",
    "Message",
    "api",
    "body_of",
    "message_route",
    "ok",
    "refused",
    "safely",
]

log = logging.getLogger("passerelle.dataspace")

# Module level: with postponed annotations FastAPI resolves them in the module's globals.
Auth = Annotated[str | None, Header()]

Message = Callable[[str | None, str, JsonObject], object]
"""A party's handling of one DSP message: (Authorization header, pid, body)."""


async def refused(_: Request, exc: DspRefusal) -> JSONResponse:
    return dsp_response(exc)


async def body_of(request: Request, kind: Kind) -> JsonObject:
    try:
        return read_json(await request.body())
    except PasserelleError as exc:
        raise DspRefusal(exc, kind=kind) from exc


def ok(body: JsonObject, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=dict(NO_STORE))


def safely(work: Callable[[str], None], pid: str) -> None:
    """Run follow-up work after a response; a failure is logged, never lost silently.

    A process the peer terminated or completed while this work was pending is no
    failure: the state machine refuses the late move, and that is the whole story.
    """
    try:
        work(pid)
    except PasserelleError as exc:
        if exc.reason is Reason.DSP_INVALID_TRANSITION:
            log.info("data-space follow-up %s(%s) overtaken: %s", work.__name__, pid, exc.detail)
            return
        log.exception("data-space follow-up %s(%s) failed", work.__name__, pid)
    except Exception:
        log.exception("data-space follow-up %s(%s) failed", work.__name__, pid)


def _api_error(exc: PasserelleError) -> JSONResponse:
    status = http_status(exc) if str(exc.reason).startswith("dsp.") else 400
    if exc.fault is Fault.LOCAL:
        status = 500
    elif exc.fault is Fault.DEPENDENCY:
        status = 503
    return JSONResponse(
        {
            "error": "request_failed",
            "reason": str(exc.reason),
            "error_description": bounded(exc.detail),
            "detail": bounded(exc.detail),  # the name this API used first
        },
        status_code=status,
        headers=dict(NO_STORE),
    )


def api(work: Callable[[], JsonObject | list[JsonObject]], status: int = 200) -> JSONResponse:
    """An operator backchannel's answer: the work's JSON, or its error with a reason."""
    try:
        return JSONResponse(work(), status_code=status, headers=dict(NO_STORE))
    except PasserelleError as exc:
        return _api_error(exc)


def message_route(
    kind: Kind, pick: Callable[[ConnectorState], Message]
) -> Callable[..., Awaitable[JSONResponse]]:
    """A route for a DSP message that needs no follow-up: read, hand over, acknowledge."""

    async def route(
        pid: str, request: Request, connector: ConnectorDep, authorization: Auth = None
    ) -> JSONResponse:
        body = await body_of(request, kind)
        await off_loop(pick(connector), authorization, pid, body)
        return ok({})

    return route
