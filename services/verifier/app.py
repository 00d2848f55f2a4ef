"""The verifier service: OpenID4VP 1.0 with DCQL, for any profile.

    POST /transactions                 create from a policy name or a DCQL query (with
                                       same_device and redirect_uri: the same-device flow)
    GET  /transactions/{id}            status, result with the decision trace, event log
                                       (?response_code=: a redirected transaction's result)
    GET  /transactions/{id}/page       QR code, live status, decision trace
    GET  /request/{id}  POST (wallet_nonce)   the signed request object (JAR)
    POST /response/{id}                the response_uri: direct_post or direct_post.jwt
    GET  /health

One router per surface (:mod:`.routes`), sharing one :class:`.state.VerifierState`
through a FastAPI dependency. Each transaction is a row in the store, moved through the
core's state table with an atomic update, so a response is processed once, across
replicas and restarts alike: a replayed response is refused (``oid4vp.response_replayed``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from fastapi import FastAPI

from passerelle import RandomSource
from passerelle.services.runtime import utc_now
from passerelle.services.web import install_edge

from .quirks import VerifierQuirk
from .routes import ROUTERS
from .state import build_state, install_state
from .transactions import TransactionBody

__all__ = ["TransactionBody", "create_verifier_app"]


def create_verifier_app(
    *,
    profile_name: str,
    data_dir: Path,
    store_url: str | None = None,
    clock: Callable[[], datetime] = utc_now,
    random: RandomSource | None = None,
    quirks: frozenset[VerifierQuirk] = frozenset(),
) -> FastAPI:
    state = build_state(
        profile_name=profile_name,
        data_dir=data_dir,
        store_url=store_url,
        clock=clock,
        random=random,
        quirks=quirks,
    )
    app = FastAPI(title=f"Passerelle verifier ({state.profile.id})")
    install_state(app, state)
    install_edge(app, service=f"verifier:{state.profile.id}")
    for router in ROUTERS:
        app.include_router(router)
    return app
