"""``passerelle wallet``: receive, list, present and decisions from a terminal."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from passerelle.cli import app
from tests.e2e.conftest import Stack
from tests.e2e.test_scenarios import LEGAL, _only

runner = CliRunner()


def test_wallet_cli_round_trip(stack: Stack) -> None:
    wallet = ["--url", stack.urls["wallet"], "--data-dir", str(stack.data_dir)]
    made = stack.offer("eu-issuer", "eu-legal-person-sd-jwt", "atelier-brule")
    link = next(iter(made["links"].values()))
    received = runner.invoke(
        app, ["wallet", "receive", link, "--tx-code", made["tx_code"], *wallet]
    )
    assert received.exit_code == 0, received.output
    held = json.loads(runner.invoke(app, ["wallet", "list", *wallet]).output)
    assert any(c["credential_type"] == LEGAL for c in held)
    request = stack.transaction(
        "ca-verifier", dcql_query=_only("legal_person", LEGAL, [["legal_name"]])
    )
    shown = runner.invoke(app, ["wallet", "present", request["request_url"], *wallet])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["disclosed"] == {"legal_person": [["legal_name"]]}
    declined_request = stack.transaction(
        "ca-verifier", dcql_query=_only("legal_person", LEGAL, [["euid"]])
    )
    declined = runner.invoke(
        app, ["wallet", "present", declined_request["request_url"], "--decline", *wallet]
    )
    assert declined.exit_code == 1
    decisions = json.loads(runner.invoke(app, ["wallet", "decisions", *wallet]).output)
    assert any(d.get("reason") == "wallet.holder_declined" for d in decisions)
