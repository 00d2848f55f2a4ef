"""The wallet plan needs no issuer target: with ``suite_credential`` the suite issues
the wallet's credential itself, and judges the wallet as before."""

from __future__ import annotations

from pathlib import Path

import yaml

from passerelle.conformance import Status, run_checks, select_checks
from passerelle.conformance._local import prepare_data_dir
from passerelle.conformance.targets import load_targets, local_targets_text
from passerelle.services.launcher import start_stack

SAMPLE = Path(__file__).resolve().parents[2] / "schemas" / "eu-pid" / "samples"
CHECKS = ["WAL-01", "WAL-02", "WAL-08", "WAL-28", "WAL-31"]


def _without_issuers(sample: Path) -> str:
    """The local targets file with no issuer target at all: the wallet's credential is
    the catalogue's sample, which the suite issues."""
    root = yaml.safe_load(local_targets_text())
    targets = root["targets"]
    for name in [n for n, t in targets.items() if t["role"] != "wallet"]:
        del targets[name]
    wallet = targets["wallet"]
    for key in ("issuer", "configuration", "persona"):
        wallet.pop(key)
    wallet["suite_credential"] = {"file": str(sample)}
    root.pop("cross_border", None)
    return yaml.safe_dump(root)


def test_the_wallet_plan_runs_with_no_issuer_target(tmp_path: Path) -> None:
    data_dir = tmp_path / "stack"
    hosts = prepare_data_dir(data_dir)
    stack = start_stack(data_dir=data_dir, hosts=hosts, roles=("trust", "wallet"))
    try:
        targets = load_targets(
            _without_issuers(SAMPLE / "zoe-lefevre-dubois.json"),
            substitutions={**stack.urls, "data_dir": str(data_dir)},
            source="no issuer",
        )
        assert [t.role for t in targets.targets.values()] == ["wallet"]
        run = run_checks(targets, select_checks(ids=CHECKS))
    finally:
        stack.stop()
    verdicts = {r.check.id: (r.status, r.message) for r in run.results}
    assert {k: v[0] for k, v in verdicts.items()} == dict.fromkeys(CHECKS, Status.PASSED), verdicts
    received = next(r for r in run.results if r.check.id == "WAL-01")
    assert received.evidence["credential"] == "urn:eudi:pid:1"
    assert "given_name" in received.evidence["claims"]
