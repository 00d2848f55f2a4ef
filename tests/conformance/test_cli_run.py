"""``passerelle conformance run`` as CI and partners use it: against the local stack it
starts itself, and against a second stack named only by a targets file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import junitparser
import pytest

from passerelle.conformance._local import local_targets_text, prepare_data_dir
from passerelle.services.launcher import ROLES, start_stack

PASSERELLE = [sys.executable, "-c", "from passerelle.cli import main; main()"]


def _run(args: list[str], *, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    done = subprocess.run(
        [*PASSERELLE, *args],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def test_run_against_the_local_stack_passes_and_writes_every_report(tmp_path: Path) -> None:
    # No stack runs on this (empty) data directory, so the command starts its own.
    code, output = _run(
        ["conformance", "run", "--report", str(tmp_path / "reports")],
        cwd=tmp_path,
        env={"PASSERELLE_DATA_DIR": str(tmp_path / "no-stack")},
    )
    # The whole run's duration is a target of bench/bench_conformance.py, not a test.
    assert code == 0, output[-4000:]
    report = json.loads((tmp_path / "reports" / "report.json").read_text())
    required = [r for r in report["results"] if r["severity"] == "required"]
    assert required
    # A warning is allowed (our connector has no suspension callback); never a failure.
    assert all(r["status"] in ("passed", "skipped", "warning") for r in required)
    assert any(r["status"] == "passed" for r in required)
    assert len({r["check_id"] for r in report["results"]}) >= 60
    assert (tmp_path / "reports" / "report.html").read_text().startswith("<!DOCTYPE html>")
    xml = junitparser.JUnitXml.fromfile(str(tmp_path / "reports" / "junit.xml"))
    suites = list(xml)
    assert {s.name for s in suites} >= {"issuer", "verifier", "wallet", "trust-list"}
    assert sum(s.tests for s in suites) == len(report["results"])
    assert sum(s.failures + s.errors for s in suites) == 0


@pytest.fixture
def partner_stack(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A second stack on other ports, with its own data directory: from the suite's point
    of view, somebody else's deployment."""
    data_dir = tmp_path / "partner"
    hosts = prepare_data_dir(data_dir)
    stack = start_stack(data_dir=data_dir, hosts=hosts, roles=ROLES)
    try:
        yield stack.urls, data_dir
    finally:
        stack.stop()


def _targets_file(tmp_path: Path, urls: dict[str, str], data_dir: Path) -> Path:
    """What a partner does: copy the local targets file and write its own URLs in."""
    text = local_targets_text()
    for name, value in {**urls, "data_dir": str(data_dir)}.items():
        text = text.replace("${" + name + "}", value)
    path = tmp_path / "targets.yaml"
    path.write_text(text)
    return path


def test_run_against_a_partner_stack_through_a_targets_file(
    tmp_path: Path, partner_stack: tuple[dict[str, str], Path]
) -> None:
    urls, data_dir = partner_stack
    targets = _targets_file(tmp_path, urls, data_dir)
    code, output = _run(
        ["conformance", "run", "--targets", str(targets), "--report", str(tmp_path / "r")],
        cwd=tmp_path,
    )
    assert code == 0, output[-4000:]
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    tested = {t["url"] for t in report["targets"].values()}
    assert tested == set(urls.values())

    # An expected failure that does not happen is itself reported, and fails the run.
    passing = next(r["check_id"] for r in report["results"] if r["status"] == "passed")
    expected = tmp_path / "expected-failures.txt"
    expected.write_text(f"# known defects\n{passing}\n")
    code, output = _run(
        [
            "conformance",
            "run",
            "--targets",
            str(targets),
            "--plan",
            next(r["plan"] for r in report["results"] if r["check_id"] == passing),
            "--expected-failures",
            str(expected),
            "--report",
            str(tmp_path / "r2"),
        ],
        cwd=tmp_path,
    )
    assert code == 1, output[-4000:]
    again = json.loads((tmp_path / "r2" / "report.json").read_text())
    flagged = [r for r in again["results"] if r["unexpected"]]
    assert flagged
    assert {r["check_id"] for r in flagged} == {passing}


def test_a_bad_targets_file_is_refused_before_anything_runs(tmp_path: Path) -> None:
    bad = tmp_path / "targets.yaml"
    bad.write_text("targets:\n  x:\n    role: oracle\n    url: http://127.0.0.1:1\n")
    code, output = _run(["conformance", "run", "--targets", str(bad)], cwd=tmp_path)
    assert code == 2
    assert "targets.x.role" in output


def test_an_unreachable_target_is_an_error_not_a_failure(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(
        "targets:\n  gone:\n    role: issuer\n    profile: ca\n    url: http://127.0.0.1:9\n"
        "    offer_endpoint: http://127.0.0.1:9/offers\n"
    )
    code, _ = _run(
        [
            "conformance",
            "run",
            "--targets",
            str(tmp_path / "t.yaml"),
            "--plan",
            "issuer",
            "--report",
            str(tmp_path / "r"),
        ],
        cwd=tmp_path,
    )
    assert code == 1
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    statuses = {r["status"] for r in report["results"]}
    assert "failed" not in statuses
    assert "error" in statuses
    assert {r["error_class"] for r in report["results"] if r["status"] == "error"} <= {
        "network",
        "timeout",
    }
    assert any(r["retried"] for r in report["results"] if r["status"] == "error")


def test_jobs_checks_targets_side_by_side_with_the_same_results(tmp_path: Path) -> None:
    env = {"PASSERELLE_DATA_DIR": str(tmp_path / "no-stack")}
    plans = ["--plan", "issuer", "--plan", "trust-list"]
    reports: dict[str, list[tuple[str, str, str]]] = {}
    for jobs in ("1", "4"):
        out = tmp_path / f"reports-{jobs}"
        code, output = _run(
            ["conformance", "run", *plans, "--jobs", jobs, "--report", str(out)],
            cwd=tmp_path,
            env=env,
        )
        assert code == 0, output[-4000:]
        results = json.loads((out / "report.json").read_text())["results"]
        reports[jobs] = [(r["check_id"], r["subject"], r["status"]) for r in results]
    assert reports["4"] == reports["1"]
    assert len({subject for _, subject, _ in reports["1"]}) > 1
