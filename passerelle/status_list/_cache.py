"""How long a verified status list may be used before it is fetched again.

Token Status List §8.3/§11.9: re-fetch when "time status was resolved + ttl <
current time", and never use a list past its ``exp``. Both claims come from the
issuer, so the verifier caps them with its own ``max_ttl`` (§12.5: clients "should
be configured with lower/upper bounds"). A lower bound, against an issuer that
asks for a fetch every second, belongs to the fetching service's rate limit.

For a W3C Bitstring Status List credential, pass ``ttl`` in seconds (its
``credentialSubject.ttl`` is in milliseconds) and ``validUntil`` as ``exp``.

No I/O here: a verifier service fetches, verifies, and stores the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from .._errors import Reason, local_error
from .._time import from_numeric_date
from ._token import VerifiedStatusList

__all__ = ["StatusListCache", "fresh_until"]


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise local_error(Reason.STATUS_LIST_INVALID, f"{name} must be timezone-aware")
    return value


def fresh_until(
    *, fetched_at: datetime, ttl: int | None, exp: int | None, max_ttl: timedelta
) -> datetime:
    """``min(fetched_at + ttl, exp, fetched_at + max_ttl)``; ``ttl`` in seconds and
    ``exp`` a NumericDate, each ignored when ``None``."""
    _aware(fetched_at, "fetched_at")
    if max_ttl <= timedelta(0):
        raise local_error(Reason.STATUS_LIST_INVALID, "max_ttl must be positive")
    until = fetched_at + max_ttl
    if ttl is not None:
        # A peer's ttl is capped before it becomes a timedelta: 10**12 seconds overflows.
        until = min(until, fetched_at + timedelta(seconds=min(ttl, max_ttl.total_seconds())))
    if exp is not None:
        until = min(
            until, from_numeric_date(exp, what="status list exp", reason=Reason.STATUS_LIST_INVALID)
        )
    return until


@dataclass(frozen=True, slots=True, kw_only=True)
class _Entry:
    verified: VerifiedStatusList
    fresh_until: datetime


class StatusListCache:
    """Verified status lists by URI, each served until its :func:`fresh_until`.

    Not thread-safe; a service wraps it in its own lock if it shares one. Holds at
    most ``max_entries`` lists, dropping the one that goes stale first.
    """

    __slots__ = ("_entries", "_max_entries", "_max_ttl")

    def __init__(self, *, max_ttl: timedelta, max_entries: int = 1024) -> None:
        if max_ttl <= timedelta(0) or max_entries < 1:
            raise local_error(
                Reason.STATUS_LIST_INVALID, "max_ttl and max_entries must be positive"
            )
        self._max_ttl = max_ttl
        self._max_entries = max_entries
        self._entries: dict[str, _Entry] = {}

    def store(self, verified: VerifiedStatusList, *, fetched_at: datetime) -> datetime:
        """Keep ``verified`` (fetched and verified at ``fetched_at``); returns until when."""
        until = fresh_until(
            fetched_at=fetched_at, ttl=verified.ttl, exp=verified.exp, max_ttl=self._max_ttl
        )
        self._entries.pop(verified.uri, None)
        if len(self._entries) >= self._max_entries:
            oldest = min(self._entries, key=lambda uri: self._entries[uri].fresh_until)
            del self._entries[oldest]
        self._entries[verified.uri] = _Entry(verified=verified, fresh_until=until)
        return until

    def get(self, uri: str, *, now: datetime) -> VerifiedStatusList | None:
        """The list for ``uri`` if it is still fresh at ``now``; ``None`` means fetch."""
        _aware(now, "now")
        entry = self._entries.get(uri)
        if entry is None:
            return None
        if now >= entry.fresh_until:
            del self._entries[uri]
            return None
        return entry.verified

    def forget(self, uri: str) -> None:
        self._entries.pop(uri, None)
