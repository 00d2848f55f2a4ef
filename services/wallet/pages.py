"""The wallet's pages for people: what it holds, an offer form, a consent page."""

from __future__ import annotations

from html import escape
from typing import Annotated, Any, cast

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse

from passerelle.services.pages import page

from .state import HolderDep, PresenterDep

__all__ = ["pages_router"]

pages_router = APIRouter(tags=["pages"])

_FORMS = (
    "<div class='card'><form method='post' action='/receive'>"
    "<label>Accept a credential offer: <input type='text' name='offer' id='offer' "
    "placeholder='openid-credential-offer://...'></label>"
    "<label>Transaction code: <input name='tx_code' id='tx-code' size='8'></label>"
    "<button id='accept'>Accept</button></form></div>"
    "<div class='card'><form method='get' action='/present'>"
    "<label>Answer a presentation request: <input type='text' name='request' "
    "id='request' placeholder='openid4vp://...'></label>"
    "<button id='review'>Review</button></form></div>"
)


def _plan_line(query_id: str, item: dict[str, Any]) -> str:
    paths = ", ".join(".".join(map(str, p)) for p in item["disclose"])
    # An mdoc verifier says which elements it intends to keep (intent_to_retain).
    kept = ", ".join(".".join(map(str, p)) for p in item.get("intent_to_retain", []))
    retained = f"; the verifier will keep <code>{escape(kept)}</code>" if kept else ""
    return (
        f"<li>{escape(query_id)}: {escape(str(item['credential_type']))} from "
        f"{escape(str(item['issuer']))}, disclosing <code>{escape(paths)}</code>{retained}</li>"
    )


@pages_router.get("/present", response_class=HTMLResponse)
def review(request: str, presenter: PresenterDep) -> HTMLResponse:
    """The consent page: who asks, and exactly what would be disclosed."""
    prepared = presenter.prepare(request)
    if "pending_id" not in prepared:
        detail = escape(str(prepared.get("reason")))
        # The verifier's request_uri host being down is not the person's fault.
        down = prepared.get("reason") == "fetch.unreachable"
        return HTMLResponse(
            page("Request refused", f"<p id='refused'>{detail}</p>"),
            status_code=503 if down else 400,
        )
    plan = cast("dict[str, list[dict[str, Any]]]", prepared["plan"])
    rows = "".join(_plan_line(q, item) for q, items in plan.items() for item in items)
    pid = escape(str(prepared["pending_id"]))
    if prepared["can_answer"]:
        what = f"<ul id='plan'>{rows}</ul>"
    else:
        problem = escape(str(prepared["problem"]))
        what = f"<p id='plan'>No credential answers this request ({problem}).</p>"
    body = (
        f"<p><b id='verifier'>{escape(str(prepared['verifier']))}</b> asks:</p>{what}"
        f"<form method='post' action='/present/{pid}'>"
        + (
            "<button id='approve' name='consent' value='approve'>Approve</button>"
            if prepared["can_answer"]
            else ""
        )
        + "<button id='decline' name='consent' value='deny'>Decline</button></form>"
    )
    return HTMLResponse(page("Presentation request", body))


@pages_router.post("/present/{pending_id}", response_class=HTMLResponse)
def answer(
    pending_id: str, consent: Annotated[str, Form()], presenter: PresenterDep
) -> HTMLResponse:
    outcome = presenter.complete(pending_id, consent=consent)
    verdict = (
        "accepted by the verifier"
        if outcome.get("accepted")
        else f"not accepted: {outcome.get('reason')}"
    )
    return HTMLResponse(
        page("Answer sent", f"<p id='outcome'>{escape(verdict)}</p><p><a href='/'>back</a></p>")
    )


def _received_line(outcome: dict[str, Any]) -> str:
    if outcome.get("accepted"):
        what = (
            f"accepted: {escape(str(outcome.get('credential_type')))} from "
            f"{escape(str(outcome.get('issuer')))}"
        )
    else:
        what = (
            f"refused: <code>{escape(str(outcome.get('reason')))}</code> "
            f"{escape(str(outcome.get('detail') or ''))}"
        )
    return f"<li class='{'passed' if outcome.get('accepted') else 'failed'}'>{what}</li>"


@pages_router.post("/receive", response_class=HTMLResponse)
def receive(
    offer: Annotated[str, Form()],
    holder: HolderDep,
    tx_code: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    """The page form of POST /api/offers: paste an offer link, type the code."""
    outcomes = holder.accept_offer(offer.strip(), tx_code=(tx_code or "").strip() or None)
    items = "".join(_received_line(o) for o in outcomes)
    return HTMLResponse(
        page("Credential offer", f"<ul id='received'>{items}</ul><p><a href='/'>back</a></p>")
    )


def _claim_names(fmt: str, claims: dict[str, Any]) -> list[str]:
    if fmt == "mso_mdoc":  # {namespace: {element: value}}: the elements are the claims
        return sorted(
            e for elements in claims.values() if isinstance(elements, dict) for e in elements
        )
    return sorted(claims)


@pages_router.get("/", response_class=HTMLResponse)
def index(holder: HolderDep) -> HTMLResponse:
    rows = "".join(
        f"<tr><td>{escape(c.credential_type)}</td><td>{escape(c.format)}</td>"
        f"<td>{escape(c.issuer)}</td><td>{escape(', '.join(_claim_names(c.format, c.claims)))}</td>"
        "</tr>"
        for c in holder.credentials()
    )
    log = "".join(
        f"<li>{escape(str(d.get('kind')))}: "
        f"{'accepted' if d.get('accepted') else 'refused'} "
        f"{escape(str(d.get('reason') or ''))}</li>"
        for d in holder.decisions()
    )
    return HTMLResponse(
        page(
            "Wallet",
            _FORMS + "<h2>Credentials</h2><table id='credentials'>"
            "<tr><th>type</th><th>format</th><th>issuer</th><th>claims</th></tr>"
            f"{rows}</table><h2>Decisions</h2><ul id='decisions'>{log}</ul>",
        )
    )
