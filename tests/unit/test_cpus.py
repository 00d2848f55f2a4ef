"""Claiming a CPU per serving process (``passerelle serve --pin``). Each claimant is a
child process: a pinned test process would run the rest of the suite on one CPU."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(
    not hasattr(os, "sched_setaffinity") or len(os.sched_getaffinity(0)) < 2,
    reason="pinning apart needs sched_setaffinity and two CPUs",
)

# Claims, starts a thread after, and reports the CPU and every thread's CPU set; then
# holds the claim until its stdin closes.
_CLAIMANT = """
import json, os, sys, threading
from pathlib import Path
from passerelle.services.cpus import claim_cpu
cpu = claim_cpu(Path(sys.argv[1]))
later = threading.Thread(target=sys.stdin.readline)
later.start()
threads = {t: sorted(os.sched_getaffinity(int(t))) for t in os.listdir("/proc/self/task")}
print(json.dumps({"cpu": cpu, "threads": threads}), flush=True)
later.join()
"""


@contextmanager
def _claimant(directory: Path) -> Iterator[dict[str, object]]:
    child = subprocess.Popen(
        [sys.executable, "-c", _CLAIMANT, str(directory)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdin is not None
    try:
        yield json.loads(child.stdout.readline())
    finally:
        child.stdin.close()
        child.wait(timeout=30)
        child.stdout.close()


def test_siblings_spread_over_the_cpus_then_share_them_evenly(tmp_path: Path) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    with _claimant(tmp_path) as first, _claimant(tmp_path) as second:
        assert first["cpu"] != second["cpu"]
        assert {first["cpu"], second["cpu"]} <= set(cpus)
        # Every thread, the one started after the claim too, runs on that CPU only.
        for report in (first, second):
            threads = report["threads"]
            assert isinstance(threads, dict)
            assert len(threads) == 2
            assert all(each == [report["cpu"]] for each in threads.values()), report
    # Both exited: their claims went with them, and the next claimant gets the first
    # CPU again rather than a second round.
    with _claimant(tmp_path) as again:
        assert again["cpu"] == cpus[0]


def test_one_claimant_per_cpu_before_any_cpu_gets_two(tmp_path: Path) -> None:
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) > 4:
        pytest.skip("one claimant per CPU plus one: kept to machines of a few CPUs")
    with _claimant(tmp_path) as a, _claimant(tmp_path) as b:
        held = [a["cpu"], b["cpu"]]
        with _claimant(tmp_path) as c:
            held.append(c["cpu"])
            if len(cpus) == 2:
                # Two CPUs, three claimants: the third shares the first CPU.
                assert held == [cpus[0], cpus[1], cpus[0]]
            else:
                assert len(set(held)) == 3


def test_the_claims_directory_is_made_with_a_file_per_claim(tmp_path: Path) -> None:
    directory = tmp_path / "deep" / "claims"
    with _claimant(directory) as report:
        held = sorted(p.name for p in directory.iterdir())
        assert held == [f"cpu{report['cpu']}.0"]
