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
    # People get a short answer: kept, bound to the key the wallet proved at issuance.
    assert received.output.startswith(f"✔ kept {LEGAL} (dc+sd-jwt)"), received.output
    assert "bound to the wallet's own key" in received.output
    assert len(received.output.splitlines()) == 2, received.output
    held = json.loads(runner.invoke(app, ["wallet", "list", "--json", *wallet]).output)
    assert any(c["credential_type"] == LEGAL for c in held)
    request = stack.transaction(
        "ca-verifier", dcql_query=_only("legal_person", LEGAL, [["legal_name"]])
    )
    shown = runner.invoke(app, ["wallet", "present", request["request_url"], "--json", *wallet])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["disclosed"] == {"legal_person": [["legal_name"]]}
    listed = runner.invoke(app, ["wallet", "list", *wallet])
    assert listed.exit_code == 0, listed.output
    assert LEGAL in listed.output
    assert "cnf" not in listed.output
    declined_request = stack.transaction(
        "ca-verifier", dcql_query=_only("legal_person", LEGAL, [["euid"]])
    )
    declined = runner.invoke(
        app, ["wallet", "present", declined_request["request_url"], "--decline", *wallet]
    )
    assert declined.exit_code == 1
    assert declined.output.startswith("✘ the wallet declined"), declined.output
    assert "wallet.holder_declined" in declined.output
    decisions = json.loads(runner.invoke(app, ["wallet", "decisions", "--json", *wallet]).output)
    assert any(d.get("reason") == "wallet.holder_declined" for d in decisions)


def test_received_json_says_holder_bound(stack: Stack) -> None:
    made = stack.offer("eu-issuer", "eu-legal-person-sd-jwt", "atelier-brule")
    received = runner.invoke(
        app,
        [
            "wallet",
            "receive",
            next(iter(made["links"].values())),
            "--tx-code",
            made["tx_code"],
            "--json",
            "--url",
            stack.urls["wallet"],
            "--data-dir",
            str(stack.data_dir),
        ],
    )
    assert received.exit_code == 0, received.output
    [outcome] = json.loads(received.output)
    # Bound to the key the wallet proved: holder binding is there, not "false".
    assert outcome["holder_bound"] is True
    assert any(s["step"] == "holder_key" and s["outcome"] == "passed" for s in outcome["steps"])
