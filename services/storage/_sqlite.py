"""SQLite backend: one file per service, WAL, one connection per thread.

Each thread gets its own connection, so concurrent threads contend in SQLite exactly
as separate processes would: atomicity comes from single statements (below), not from
a Python lock. Only ``:memory:`` shares one connection under a lock, because a private
in-memory database exists in one connection only.

Every write is one SQL statement: a put of several entries is one multi-row upsert,
and an update reads the row, applies its function, then writes with a statement that
only succeeds if the row is still what it read (compare and set), reading again when
another writer came first. SQLite's write lock is then held inside one statement only,
which runs while its thread has let go of the GIL. A transaction of several statements
held the lock while its thread took the GIL back between them, which with the other
threads of a busy worker could take milliseconds, all of them lost to the other workers
waiting on the lock.

The writes of one process queue, and whichever writer holds the process's write lock
runs all that are waiting. How they commit is what a commit costs:

- with ``synchronous=normal`` (below) a commit costs tens of microseconds, so each
  write is committed alone, as its one statement;
- with ``synchronous=full`` a commit syncs the WAL to disk (several milliseconds), so
  the writes waiting share one transaction and one sync (group commit), each in a
  savepoint of its own, so that one that fails is undone alone.

Either way a caller returns only once its write is committed. A write that finds the
database busy because another process writes retries after a pause of a tenth of a
millisecond, doubling up to 10 ms, for up to 30 seconds (SQLite's own busy handler
sleeps a millisecond or more at a time, leaving the lock idle).

Durability is a setting, ``?synchronous=`` on the store URL:

- ``normal`` (the default): the WAL is synced at checkpoints, not at each commit. Every
  committed write survives the crash, kill or restart of any process; only a crash of
  the operating system or a power cut can lose the writes of the last moments (never
  corrupt the file, never split a write). A commit then costs tens of microseconds
  instead of a sync of the disk (about 3 ms, and 0.2 ms of CPU, on the machine the
  benches ran on), which otherwise bounds a worker's presentations per second and,
  since the sync is taken under the one write lock, serialises several workers.
- ``full``: the WAL is synced at every commit, so an acknowledged write survives a
  power cut too. For a deployment where losing the last seconds to a power cut is not
  acceptable (a status-list index handed out twice, a nonce usable again); PostgreSQL
  keeps its own setting (``synchronous_commit``, on by default).
"""

from __future__ import annotations

import functools
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from ._base import StorageError, Store

__all__ = ["SYNCHRONOUS", "SqliteStore"]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_BUSY_TIMEOUT_S = 30.0
# SQLite answers busy at once; the waiting is _run's (module docstring).
_STATEMENT_BUSY_S = 0.0
_FIRST_PAUSE_S = 0.0001
_MAX_PAUSE_S = 0.01
# Rows of one multi-row upsert: four parameters each, under SQLite's default limit of
# 32,766 parameters per statement.
_ROWS_PER_STATEMENT = 8000
_T = TypeVar("_T")

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


SYNCHRONOUS = ("normal", "full")
"""The values of ``?synchronous=`` (see above); the first is the default."""


class SqliteStore(Store):
    def __init__(self, path: str, *, synchronous: str = SYNCHRONOUS[0]) -> None:
        if synchronous not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {SYNCHRONOUS}, not {synchronous!r}")
        self._memory = path == ":memory:"
        self._path = path
        self._synchronous = synchronous.upper()
        self._group_commit = self._synchronous == "FULL"
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._queue_lock = threading.Lock()
        self._queue: list[_Pending] = []
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._closed = False
        try:
            if not self._memory:
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            first = self._connect(schema=True)
        except (OSError, sqlite3.Error) as exc:
            raise StorageError(f"cannot open SQLite store {path!r}") from exc
        if not self._memory:
            self._local.conn = first

    def _connect(self, *, schema: bool = False) -> sqlite3.Connection:
        # isolation_level=None: the module must not open transactions behind our back;
        # we open them explicitly where several statements must be atomic. Setting up
        # waits out a busy database with SQLite's own handler (workers that open a new
        # file together: one turns it to WAL and creates the table while the others
        # wait); the statements after answer busy at once, for _run.
        conn = sqlite3.connect(
            self._path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
        )
        if not self._memory:
            (mode,) = conn.execute("PRAGMA journal_mode=WAL").fetchone()
            # NORMAL or FULL, checked above: what a power cut may take (module docstring).
            # NORMAL keeps the file whole only in WAL mode; where the file system cannot
            # hold a WAL (some network mounts), every commit is synced instead.
            synchronous = self._synchronous if str(mode).lower() == "wal" else "FULL"
            conn.execute(f"PRAGMA synchronous={synchronous}")
        if schema:
            conn.executescript(_SCHEMA)
        conn.execute(f"PRAGMA busy_timeout = {round(_STATEMENT_BUSY_S * 1000)}")
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

    def _run(self, op: Callable[[sqlite3.Connection], _T]) -> _T:
        """Run ``op``, waiting out another process's write for up to 30 seconds."""
        deadline = time.monotonic() + _BUSY_TIMEOUT_S
        pause = _FIRST_PAUSE_S
        while True:
            with self._conn() as conn:
                try:
                    return op(conn)
                except sqlite3.OperationalError as exc:
                    if not _is_busy(exc) or time.monotonic() > deadline:
                        raise
            time.sleep(pause * (1 + random.random()))
            pause = min(pause * 2, _MAX_PAUSE_S)

    def _write(self, op: Callable[[sqlite3.Connection], _T], *, one_statement: bool = True) -> _T:
        """Run ``op``, a write, with whatever other writes of this process are waiting
        (module docstring); return once it is committed. ``one_statement``: ``op`` runs
        exactly one SQL statement, so it may commit alone."""
        pending = _Pending(op, one_statement)
        with self._queue_lock:
            self._queue.append(pending)
        while not pending.done:
            with self._write_lock:
                if pending.done:  # set under this lock by the committer
                    break
                with self._queue_lock:
                    batch, self._queue = self._queue, []
                if batch:
                    self._commit(batch)
        if pending.error is not None:
            raise pending.error
        return pending.result  # type: ignore[no-any-return]

    def _commit(self, batch: list[_Pending]) -> None:
        # Alone, each statement its own transaction, unless a commit syncs the disk and
        # there are several to share it (module docstring).
        if all(p.one_statement for p in batch) and (len(batch) == 1 or not self._group_commit):
            for i, pending in enumerate(batch):
                try:
                    pending.result = self._run(pending.op)
                except Exception as exc:
                    pending.error = exc
                except BaseException as exc:
                    for left in batch[i:]:
                        left.error, left.done = exc, True
                    raise
                pending.done = True
            return

        def transaction(conn: sqlite3.Connection) -> list[tuple[Any, BaseException | None]]:
            outcomes: list[tuple[Any, BaseException | None]] = []
            conn.execute("BEGIN IMMEDIATE")
            try:
                for pending in batch:
                    conn.execute("SAVEPOINT write")
                    try:
                        value = pending.op(conn)
                    except Exception as exc:
                        if isinstance(exc, sqlite3.OperationalError) and _is_busy(exc):
                            # Another process holds the database: the whole batch is
                            # retried by _run (its writes are pure functions of what they
                            # read), never failed for good.
                            raise
                        conn.execute("ROLLBACK TO write")
                        conn.execute("RELEASE write")
                        if isinstance(exc, sqlite3.Error):
                            failure: BaseException = StorageError("SQLite operation failed")
                            failure.__cause__ = exc
                            outcomes.append((None, failure))
                        else:
                            outcomes.append((None, exc))
                    else:
                        conn.execute("RELEASE write")
                        outcomes.append((value, None))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
            return outcomes

        try:
            outcomes = self._run(transaction)
        except BaseException as exc:
            for pending in batch:
                pending.error = exc
                pending.done = True
            if not isinstance(exc, Exception):
                raise
            return
        for pending, (value, error) in zip(batch, outcomes, strict=True):
            pending.result, pending.error = value, error
            pending.done = True

    def _put(self, collection: str, key: str, text: str, expires_at: datetime | None) -> None:
        self._put_all([(collection, key, text, expires_at)])

    def _put_all(self, entries: Sequence[tuple[str, str, str, datetime | None]]) -> None:
        rows = [(c, k, t, _micros(e)) for c, k, t, e in entries]
        upsert = (
            "INSERT INTO store (collection, key, value, expires_at) VALUES {}"
            " ON CONFLICT (collection, key) DO UPDATE"
            " SET value = excluded.value, expires_at = excluded.expires_at"
        )
        if len(rows) <= _ROWS_PER_STATEMENT:
            sql = upsert.format(", ".join(["(?, ?, ?, ?)"] * len(rows)))
            flat = [field for row in rows for field in row]
            self._write(lambda conn: conn.execute(sql, flat))
        else:
            self._write(
                lambda conn: conn.executemany(upsert.format("(?, ?, ?, ?)"), rows),
                one_statement=False,
            )

    def _get(self, collection: str, key: str, now: datetime) -> str | None:
        row = self._run(
            lambda conn: conn.execute(
                "SELECT value FROM store WHERE collection = :c AND key = :k"
                " AND (expires_at IS NULL OR expires_at > :now)",
                {"c": collection, "k": key, "now": _micros(now)},
            ).fetchone(),
        )
        return None if row is None else str(row[0])

    def _insert(
        self, collection: str, key: str, text: str, now: datetime, expires_at: datetime | None
    ) -> bool:
        # One statement: the conflict check and the write cannot be split by another
        # writer. The DO UPDATE only fires over an expired row.
        def insert(conn: sqlite3.Connection) -> bool:
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

        return self._write(insert)

    def _take(self, collection: str, key: str, now: datetime) -> str | None:
        row = self._write(
            lambda conn: conn.execute(
                "DELETE FROM store WHERE collection = ? AND key = ? RETURNING value, expires_at",
                (collection, key),
            ).fetchone()
        )
        if row is None or (row[1] is not None and row[1] <= _micros(now)):
            return None
        return str(row[0])

    def _delete(self, collection: str, key: str) -> bool:
        removed = self._write(
            lambda conn: (
                conn.execute(
                    "DELETE FROM store WHERE collection = ? AND key = ?", (collection, key)
                ).rowcount
            )
        )
        return removed == 1

    def _list(self, collection: str, now: datetime, limit: int) -> list[tuple[str, str]]:
        rows = self._run(
            lambda conn: conn.execute(
                "SELECT key, value FROM store WHERE collection = :c"
                " AND (expires_at IS NULL OR expires_at > :now)"
                " ORDER BY seq LIMIT :limit",
                {"c": collection, "now": _micros(now), "limit": limit},
            ).fetchall(),
        )
        return [(str(k), str(v)) for k, v in rows]

    def _update(
        self, collection: str, key: str, apply: Callable[[str | None], str], now: datetime
    ) -> str:
        # Compare and set (module docstring): ``apply`` runs outside any lock, and again
        # on what another writer left if one came between the read and the write.
        while True:
            row = self._run(
                lambda conn: conn.execute(
                    "SELECT value, expires_at FROM store WHERE collection = ? AND key = ?",
                    (collection, key),
                ).fetchone()
            )
            live = row is not None and (row[1] is None or row[1] > _micros(now))
            new = apply(str(row[0]) if live else None)
            if row is None:
                sql = (
                    "INSERT INTO store (collection, key, value, expires_at)"
                    " VALUES (?, ?, ?, NULL) ON CONFLICT (collection, key) DO NOTHING"
                )
                params: tuple[Any, ...] = (collection, key, new)
            else:
                # An expired row is replaced as if absent: the new value never expires.
                sql = (
                    "UPDATE store SET value = ?, expires_at = ? WHERE collection = ?"
                    " AND key = ? AND value = ? AND expires_at IS ?"
                )
                params = (new, row[1] if live else None, collection, key, row[0], row[1])
            if self._write(functools.partial(_changes_one_row, sql=sql, params=params)):
                return new

    def _count(self, collection: str, now: datetime) -> int:
        row = self._run(
            lambda conn: conn.execute(
                "SELECT count(*) FROM store WHERE collection = :c"
                " AND (expires_at IS NULL OR expires_at > :now)",
                {"c": collection, "now": _micros(now)},
            ).fetchone(),
        )
        return int(row[0])

    def _purge_expired(self, now: datetime) -> int:
        removed = self._write(
            lambda conn: (
                conn.execute(
                    "DELETE FROM store WHERE expires_at IS NOT NULL AND expires_at <= ?",
                    (_micros(now),),
                ).rowcount
            )
        )
        return int(removed)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, []
        for conn in connections:
            conn.close()


@dataclass(slots=True, eq=False)
class _Pending:
    """One write waiting for the commit that will hold it."""

    op: Callable[[sqlite3.Connection], Any]
    one_statement: bool
    done: bool = False
    """Set, under the write lock, once the commit holding it is over: a writer waits
    on that lock, never on this flag (a threading.Event per write cost more than the
    statement)."""
    result: Any = None
    error: BaseException | None = None


def _changes_one_row(conn: sqlite3.Connection, *, sql: str, params: tuple[Any, ...]) -> bool:
    return conn.execute(sql, params).rowcount == 1


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    # SQLITE_BUSY ("database is locked") and SQLITE_LOCKED ("database table is locked").
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(exc) or "busy" in str(exc)
