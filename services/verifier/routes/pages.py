"""The HTML pages: the index, a transaction's QR code and trace, and the form that
opens a transaction from a policy name."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse

from passerelle.services.pages import page

from .. import transactions
from ..pages import index_page, transaction_page
from ..state import VerifierDep
from ..transactions import TransactionBody

router = APIRouter(tags=["pages"])


@router.get("/", response_class=HTMLResponse)
def index(state: VerifierDep) -> HTMLResponse:
    return HTMLResponse(index_page(state.profile))


@router.get("/transactions/{tid}/page", response_class=HTMLResponse)
def transaction_html(tid: str, state: VerifierDep) -> HTMLResponse:
    row = transactions.find(state, tid)
    if row is None:
        return HTMLResponse(page("Unknown or expired transaction", ""), status_code=404)
    url = transactions.request_url(state, row)
    return HTMLResponse(transaction_page(profile_id=state.profile.id, url=url, row=row))


@router.post("/transactions/form")
def create_transaction_form(policy: Annotated[str, Form()], state: VerifierDep) -> RedirectResponse:
    opened = transactions.open_transaction(state, TransactionBody(policy=policy))
    return RedirectResponse(
        f"{state.base}/transactions/{opened['transaction_id']}/page", status_code=303
    )
