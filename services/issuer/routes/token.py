"""The token endpoint (OpenID4VCI §6) and the nonce endpoint (§7)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from passerelle import PasserelleError
from passerelle.oid4vci import make_c_nonce, nonce_response
from passerelle.services.openapi import NONCE_RESPONSES, TOKEN_FORM, TOKEN_RESPONSES
from passerelle.services.web import off_loop

from ..grants import exchange_token
from ..haip import nonce_headers, refusal
from ..state import IssuerDep

router = APIRouter(tags=["token"])

NONCE_LIFETIME = timedelta(minutes=5)


@router.post("/token", openapi_extra=TOKEN_FORM, responses=TOKEN_RESPONSES)
async def token(state: IssuerDep, request: Request) -> JSONResponse:
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        body = await off_loop(exchange_token, state, request, form)
    except PasserelleError as exc:
        return refusal(state.haip, exc, at_resource_server=False)
    answer = state.no_store(body)
    answer.headers.update(nonce_headers(state.haip))
    return answer


@router.post("/nonce", responses=NONCE_RESPONSES)
def nonce(state: IssuerDep) -> JSONResponse:
    value = state.behaviour.fixed_c_nonce or make_c_nonce(state.random)
    state.store.put("nonces", value, {}, expires_at=state.now() + NONCE_LIFETIME)
    return state.no_store(nonce_response(value))
