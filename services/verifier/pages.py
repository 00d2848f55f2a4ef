"""The verifier's pages for people: its policies, and one request with its QR code, live
status and decision trace. Every value is escaped."""

from __future__ import annotations

from collections.abc import Mapping
from html import escape
from typing import Any

from passerelle.services.pages import page, qr_svg, trace_html

from .profile import VerifierProfile

__all__ = ["index_page", "transaction_page"]


def index_page(profile: VerifierProfile) -> str:
    cards = "".join(
        f"<div class='card'><b>{escape(name)}</b><p>{escape(policy.description)}</p>"
        "<form method='post' action='transactions/form'>"
        f"<input type='hidden' name='policy' value='{escape(name)}'>"
        f"<button id='ask-{escape(name)}'>Ask a wallet</button></form></div>"
        for name, policy in profile.policies.items()
    )
    modes = ", ".join(profile.response_modes)
    intro = (
        f"<p>Client identifier prefix <code>{escape(profile.client_id_prefix)}</code>; "
        f"response modes {escape(modes)}.</p>"
    )
    return page(f"Verifier ({profile.id})", intro + cards)


def transaction_page(*, profile_id: str, url: str, row: Mapping[str, Any]) -> str:
    state = str(row.get("state"))
    done = bool(row.get("result"))
    body = (
        f"{'' if done else qr_svg(url)}"
        f"<p><a id='request-link' href='{escape(url)}'>{escape(url)}</a></p>"
        f"<p>Status: <b id='status'>{escape(state)}</b></p>"
        f"<div id='result'>{trace_html(row.get('result') or {})}</div>"
    )
    # Live status until the wallet has answered; a finished request stops refreshing.
    return page(f"Presentation request ({profile_id})", body, refresh_seconds=None if done else 2)
