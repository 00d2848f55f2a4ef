"""One-time identifiers (``jti``) are remembered by the caller's store, never by the core."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

__all__ = ["JtiReplayRegistry"]


class JtiReplayRegistry(Protocol):
    """Records single-use identifiers such as a DPoP proof's or a client attestation
    PoP's ``jti``.

    Security contract: ``register`` atomically records ``(scope, jti)`` and returns
    True the first time that pair is seen, False every later time, until
    ``expires_at`` has passed. "Seen" holds across every process and worker that
    serves the same endpoint and across restarts: a durable store with a unique key
    (an ``INSERT`` that fails on conflict), not a per-process set. A store that
    cannot answer must raise, never return True. Entries may be dropped after
    ``expires_at``, because the verifier refuses anything older by its time checks.
    """

    def register(self, *, scope: str, jti: str, expires_at: datetime) -> bool: ...
