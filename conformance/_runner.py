"""Run checks against targets and collect results.

Checks run in registry order, each with its own recording client: a conformance run is
a sequence of protocol conversations whose order matters (an issuance before the checks
that read its credential). By default they run one after another. With ``jobs``, the
checks of different targets run side by side (one target's checks still in order):
a suite run for many partners waits on each partner's network, not on the others.
"""

from __future__ import annotations

import ssl
import threading
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ._context import CheckContext, RecordingHttp, Target
from ._model import (
    Check,
    CheckError,
    CheckFailed,
    CheckSkipped,
    CheckWarning,
    ErrorClass,
    Result,
    Status,
)
from ._registry import CHECKS, PLANS
from .targets import Targets

__all__ = ["Run", "load_plans", "run_checks", "select_checks"]


def load_plans() -> None:
    """Import every plan module, so that its checks register themselves."""
    from . import plans  # noqa: F401


@dataclass(slots=True)
class Run:
    targets: Targets
    results: list[Result] = field(default_factory=list)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    plans: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """No required check failed or errored unexpectedly, and every expected failure
        still fails."""
        return not any(r.unexpected for r in self.results)

    def counts(self) -> dict[str, int]:
        counts = {s.value: 0 for s in Status}
        for r in self.results:
            counts[r.status.value] += 1
        counts["unexpected"] = sum(1 for r in self.results if r.unexpected)
        counts["expected_failures"] = sum(
            1 for r in self.results if r.expected_failure and r.status is not Status.PASSED
        )
        return counts


def select_checks(
    plans: Iterable[str] | None = None, ids: Iterable[str] | None = None
) -> list[Check]:
    load_plans()
    wanted_plans = set(plans) if plans else set(PLANS)
    unknown = wanted_plans - set(PLANS)
    if unknown:
        raise ValueError(f"unknown plan(s) {sorted(unknown)}; known: {sorted(PLANS)}")
    wanted_ids = set(ids) if ids else None
    return [
        c
        for c in CHECKS.values()
        if c.plan in wanted_plans and (wanted_ids is None or c.id in wanted_ids)
    ]


def _subjects(check: Check, targets: Targets) -> list[tuple[str, Target, dict[str, Any] | None]]:
    if PLANS[check.plan].per == "cell":
        return [
            (
                f"{cell['issuer']}→{cell['verifier']}:{cell['configuration']}",
                targets.targets[str(cell["verifier"])],
                dict(cell),
            )
            for cell in targets.cells
        ]
    return [(t.name, t, None) for t in targets.of_role(check.role)]


def _expected(check: Check, subject: str, expected: frozenset[str]) -> bool:
    return check.id in expected or f"{check.id}@{subject}" in expected


def run_check(
    check: Check,
    *,
    subject: str,
    target: Target,
    targets: Targets,
    shared: dict[str, Any],
    tls: ssl.SSLContext,
    cell: dict[str, Any] | None = None,
) -> Result:
    if check.profiles is not None and target.profile not in check.profiles:
        return Result(
            check=check,
            subject=subject,
            status=Status.SKIPPED,
            message=f"applies to profiles {sorted(check.profiles)}; {target.name} is "
            f"{target.profile}",
        )
    tokens = {
        url: tok for t in targets.targets.values() for url, tok in t.backchannel_tokens().items()
    }
    http = RecordingHttp(timeout=targets.suite.timeout, verify=tls, tokens=tokens)
    ctx = CheckContext(
        target=target,
        targets=targets.targets,
        suite=targets.suite,
        http=http,
        shared_state=shared,
        cell=cell,
        check_id=check.id,
    )
    started = time.monotonic()
    result = Result(check=check, subject=subject, status=Status.PASSED)
    try:
        check.run(ctx)
    except CheckFailed as exc:
        result.status, result.message = Status.FAILED, exc.message
        result.error_class = ErrorClass.NON_CONFORMANCE
        ctx.evidence.update(exc.evidence)
    except CheckWarning as exc:
        result.status, result.message = Status.WARNING, exc.message
        ctx.evidence.update(exc.evidence)
    except CheckSkipped as exc:
        result.status, result.message = Status.SKIPPED, exc.message
    except CheckError as exc:
        result.status, result.message = Status.ERROR, exc.message
        result.error_class = exc.error_class
    except Exception as exc:  # the suite's own bug: report it, keep running the others
        result.status, result.message = Status.ERROR, f"{type(exc).__name__}: {exc}"
        result.error_class = ErrorClass.SUITE
        ctx.evidence["traceback"] = traceback.format_exc(limit=6)
    finally:
        http.close()
    result.duration_ms = int((time.monotonic() - started) * 1000)
    result.evidence = dict(ctx.evidence)
    result.exchanges = http.exchanges
    result.retried = http.retried
    result.expected_failure = _expected(check, subject, targets.expected_failures)
    return result


def run_checks(
    targets: Targets,
    checks: Sequence[Check],
    *,
    progress: Callable[[Result], None] | None = None,
    jobs: int = 1,
) -> Run:
    """Run ``checks`` against ``targets``; results come in registry order.

    With ``jobs`` above 1, the checks of different targets run side by side, up to
    ``jobs`` targets at a time, while the checks of one target still run one after
    another in registry order (see :class:`SharedState` for what they share).
    """
    run = Run(targets=targets, plans=tuple(dict.fromkeys(c.plan for c in checks)))
    shared = SharedState()
    # One TLS context for the run: loading the CA bundle for every check's client cost
    # more than the checks themselves (bench/bench_conformance.py).
    tls = ssl.create_default_context(cafile=targets.suite.tls_ca)
    work = [
        (check, subject, target, cell)
        for check in checks
        for subject, target, cell in _subjects(check, targets)
    ]
    results: list[Result | None] = [None] * len(work)
    reporting = threading.Lock()

    def lane(indices: list[int]) -> None:
        for i in indices:
            check, subject, target, cell = work[i]
            result = run_check(
                check,
                subject=subject,
                target=target,
                targets=targets,
                shared=shared,
                tls=tls,
                cell=cell,
            )
            results[i] = result
            if progress is not None:
                with reporting:
                    progress(result)

    lanes: dict[str, list[int]] = {}
    for i, (_, _, target, _) in enumerate(work):
        lanes.setdefault(target.name if jobs > 1 else "", []).append(i)
    if len(lanes) <= 1:
        for indices in lanes.values():
            lane(indices)
    else:
        with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="conformance") as pool:
            for future in [pool.submit(lane, indices) for indices in lanes.values()]:
                future.result()
    run.results.extend(r for r in results if r is not None)
    run.finished_at = datetime.now(UTC)
    return run


class SharedState(dict[str, Any]):
    """What checks share in a run: a step's result is computed once (CheckContext.shared)
    even when targets run side by side, each key under a lock of its own."""

    def __init__(self) -> None:
        super().__init__()
        self._locks: dict[str, threading.RLock] = {}
        self._guard = threading.Lock()

    def lock_for(self, key: str) -> threading.RLock:
        with self._guard:
            return self._locks.setdefault(key, threading.RLock())
