"""Verdicts come from what the suite observes (DESIGN §7): a verifier's own trace never
softens one, and a long-lived stack gets the same verdicts run after run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from passerelle.conformance import Status, run_checks, select_checks
from passerelle.conformance._local import local_targets, local_targets_text, prepare_data_dir
from passerelle.services.launcher import ROLES, start_stack

PASSERELLE = [sys.executable, "-c", "from passerelle.cli import main; main()"]
STATUS_CHECKS = ("VER-CRED-03", "VER-CRED-04")


def _targets_file(tmp_path: Path, urls: dict[str, str], data_dir: Path) -> Path:
    text = local_targets_text()
    for name, value in {**urls, "data_dir": str(data_dir)}.items():
        text = text.replace("${" + name + "}", value)
    path = tmp_path / "targets.yaml"
    path.write_text(text)
    return path


def test_a_verifier_that_skips_status_and_claims_it_passed_fails_the_run(tmp_path: Path) -> None:
    data_dir = tmp_path / "stack"
    hosts = prepare_data_dir(data_dir)
    quirks = ["skip_status", "forge_status_trace"]
    stack = start_stack(
        data_dir=data_dir,
        hosts=hosts,
        roles=ROLES,
        quirks={"ca-verifier": quirks, "eu-verifier": quirks},
    )
    try:
        targets = _targets_file(tmp_path, stack.urls, data_dir)
        args = ["conformance", "run", "--targets", str(targets), "--report", str(tmp_path / "r")]
        for check_id in STATUS_CHECKS:
            args += ["--check", check_id]
        done = subprocess.run(
            [*PASSERELLE, *args],
            cwd=tmp_path,
            env={**os.environ, "COLUMNS": "200"},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        stack.stop()
    assert done.returncode == 1, (done.stdout + done.stderr)[-4000:]
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    results = [r for r in report["results"] if r["check_id"] in STATUS_CHECKS]
    assert {(r["check_id"], r["subject"]) for r in results} == {
        (c, v) for c in STATUS_CHECKS for v in ("ca-verifier", "eu-verifier")
    }
    assert all(r["status"] == "failed" for r in results)
    # The verifier said it checked status, and the suite kept that as evidence only.
    for r in results:
        trace = r["evidence"]["verifier_trace"]
        assert any(s["step"] == "status" and s["outcome"] == "passed" for s in trace), trace
        assert r["evidence"]["accepted"] is True


@pytest.fixture(scope="module")
def long_lived(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    data_dir = tmp_path_factory.mktemp("long-lived")
    hosts = prepare_data_dir(data_dir)
    stack = start_stack(data_dir=data_dir, hosts=hosts, roles=ROLES)
    try:
        yield stack.urls, data_dir
    finally:
        stack.stop()


def test_two_runs_against_one_stack_give_the_same_verdicts(
    long_lived: tuple[dict[str, str], Path],
) -> None:
    urls, data_dir = long_lived
    checks = select_checks(["verifier"])

    def verdicts() -> dict[tuple[str, str], Status]:
        run = run_checks(local_targets(urls, data_dir), checks)
        return {(r.check.id, r.subject): r.status for r in run.results}

    first, second = verdicts(), verdicts()
    assert first == second
    for check_id in (*STATUS_CHECKS, "VER-CRED-05"):
        for verifier in ("ca-verifier", "eu-verifier"):
            assert first[(check_id, verifier)] is Status.PASSED
    assert Status.WARNING not in first.values()


def test_a_credential_at_fault_is_blamed_on_its_issuer_not_the_verifier(tmp_path: Path) -> None:
    data_dir = tmp_path / "stack"
    hosts = prepare_data_dir(data_dir)
    # The issuer signs with a key it does not publish: a verifier must refuse that
    # credential, and the suite must not call that refusal the verifier's fault.
    stack = start_stack(
        data_dir=data_dir,
        hosts=hosts,
        roles=ROLES,
        quirks={"eu-issuer": ["sign_with_unlisted_key"]},
    )
    try:
        checks = select_checks(ids=["VER-PRES-01", "VER-PRES-02", "VER-KB-01", "VER-CRED-03"])
        run = run_checks(local_targets(stack.urls, data_dir), checks)
    finally:
        stack.stop()
    judged = [r for r in run.results if "at_fault" in r.evidence]
    assert {r.check.id for r in judged} == {
        "VER-PRES-01",
        "VER-PRES-02",
        "VER-KB-01",
        "VER-CRED-03",
    }
    assert all(r.status is Status.SKIPPED for r in judged)
    assert all(r.evidence["at_fault"] == "eu-issuer" for r in judged)
    assert not [r for r in run.results if r.status in (Status.FAILED, Status.ERROR)]
