"""Deliberate faults of the wallet, for the conformance suite's self-test, in one place.

Each quirk breaks exactly one requirement. The wallet never branches on a quirk name:
it reads a :class:`WalletBehaviour`.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass

__all__ = ["WalletBehaviour", "WalletQuirk", "behaviour_for"]


class WalletQuirk(enum.StrEnum):
    pass


@dataclass(frozen=True, slots=True, kw_only=True)
class WalletBehaviour:
    pass


def behaviour_for(quirks: Collection[WalletQuirk]) -> WalletBehaviour:
    return WalletBehaviour()
