"""A refusal the command line reports carries the same "what you can do" as the pages:
passerelle.explain's hint for its reason code, not a second wording."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console
from typer.testing import CliRunner

from passerelle.cli import app
from passerelle.cli._demo import _narrate
from passerelle.cli._options import what_to_do
from passerelle.cli._wallet import _presented_lines, _received_line
from passerelle.services.scenarios import SCENARIOS, Outcome

runner = CliRunner()


def test_a_refused_credential_says_what_to_do() -> None:
    line = _received_line(
        {"accepted": False, "reason": "trust.issuer_not_listed", "credential_type": "x"}
    )
    assert line.splitlines()[0].startswith("✘ refused x")
    assert line.splitlines()[1] == f"  {what_to_do('trust.issuer_not_listed')}"
    kept = _received_line({"accepted": True, "credential_type": "x", "holder_bound": True})
    assert "what you can do" not in kept


def test_a_refused_presentation_says_what_to_do_for_the_verifiers_reason() -> None:
    answer = {"reason": "trust.not_recognized", "error": "access_denied"}
    lines = _presented_lines(
        {"stage": "response", "verifier_status": 400, "verifier_answer": json.dumps(answer)}
    )
    assert lines[-1] == f"  {what_to_do('trust.not_recognized')}"
    declined = _presented_lines({"stage": "query", "reason": "dcql.no_match", "detail": "-"})
    assert declined[-1] == f"  {what_to_do('dcql.no_match')}"
    accepted = _presented_lines({"accepted": True, "disclosed": {"q": [["a"]]}})
    assert not any("what you can do" in line for line in accepted)


def test_a_refused_trust_list_says_what_to_do(tmp_path: Path) -> None:
    assert runner.invoke(app, ["init", "--data-dir", str(tmp_path)]).exit_code == 0
    listed = tmp_path / "list.jwt"
    listed.write_text("not.a.token")
    result = runner.invoke(app, ["trust", "verify", str(listed), "--data-dir", str(tmp_path)])
    assert result.exit_code == 1, result.output
    [reason] = [w.rstrip(":") for w in result.output.split() if w.startswith("jws.")]
    # The console wraps long lines: compare words, not lines.
    words = result.output.split()
    assert f"FAILED {reason}:" in " ".join(words)
    hint = what_to_do(reason).split()
    assert words[-len(hint) :] == hint


def _narrated(outcome: Outcome) -> str:
    out = io.StringIO()
    _narrate(Console(file=out, width=400, force_terminal=False), 1, outcome)
    return out.getvalue()


def test_the_demo_says_what_to_do_once_for_the_refusal_it_narrates() -> None:
    minor = SCENARIOS[1]
    declined = _narrated(
        Outcome(
            scenario=minor,
            as_expected=True,
            outcome="dcql.no_match",
            wallet={"stage": "query", "reason": "dcql.no_match", "detail": "-"},
        )
    )
    assert declined.count("what you can do:") == 1
    assert what_to_do("dcql.no_match") in declined
    refused = _narrated(
        Outcome(
            scenario=minor,
            as_expected=False,
            outcome="status.revoked",
            wallet={"disclosed": {"pid": [["given_name"]]}},
            result={"accepted": False, "reason": "status.revoked", "detail": "-"},
        )
    )
    assert refused.count("what you can do:") == 1
    assert what_to_do("status.revoked") in refused
    accepted = _narrated(
        Outcome(
            scenario=SCENARIOS[0],
            as_expected=True,
            outcome="accepted",
            wallet={"disclosed": {"pid": [["given_name"]]}},
            result={"accepted": True},
        )
    )
    assert "what you can do:" not in accepted


def test_the_demo_shows_the_findings_after_the_refusing_step() -> None:
    decision = {
        "steps": [
            {"step": "signature", "outcome": "failed", "detail": "bad", "reason": "jws.x"},
        ],
        "findings": [
            {"step": "status", "outcome": "passed", "detail": "valid", "unverified": True},
            {
                "step": "kb_jwt",
                "outcome": "skipped",
                "detail": "-",
                "status": "not_run",
                "depends_on": "signature",
            },
        ],
    }
    told = _narrated(
        Outcome(
            scenario=SCENARIOS[0],
            as_expected=False,
            outcome="jws.x",
            wallet={"disclosed": {"pid": [["given_name"]]}},
            result={"accepted": False, "reason": "jws.x", "credentials": {"pid": [decision]}},
        )
    )
    lines = told.splitlines()
    failed = next(i for i, line in enumerate(lines) if "✘ signature: bad [jws.x]" in line)
    assert (
        "also found, not decided on: ✔ status: valid (evaluated on unverified data)"
        in (lines[failed + 1])
    )
    assert "· kb_jwt: - (not run: depends on signature)" in lines[failed + 2]
