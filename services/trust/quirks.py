"""Deliberate faults of the trust service, for the conformance suite's self-test, in one place.

Each quirk breaks exactly one requirement. The trust service never branches on a quirk name:
it reads a :class:`TrustBehaviour`.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass

__all__ = ["TrustBehaviour", "TrustQuirk", "behaviour_for"]


class TrustQuirk(enum.StrEnum):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustBehaviour:
    pass


def behaviour_for(quirks: Collection[TrustQuirk]) -> TrustBehaviour:
    return TrustBehaviour()
