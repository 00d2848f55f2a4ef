"""The wallet's backchannel: JSON routes, one router per surface.

No step of any flow needs a person: consent is given by policy through these routes.
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from passerelle.oid4vci import SPEC_VERSION as OID4VCI_VERSION
from passerelle.services.openapi import (
    WALLET_CREDENTIALS_RESPONSES,
    WALLET_DECISIONS_RESPONSES,
    WALLET_OFFER_RESPONSES,
    WALLET_OUTCOME_RESPONSES,
)
from passerelle.services.web import health_body

from .state import HolderDep, PresenterDep

__all__ = ["api_router", "offers_router", "presentations_router"]

Consent = Literal["minimal", "approve", "deny"]


class _Body(BaseModel):
    # Strict: a wrong type is input.malformed at the edge, never coerced with str().
    model_config = ConfigDict(strict=True, extra="forbid")


class OfferAcceptance(_Body):
    offer: str
    tx_code: str | None = None
    persona: str | None = None


class PresentationRequest(_Body):
    request: str


class PresentationAnswer(PresentationRequest):
    consent: Consent = "minimal"


class ConsentChoice(_Body):
    consent: Consent = "deny"


api_router = APIRouter(tags=["wallet"])
offers_router = APIRouter(tags=["offers"])
presentations_router = APIRouter(tags=["presentations"])


@api_router.get("/health")
def health(request: Request) -> JSONResponse:
    return JSONResponse(
        health_body(
            service="wallet",
            profile=None,
            request=request,
            versions={"openid4vci": OID4VCI_VERSION, "sd_jwt": "RFC 9901"},
        )
    )


@api_router.get("/api/credentials", responses=WALLET_CREDENTIALS_RESPONSES)
def credentials(holder: HolderDep) -> JSONResponse:
    return JSONResponse(
        [
            {
                "credential_id": c.credential_id,
                "format": c.format,
                "credential_type": c.credential_type,
                "issuer": c.issuer,
                "claims": sorted(c.claims),
            }
            for c in holder.credentials()
        ]
    )


@api_router.get("/api/decisions", responses=WALLET_DECISIONS_RESPONSES)
def decisions(holder: HolderDep) -> JSONResponse:
    return JSONResponse(holder.decisions())


@offers_router.post("/api/offers", responses=WALLET_OFFER_RESPONSES)
def accept_offer(body: OfferAcceptance, holder: HolderDep) -> JSONResponse:
    outcomes = holder.accept_offer(body.offer, tx_code=body.tx_code, persona=body.persona)
    return JSONResponse({"outcomes": outcomes})


@presentations_router.post("/api/presentations", responses=WALLET_OUTCOME_RESPONSES)
def present(body: PresentationAnswer, presenter: PresenterDep) -> JSONResponse:
    return JSONResponse(presenter.present(body.request, consent=body.consent))


@presentations_router.post("/api/presentations/prepare", responses=WALLET_OUTCOME_RESPONSES)
def prepare(body: PresentationRequest, presenter: PresenterDep) -> JSONResponse:
    return JSONResponse(presenter.prepare(body.request))


@presentations_router.post("/api/presentations/{pending_id}", responses=WALLET_OUTCOME_RESPONSES)
def complete(pending_id: str, body: ConsentChoice, presenter: PresenterDep) -> JSONResponse:
    return JSONResponse(presenter.complete(pending_id, consent=body.consent))
