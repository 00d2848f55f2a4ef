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
from pathlib import Path

from fastapi import FastAPI

from passerelle import RandomSource
from passerelle.decision import DecisionPolicy
from passerelle.services.catalog import load_catalog
from passerelle.services.pki import Pki, load_pki
from passerelle.services.runtime import SecretsRandom, utc_now
from passerelle.services.storage import open_store
from passerelle.services.trust.client import TrustClient
from passerelle.services.web import backchannel_guard, install_edge, protect_backchannel

from ..did import WebDidResolver
from ..fetch import Fetcher, is_loopback_url, stack_fetch_policy
from .api import api_router, offers_router, presentations_router
from .holder import Holder, Presenter
from .pages import pages_router
from .provider import WalletProvider
from .quirks import WalletQuirk, behaviour_for
from .receive import IssuanceClient
from .state import WalletState

__all__ = ["create_wallet_app"]


def build_wallet_state(
    *,
    pki: Pki,
    data_dir: Path,
    store_url: str | None,
    clock: Callable[[], datetime],
    random: RandomSource,
    quirks: frozenset[WalletQuirk],
) -> WalletState:
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
        random=random,
        clock=clock,
        policy=DecisionPolicy(allow_insecure_loopback=loopback),
        issuance=IssuanceClient(
            fetcher=fetcher,
            random=random,
            clock=clock,
            allow_insecure_loopback=loopback,
            behaviour=behaviour_for(quirks),
            provider=WalletProvider.from_pki(pki),
        ),
    )
    presenter = Presenter(
        holder=holder,
        did_resolver=WebDidResolver(
            fetcher, allow_loopback=local, allow_insecure_loopback=loopback
        ),
        behaviour=behaviour_for(quirks),
    )
    return WalletState(holder=holder, presenter=presenter)


def create_wallet_app(
    *,
    data_dir: Path,
    store_url: str | None = None,
    clock: Callable[[], datetime] = utc_now,
    random: RandomSource | None = None,
    quirks: frozenset[WalletQuirk] = frozenset(),
) -> FastAPI:
    pki = load_pki(data_dir, now=clock())
    app = FastAPI(title="Passerelle wallet")
    install_edge(app, service="wallet")
    protect_backchannel(
        app,
        backchannel_guard(hosts=pki.hosts, token_file=data_dir / "wallet" / "api-token"),
        prefixes=("/api/",),
    )
    app.state.wallet = build_wallet_state(
        pki=pki,
        data_dir=data_dir,
        store_url=store_url,
        clock=clock,
        random=random or SecretsRandom(),
        quirks=quirks,
    )
    for router in (api_router, offers_router, presentations_router, pages_router):
        app.include_router(router)
    return app
