"""Keeping a serving process on one CPU (``passerelle serve --pin``).

A worker's event loop hands the interpreter lock to a pool thread for every store call
and decision, and back. Left to the kernel, those threads run on any CPU, and a
hand-off often wakes a thread on another one: on a virtual machine, about a third of a
verifier worker's CPU (docs/architecture.md, "Where a worker's time goes"). A process
kept to one CPU hands over where it runs.

Each pinned process claims a CPU with a lock file in a directory its siblings share
(under the data directory), so that ``--workers N`` spreads them: a worker takes the
first CPU no claimant holds; once each CPU has one, the first CPU that has only one;
and so on. The kernel releases a claim when its process exits, however it exits, so a
worker the supervisor starts again takes the freed CPU.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

__all__ = ["CLAIMS_DIR", "can_pin", "claim_cpu"]

CLAIMS_DIR = ".cpu-claims"
"""Where, under the data directory, the processes of one deployment claim their CPUs."""

# A claim lasts as long as its file stays open, i.e. this process's life.
_held: list[int] = []


def can_pin() -> bool:
    """Whether pinning means anything here: the platform can pin (``sched_setaffinity``)
    and this process may run on more than one CPU."""
    return hasattr(os, "sched_setaffinity") and len(os.sched_getaffinity(0)) > 1


def claim_cpu(directory: Path) -> int | None:
    """Pin this process, its threads and those it starts later, to one of the CPUs it
    may run on, claimed in ``directory`` round by round (module docstring); return
    that CPU; None where :func:`can_pin` says no (or past 1,024 claimants a CPU)."""
    if not can_pin():
        return None
    import fcntl

    cpus = sorted(os.sched_getaffinity(0))
    directory.mkdir(parents=True, exist_ok=True)
    # Round by round: the first round holds one claim per CPU, so N siblings on N or
    # more CPUs each get one of their own.
    for round_ in range(1024):
        for cpu in cpus:
            fd = os.open(directory / f"cpu{cpu}.{round_}", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            _held.append(fd)
            _pin({cpu})
            return cpu
    return None


def _pin(cpus: set[int]) -> None:
    # Threads started from now on inherit the calling thread's CPUs; those already
    # running (a store's, a library's) are moved one by one.
    try:
        threads = [int(t) for t in os.listdir("/proc/self/task")]
    except OSError:
        threads = [0]
    for thread in threads:
        with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
            os.sched_setaffinity(thread, cpus)
