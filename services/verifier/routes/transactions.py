"""The test API: ``POST /transactions`` opens one, ``GET /transactions/{id}`` reads its
state, result with the decision trace, and event log."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from passerelle import PasserelleError
from passerelle.services.openapi import TRANSACTION_RESPONSES
from passerelle.services.web import oauth_error, off_loop

from .. import transactions
from ..state import VerifierDep
from ..transactions import TransactionBody

router = APIRouter(tags=["transactions"])


@router.post("/transactions", status_code=201, responses=TRANSACTION_RESPONSES)
async def create_transaction(body: TransactionBody, state: VerifierDep) -> JSONResponse:
    made = await off_loop(transactions.open_transaction, state, body)  # the store blocks
    return JSONResponse(made, status_code=201)


@router.get("/transactions/{tid}")
def transaction(tid: str, state: VerifierDep, response_code: str | None = None) -> JSONResponse:
    """A same-device transaction's result needs the ``response_code`` its redirect
    carried (OpenID4VP §13.3 step 8)."""
    try:
        view = transactions.view_of(state, tid, response_code)
    except PasserelleError as exc:
        return oauth_error(exc)
    if view is None:
        return JSONResponse(
            {"error": "not_found", "reason": "oid4vp.transaction_unknown"}, status_code=404
        )
    return JSONResponse({"transaction_id": tid, **view})
