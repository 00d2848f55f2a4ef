"""``passerelle wallet`` reading what a wallet (or, through it, a verifier) answered:
a body of the wrong shape or an error envelope is one line with its reason, never a
traceback, never ``None`` printed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from passerelle.cli import app
from passerelle.cli._wallet import _presented_lines

runner = CliRunner()
URL = "http://wallet.invalid"


def _wallet_answers(monkeypatch: pytest.MonkeyPatch, status: int, body: str) -> None:
    def request(method: str, url: str, **_: Any) -> httpx.Response:
        return httpx.Response(status, text=body, request=httpx.Request(method, url))

    monkeypatch.setattr("passerelle.cli._wallet.httpx.request", request)


def _run(tmp_path: Path, *command: str) -> Any:
    return runner.invoke(app, ["wallet", *command, "--url", URL, "--data-dir", str(tmp_path)])


@pytest.mark.parametrize("body", ["null", '"busy"', '["x"]', "3"])
@pytest.mark.parametrize(
    "command", [("present", "openid4vp://?x"), ("receive", "openid-credential-offer://?x")]
)
def test_a_body_that_is_not_an_object_is_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, body: str, command: tuple[str, ...]
) -> None:
    _wallet_answers(monkeypatch, 200, body)
    result = _run(tmp_path, *command)
    assert result.exit_code == 2, result.output
    assert not isinstance(result.exception, (AttributeError, KeyError, TypeError))
    assert "did not answer as a Passerelle wallet" in result.output
    assert "None" not in result.output


@pytest.mark.parametrize(
    "command", [("present", "openid4vp://?x"), ("receive", "openid-credential-offer://?x")]
)
def test_a_wallet_error_envelope_is_a_failure_with_its_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: tuple[str, ...]
) -> None:
    envelope = {"error": "invalid_request", "reason": "input.too_large"}
    _wallet_answers(monkeypatch, 413, json.dumps(envelope))
    result = _run(tmp_path, *command)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ")
    assert "input.too_large" in result.output
    assert "HTTP 413" in result.output
    assert "what you can do:" in result.output
    assert "None" not in result.output


@pytest.mark.parametrize("said", ["null", '"busy"', '["x"]', "<html>", '{"error": "x"}'])
def test_a_verifiers_odd_refusal_body_reads_without_none(said: str) -> None:
    lines = _presented_lines(
        {"accepted": False, "stage": "response", "verifier_status": 400, "verifier_answer": said}
    )
    assert lines[0].startswith("✘")
    assert "None" not in "\n".join(lines)


def test_a_declined_answer_without_detail_reads_without_none() -> None:
    lines = _presented_lines({"accepted": False, "reason": "input.too_large"})
    text = "\n".join(lines)
    assert "input.too_large" in text
    assert "None" not in text


def test_the_wallet_list_leaves_out_every_technical_member(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same members the pages leave out (services.display.TECHNICAL)."""
    held = [
        {
            "credential_id": "c1",
            "credential_type": "urn:eudi:pid:1",
            "format": "dc+sd-jwt",
            "issuer": "https://issuer.example",
            "claims": ["given_name", "cnf", "exp", "iat", "status", "_sd", "vct#integrity"],
        }
    ]
    _wallet_answers(monkeypatch, 200, json.dumps(held))
    result = _run(tmp_path, "list")
    assert result.exit_code == 0, result.output
    assert "claims: given_name\n" in result.output


def test_the_demo_shows_no_technical_member_in_the_verifiers_vocabulary() -> None:
    from passerelle.cli._demo import _read
    from passerelle.services.scenarios import SCENARIOS, Outcome

    outcome = Outcome(
        scenario=SCENARIOS[0],
        as_expected=True,
        outcome="accepted",
        wallet={"disclosed": {"pid": [["given_name"]]}},
        result={
            "claims": {"pid": [{"vct": "a", "given_name": "Zoé"}]},
            "mapped": {
                "pid": [{"vct": "b", "given_name": "Zoé", "_sd_alg": "sha-256", "@context": "x"}]
            },
        },
    )
    lines = _read(outcome)
    assert 'given_name = "Zoé"' in lines[-1]
    assert "_sd_alg" not in lines[-1]
    assert "@context" not in lines[-1]
