"""run_checks with jobs: targets side by side, the same results in the same order, and
a shared step computed once (conformance/_runner.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from types import SimpleNamespace

from passerelle.conformance import run_checks, select_checks
from passerelle.conformance._context import CheckContext
from passerelle.conformance._local import local_targets, prepare_data_dir
from passerelle.conformance._runner import SharedState
from passerelle.services.launcher import ROLES, start_stack


def test_a_shared_step_runs_once_when_targets_run_side_by_side() -> None:
    shared = SharedState()
    calls: list[int] = []
    start = threading.Barrier(8)

    def factory() -> str:
        calls.append(1)
        time.sleep(0.05)  # long enough for every other lane to arrive meanwhile
        return "issued"

    def lane(out: list[str]) -> None:
        start.wait()
        ctx = SimpleNamespace(shared_state=shared)
        out.append(CheckContext.shared(ctx, "holder:issued:x", factory))  # type: ignore[arg-type]

    answers: list[str] = []
    threads = [threading.Thread(target=lane, args=(answers,)) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [1]
    assert answers == ["issued"] * 8


def test_side_by_side_gives_the_sequential_results_in_registry_order(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    hosts = prepare_data_dir(data_dir)
    stack = start_stack(data_dir=data_dir, hosts=hosts, roles=ROLES)
    try:
        targets = local_targets(stack.urls, data_dir)
        checks = select_checks(["issuer", "verifier"])
        one = run_checks(targets, checks)
        many = run_checks(targets, checks, jobs=4)
    finally:
        stack.stop()

    def seen(run: object) -> list[tuple[str, str, str]]:
        return [(r.check.id, r.subject, r.status.value) for r in run.results]  # type: ignore[attr-defined]

    assert len({s for _, s, _ in seen(one)}) > 1, "more than one target ran"
    assert seen(many) == seen(one)
    assert many.ok
