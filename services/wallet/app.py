"""The wallet service: a page for people, and a backchannel for the conformance suite.

    GET  /                      the wallet page: credentials, decisions
    POST /api/offers            accept an offer (link, URL or JSON) → decisions
    POST /api/presentations     answer an OpenID4VP request → decision
    GET  /api/credentials       what the wallet holds (types, issuers, claim names)
    GET  /api/decisions         every accept/refuse, with its reason code
    GET  /health

No step of any flow needs a person: consent is given by policy through the API.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import escape
from pathlib import Path
from typing import Annotated, Any, Literal, cast

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict

from passerelle import RandomSource
from passerelle.decision import DecisionPolicy
from passerelle.oid4vci import SPEC_VERSION as OID4VCI_VERSION
from passerelle.services.catalog import load_catalog
from passerelle.services.openapi import (
    WALLET_CREDENTIALS_RESPONSES,
    WALLET_DECISIONS_RESPONSES,
    WALLET_OFFER_RESPONSES,
    WALLET_OUTCOME_RESPONSES,
)
from passerelle.services.pages import page
from passerelle.services.pki import load_pki
from passerelle.services.runtime import SecretsRandom, utc_now
from passerelle.services.storage import open_store
from passerelle.services.trust.client import TrustClient
from passerelle.services.web import (
    backchannel_guard,
    health_body,
    install_edge,
    protect_backchannel,
)

from ..did import WebDidResolver
from ..fetch import Fetcher, is_loopback_url, stack_fetch_policy
from .holder import Holder, Presenter
from .quirks import WalletQuirk, behaviour_for
from .receive import IssuanceClient

__all__ = ["create_wallet_app"]

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


def create_wallet_app(
    *,
    data_dir: Path,
    store_url: str | None = None,
    clock: Callable[[], datetime] = utc_now,
    random: RandomSource | None = None,
    quirks: frozenset[WalletQuirk] = frozenset(),
) -> FastAPI:
    rng = random or SecretsRandom()
    pki = load_pki(data_dir, now=clock())
    store = open_store(store_url or f"sqlite://{data_dir / 'wallet' / 'store.db'}")
    # The laptop stack runs on plain HTTP over loopback unless --tls: allowed, and said.
    loopback = any(url.startswith("http://") for url in pki.hosts.values())
    local = all(is_loopback_url(url) for url in pki.hosts.values())
    fetcher = Fetcher(stack_fetch_policy(pki.hosts, ca_file=str(pki.tls_ca)))
    trust = TrustClient(
        fetcher,
        trust_url=pki.hosts["trust"],
        home=None,
        eu_operator_anchors=[pki.anchor("eu-lote-operator")],
        ca_operator_anchors=[pki.anchor("ca-registry-operator")],
        recognitions=(),
        clock=clock,
    )
    holder = Holder(
        store=store,
        fetcher=fetcher,
        trust=trust,
        catalog=load_catalog(),
        random=rng,
        clock=clock,
        policy=DecisionPolicy(allow_insecure_loopback=loopback),
        issuance=IssuanceClient(
            fetcher=fetcher,
            random=rng,
            clock=clock,
            allow_insecure_loopback=loopback,
            behaviour=behaviour_for(quirks),
        ),
    )
    app = FastAPI(title="Passerelle wallet")
    install_edge(app, service="wallet")
    protect_backchannel(
        app,
        backchannel_guard(hosts=pki.hosts, token_file=data_dir / "wallet" / "api-token"),
        prefixes=("/api/",),
    )
    app.state.holder = holder

    @app.get("/health")
    def health(request: Request) -> JSONResponse:
        return JSONResponse(
            health_body(
                service="wallet",
                profile=None,
                request=request,
                versions={"openid4vci": OID4VCI_VERSION, "sd_jwt": "RFC 9901"},
            )
        )

    @app.post("/api/offers", responses=WALLET_OFFER_RESPONSES)
    def accept_offer(body: OfferAcceptance) -> JSONResponse:
        outcomes = holder.accept_offer(body.offer, tx_code=body.tx_code, persona=body.persona)
        return JSONResponse({"outcomes": outcomes})

    presenter = Presenter(
        holder=holder,
        did_resolver=WebDidResolver(
            fetcher, allow_loopback=local, allow_insecure_loopback=loopback
        ),
        behaviour=behaviour_for(quirks),
    )

    @app.post("/api/presentations", responses=WALLET_OUTCOME_RESPONSES)
    def present(body: PresentationAnswer) -> JSONResponse:
        return JSONResponse(presenter.present(body.request, consent=body.consent))

    @app.post("/api/presentations/prepare", responses=WALLET_OUTCOME_RESPONSES)
    def prepare(body: PresentationRequest) -> JSONResponse:
        return JSONResponse(presenter.prepare(body.request))

    @app.post("/api/presentations/{pending_id}", responses=WALLET_OUTCOME_RESPONSES)
    def complete(pending_id: str, body: ConsentChoice) -> JSONResponse:
        return JSONResponse(presenter.complete(pending_id, consent=body.consent))

    @app.get("/present", response_class=HTMLResponse)
    def review(request: str) -> HTMLResponse:
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

        def line(query_id: str, item: dict[str, Any]) -> str:
            paths = ", ".join(".".join(map(str, p)) for p in item["disclose"])
            return (
                f"<li>{escape(query_id)}: {escape(str(item['credential_type']))} from "
                f"{escape(str(item['issuer']))}, disclosing <code>{escape(paths)}</code></li>"
            )

        plan = cast("dict[str, list[dict[str, Any]]]", prepared["plan"])
        rows = "".join(line(q, item) for q, items in plan.items() for item in items)
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

    @app.post("/present/{pending_id}", response_class=HTMLResponse)
    def answer(pending_id: str, consent: Annotated[str, Form()]) -> HTMLResponse:
        outcome = presenter.complete(pending_id, consent=consent)
        verdict = (
            "accepted by the verifier"
            if outcome.get("accepted")
            else f"not accepted: {outcome.get('reason')}"
        )
        return HTMLResponse(
            page("Answer sent", f"<p id='outcome'>{escape(verdict)}</p><p><a href='/'>back</a></p>")
        )

    @app.get("/api/credentials", responses=WALLET_CREDENTIALS_RESPONSES)
    def credentials() -> JSONResponse:
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

    @app.get("/api/decisions", responses=WALLET_DECISIONS_RESPONSES)
    def decisions() -> JSONResponse:
        return JSONResponse(holder.decisions())

    @app.post("/receive", response_class=HTMLResponse)
    def receive(
        offer: Annotated[str, Form()], tx_code: Annotated[str | None, Form()] = None
    ) -> HTMLResponse:
        """The page form of POST /api/offers: paste an offer link, type the code."""
        outcomes = holder.accept_offer(offer.strip(), tx_code=(tx_code or "").strip() or None)
        items = "".join(
            f"<li class='{'passed' if o.get('accepted') else 'failed'}'>"
            + (
                f"accepted: {escape(str(o.get('credential_type')))} from "
                f"{escape(str(o.get('issuer')))}"
                if o.get("accepted")
                else f"refused: <code>{escape(str(o.get('reason')))}</code> "
                f"{escape(str(o.get('detail') or ''))}"
            )
            + "</li>"
            for o in outcomes
        )
        return HTMLResponse(
            page("Credential offer", f"<ul id='received'>{items}</ul><p><a href='/'>back</a></p>")
        )

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        rows = "".join(
            f"<tr><td>{escape(c.credential_type)}</td><td>{escape(c.format)}</td>"
            f"<td>{escape(c.issuer)}</td><td>{escape(', '.join(sorted(c.claims)))}</td></tr>"
            for c in holder.credentials()
        )
        log = "".join(
            f"<li>{escape(str(d.get('kind')))}: "
            f"{'accepted' if d.get('accepted') else 'refused'} "
            f"{escape(str(d.get('reason') or ''))}</li>"
            for d in holder.decisions()
        )
        forms = (
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
        return HTMLResponse(
            page(
                "Wallet",
                forms + "<h2>Credentials</h2><table id='credentials'>"
                "<tr><th>type</th><th>format</th><th>issuer</th><th>claims</th></tr>"
                f"{rows}</table><h2>Decisions</h2><ul id='decisions'>{log}</ul>",
            )
        )

    return app
