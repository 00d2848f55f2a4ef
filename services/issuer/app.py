"""The issuer service: OpenID4VCI 1.0 over HTTP, for any profile.

The app is its state (:class:`.state.IssuerState`, on ``app.state.issuer``) and its
routers (:mod:`.routes`), one per protocol surface. Routes translate HTTP into calls of
:mod:`.grants` and :mod:`.issuance`, which ask the core (``passerelle.oid4vci``) what
may happen and persist what the protocol must remember; what goes into a credential is
:mod:`.credentials`' business. Everything a wallet is handed (offers, codes, nonces,
tokens, transaction ids) lives in the store, so a restart between two steps of a flow
loses nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from passerelle import RandomSource, __version__
from passerelle.services.runtime import utc_now
from passerelle.services.web import backchannel_guard, install_edge, protect_backchannel

from .grants import TX_CODE_ATTEMPTS
from .quirks import IssuerQuirk
from .routes import ROUTERS, dcp
from .state import build_issuer_state

__all__ = ["TX_CODE_ATTEMPTS", "create_issuer_app"]


def create_issuer_app(
    *,
    profile_name: str,
    data_dir: Path,
    store_url: str | None = None,
    quirks: frozenset[IssuerQuirk] | None = None,
    clock: Callable[[], datetime] = utc_now,
    random: RandomSource | None = None,
) -> FastAPI:
    state = build_issuer_state(
        profile_name=profile_name,
        data_dir=data_dir,
        store_url=store_url,
        quirks=quirks,
        clock=clock,
        random=random,
    )
    app = FastAPI(title=f"Passerelle issuer ({state.profile.id})", version=__version__)
    install_edge(
        app,
        service=f"issuer:{state.profile.id}",
        # OpenID4VCI 1.0 §8.3.1.2: a malformed Credential Request is this code.
        wire_errors={
            "/credential": "invalid_credential_request",
            "/deferred_credential": "invalid_credential_request",
        },
    )
    # Whoever can make an offer gets its tx_code: outside loopback development, making
    # offers takes the admin token.
    protect_backchannel(
        app,
        backchannel_guard(
            hosts=state.pki.hosts,
            token_file=data_dir / state.profile.id / "admin-token",
            env="PASSERELLE_ADMIN_TOKEN",
        ),
        paths=("/offers", "/offers/form"),
    )
    app.state.issuer = state
    app.state.store = state.store
    for router in ROUTERS:
        app.include_router(router)
    if state.dcp is not None:
        app.include_router(dcp.router)
    return app
