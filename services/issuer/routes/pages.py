"""Pages for people: the issuer's index (make an offer) and an offer's page (QR code)."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter
from fastapi.responses import HTMLResponse

from passerelle.oid4vci import credential_offer_uri_link
from passerelle.services.pages import render
from passerelle.services.web import NO_STORE

from .. import grants
from ..grants import offer_tx_code
from ..pages import index_page, offer_page
from ..state import IssuerDep, stored

router = APIRouter(tags=["pages"])


def _duration(lasting: timedelta) -> str:
    """A lifetime in words: whole minutes when it is some, else seconds."""
    seconds = int(lasting.total_seconds())
    count, unit = (seconds // 60, "minute") if seconds % 60 == 0 else (seconds, "second")
    return f"{count} {unit}{'' if count == 1 else 's'}"


@router.get("/offers/{offer_id}/page", response_class=HTMLResponse)
def offer_html(state: IssuerDep, offer_id: str) -> HTMLResponse:
    entry = stored(state.store.get("offers", offer_id, now=state.now()))
    if entry is None:
        page = render(
            "message.html",
            title="Offer expired or unknown",
            service="Passerelle issuer",
            message="This offer is unknown or has expired (offers last "
            f"{_duration(grants.CODE_LIFETIME)}). Make a new one from the issuer's page.",
            back="/",
        )
        return HTMLResponse(page, status_code=404, headers=dict(NO_STORE))
    offer_uri = f"{state.base}/offers/{offer_id}"
    schemes = state.profile.offer_schemes
    links = {s: credential_offer_uri_link(offer_uri, scheme=s) for s in schemes}
    page = offer_page(
        state=state, entry=entry, links=links, tx_code=offer_tx_code(state, entry["offer"])
    )
    return HTMLResponse(page, headers=dict(NO_STORE))


@router.get("/", response_class=HTMLResponse)
def index(state: IssuerDep) -> HTMLResponse:
    configurations = {cid: state.personas_for([cid]) for cid in state.profile.configurations}
    return HTMLResponse(index_page(state=state, configurations=configurations))
