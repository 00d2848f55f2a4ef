"""An issuer's Token Status List, kept in the shared store.

Each allocated index is a row of its own, reserved with an atomic insert, so an index
is never handed out twice: not across threads, not across replicas sharing a
PostgreSQL database, not across restarts. Indices are drawn at random (a verifier
must learn nothing from an index about when or to whom a credential was issued).
The published token is rebuilt from the rows; a holder's status changes by updating
one row and counting one more change of the list.

Serving the token does not rebuild it: each process keeps the token it signed last and
serves it while the list's change count in the store is the one it was built at and
it is younger than ``ttl``. The count lives in the store, so a change made by any
replica is seen by all of them on their next request.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from passerelle import JsonObject, PasserelleError, RandomSource, Reason
from passerelle.jose import Signer
from passerelle.services.storage import Store
from passerelle.status_list import (
    StatusValue,
    allocate_index,
    create_status_list,
    create_status_list_token,
    create_status_reference,
    with_statuses,
)

__all__ = ["StatusListService"]

# A list of 2^17 entries: enough entries that an index is a needle in a haystack (the
# same herd-privacy floor the W3C Bitstring Status List sets), 32 KiB at 2 bits.
DEFAULT_SIZE = 1 << 17
MAX_ALLOCATION_ATTEMPTS = 16
# The draft RECOMMENDS the highest level; on a sparse 2^20-entry list level 9 takes
# ~40x the time of level 6 for a token ~20 % smaller, paid on every status change.
COMPRESSION_LEVEL = 6
_VERSIONS = "status_versions"


@dataclass(slots=True)
class _SignedToken:
    version: int
    token: str
    signed_at: datetime


@dataclass(slots=True)
class _TokenCache:
    lock: threading.Lock = field(default_factory=threading.Lock)
    current: _SignedToken | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusListService:
    store: Store
    list_id: str
    uri: str
    signer: Signer
    random: RandomSource
    x5c: Sequence[str] | None = None
    kid: str | None = None
    issuer: str | None = None
    """The ``iss`` of the published token: the credential issuer's identifier."""
    size: int = DEFAULT_SIZE
    ttl: timedelta = timedelta(minutes=5)
    valid_for: timedelta = timedelta(days=1)
    compression_level: int = COMPRESSION_LEVEL
    _cache: _TokenCache = field(default_factory=_TokenCache, repr=False, compare=False)

    @property
    def _collection(self) -> str:
        return f"status_{self.list_id}"

    def allocate(self, *, now: datetime, credential_id: str | None = None) -> JsonObject:
        """Reserve a fresh random index and return the credential's ``status`` claim."""
        for _ in range(MAX_ALLOCATION_ATTEMPTS):
            index = allocate_index(
                size=self.size,
                is_taken=lambda i: self.store.get(self._collection, str(i), now=now) is not None,
                random=self.random,
            )
            row: JsonObject = {"status": int(StatusValue.VALID), "credential_id": credential_id}
            # The look-up above is only a hint; this insert is what reserves the index.
            if self.store.insert(self._collection, str(index), row, now=now):
                return create_status_reference(idx=index, uri=self.uri)
        raise PasserelleError(
            Reason.STATUS_LIST_EXHAUSTED, f"no free index in {self.list_id} after retries"
        )

    def reserve(self, index: int, *, now: datetime, credential_id: str | None = None) -> bool:
        """Reserve one given index; False if it was taken. (Only a quirk asks for this:
        a correct issuer always lets :meth:`allocate` draw the index.)"""
        row: JsonObject = {"status": int(StatusValue.VALID), "credential_id": credential_id}
        return self.store.insert(self._collection, str(index), row, now=now)

    def set_status(self, index: int, value: StatusValue, *, now: datetime) -> None:
        def change(row: object) -> dict[str, object]:
            if not isinstance(row, dict):
                raise PasserelleError(
                    Reason.STATUS_INDEX_OUT_OF_RANGE, f"index {index} was never allocated"
                )
            return {**row, "status": int(value)}

        self.store.update(self._collection, str(index), change, now=now)  # type: ignore[arg-type]
        # After the row: a reader between the two writes serves the previous token once
        # more, never a token that claims a change it does not hold.
        self.store.update(
            _VERSIONS, self.list_id, lambda v: (v if isinstance(v, int) else 0) + 1, now=now
        )

    def _version(self, now: datetime) -> int:
        version = self.store.get(_VERSIONS, self.list_id, now=now)
        return version if isinstance(version, int) else 0

    def status(self, index: int, *, now: datetime) -> StatusValue:
        row = self.store.get(self._collection, str(index), now=now)
        if not isinstance(row, dict):
            raise PasserelleError(Reason.STATUS_INDEX_OUT_OF_RANGE, f"index {index} not allocated")
        return StatusValue(int(cast(int, row["status"])))

    def allocated(self, *, now: datetime) -> int:
        return self.store.count(self._collection, now=now)

    def token(self, *, now: datetime) -> str:
        """The signed ``statuslist+jwt`` as it stands now: the one signed last, unless a
        status changed since or it is ``ttl`` old."""
        version = self._version(now)
        cached = self._cache.current
        if self._is_fresh(cached, version, now):
            assert cached is not None
            return cached.token
        with self._cache.lock:
            # Another thread may have rebuilt it while this one waited.
            cached = self._cache.current
            if self._is_fresh(cached, version, now):
                assert cached is not None
                return cached.token
            token = self._build(now)
            self._cache.current = _SignedToken(version=version, token=token, signed_at=now)
            return token

    def _is_fresh(self, cached: _SignedToken | None, version: int, now: datetime) -> bool:
        return (
            cached is not None
            and cached.version == version
            and cached.signed_at <= now < cached.signed_at + self.ttl
        )

    def _build(self, now: datetime) -> str:
        rows = self.store.list(self._collection, now=now, limit=self.size)
        updates = [
            (int(key), int(cast(int, row["status"])))
            for key, row in rows
            if isinstance(row, dict) and row.get("status") != int(StatusValue.VALID)
        ]
        status_list = with_statuses(create_status_list(bits=2, size=self.size), updates)
        return create_status_list_token(
            status_list,
            uri=self.uri,
            signer=self.signer,
            now=now,
            ttl=self.ttl,
            valid_for=self.valid_for,
            x5c=self.x5c,
            kid=self.kid,
            iss=self.issuer,
            level=self.compression_level,
        )
