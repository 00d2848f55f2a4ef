"""The words and the shell of the pages: every reason code has a sentence and a hint,
templates escape what they are given, no Python repr reaches a page, and the claims
of a credential read with the display names of its type metadata."""

from __future__ import annotations

import re

from passerelle.explain import explain
from passerelle.services.catalog import load_catalog
from passerelle.services.display import claim_lines, path_lines, type_label
from passerelle.services.pages import answer_of, human, render

PID = "urn:eudi:pid:1"
CA_PERSON = "https://credentials.passerelle.example/ca/person/v1"


def test_a_code_of_its_own_beats_its_family() -> None:
    assert explain("status.revoked").sentence == "The issuer has revoked this credential."
    assert explain("status.list_expired").sentence == explain("status.unknown_value").sentence


def test_values_read_as_words() -> None:
    assert human(None) == ""
    assert human(True) == "yes"
    assert human(["ai-systems", "medical"]) == "ai-systems, medical"
    assert human({"18": True}) == "18: yes"


def test_a_peers_error_body_gives_its_reason() -> None:
    body = '{"error": "invalid_request", "reason": "oid4vp.session_transition_invalid"}'
    assert answer_of(body)["reason"] == "oid4vp.session_transition_invalid"
    # Only string members of an object: nothing from other shapes or a non-JSON body.
    assert answer_of('{"reason": null, "error": 3, "error_description": "x"}') == {
        "error_description": "x"
    }
    for text in ("<html>", None, "null", '"busy"', '["x"]'):
        assert answer_of(text) == {}, text


def test_the_shell_escapes_and_never_prints_none() -> None:
    page = render("message.html", title="<script>x</script>", service=None, message=None, back=None)
    assert "<script>x</script>" not in page
    assert "&lt;script&gt;" in page
    assert "None" not in page


def test_the_refusal_block_reads_as_a_sentence_with_a_way_back() -> None:
    page = render(
        "wallet_refused.html",
        title="Request refused",
        service="wallet",
        explained=explain("oid4vp.session_transition_invalid"),
        detail="event fetch_request is not allowed in state failed",
    )
    assert "already answered" in page
    assert "What you can do:" in page
    assert 'id="back"' in page
    assert re.search(r'<code class="reason">oid4vp.session_transition_invalid</code>', page)


def test_claims_read_with_display_names_and_values_without_technical_members() -> None:
    catalog = load_catalog()
    lines = claim_lines(
        catalog,
        CA_PERSON,
        {
            "given_name": "Éloïse",
            "address": {"region": "QC", "country": "CA"},
            "age_over_18": True,
            "cnf": {"jwk": {}},
            "vct": CA_PERSON,
            "vct#integrity": "sha256-x",
        },
    )
    shown = {line.label: line.value for line in lines}
    assert shown["Province or territory"] == "QC"
    assert shown["Aged 18 or over"] == "yes"
    assert not any("cnf" in line.key or "vct" in line.key for line in lines)
    assert type_label(catalog, CA_PERSON) == "Person credential"
    assert type_label(catalog, PID) == "EU Person Identification Data"
    # An unknown type keeps its identifier and gets words from its claim names.
    (line,) = claim_lines(catalog, "urn:unknown", {"family_name": "X"})
    assert line.label == "Family name"


def test_an_mdocs_elements_are_one_line_each() -> None:
    lines = claim_lines(
        load_catalog(),
        "org.iso.18013.5.1.mDL",
        {"org.iso.18013.5.1": {"family_name": "Doe", "age_over_18": True}},
        format="mso_mdoc",
    )
    assert [(line.label, line.value) for line in lines] == [
        ("Family name", "Doe"),
        ("Age over 18", "yes"),
    ]
    (line,) = path_lines(
        load_catalog(),
        "org.iso.18013.5.1.mDL",
        {"org.iso.18013.5.1": {"birth_date": "x"}},
        [["org.iso.18013.5.1", "birth_date"]],
    )
    assert (line.label, line.value) == ("Birth date", "x")
