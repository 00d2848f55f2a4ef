"""The token endpoint (OpenID4VCI §6) and the nonce endpoint (§7)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from passerelle.oid4vci import make_c_nonce, nonce_response, parse_token_request
from passerelle.services.openapi import NONCE_RESPONSES, TOKEN_FORM, TOKEN_RESPONSES

from ..grants import (
    PRE_AUTHORIZED_GRANT,
    issue_access_token,
    redeem_authorization_code,
    redeem_pre_authorized_code,
)
from ..state import IssuerDep

router = APIRouter(tags=["token"])

NONCE_LIFETIME = timedelta(minutes=5)


@router.post("/token", openapi_extra=TOKEN_FORM, responses=TOKEN_RESPONSES)
async def token(state: IssuerDep, request: Request) -> JSONResponse:
    form = {k: str(v) for k, v in (await request.form()).items()}
    req = parse_token_request(form)
    now = state.now()
    if req.grant_type == PRE_AUTHORIZED_GRANT:
        entry = redeem_pre_authorized_code(state, req, now)
    else:
        entry = redeem_authorization_code(state, req, now)
    return state.no_store(issue_access_token(state, req, entry, now))


@router.post("/nonce", responses=NONCE_RESPONSES)
def nonce(state: IssuerDep) -> JSONResponse:
    value = state.behaviour.fixed_c_nonce or make_c_nonce(state.random)
    state.store.put("nonces", value, {}, expires_at=state.now() + NONCE_LIFETIME)
    return state.no_store(nonce_response(value))
