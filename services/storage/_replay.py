"""The durable :class:`~passerelle.oauth.JtiReplayRegistry`: single-use identifiers
(DPoP proof and client attestation PoP ``jti`` values) remembered in the store.

RFC 9449 §11.1 asks the server to refuse a proof it has seen; the core's contract asks
for that to hold "across every process and worker that serves the same endpoint and
across restarts". ``Store.insert`` is the atomic insert-if-absent of both backends (a
unique key in SQLite and PostgreSQL), so of two workers registering one ``jti`` exactly
one wins, and a restart keeps what was registered until it expires.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime

from ._base import Store

__all__ = ["REPLAY_COLLECTION", "StoreReplayRegistry"]

REPLAY_COLLECTION = "jti_replay"


class StoreReplayRegistry:
    """Registers ``(scope, jti)`` pairs in ``store``; ``clock`` says what has expired."""

    def __init__(self, store: Store, *, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._clock = clock

    def register(self, *, scope: str, jti: str, expires_at: datetime) -> bool:
        # The key is a digest: a jti is the peer's text, of any length and alphabet,
        # and must not decide what the store is asked to hold.
        key = hashlib.sha256(f"{scope}\x00{jti}".encode()).hexdigest()
        return self._store.insert(
            REPLAY_COLLECTION, key, {"scope": scope}, now=self._clock(), expires_at=expires_at
        )
