"""The HTML pages: the index, a transaction's page (QR code, what is asked, live status
and trace), the fragment its script polls, and the form that opens a transaction from
a policy name."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse

from passerelle import PasserelleError
from passerelle.explain import explain
from passerelle.services.pages import render

from .. import transactions
from ..pages import index_page, live_fragment, transaction_page
from ..state import VerifierDep
from ..transactions import TransactionBody

router = APIRouter(tags=["pages"])

_NO_STORE = {"Cache-Control": "no-store"}


def _unknown() -> HTMLResponse:
    page = render(
        "message.html",
        title="Unknown or expired transaction",
        service="Passerelle verifier",
        message="This request is unknown or has expired. Open a new one from the verifier's page.",
        back="/",
    )
    return HTMLResponse(page, status_code=404, headers=_NO_STORE)


@router.get("/", response_class=HTMLResponse)
def index(state: VerifierDep) -> HTMLResponse:
    return HTMLResponse(index_page(state.profile))


def _withheld(exc: PasserelleError) -> HTMLResponse:
    explained = explain(str(exc.reason))
    page = render(
        "message.html",
        title="Result withheld",
        service="Passerelle verifier",
        message=f"{explained.sentence} (reason code {exc.reason})",
        back="/",
    )
    return HTMLResponse(page, status_code=403, headers=_NO_STORE)


@router.get("/transactions/{tid}/page", response_class=HTMLResponse)
def transaction_html(
    tid: str, state: VerifierDep, response_code: str | None = None
) -> HTMLResponse:
    """The transaction page; after a same-device redirect, opened with its response
    code, which its live fragment is then polled with."""
    row = transactions.find(state, tid)
    try:
        view = transactions.view_of(state, tid, response_code)
    except PasserelleError as exc:
        return _withheld(exc)
    if row is None or view is None:
        return _unknown()
    code = f"?{urlencode({'response_code': response_code})}" if response_code else ""
    page = transaction_page(
        profile=state.profile,
        catalog=state.catalog,
        url=transactions.request_url(state, row),
        live_url=f"{state.base}/transactions/{tid}/live{code}",
        row=view,
    )
    return HTMLResponse(page, headers=_NO_STORE)


@router.get("/transactions/{tid}/live", response_class=HTMLResponse)
def transaction_live(
    tid: str, state: VerifierDep, response_code: str | None = None
) -> HTMLResponse:
    """The status and decision of a transaction page, which its script swaps in."""
    try:
        view = transactions.view_of(state, tid, response_code)
    except PasserelleError as exc:
        return _withheld(exc)
    if view is None:
        return _unknown()
    return HTMLResponse(live_fragment(catalog=state.catalog, row=view), headers=_NO_STORE)


@router.post("/transactions/form")
def create_transaction_form(policy: Annotated[str, Form()], state: VerifierDep) -> RedirectResponse:
    opened = transactions.open_transaction(state, TransactionBody(policy=policy))
    return RedirectResponse(
        f"{state.base}/transactions/{opened['transaction_id']}/page", status_code=303
    )
