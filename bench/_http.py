"""The HTTP path: issuance per second, presentations per second through a verifier with
1 and 2 worker processes at concurrency 1 and 8, and a soak watching the verifier's
memory. The issuer and the verifier run in processes of their own (``bench._serve``),
the wallets in another (``bench._wallets``); the trust service runs in this one."""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from passerelle.services.launcher import start_stack

from ._serve import FLOOR
from ._world import World

__all__ = ["ROUNDS", "http_path"]

ROUNDS = 3
"""Turns of the 1- and 2-worker servers at concurrency 8 (concurrency 1: the first)."""


def _descendants(pid: int) -> list[int]:
    out = [pid]
    children = Path(f"/proc/{pid}/task/{pid}/children")
    if children.exists():
        for child in children.read_text().split():
            out.extend(_descendants(int(child)))
    return out


def rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (a supervisor's workers)."""
    total_kb = 0
    for each in _descendants(pid):
        try:
            for line in Path(f"/proc/{each}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def cpu_seconds(pid: int) -> float:
    """CPU time (user and system) so far of a process and all its descendants."""
    ticks = 0
    for each in _descendants(pid):
        try:
            # The fields after the command name, which is in parentheses and may hold spaces.
            fields = Path(f"/proc/{each}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15)
    return ticks / os.sysconf("SC_CLK_TCK")


@contextmanager
def serving(
    world: World,
    role: str,
    workers: int,
    root: Path,
    *,
    url: str | None = None,
    pin: bool = False,
) -> Iterator[subprocess.Popen[bytes]]:
    url = url or world.hosts[role]
    parts = urlsplit(url)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "bench._serve",
            role,
            str(world.data_dir),
            parts.hostname or "127.0.0.1",
            str(parts.port),
            str(workers),
            *(["pin"] if pin else []),
        ],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"{role} did not start")
            time.sleep(0.2)
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def _wallets(root: Path, *args: str) -> dict[str, Any]:
    completed = subprocess.run(
        [sys.executable, "-m", "bench._wallets", *args],
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        capture_output=True,
        text=True,
        timeout=3600,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"the bench wallets failed: {completed.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


def _summary(run: dict[str, Any]) -> dict[str, Any]:
    latencies = sorted(run["latencies_s"])
    p99 = latencies[min(len(latencies) - 1, round(0.99 * (len(latencies) - 1)))]
    return {
        "count": run["count"],
        "per_second": run["count"] / run["wall_s"],
        "p50_ms": statistics.median(latencies) * 1e3,
        "p99_ms": p99 * 1e3,
    }


def http_path(
    world: World,
    *,
    root: Path,
    work: Path,
    quick: bool,
    decide_per_second: float | None,
    soak: int,
) -> dict[str, Any]:
    trust = start_stack(data_dir=world.data_dir, hosts=world.hosts, roles=["trust"])
    out: dict[str, Any] = {
        "issuance": {},
        "presentations": [],
        "floor": [],
        "pinned": [],
        "soak": {},
    }
    try:
        credentials = work / "credentials.json"
        issued = 4 if quick else 120
        with serving(world, "eu-issuer", 1, root):
            _wallets(root, "issue", world.hosts["eu-issuer"], "2", "1", str(work / "warm.json"))
            run = _wallets(
                root, "issue", world.hosts["eu-issuer"], str(issued), "4", str(credentials)
            )
            out["issuance"] = {**_summary(run), "concurrency": 4, "workers": 1}
            verifier = world.hosts["ca-verifier"]
            # The verifier, the floor (bench/_http_floor.py) on its address, and the
            # verifier with each worker pinned to a CPU of its own (`serve --pin`). A
            # shared machine's load moves a rate by ±15 % from one run to the next, so
            # the 1- and 2-worker servers take turns, ROUNDS times, as the in-process
            # candidates do (bench/_timing.py): each row is its median turn.
            served = [("ca-verifier", out["presentations"], False), (FLOOR, out["floor"], False)]
            if _can_pin():
                served.append(("ca-verifier", out["pinned"], True))
            for role, rows, pin in served:
                runs: dict[tuple[int, int], list[dict[str, Any]]] = {}
                for turn in range(1 if quick else ROUNDS):
                    for workers in (1, 2):
                        with serving(world, role, workers, root, url=verifier, pin=pin) as process:
                            for concurrency in (1, 8) if turn == 0 else (8,):
                                runs.setdefault((workers, concurrency), []).append(
                                    _presentations(
                                        root, verifier, process.pid, credentials, quick,
                                        concurrency, warm=concurrency == 1 or turn > 0,
                                    )
                                )  # fmt: skip
                rows.extend(
                    _median_row(workers, concurrency, each, decide_per_second)
                    for (workers, concurrency), each in sorted(runs.items())
                )
            with serving(world, "ca-verifier", 1, root) as process:
                warm = max(10, soak // 10)
                _wallets(root, "present", verifier, str(credentials), str(warm), "8")
                before = rss_mb(process.pid)
                run = _wallets(root, "present", verifier, str(credentials), str(soak), "8")
                after = rss_mb(process.pid)
                out["soak"] = {
                    "warm_up": warm,
                    "presentations": soak,
                    "rss_after_warm_up_mb": before,
                    "rss_after_soak_mb": after,
                    "growth_mb": after - before,
                    **{k: v for k, v in _summary(run).items() if k != "count"},
                }
    finally:
        trust.stop()
    by = {(r["workers"], r["concurrency"]): r for r in out["presentations"]}
    floor = {(r["workers"], r["concurrency"]): r for r in out["floor"]}
    if (1, 8) in by and (2, 8) in by:
        out["two_workers_over_one_c8"] = by[(2, 8)]["per_second"] / by[(1, 8)]["per_second"]
    pinned = {(r["workers"], r["concurrency"]): r for r in out["pinned"]}
    if (1, 8) in pinned and (2, 8) in pinned:
        two, one = pinned[(2, 8)]["per_second"], pinned[(1, 8)]["per_second"]
        out["pinned_two_workers_over_one_c8"] = two / one
    if (1, 8) in pinned and (1, 8) in by:
        out["pinned_over_unpinned_c8"] = pinned[(1, 8)]["per_second"] / by[(1, 8)]["per_second"]
    if (1, 8) in by and (1, 8) in floor:
        out["verifier_over_floor_c8"] = by[(1, 8)]["per_second"] / floor[(1, 8)]["per_second"]
        if decide_per_second:
            # One worker runs Python on one core at a time: it cannot serve more than one
            # presentation per (the floor's CPU per presentation + one decision).
            ceiling = 1 / (floor[(1, 8)]["cpu_ms"] / 1e3 + 1 / decide_per_second)
            out["one_worker_ceiling_over_inprocess_decide"] = ceiling / decide_per_second
    return out


def _can_pin() -> bool:
    """Whether the code measured has ``serve --pin`` (the "before" column's has not)
    and pinning means anything on this machine."""
    try:
        from passerelle.services.cpus import can_pin
    except ImportError:
        return False
    return can_pin()


def _presentations(
    root: Path,
    url: str,
    server: int,
    credentials: Path,
    quick: bool,
    concurrency: int,
    *,
    warm: bool,
) -> dict[str, Any]:
    """One run of presentations through whatever serves ``url`` (process ``server``) at
    ``concurrency``, and the server's CPU time per presentation; ``warm``: a few first,
    untimed, on a server just started."""
    if warm:
        _wallets(root, "present", url, str(credentials), "4" if quick else "40", "2")
    # Several seconds each, so that a burst of another job on a shared machine moves a
    # rate less.
    count = 4 if quick else (200 if concurrency == 1 else 1000)
    cpu = cpu_seconds(server)
    run = _wallets(root, "present", url, str(credentials), str(count), str(concurrency))
    cpu_ms = (cpu_seconds(server) - cpu) * 1e3 / count
    return {**_summary(run), "cpu_ms": cpu_ms}


def _median_row(
    workers: int, concurrency: int, runs: list[dict[str, Any]], decide_per_second: float | None
) -> dict[str, Any]:
    """The turn of median rate, with every turn's rate beside it."""
    ranked = sorted(runs, key=lambda r: float(r["per_second"]))
    row = {
        "workers": workers,
        "concurrency": concurrency,
        **ranked[len(ranked) // 2],
        "rounds_per_second": [r["per_second"] for r in runs],
    }
    if decide_per_second:
        row["over_inprocess_decide"] = row["per_second"] / decide_per_second
    return row
