"""Randomness is injected: the core never draws it on its own."""

from __future__ import annotations

from typing import Protocol

__all__ = ["RandomSource"]


class RandomSource(Protocol):
    """Cryptographically secure random bytes.

    Security contract: every call returns ``n`` fresh bytes from a CSPRNG
    (``secrets.token_bytes`` in services). Tests may pass a seeded source to
    reproduce a vector; nothing else may.
    """

    def token_bytes(self, n: int, /) -> bytes: ...
