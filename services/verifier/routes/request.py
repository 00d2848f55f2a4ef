"""The request_uri (OpenID4VP 1.0 §5.10): ``GET``, or ``POST`` with a ``wallet_nonce``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from passerelle.services.openapi import WALLET_NONCE_FORM
from passerelle.services.web import off_loop

from ..request_object import request_object
from ..state import VerifierDep, VerifierState

router = APIRouter(tags=["request object"])

MEDIA_TYPE = "application/oauth-authz-req+jwt"


def _signed(token: str, state: VerifierState) -> Response:
    return Response(token, media_type=MEDIA_TYPE, headers=state.behaviour.request_object_headers())


@router.get("/request/{rid}")
async def get_request(rid: str, state: VerifierDep) -> Response:
    # The fetch is recorded in the store, which blocks: off the event loop.
    return _signed(await off_loop(request_object, state, rid, None), state)


@router.post("/request/{rid}", openapi_extra=WALLET_NONCE_FORM)
async def post_request(rid: str, request: Request, state: VerifierDep) -> Response:
    nonce = (await request.form()).get("wallet_nonce")
    wallet_nonce = str(nonce) if nonce is not None else None
    return _signed(await off_loop(request_object, state, rid, wallet_nonce), state)
