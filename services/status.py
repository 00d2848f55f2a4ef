"""An issuer's Token Status List, kept in the shared store.

Each allocated index is a row of its own, reserved with an atomic insert, so an index
is never handed out twice: not across threads, not across replicas sharing a
PostgreSQL database, not across restarts. Indices are drawn at random (a verifier
must learn nothing from an index about when or to whom a credential was issued).
The published token is rebuilt from the rows; a holder's status changes by updating
one row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusListService:
    store: Store
    list_id: str
    uri: str
    signer: Signer
    random: RandomSource
    x5c: Sequence[str] | None = None
    kid: str | None = None
    size: int = DEFAULT_SIZE
    ttl: timedelta = timedelta(minutes=5)
    valid_for: timedelta = timedelta(days=1)

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

    def status(self, index: int, *, now: datetime) -> StatusValue:
        row = self.store.get(self._collection, str(index), now=now)
        if not isinstance(row, dict):
            raise PasserelleError(Reason.STATUS_INDEX_OUT_OF_RANGE, f"index {index} not allocated")
        return StatusValue(int(cast(int, row["status"])))

    def allocated(self, *, now: datetime) -> int:
        return self.store.count(self._collection, now=now)

    def token(self, *, now: datetime) -> str:
        """The signed ``statuslist+jwt`` as it stands now."""
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
        )
