"""The response_uri (OpenID4VP 1.0 §8.2): ``direct_post`` or ``direct_post.jwt``."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from ..responding import answer
from ..state import VerifierDep

router = APIRouter(tags=["response"])


@router.post("/response/{rid}")
async def response(rid: str, request: Request, state: VerifierDep) -> Response:
    form = {k: str(v) for k, v in (await request.form()).items()}
    return answer(state, rid, form)
