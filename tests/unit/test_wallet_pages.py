"""The wallet's own pages, driven with a stand-in presenter: what a verifier answers
is a peer's text, and the wallet page must not turn it into script or a 500."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.responses import HTMLResponse, RedirectResponse

from passerelle import JsonObject
from passerelle.services.wallet.pages import answer


class _Answered:
    """A presenter whose verifier answered 200 with ``redirect_uri``."""

    def __init__(self, redirect_uri: str) -> None:
        self.redirect_uri = redirect_uri

    def complete(self, pending_id: str, **_: Any) -> JsonObject:
        return {
            "accepted": True,
            "verifier": "x509_san_dns:rp.example",
            "disclosed": {},
            "redirect_uri": self.redirect_uri,
        }


@pytest.mark.parametrize(
    "target",
    [
        "javascript:alert(document.domain)",
        "JavaScript:alert(1)",
        "data:text/html,x",
        "vbscript:x",
        " javascript:alert(1)",
    ],
)
def test_a_redirect_that_is_not_a_web_address_is_neither_followed_nor_linked(
    target: str,
) -> None:
    page = answer("p", consent="approve", presenter=_Answered(target))  # type: ignore[arg-type]
    assert isinstance(page, HTMLResponse)
    html = bytes(page.body).decode()
    assert 'href="javascript' not in html.lower().replace(" ", "")
    assert target.strip() not in html
    assert 'id="continue"' not in html
    assert "will not follow" in html


@pytest.mark.parametrize("target", ["https://rp.example/done?x=1", "HTTPS://rp.example/done"])
def test_a_web_address_is_followed(target: str) -> None:
    page = answer("p", consent="approve", presenter=_Answered(target))  # type: ignore[arg-type]
    assert isinstance(page, RedirectResponse)
    assert page.status_code == 303
    assert page.headers["location"] == target
