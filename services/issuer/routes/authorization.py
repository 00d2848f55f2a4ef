"""The authorization code flow: PAR (RFC 9126), the authorization endpoint and its mock
login, where a tester picks a persona."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from passerelle import PasserelleError
from passerelle.services.openapi import PAR_FORM
from passerelle.services.web import off_loop

from ..grants import issue_code, login_personas, push_authorization
from ..haip import refusal
from ..pages import login_page
from ..state import IssuerDep

router = APIRouter(tags=["authorization"])


@router.post("/par", status_code=201, openapi_extra=PAR_FORM)
async def par(state: IssuerDep, request: Request) -> JSONResponse:
    form = {k: str(v) for k, v in (await request.form()).items()}
    try:
        body = await off_loop(push_authorization, state, form, request)
    except PasserelleError as exc:
        return refusal(state.haip, exc, at_resource_server=False)
    return state.no_store(body, 201)


@router.get("/authorize", response_class=HTMLResponse)
def authorize(state: IssuerDep, request_uri: str, client_id: str) -> HTMLResponse:
    personas = login_personas(state, request_uri, client_id)
    page = login_page(
        issuer_name=state.issuer_name,
        request_uri=request_uri,
        personas=personas,
        action=f"{state.base}/authorize",
    )
    return HTMLResponse(page)


@router.post("/authorize")
def login(
    state: IssuerDep, request_uri: Annotated[str, Form()], persona: Annotated[str, Form()]
) -> RedirectResponse:
    return RedirectResponse(issue_code(state, request_uri, persona), status_code=303)
