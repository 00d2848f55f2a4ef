"""The one reason-code hint table, and docs/partners.md showing it as it is."""

from __future__ import annotations

from pathlib import Path

from passerelle._errors import Reason
from passerelle._hints import HINTS, hint_for, hints_markdown

ROOT = Path(__file__).resolve().parents[2]


def test_every_hint_is_one_sentence_about_a_real_code() -> None:
    assert HINTS
    for reason, hint in HINTS.items():
        assert isinstance(reason, Reason)
        assert hint.endswith("."), reason
        assert "\n" not in hint, reason


def test_hint_for_takes_codes_as_strings() -> None:
    assert hint_for("status.revoked") == HINTS[Reason.STATUS_REVOKED]
    assert hint_for("no.such_code") is None


def test_the_partner_guide_shows_the_table_as_it_is() -> None:
    assert hints_markdown() in (ROOT / "docs" / "partners.md").read_text()
