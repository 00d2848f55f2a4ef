"""The Decentralized Claims Protocol surface: the SME's Credential Service (mounted at
the path its DID document names), and the two participants' did:web documents."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from passerelle import Fault, JsonObject, PasserelleError
from passerelle.dcp import did_web_to_url, is_presentation_definition_query
from passerelle.services.web import NO_STORE, off_loop

from ._http import Auth, ok
from .records import read_json
from .state import ConnectorDep

__all__ = ["credential_service_router", "did_router"]

credential_service_router = APIRouter(tags=["dcp credential service"])


def _query_error(exc: PasserelleError) -> JSONResponse:
    family = str(exc.reason).split(".", 1)[0]
    status = 400 if exc.reason == "dcp.scope_invalid" or family in ("dsp", "input") else 401
    if exc.fault is Fault.LOCAL:
        status = 500
    headers = dict(NO_STORE)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return JSONResponse(
        {
            "error": exc.wire_error or "invalid_request",
            "reason": str(exc.reason),
            "error_description": exc.detail,
        },
        status_code=status,
        headers=headers,
    )


@credential_service_router.post("/presentations/query")
async def presentations_query(
    request: Request, connector: ConnectorDep, authorization: Auth = None
) -> JSONResponse:
    try:
        body = read_json(await request.body())
        if is_presentation_definition_query(body):
            # DCP 1.0: presentationDefinition unsupported → 501 Not Implemented.
            return JSONResponse(
                {"error": "not_implemented", "reason": "dcp.scope_invalid"},
                status_code=501,
            )
        answer = await off_loop(connector.credential_service.query, authorization, body)
    except PasserelleError as exc:
        return _query_error(exc)
    return ok(answer)


def did_router(
    documents: list[JsonObject], *, allow_loopback: bool, allow_insecure_loopback: bool
) -> APIRouter:
    """Each document at the path its ``did:web`` names on this host. Built per app: the
    paths come from the documents, which only the stack's PKI knows."""
    router = APIRouter(tags=["did:web"])
    for document in documents:
        url = did_web_to_url(
            str(document["id"]),
            allow_loopback=allow_loopback,
            allow_insecure_loopback=allow_insecure_loopback,
        )
        path = urlsplit(url).path.rstrip("/")

        router.add_api_route(path, _serve(document), methods=["GET"], name=f"did:{path}")
    return router


def _serve(document: JsonObject) -> Callable[[], JSONResponse]:
    # A closure, not a default argument: FastAPI reads every parameter of a route as a
    # request parameter, and a JSON-object default breaks /openapi.json.
    def serve() -> JSONResponse:
        return JSONResponse(document, media_type="application/did+json")

    return serve
