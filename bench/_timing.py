"""Interleaved timing: every round times every candidate once, in a rotating order, so
that a change in the machine's load hits all of them alike; figures are medians over
rounds and ratios medians of per-round ratios."""

from __future__ import annotations

import gc
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["Samples", "interleave", "median_ratio", "per_call", "rounded"]

Samples = dict[str, list[float]]


def per_call(fn: Callable[[], object], iterations: int) -> float:
    """Seconds per call over one batch, the collector off as in ``timeit``."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        started = time.perf_counter()
        for _ in range(iterations):
            fn()
        return (time.perf_counter() - started) / iterations
    finally:
        if enabled:
            gc.enable()


def _iterations(fn: Callable[[], object], batch_seconds: float) -> int:
    n = 1
    while True:
        seconds = per_call(fn, n)
        if seconds * n >= batch_seconds / 4 or n >= 1 << 16:
            return max(1, round(batch_seconds / seconds))
        n *= 4


def interleave(
    candidates: Mapping[str, Callable[[], object]],
    *,
    rounds: int,
    batch_seconds: float,
    quick: bool,
) -> Samples:
    """Seconds per call of each candidate, one sample per round."""
    names = tuple(candidates)
    iterations = {n: 1 if quick else _iterations(candidates[n], batch_seconds) for n in names}
    samples: Samples = {n: [] for n in names}
    for r in range(rounds):
        k = r % len(names)
        for name in names[k:] + names[:k]:
            samples[name].append(per_call(candidates[name], iterations[name]))
    return samples


def median_ratio(a: list[float], b: list[float]) -> float:
    return statistics.median(x / y for x, y in zip(a, b, strict=True))


def rounded(value: Any, digits: int = 3) -> Any:
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, dict):
        return {k: rounded(v, digits) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v, digits) for v in value]
    return value
