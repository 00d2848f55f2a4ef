"""ISO/IEC 18013-5 mdocs end to end (issue 19): issued over OpenID4VCI (``mso_mdoc``),
kept by the wallet, presented element by element over OpenID4VP with the Appendix B
SessionTranscript, and judged by the other side's verifier through the same pipeline
steps as the other formats."""

from __future__ import annotations

from typing import Any

from passerelle.services.scenarios import SCENARIOS, play
from tests.e2e.conftest import Stack

MDOC_SCENARIOS = [s for s in SCENARIOS if s.configuration.endswith("-mdoc")]
STEPS = [
    "trust_list",
    "issuer_key",
    "home_framework",
    "authorized",
    "recognition",
    "signature",
    "status",
    "holder_binding",
    "schema",
]


def _steps(result: dict[str, Any], query_id: str) -> dict[str, str]:
    decision = result["credentials"][query_id][0]
    return {s["step"]: s["outcome"] for s in decision["steps"]}


def test_both_mdoc_cells_are_in_the_demo_and_accepted(stack: Stack) -> None:
    assert [s.verifier for s in MDOC_SCENARIOS] == ["ca-verifier", "eu-verifier"]
    for scenario in MDOC_SCENARIOS:
        outcome = play(stack, scenario)
        assert outcome.as_expected, (scenario.title, outcome.outcome, outcome.result)
        query_id = next(iter(outcome.result["credentials"]))
        steps = _steps(outcome.result, query_id)
        assert list(steps) == STEPS
        assert set(steps.values()) == {"passed"}  # foreign issuers: recognition passes too


def test_the_mdl_discloses_only_what_was_asked_and_maps_to_the_pid(stack: Stack) -> None:
    scenario = next(s for s in MDOC_SCENARIOS if s.verifier == "eu-verifier")
    outcome = play(stack, scenario)
    assert outcome.as_expected, outcome.result
    claims = outcome.result["claims"]["mdl"][0]["org.iso.18013.5.1"]
    # The optional portrait was there to give; nothing else beyond the query was.
    assert set(claims) == {"given_name", "family_name", "age_over_18", "portrait"}
    assert claims["age_over_18"] is True
    mapped = outcome.result["mapped"]["mdl"][0]
    assert mapped["vct"] == "urn:eudi:pid:1"
    assert mapped["age_equal_or_over"] == {"18": True}
    assert mapped["family_name"] == "Tremblay-Gagnon"
    assert outcome.wallet["response_mode"] == "direct_post.jwt"


def test_the_pid_mdoc_maps_to_the_canadian_person_credential(stack: Stack) -> None:
    scenario = next(s for s in MDOC_SCENARIOS if s.verifier == "ca-verifier")
    outcome = play(stack, scenario)
    mapped = outcome.result["mapped"]["pid_mdoc"][0]
    assert mapped["vct"] == "https://credentials.passerelle.example/ca/person/v1"
    assert mapped["given_name"] == "Björn"
    assert mapped["age_over_18"] is True


def test_a_revoked_mdoc_is_refused_at_the_status_step(stack: Stack) -> None:
    # At home (the EU verifier, which has not cached this status list yet; a cached list
    # is honoured until its ttl, so the Canadian verifier would see the change later).
    scenario = next(s for s in MDOC_SCENARIOS if s.verifier == "ca-verifier")
    stack.receive(scenario.issuer, scenario.configuration, scenario.persona)
    stack.admin(scenario.issuer, scenario.configuration, "revoke")
    made = stack.transaction("eu-verifier", dcql_query=scenario.query)
    wallet = stack.present(made["request_url"])
    result = stack.result("eu-verifier", made["transaction_id"])["result"]
    assert result["reason"] == "status.revoked", (wallet, result)
    steps = _steps(result, "pid_mdoc")
    assert steps["recognition"] == "skipped"  # a home issuer
    assert steps["status"] == "failed"
