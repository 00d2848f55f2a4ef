"""The issuer's pages for people: the offer page (QR code and deep link) and the mock
login page where a tester picks a persona. Every value is escaped."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

from passerelle.services.pages import page as _page
from passerelle.services.pages import qr_svg

__all__ = ["index_page", "login_page", "offer_page"]


def offer_page(
    *,
    issuer_name: str,
    links: Mapping[str, str],
    tx_code: str | None,
    configurations: Sequence[str],
) -> str:
    parts = [
        f"<p>Credential offer from <b>{escape(issuer_name)}</b> for "
        f"<code>{escape(', '.join(configurations))}</code>.</p>"
    ]
    for scheme, link in links.items():
        parts.append(
            f"<div class='card' data-scheme='{escape(scheme)}'>{qr_svg(link)}"
            f"<p><a id='offer-{escape(scheme)}' href='{escape(link)}'>{escape(scheme)} link</a></p>"
            f"<pre>{escape(link)}</pre></div>"
        )
    if tx_code is not None:
        parts.append(
            "<div class='card'>Transaction code (send to the holder by another channel):"
            f"<div class='tx' id='tx-code'>{escape(tx_code)}</div></div>"
        )
    return _page("Credential offer", "".join(parts))


def login_page(
    *, issuer_name: str, request_uri: str, personas: Mapping[str, str], action: str
) -> str:
    buttons = "".join(
        f"<button name='persona' value='{escape(p)}' id='persona-{escape(p)}'>"
        f"{escape(label)}</button>"
        for p, label in personas.items()
    )
    body = (
        f"<p>Mock login at <b>{escape(issuer_name)}</b>: choose who you are.</p>"
        f"<form method='post' action='{escape(action)}'>"
        f"<input type='hidden' name='request_uri' value='{escape(request_uri)}'>{buttons}</form>"
    )
    return _page("Sign in (development)", body)


def index_page(*, issuer_name: str, configurations: Mapping[str, Sequence[str]]) -> str:
    rows = "".join(
        f"<div class='card'><b>{escape(cid)}</b><form method='post' action='offers/form'>"
        f"<input type='hidden' name='configuration_id' value='{escape(cid)}'>"
        + "".join(
            f"<button name='persona' value='{escape(p)}'>offer to {escape(p)}</button>"
            for p in personas
        )
        + "<label><input type='checkbox' name='tx_code' value='1'> with transaction code</label>"
        "</form></div>"
        for cid, personas in configurations.items()
    )
    return _page(issuer_name, rows)
