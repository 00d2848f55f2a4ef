"""The issuer's pages for people: the index (make an offer), the offer page (what is
offered, the grant, the expiry, whether it was redeemed, QR codes and a button to the
development wallet) and the mock login page where a tester picks a persona. Rendered
by the shared templates; every value is escaped there."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlencode

from passerelle.services.display import claim_lines, type_label
from passerelle.services.pages import render

from .grants import PRE_AUTHORIZED_GRANT
from .state import IssuerState, stored

__all__ = ["index_page", "login_page", "offer_page"]

_SERVICE = "Passerelle issuer"


def _offered(
    state: IssuerState, configs: Sequence[str], persona: str | None
) -> list[dict[str, Any]]:
    out = []
    for cid in configs:
        config = state.profile.configurations.get(cid)
        if config is None:
            continue
        ctype = state.catalog.types[config.type_id]
        sample = ctype.samples.get(persona or "", {})
        out.append(
            {
                "id": cid,
                "format": config.format,
                "type": type_label(state.catalog, config.vct),
                "claims": claim_lines(state.catalog, config.vct, sample),
            }
        )
    return out


def _grant_and_redemption(state: IssuerState, offer: Mapping[str, Any]) -> tuple[str, str]:
    grants = offer.get("grants") or {}
    pre = grants.get(PRE_AUTHORIZED_GRANT)
    if isinstance(pre, dict):
        code = pre.get("pre-authorized_code")
        row = stored(state.store.get("pre_codes", str(code), now=state.now())) if code else None
        grant = "pre-authorized code" + (
            ", with a transaction code" if "tx_code" in pre else ", no transaction code"
        )
        if row is None or row.get("state") != "offered":
            return grant, "Redeemed: yes — a wallet has used this offer (or it expired)."
        return grant, "Redeemed: not yet."
    return (
        "authorization code — the holder signs in at the issuer (mock login) from the wallet",
        "Redeemed: shown on the wallet once the holder has signed in.",
    )


def offer_page(
    *,
    state: IssuerState,
    entry: Mapping[str, Any],
    links: Mapping[str, str],
    tx_code: str | None,
) -> str:
    offer = entry["offer"]
    grant, redeemed = _grant_and_redemption(state, offer)
    persona = entry.get("persona")
    wallet = state.pki.hosts.get("wallet")
    first_link = next(iter(links.values()), "")
    expires = str(entry.get("expires_at") or "")[:19].replace("T", " ")
    return render(
        "issuer_offer.html",
        title="Credential offer",
        service=_SERVICE,
        issuer_name=state.issuer_name,
        persona=persona,
        offered=_offered(state, list(entry.get("configs") or ()), persona),
        grant=grant,
        expires=f"{expires} UTC" if expires else "ten minutes after it was made",
        redeemed=redeemed,
        tx_code=tx_code,
        wallet_url=f"{wallet}/?{urlencode({'offer': first_link})}" if wallet else None,
        links=list(links.items()),
    )


def login_page(
    *, issuer_name: str, request_uri: str, personas: Mapping[str, str], action: str
) -> str:
    return render(
        "issuer_login.html",
        title="Sign in (development)",
        service=_SERVICE,
        issuer_name=issuer_name,
        request_uri=request_uri,
        personas=list(personas.items()),
        action=action,
    )


def index_page(*, state: IssuerState, configurations: Mapping[str, Sequence[str]]) -> str:
    views = []
    for cid, personas in configurations.items():
        config = state.profile.configurations[cid]
        views.append(
            {
                "id": cid,
                "type": type_label(state.catalog, config.vct),
                "format": config.format,
                "personas": list(personas),
            }
        )
    return render(
        "issuer_index.html", title=state.issuer_name, service=_SERVICE, configurations=views
    )
