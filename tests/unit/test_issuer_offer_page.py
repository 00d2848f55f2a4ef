"""The expired-offer page says how long offers last from the lifetime the issuer
gives them, not from a sentence that drifts from it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from passerelle.services.issuer import grants
from passerelle.services.issuer.routes.pages import offer_html


class _NoOffers:
    def get(self, *_: Any, **__: Any) -> None:
        return None


class _State:
    store = _NoOffers()

    def now(self) -> datetime:
        return datetime(2026, 12, 6, tzinfo=UTC)


@pytest.mark.parametrize(
    ("lifetime", "words"),
    [
        (timedelta(minutes=3), "3 minutes"),
        (timedelta(minutes=1), "1 minute"),
        (timedelta(seconds=90), "90 seconds"),
    ],
)
def test_the_expired_offer_page_states_the_real_lifetime(
    monkeypatch: pytest.MonkeyPatch, lifetime: timedelta, words: str
) -> None:
    monkeypatch.setattr(grants, "CODE_LIFETIME", lifetime)
    page = offer_html(_State(), "gone")  # type: ignore[arg-type]
    assert page.status_code == 404
    assert f"offers last {words})" in bytes(page.body).decode()
