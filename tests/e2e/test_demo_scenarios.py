"""The scenario table `passerelle demo` plays, on a fresh stack: each scenario ends as
the table says, accepted or refused with its reason code."""

from __future__ import annotations

from passerelle.services.scenarios import SCENARIOS, play
from tests.e2e.conftest import Stack


def test_every_demo_scenario_ends_as_expected(stack: Stack) -> None:
    outcomes = [play(stack, scenario) for scenario in SCENARIOS]
    deviations = [
        (o.scenario.title, o.scenario.expect, o.outcome) for o in outcomes if not o.as_expected
    ]
    assert deviations == []
    assert {o.outcome for o in outcomes} >= {
        "accepted",
        "status.revoked",
        "trust.recognition_out_of_scope",
    }


def test_the_eu_pid_scenario_shows_each_haip_issuance_step(stack: Stack) -> None:
    from io import StringIO

    from rich.console import Console

    from passerelle.cli._demo import _narrate

    scenario = next(s for s in SCENARIOS if s.configuration == "eu-pid-sd-jwt" and s.grant)
    outcome = play(stack, scenario)
    assert outcome.as_expected, outcome.outcome
    out = StringIO()
    _narrate(Console(file=out, width=200), 1, outcome)
    issuance = [line for line in out.getvalue().splitlines() if "⇢ issuance:" in line]
    for step in (
        "PAR: pushed authorization request with PKCE S256",
        "wallet attestation issued by the wallet provider",
        "the server asked for a DPoP nonce",
        "DPoP-bound access token",
        "key attestation over 1 holder key",
        "encrypted credential response",
    ):
        assert any(step in line for line in issuance), issuance
