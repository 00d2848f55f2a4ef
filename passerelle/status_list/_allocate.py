"""Choosing a status list index for a new credential, at random.

Both specs want indices that give nothing away: Bitstring Status List §2.1 "SHOULD
assign indexes randomly, such that inferences — such as the recency of the
assignment or the size of the group — cannot be easily drawn"; the Token Status List
(§11.2, §11.3) wants a fresh entry per token and no double allocation.

This module only draws. Persistence is the caller's: a service must reserve the
index atomically (a unique constraint on ``(list, index)``), and on a conflict — a
concurrent writer took it between ``is_taken`` and the insert — call
:func:`allocate_index` again. Reserved indices are never freed, so an index is never
reused, across restarts too.
"""

from __future__ import annotations

from collections.abc import Callable

from .._errors import Reason, local_error
from .._random import RandomSource

__all__ = ["allocate_index", "draw_index"]

# A RandomSource that keeps returning out-of-range values is broken, not unlucky:
# with the mask below each draw is accepted with probability > 1/2.
_MAX_DRAWS = 128


def draw_index(*, size: int, random: RandomSource) -> int:
    """A uniform integer in ``[0, size)``, by rejection sampling (no modulo bias)."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise local_error(Reason.STATUS_LIST_EXHAUSTED, "size must be a positive integer")
    bit_length = (size - 1).bit_length()
    if bit_length == 0:
        return 0
    mask = (1 << bit_length) - 1
    length = (bit_length + 7) // 8
    for _ in range(_MAX_DRAWS):
        candidate = int.from_bytes(random.token_bytes(length), "big") & mask
        if candidate < size:
            return candidate
    raise local_error(Reason.STATUS_LIST_EXHAUSTED, "the random source gives no usable values")


def allocate_index(
    *,
    size: int,
    is_taken: Callable[[int], bool],
    random: RandomSource,
    max_attempts: int = 64,
) -> int:
    """A free index of a list of ``size`` entries, uniform among the free ones while the
    list is not nearly full.

    Up to ``max_attempts`` uniform draws; then, so that an almost full list still
    finds its last holes, a scan from a random start, wrapping around. Raises
    ``status.list_exhausted`` when every index is taken. ``is_taken`` answers from
    the caller's store; see the module docstring for reserving the result.
    """
    if max_attempts < 0:
        raise local_error(Reason.STATUS_LIST_EXHAUSTED, "max_attempts must not be negative")
    for _ in range(max_attempts):
        candidate = draw_index(size=size, random=random)
        if not is_taken(candidate):
            return candidate
    start = draw_index(size=size, random=random)
    for offset in range(size):
        candidate = (start + offset) % size
        if not is_taken(candidate):
            return candidate
    raise local_error(Reason.STATUS_LIST_EXHAUSTED, f"all {size} indices are taken")
