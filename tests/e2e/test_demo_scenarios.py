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
