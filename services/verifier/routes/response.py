"""The response_uri (OpenID4VP 1.0 §8.2): ``direct_post`` or ``direct_post.jwt``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from passerelle.services.openapi import AUTHORIZATION_RESPONSE_FORM
from passerelle.services.web import off_loop

from ..responding import answer
from ..state import VerifierDep

router = APIRouter(tags=["response"])


@router.post("/response/{rid}", openapi_extra=AUTHORIZATION_RESPONSE_FORM)
async def response(rid: str, request: Request, state: VerifierDep) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    # Deciding is CPU work (signatures, chains, schemas) and the store blocks: both
    # run in the thread pool, so one response never stalls the others.
    return await off_loop(answer, state, rid, form)
