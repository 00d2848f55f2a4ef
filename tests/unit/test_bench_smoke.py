"""The benchmarks under ``bench/`` still run and still write what their README promises.

Each bench runs in its tiny mode as a subprocess, the way a person runs it. Nothing
here looks at a timing: speed is judged by the benches' own ``--check``, as ratios
measured in one run, never by a timed unit test.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from passerelle.services.cpus import can_pin

ROOT = Path(__file__).resolve().parents[2]


def _run_bench(module: str, out: Path, *args: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", module, "--out", str(out), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert f"wrote {out}" in completed.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    assert isinstance(report, dict)
    return report


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value >= 0


def test_presentation_bench_writes_ratios(tmp_path: Path) -> None:
    report = _run_bench(
        "bench.bench_presentation", tmp_path / "presentation.json", "--rounds", "1", "--quick"
    )
    assert report["bench"] == "presentation"
    assert report["settings"]["quick"] is True
    assert report["settings"]["disclosures"] == [4, 16, 64]
    verifiers = {"floor", "ours", "ours_vc", "peer"}
    assert set(report["verifiers"]) == verifiers
    assert [row["disclosures"] for row in report["results"]] == [4, 16, 64]
    for row in report["results"]:
        assert set(row["median_us"]) == verifiers
        assert set(row["per_second"]) == verifiers
        assert all(_is_number(v) for v in row["median_us"].values())
        assert {"ours_over_floor", "ours_vc_over_floor", "ours_over_peer"} <= set(row["ratios"])
        assert all(_is_number(v) for v in row["ratios"].values())
        assert row["presentation_bytes"] > 0
    growth = report["growth"]
    assert (growth["from"], growth["to"]) == (4, 64)
    assert set(growth["ratio"]) == verifiers
    assert set(growth["per_disclosure_us"]) == verifiers
    names = {t["name"] for t in report["targets"]}
    assert {"ours_vs_floor_16", "ours_vs_peer_16", "ours_growth_64_vs_4"} <= names
    for target in report["targets"]:
        assert _is_number(target["value"])
        assert _is_number(target["limit"])
        assert isinstance(target["met"], bool)
    assert isinstance(report["ok"], bool)
    assert report["machine"]["sd-jwt"] == "0.10.4"


def test_presentation_bench_targets_unmeasured_without_their_figures(tmp_path: Path) -> None:
    report = _run_bench(
        "bench.bench_presentation",
        tmp_path / "p.json",
        "--rounds",
        "1",
        "--quick",
        "--disclosures",
        "2",
    )
    assert report["growth"] == {}
    assert all(t["met"] is None and t["value"] is None for t in report["targets"])
    assert report["ok"] is True  # nothing measured, nothing missed


def test_conformance_bench_writes_timings(tmp_path: Path) -> None:
    report = _run_bench("bench.bench_conformance", tmp_path / "conformance.json", "--quick")
    assert report["bench"] == "conformance"
    settings = dict(report["settings"])
    # jobs: the local stack's targets checked side by side, one lane each.
    assert settings.pop("jobs") > 1
    assert settings == {"plans": "all", "quick": True}
    assert report["checks"] == len(report["plans"])  # quick: one check a plan
    assert report["results"] >= report["checks"]
    assert set(report["counts"]) >= {"passed", "failed", "error", "skipped", "unexpected"}
    assert isinstance(report["suite_ok"], bool)
    assert report["exchanges"] >= 0
    assert report["http_requests"] >= 0
    seconds = report["seconds"]
    for name in (
        "load_plans_s",
        "stack_start_s",
        "run_s",
        "total_s",
        "in_checks_s",
        "http_wait_s",
        "sleep_s",
        "suite_work_s",
        "runner_overhead_s",
        "http_client_setup_s",
    ):
        assert _is_number(seconds[name]), name
    for plan in report["plans"].values():
        assert {"checks", "results", "seconds", "http_wait_s", "exchanges"} <= set(plan)
    target = report["target"]
    assert target["metric"] == "seconds.total_s"
    assert target["limit"] == 60
    assert isinstance(target["met"], bool)
    assert report["ok"] is target["met"]


def test_the_one_command_bench_runs_every_section(tmp_path: Path) -> None:
    out, markdown = tmp_path / "bench.json", tmp_path / "RESULTS.md"
    completed = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out), "--markdown", str(markdown)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["quick"] is True
    assert report["errors"] == {}, report["errors"]
    assert {"cpus", "cpu_model", "load_average_at_start", "python"} <= set(report["machine"])
    sections = report["sections"]
    assert set(sections) == {
        "core",
        "disclosures",
        "eu_list_entities",
        "registry_records",
        "status_list",
        "http",
        "conformance",
        "mdoc",
    }
    core = sections["core"]
    assert {"floor", "decide", "bare", "peer_sd_jwt"} <= set(core["median_us"])
    assert all(_is_number(v) for v in core["ratios"].values())
    http = sections["http"]
    assert http["issuance"]["count"] > 0
    rows = {(r["workers"], r["concurrency"]) for r in http["presentations"]}
    assert rows == {(1, 1), (1, 8), (2, 1), (2, 8)}
    assert all(_is_number(r["over_inprocess_decide"]) for r in http["presentations"])
    # The floor: the same requests, answered with constants on the same server stack.
    assert {(r["workers"], r["concurrency"]) for r in http["floor"]} == rows
    assert all(_is_number(r["cpu_ms"]) for r in http["presentations"] + http["floor"])
    assert all(r["rounds_per_second"] == [r["per_second"]] for r in http["presentations"])
    assert _is_number(http["verifier_over_floor_c8"])
    assert _is_number(http["one_worker_ceiling_over_inprocess_decide"])
    if can_pin():
        # The verifier again, each worker pinned to a CPU of its own (serve --pin).
        assert {(r["workers"], r["concurrency"]) for r in http["pinned"]} == rows
        assert _is_number(http["pinned_two_workers_over_one_c8"])
        assert _is_number(http["pinned_over_unpinned_c8"])
    assert _is_number(http["soak"]["rss_after_soak_mb"])
    assert not sections["eu_list_entities"]["refused"]
    assert not sections["registry_records"]["refused"]
    # Several targets: every copy of the stack (each in its own process) checked in full,
    # on loopback and behind the modelled network.
    conformance = sections["conformance"]
    for mode in ("targets_loopback", "targets_modelled"):
        figures = conformance[mode]
        assert figures["suite_ok"] == {"1": True, "2": True, "4": True}
        assert figures["results"]["4"] == 4 * figures["results"]["1"] > 0
    assert conformance["targets_loopback"]["latency_s"] == 0
    assert conformance["targets_modelled"]["latency_s"] > 0
    assert _is_number(conformance["four_over_one"])
    assert _is_number(conformance["four_over_one_loopback"])
    text = markdown.read_text(encoding="utf-8")
    assert "| target | figure | limit | before | after | met |" in text
    assert "Quick mode" in text
    assert "| floor | 1 | 8 |" in text
    if can_pin():
        assert "| verifier, pinned | 2 | 8 |" in text


def test_an_http_row_is_its_median_turn_with_every_turns_rate() -> None:
    from bench._http import _median_row

    turns = [
        {"per_second": 300.0, "p50_ms": 20.0, "cpu_ms": 3.0},
        {"per_second": 250.0, "p50_ms": 25.0, "cpu_ms": 3.5},
        {"per_second": 280.0, "p50_ms": 22.0, "cpu_ms": 3.2},
    ]
    row = _median_row(2, 8, turns, decide_per_second=1000.0)
    assert row["per_second"] == 280.0
    assert row["p50_ms"] == 22.0  # the figures of that same turn
    assert row["cpu_ms"] == 3.2
    assert row["rounds_per_second"] == [300.0, 250.0, 280.0]
    assert row["over_inprocess_decide"] == 0.28
    assert (row["workers"], row["concurrency"]) == (2, 8)


def test_mdoc_bench_writes_ratios_to_its_floor(tmp_path: Path) -> None:
    report = _run_bench("bench.bench_mdoc", tmp_path / "mdoc.json", "--quick")
    assert set(report["seconds"]) >= {"floor", "ours"}
    assert _is_number(report["ratio_to_floor"]["ours"])


def test_only_chosen_sections_run_with_what_they_are_compared_with() -> None:
    from bench.__main__ import SECTIONS, chosen_sections

    assert chosen_sections(None, with_http=True) == frozenset(SECTIONS)
    assert chosen_sections(["http"], with_http=True) == {"http", "core"}
    assert chosen_sections(["http", "mdoc"], with_http=False) == {"core", "mdoc"}
    assert chosen_sections(["status_list"], with_http=True) == {"status_list"}


def test_one_section_alone_leaves_the_results_alone(tmp_path: Path) -> None:
    out, markdown = tmp_path / "only.json", tmp_path / "RESULTS.md"
    report = _run_bench(
        "bench", out, "--quick", "--only", "status_list", "--markdown", str(markdown)
    )
    assert set(report["sections"]) == {"status_list"}
    assert report["errors"] == {}
    assert not markdown.exists()  # a partial run never writes RESULTS.md


def test_cpu_seconds_counts_the_children_of_a_process() -> None:
    """A supervisor's workers (uvicorn with --workers 2) are what does the work."""
    from bench._http import cpu_seconds

    busy = (
        "import sys, time\n"
        "t = time.process_time()\n"
        "while time.process_time() - t < 0.3: pass\n"
        "print('done', flush=True)\n"
        "sys.stdin.read()\n"
    )
    spawn = f"import subprocess, sys; subprocess.run([sys.executable, '-c', {busy!r}])"
    parent = subprocess.Popen(
        [sys.executable, "-c", spawn], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert parent.stdout is not None
        assert parent.stdout.readline() == "done\n"
        assert cpu_seconds(parent.pid) >= 0.25
    finally:
        parent.communicate("")
