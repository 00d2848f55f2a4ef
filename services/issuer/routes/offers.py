"""Credential offers (OpenID4VCI §4): made by the back office, fetched by wallets."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Form
from fastapi.responses import JSONResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict

from passerelle.services.web import NO_STORE

from ..grants import create_offer
from ..state import IssuerDep, stored

router = APIRouter(tags=["offers"])


class OfferBody(BaseModel):
    """``POST /offers``: typed strictly, so a wrong type is ``input.malformed``, not coerced."""

    model_config = ConfigDict(strict=True, extra="forbid")

    credential_configuration_ids: list[str]
    persona: str = ""
    tx_code: bool = False
    grant: Literal["pre-authorized_code", "authorization_code"] = "pre-authorized_code"


@router.post("/offers", status_code=201)
def post_offer(state: IssuerDep, body: OfferBody) -> JSONResponse:
    result = create_offer(
        state,
        body.credential_configuration_ids,
        body.persona,
        tx_code=body.tx_code,
        grant=body.grant,
    )
    return JSONResponse(result, status_code=201, headers=dict(NO_STORE))


@router.post("/offers/form")
def post_offer_form(
    state: IssuerDep,
    configuration_id: Annotated[str, Form()],
    persona: Annotated[str, Form()],
    tx_code: Annotated[str | None, Form()] = None,
) -> RedirectResponse:
    result = create_offer(
        state, [configuration_id], persona, tx_code=tx_code == "1", grant="pre-authorized_code"
    )
    return RedirectResponse(str(result["page"]), status_code=303)


@router.get("/offers/{offer_id}")
def get_offer(state: IssuerDep, offer_id: str) -> JSONResponse:
    entry = stored(state.store.get("offers", offer_id, now=state.now()))
    if entry is None:
        return JSONResponse(
            {"error": "not_found", "reason": "oid4vci.offer_unknown"}, status_code=404
        )
    return state.no_store(entry["offer"])
