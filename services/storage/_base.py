"""The storage contract shared by both backends, and the checks done before any SQL.

Backends only ever see validated names, encoded JSON text and aware datetimes; they
answer with JSON text. Encoding, decoding and argument checks live here once, so the
SQLite and PostgreSQL stores cannot drift apart on what they accept.

Exceptions: a failure of the database (unreachable, disk full, closed store) is a
:class:`StorageError`; a misuse of the API (bad collection name, over-long key, a
value that is not JSON, a naive datetime) is a :class:`ValueError`. A key that could
never have been stored is simply absent to the lookups (``get``, ``take``, ``delete``):
keys come from peers (tokens, codes, ids in URLs), and each caller answers an unknown
one with its own protocol error, so a malformed one must not surface as a misuse.
Exceptions raised
by the function given to :meth:`Store.update` pass through unchanged.
"""

from __future__ import annotations

import builtins
import json
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from datetime import datetime
from types import TracebackType
from typing import TypeAlias, cast

from passerelle import JsonValue

__all__ = ["JSON", "MAX_KEY_LENGTH", "StorageError", "Store"]

JSON: TypeAlias = JsonValue

MAX_KEY_LENGTH = 512

_COLLECTION = re.compile(r"[a-z][a-z0-9_]{0,62}")
# An odd run of backslashes before u0000 is an escaped NUL (an even run is an escaped
# backslash followed by the letters "u0000").
_ESCAPED_NUL = re.compile(r"(?<!\\)(?:\\\\)*\\u0000")


class StorageError(Exception):
    """The database failed us. Callers answer with a 5xx problem and never echo this
    message (or its cause, which may contain SQL) to the peer."""


def check_collection(collection: str) -> None:
    if not _COLLECTION.fullmatch(collection):
        raise ValueError(f"collection name must match {_COLLECTION.pattern}: {collection!r}")


def _key_problem(key: str) -> str | None:
    # NUL and lone surrogates cannot be stored in PostgreSQL text; refusing them on both
    # backends keeps SQLite from accepting keys a replica deployment would reject.
    if not key or len(key) > MAX_KEY_LENGTH or "\x00" in key:
        return f"keys are 1 to {MAX_KEY_LENGTH} characters without NUL"
    try:
        key.encode("utf-8")
    except UnicodeEncodeError:
        return "keys must be valid Unicode text"
    return None


def check_key(key: str) -> None:
    problem = _key_problem(key)
    if problem is not None:
        raise ValueError(problem)


def check_time(value: datetime | None) -> None:
    # A naive datetime compared against stored instants would silently shift expiry by
    # the machine's UTC offset.
    if value is not None and value.utcoffset() is None:
        raise ValueError("datetimes given to the store must be timezone-aware")


def encode_value(value: JSON) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        if not text.isascii():  # ASCII text has no lone surrogate to refuse
            text.encode("utf-8")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"value is not storable JSON: {exc}") from exc
    # JSONB refuses \u0000 in strings; refuse it everywhere for one behaviour. The
    # substring test first: the pattern's look-behind costs more than the dump itself.
    if "\\u0000" in text and _ESCAPED_NUL.search(text):
        raise ValueError("value is not storable JSON: strings may not contain NUL")
    return text


def decode_value(text: str) -> JSON:
    return cast(JSON, json.loads(text))


class Store(ABC):
    """A document store of JSON values in named collections, safe to share between
    threads and, for PostgreSQL, between processes.

    A key is live until ``expires_at``: at ``now >= expires_at`` it reads as absent.
    Every method that depends on liveness takes ``now``; nothing here reads the clock.
    """

    def put(
        self, collection: str, key: str, value: JSON, *, expires_at: datetime | None = None
    ) -> None:
        """Store ``value`` under ``key``, replacing any previous value and expiry."""
        check_collection(collection)
        check_key(key)
        check_time(expires_at)
        self._put(collection, key, encode_value(value), expires_at)

    def put_all(self, entries: Sequence[tuple[str, str, JSON, datetime | None]]) -> None:
        """Store several ``(collection, key, value, expires_at)`` entries in one
        transaction: all of them or none. One commit instead of one per entry, where the
        commit (its disk sync) is what a write costs."""
        encoded: list[tuple[str, str, str, datetime | None]] = []
        for collection, key, value, expires_at in entries:
            check_collection(collection)
            check_key(key)
            check_time(expires_at)
            encoded.append((collection, key, encode_value(value), expires_at))
        if encoded:
            self._put_all(encoded)

    def get(self, collection: str, key: str, *, now: datetime) -> JSON | None:
        """The live value under ``key``, or None."""
        check_collection(collection)
        check_time(now)
        if _key_problem(key) is not None:
            return None
        text = self._get(collection, key, now)
        return None if text is None else decode_value(text)

    def insert(
        self,
        collection: str,
        key: str,
        value: JSON,
        *,
        now: datetime,
        expires_at: datetime | None = None,
    ) -> bool:
        """Store ``value`` only if no live value exists under ``key``; True if stored.

        Atomic in the database: of several concurrent inserters, in this or other
        processes, exactly one gets True. An expired value counts as absent.
        """
        check_collection(collection)
        check_key(key)
        check_time(now)
        check_time(expires_at)
        return self._insert(collection, key, encode_value(value), now, expires_at)

    def take(self, collection: str, key: str, *, now: datetime) -> JSON | None:
        """Remove and return the live value under ``key``; of concurrent takers exactly
        one receives it. An expired value is removed and None is returned."""
        check_collection(collection)
        check_time(now)
        if _key_problem(key) is not None:
            return None
        text = self._take(collection, key, now)
        return None if text is None else decode_value(text)

    def delete(self, collection: str, key: str) -> bool:
        """Remove ``key``, live or expired; True if something was removed."""
        check_collection(collection)
        if _key_problem(key) is not None:
            return False
        return self._delete(collection, key)

    def list(
        self, collection: str, *, now: datetime, limit: int = 1000
    ) -> builtins.list[tuple[str, JSON]]:
        """Live entries, oldest first (order of first insertion of each key)."""
        check_collection(collection)
        check_time(now)
        if limit < 1:
            raise ValueError("limit must be positive")
        return [(key, decode_value(text)) for key, text in self._list(collection, now, limit)]

    def update(
        self, collection: str, key: str, fn: Callable[[JSON | None], JSON], *, now: datetime
    ) -> JSON:
        """Replace the value under ``key`` by ``fn(old)`` in one transaction and return
        it; ``old`` is None when there is no live value (a new entry never expires, an
        existing one keeps its expiry).

        ``fn`` must be quick and free of I/O (PostgreSQL runs it while the row is
        locked), and it may be called more than once (SQLite calls it again when another
        writer changed the row between its read and its write, PostgreSQL when another
        process creates the key concurrently), so it must not have side effects.
        """
        check_collection(collection)
        check_key(key)
        check_time(now)

        def apply(old: str | None) -> str:
            return encode_value(fn(None if old is None else decode_value(old)))

        return decode_value(self._update(collection, key, apply, now))

    def count(self, collection: str, *, now: datetime) -> int:
        """The number of live entries in ``collection``."""
        check_collection(collection)
        check_time(now)
        return self._count(collection, now)

    def purge_expired(self, now: datetime) -> int:
        """Remove every expired entry of every collection; returns how many."""
        check_time(now)
        return self._purge_expired(now)

    @abstractmethod
    def close(self) -> None:
        """Release connections; later calls raise :class:`StorageError`. Idempotent."""

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # Backends: validated arguments in, JSON text out.
    @abstractmethod
    def _put(self, collection: str, key: str, text: str, expires_at: datetime | None) -> None: ...
    @abstractmethod
    def _put_all(self, entries: Sequence[tuple[str, str, str, datetime | None]]) -> None: ...
    @abstractmethod
    def _get(self, collection: str, key: str, now: datetime) -> str | None: ...
    @abstractmethod
    def _insert(
        self, collection: str, key: str, text: str, now: datetime, expires_at: datetime | None
    ) -> bool: ...
    @abstractmethod
    def _take(self, collection: str, key: str, now: datetime) -> str | None: ...
    @abstractmethod
    def _delete(self, collection: str, key: str) -> bool: ...
    @abstractmethod
    def _list(
        self, collection: str, now: datetime, limit: int
    ) -> builtins.list[tuple[str, str]]: ...
    @abstractmethod
    def _update(
        self, collection: str, key: str, apply: Callable[[str | None], str], now: datetime
    ) -> str: ...
    @abstractmethod
    def _count(self, collection: str, now: datetime) -> int: ...
    @abstractmethod
    def _purge_expired(self, now: datetime) -> int: ...
