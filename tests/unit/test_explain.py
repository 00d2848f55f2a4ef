"""The one table of words for reason codes, and docs/partners.md showing it as it is."""

from __future__ import annotations

from pathlib import Path

import pytest

from passerelle._errors import Reason
from passerelle.explain import PARTNER_CODES, explain, markdown_table
from passerelle.explain._table import _FAMILIES, _OWN

ROOT = Path(__file__).resolve().parents[2]
GENERIC = explain("no_such_family.at_all")


@pytest.mark.parametrize("reason", list(Reason))
def test_every_reason_has_words(reason: Reason) -> None:
    explained = explain(reason)
    assert explained.reason == reason
    assert explained.sentence.endswith("."), reason
    assert explained.hint.endswith("."), reason
    assert explained.sentence != GENERIC.sentence


def test_the_table_names_only_real_codes_and_families() -> None:
    # A misspelt key would never be looked up: the code it meant falls back silently.
    assert set(_OWN) <= set(Reason)
    assert set(_FAMILIES) == {str(reason).partition(".")[0] for reason in Reason}


def test_a_code_without_an_entry_of_its_own_gets_its_familys_words() -> None:
    assert "status.list_expired" not in _OWN
    family = explain("status.list_expired")
    assert (family.sentence, family.hint) == _FAMILIES["status"]
    assert family.sentence != explain("status.revoked").sentence


def test_the_partner_selection_is_real_codes_each_with_words_of_its_own() -> None:
    assert len(set(PARTNER_CODES)) == len(PARTNER_CODES)
    for code in PARTNER_CODES:
        assert code in set(Reason), code
        assert code in _OWN, code


def test_the_table_is_rendered_in_the_order_given() -> None:
    table = markdown_table(["status.suspended", "status.revoked"]).splitlines()
    assert table[0] == "| reason code | what happened | what to do |"
    revoked = explain("status.revoked")
    assert table[3] == f"| `status.revoked` | {revoked.sentence} | {revoked.hint} |"
    assert table[2].startswith("| `status.suspended` |")
    assert len(table) == 4


def test_the_partner_guide_shows_the_table_as_it_is() -> None:
    assert markdown_table(PARTNER_CODES) in (ROOT / "docs" / "partners.md").read_text()
