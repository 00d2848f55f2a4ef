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
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse

from passerelle import RandomSource
from passerelle.decision import DecisionPolicy
from passerelle.oid4vci import SPEC_VERSION as OID4VCI_VERSION
from services.catalog import load_catalog
from services.pki import load_pki
from services.runtime import SecretsRandom, utc_now
from services.storage import open_store
from services.trust.client import TrustClient
from services.web import health_body, install_edge

from ..fetch import Fetcher, FetchPolicy
from .holder import Holder, Presenter
from .receive import IssuanceClient

__all__ = ["create_wallet_app"]


def create_wallet_app(
    *,
    data_dir: Path,
    store_url: str | None = None,
    clock: Callable[[], datetime] = utc_now,
    random: RandomSource | None = None,
) -> FastAPI:
    rng = random or SecretsRandom()
    pki = load_pki(data_dir, now=clock())
    store = open_store(store_url or f"sqlite://{data_dir / 'wallet' / 'store.db'}")
    # The laptop stack runs on plain HTTP over loopback unless --tls: allowed, and said.
    loopback = any(url.startswith("http://") for url in pki.hosts.values())
    fetcher = Fetcher(FetchPolicy(allow_insecure_loopback=loopback, ca_file=str(pki.tls_ca)))
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
            fetcher=fetcher, random=rng, clock=clock, allow_insecure_loopback=loopback
        ),
    )
    app = FastAPI(title="Passerelle wallet")
    install_edge(app, service="wallet")
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

    @app.post("/api/offers")
    def accept_offer(body: dict[str, Any]) -> JSONResponse:
        outcomes = holder.accept_offer(
            str(body.get("offer", "")),
            tx_code=body.get("tx_code"),
            persona=body.get("persona"),
        )
        return JSONResponse({"outcomes": outcomes})

    presenter = Presenter(holder=holder)

    @app.post("/api/presentations")
    def present(body: dict[str, Any]) -> JSONResponse:
        return JSONResponse(
            presenter.present(
                str(body.get("request", "")), consent=str(body.get("consent", "minimal"))
            )
        )

    @app.get("/api/credentials")
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

    @app.get("/api/decisions")
    def decisions() -> JSONResponse:
        return JSONResponse(holder.decisions())

    @app.get("/", response_class=HTMLResponse)
    def page() -> HTMLResponse:
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
        return HTMLResponse(
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            "<title>Passerelle wallet</title></head>"
            "<body style='font-family:system-ui;max-width:60rem;margin:2rem auto'>"
            "<h1>Wallet</h1><table id='credentials' border='1' cellpadding='4'>"
            "<tr><th>type</th><th>format</th><th>issuer</th><th>claims</th></tr>"
            f"{rows}</table><h2>Decisions</h2><ul id='decisions'>{log}</ul></body></html>"
        )

    return app
