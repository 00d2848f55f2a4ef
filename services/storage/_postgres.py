"""PostgreSQL backend, for replicas that share one database.

Every guarantee is made by the server (unique key, ``ON CONFLICT``,
``DELETE ... RETURNING``, ``SELECT ... FOR UPDATE``), because the competing writer may
be another process. Connections come from a pool in autocommit mode; the only
multi-statement operations (schema creation and ``update``) open explicit transactions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg_pool import ConnectionPool

from ._base import StorageError, Store

__all__ = ["PostgresStore"]

_PREFIX = re.compile(r"[a-z][a-z0-9_]{0,40}")
_CONNECT_TIMEOUT_S = 10
# Two replicas starting together would race in CREATE TABLE IF NOT EXISTS (it is not
# atomic against itself); an advisory lock held for the transaction serialises them.
_SCHEMA_LOCK = 0x7061_7373  # "pass"


def _split_url(url: str) -> tuple[str, str, int]:
    """The libpq URL without our own parameters, the table prefix and the pool size."""
    parts = urlsplit(url)
    params = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in params if k in {"prefix", "pool_size"}}
    rest = [(k, v) for k, v in params if k not in ours]
    prefix = ours.get("prefix", "passerelle")
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"prefix must match {_PREFIX.pattern}")
    pool_size = int(ours.get("pool_size", "10"))
    if pool_size < 1:
        raise ValueError("pool_size must be positive")
    return urlunsplit(parts._replace(query=urlencode(rest))), prefix, pool_size


class PostgresStore(Store):
    def __init__(self, url: str) -> None:
        conninfo, prefix, pool_size = _split_url(url)
        self._name = f"{prefix}_store"
        self._table = sql.Identifier(self._name)
        connect_args: dict[str, Any] = {"autocommit": True, "connect_timeout": _CONNECT_TIMEOUT_S}
        try:
            # A direct first connection fails fast with libpq's own reason (refused,
            # bad password), where a pool would retry and time out.
            with psycopg.connect(conninfo, **connect_args) as conn:
                self._create_schema(conn)
        except psycopg.Error as exc:
            raise StorageError("cannot open PostgreSQL store") from exc
        self._pool: ConnectionPool[psycopg.Connection[tuple[Any, ...]]] = ConnectionPool(
            conninfo,
            min_size=1,
            max_size=pool_size,
            open=True,
            kwargs=connect_args,
            # A connection broken by a server restart is replaced, not handed out.
            check=ConnectionPool.check_connection,
        )

    def _q(self, template: str) -> sql.Composed:
        # The table name is the only identifier ever interpolated, and it is quoted.
        return sql.SQL(template).format(t=self._table)

    def _create_schema(self, conn: psycopg.Connection[tuple[Any, ...]]) -> None:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            conn.execute(
                self._q(
                    "CREATE TABLE IF NOT EXISTS {t} ("
                    " seq bigint GENERATED ALWAYS AS IDENTITY,"
                    " collection text NOT NULL,"
                    " key text NOT NULL,"
                    " value jsonb NOT NULL,"
                    " expires_at timestamptz,"
                    " PRIMARY KEY (collection, key))"
                )
            )
            order = sql.Identifier(f"{self._name}_order")
            expiry = sql.Identifier(f"{self._name}_expiry")
            conn.execute(
                sql.SQL("CREATE INDEX IF NOT EXISTS {i} ON {t} (collection, seq)").format(
                    i=order, t=self._table
                )
            )
            conn.execute(
                sql.SQL(
                    "CREATE INDEX IF NOT EXISTS {i} ON {t} (expires_at)"
                    " WHERE expires_at IS NOT NULL"
                ).format(i=expiry, t=self._table)
            )

    @contextmanager
    def _conn(self) -> Iterator[psycopg.Connection[tuple[Any, ...]]]:
        try:
            with self._pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            # Includes PoolClosed and PoolTimeout, both OperationalError.
            raise StorageError("PostgreSQL operation failed") from exc

    def _put_all(self, entries: Sequence[tuple[str, str, str, datetime | None]]) -> None:
        with self._conn() as conn, conn.transaction():
            for collection, key, text, expires_at in entries:
                conn.execute(
                    self._q(
                        "INSERT INTO {t} (collection, key, value, expires_at)"
                        " VALUES (%s, %s, %s::jsonb, %s)"
                        " ON CONFLICT (collection, key) DO UPDATE"
                        " SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at"
                    ),
                    (collection, key, text, expires_at),
                )

    def _put(self, collection: str, key: str, text: str, expires_at: datetime | None) -> None:
        with self._conn() as conn:
            conn.execute(
                self._q(
                    "INSERT INTO {t} (collection, key, value, expires_at)"
                    " VALUES (%s, %s, %s::jsonb, %s)"
                    " ON CONFLICT (collection, key) DO UPDATE"
                    " SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at"
                ),
                (collection, key, text, expires_at),
            )

    def _get(self, collection: str, key: str, now: datetime) -> str | None:
        with self._conn() as conn:
            row = conn.execute(
                self._q(
                    "SELECT value::text FROM {t} WHERE collection = %s AND key = %s"
                    " AND (expires_at IS NULL OR expires_at > %s)"
                ),
                (collection, key, now),
            ).fetchone()
        return None if row is None else str(row[0])

    def _insert(
        self, collection: str, key: str, text: str, now: datetime, expires_at: datetime | None
    ) -> bool:
        # ON CONFLICT waits for a concurrent inserter of the same key and re-checks the
        # WHERE against its committed row, so exactly one caller sees a returned row.
        with self._conn() as conn:
            row = conn.execute(
                self._q(
                    "INSERT INTO {t} AS s (collection, key, value, expires_at)"
                    " VALUES (%s, %s, %s::jsonb, %s)"
                    " ON CONFLICT (collection, key) DO UPDATE"
                    " SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at"
                    " WHERE s.expires_at IS NOT NULL AND s.expires_at <= %s"
                    " RETURNING 1"
                ),
                (collection, key, text, expires_at, now),
            ).fetchone()
        return row is not None

    def _take(self, collection: str, key: str, now: datetime) -> str | None:
        # A second DELETE blocks on the first one's row lock, then finds nothing.
        with self._conn() as conn:
            row = conn.execute(
                self._q(
                    "DELETE FROM {t} WHERE collection = %s AND key = %s"
                    " RETURNING value::text, expires_at IS NOT NULL AND expires_at <= %s"
                ),
                (collection, key, now),
            ).fetchone()
        return None if row is None or row[1] else str(row[0])

    def _delete(self, collection: str, key: str) -> bool:
        with self._conn() as conn:
            cur = conn.execute(
                self._q("DELETE FROM {t} WHERE collection = %s AND key = %s"), (collection, key)
            )
            return cur.rowcount == 1

    def _list(self, collection: str, now: datetime, limit: int) -> list[tuple[str, str]]:
        with self._conn() as conn:
            rows = conn.execute(
                self._q(
                    "SELECT key, value::text FROM {t} WHERE collection = %s"
                    " AND (expires_at IS NULL OR expires_at > %s) ORDER BY seq LIMIT %s"
                ),
                (collection, now, limit),
            ).fetchall()
        return [(str(k), str(v)) for k, v in rows]

    def _update(
        self, collection: str, key: str, apply: Callable[[str | None], str], now: datetime
    ) -> str:
        with self._conn() as conn, conn.transaction():
            while True:
                row = conn.execute(
                    self._q(
                        "SELECT value::text, expires_at IS NULL OR expires_at > %s"
                        " FROM {t} WHERE collection = %s AND key = %s FOR UPDATE"
                    ),
                    (now, collection, key),
                ).fetchone()
                if row is not None:
                    live = bool(row[1])
                    new = apply(str(row[0]) if live else None)
                    conn.execute(
                        self._q(
                            "UPDATE {t} SET value = %s::jsonb,"
                            " expires_at = CASE WHEN %s THEN expires_at END"
                            " WHERE collection = %s AND key = %s"
                        ),
                        (new, live, collection, key),
                    )
                    return new
                # No row to lock: create it, unless another process just did; then loop
                # and lock theirs (READ COMMITTED lets the next SELECT see it).
                new = apply(None)
                created = conn.execute(
                    self._q(
                        "INSERT INTO {t} (collection, key, value) VALUES (%s, %s, %s::jsonb)"
                        " ON CONFLICT (collection, key) DO NOTHING RETURNING 1"
                    ),
                    (collection, key, new),
                ).fetchone()
                if created is not None:
                    return new

    def _count(self, collection: str, now: datetime) -> int:
        with self._conn() as conn:
            row = conn.execute(
                self._q(
                    "SELECT count(*) FROM {t} WHERE collection = %s"
                    " AND (expires_at IS NULL OR expires_at > %s)"
                ),
                (collection, now),
            ).fetchone()
        return 0 if row is None else int(row[0])

    def _purge_expired(self, now: datetime) -> int:
        with self._conn() as conn:
            cur = conn.execute(
                self._q("DELETE FROM {t} WHERE expires_at IS NOT NULL AND expires_at <= %s"),
                (now,),
            )
            return cur.rowcount

    def close(self) -> None:
        self._pool.close()
