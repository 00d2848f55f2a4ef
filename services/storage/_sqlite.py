"""SQLite backend: one file per service, WAL, one connection per thread.

Each thread gets its own connection, so concurrent threads contend in SQLite exactly
as separate processes would: atomicity comes from single statements and
``BEGIN IMMEDIATE``, not from a Python lock. Only ``:memory:`` shares one connection
under a lock, because a private in-memory database exists in one connection only.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ._base import StorageError, Store

__all__ = ["SqliteStore"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BUSY_TIMEOUT_S = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS store (
    seq INTEGER PRIMARY KEY,
    collection TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    expires_at INTEGER,
    UNIQUE (collection, key)
);
CREATE INDEX IF NOT EXISTS store_order ON store (collection, seq);
CREATE INDEX IF NOT EXISTS store_expiry ON store (expires_at) WHERE expires_at IS NOT NULL;
"""


def _micros(value: datetime | None) -> int | None:
    # Integer microseconds compare exactly, whatever the offset the caller used.
    return None if value is None else (value - _EPOCH) // timedelta(microseconds=1)


class SqliteStore(Store):
    def __init__(self, path: str) -> None:
        self._memory = path == ":memory:"
        self._path = path
        self._lock = threading.Lock()
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        try:
            if not self._memory:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            first = self._connect()
            first.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open SQLite store {path!r}") from exc
        if not self._memory:
            self._local.conn = first

    def _connect(self) -> sqlite3.Connection:
        # isolation_level=None: the module must not open transactions behind our back;
        # we open them explicitly where several statements must be atomic.
        conn = sqlite3.connect(
            self._path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        if not self._memory:
            conn.execute("PRAGMA journal_mode=WAL")
            # FULL syncs the WAL on every commit: an acknowledged write survives a power
            # cut, not only a process restart.
            conn.execute("PRAGMA synchronous=FULL")
        self._connections.append(conn)
        return conn

    @contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        if self._closed:
            raise StorageError("store is closed")
        try:
            if self._memory:
                with self._lock:
                    yield self._connections[0]
                return
            conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
            if conn is None:
                # Threads of a server's pool are long-lived, so these stay few.
                with self._lock:
                    conn = self._connect()
                self._local.conn = conn
            yield conn
        except sqlite3.Error as exc:
            raise StorageError("SQLite operation failed") from exc

    def _put(self, collection: str, key: str, text: str, expires_at: datetime | None) -> None:
        with self._conn() as conn:
            conn.execute(
                "INSERT INTO store (collection, key, value, expires_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (collection, key) DO UPDATE"
                " SET value = excluded.value, expires_at = excluded.expires_at",
                (collection, key, text, _micros(expires_at)),
            )

    def _get(self, collection: str, key: str, now: datetime) -> str | None:
        with self._conn() as conn:
            row = conn.execute(
                "SELECT value FROM store WHERE collection = :c AND key = :k"
                " AND (expires_at IS NULL OR expires_at > :now)",
                {"c": collection, "k": key, "now": _micros(now)},
            ).fetchone()
        return None if row is None else str(row[0])

    def _insert(
        self, collection: str, key: str, text: str, now: datetime, expires_at: datetime | None
    ) -> bool:
        # One statement: the conflict check and the write cannot be split by another
        # writer. The DO UPDATE only fires over an expired row.
        with self._conn() as conn:
            cur = conn.execute(
                "INSERT INTO store (collection, key, value, expires_at) VALUES (:c, :k, :v, :e)"
                " ON CONFLICT (collection, key) DO UPDATE"
                " SET value = excluded.value, expires_at = excluded.expires_at"
                " WHERE expires_at IS NOT NULL AND expires_at <= :now",
                {
                    "c": collection,
                    "k": key,
                    "v": text,
                    "e": _micros(expires_at),
                    "now": _micros(now),
                },
            )
            return cur.rowcount == 1

    def _take(self, collection: str, key: str, now: datetime) -> str | None:
        with self._conn() as conn:
            row = conn.execute(
                "DELETE FROM store WHERE collection = ? AND key = ? RETURNING value, expires_at",
                (collection, key),
            ).fetchone()
        if row is None or (row[1] is not None and row[1] <= _micros(now)):
            return None
        return str(row[0])

    def _delete(self, collection: str, key: str) -> bool:
        with self._conn() as conn:
            cur = conn.execute(
                "DELETE FROM store WHERE collection = ? AND key = ?", (collection, key)
            )
            return cur.rowcount == 1

    def _list(self, collection: str, now: datetime, limit: int) -> list[tuple[str, str]]:
        with self._conn() as conn:
            rows = conn.execute(
                "SELECT key, value FROM store WHERE collection = :c"
                " AND (expires_at IS NULL OR expires_at > :now)"
                " ORDER BY seq LIMIT :limit",
                {"c": collection, "now": _micros(now), "limit": limit},
            ).fetchall()
        return [(str(k), str(v)) for k, v in rows]

    def _update(
        self, collection: str, key: str, apply: Callable[[str | None], str], now: datetime
    ) -> str:
        with self._conn() as conn:
            # IMMEDIATE takes the write lock before the read, so no other connection can
            # write between our SELECT and our UPDATE (and WAL cannot fail the upgrade).
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute(
                    "SELECT value, expires_at FROM store WHERE collection = ? AND key = ?",
                    (collection, key),
                ).fetchone()
                live = row is not None and (row[1] is None or row[1] > _micros(now))
                new = apply(str(row[0]) if live else None)
                expires = row[1] if live else None
                conn.execute(
                    "INSERT INTO store (collection, key, value, expires_at) VALUES (?, ?, ?, ?)"
                    " ON CONFLICT (collection, key) DO UPDATE"
                    " SET value = excluded.value, expires_at = excluded.expires_at",
                    (collection, key, new, expires),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        return new

    def _count(self, collection: str, now: datetime) -> int:
        with self._conn() as conn:
            row = conn.execute(
                "SELECT count(*) FROM store WHERE collection = :c"
                " AND (expires_at IS NULL OR expires_at > :now)",
                {"c": collection, "now": _micros(now)},
            ).fetchone()
        return int(row[0])

    def _purge_expired(self, now: datetime) -> int:
        with self._conn() as conn:
            cur = conn.execute(
                "DELETE FROM store WHERE expires_at IS NOT NULL AND expires_at <= ?",
                (_micros(now),),
            )
            return cur.rowcount

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()
