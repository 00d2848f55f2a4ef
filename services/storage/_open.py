"""Choosing a backend from a store URL.

Kept apart from :mod:`._base` so the backends import the base and nothing imports
them back: the base defines what a store is, this module picks which one.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from ._base import Store


def open_store(url: str) -> Store:
    """Open the store at ``url``.

    - ``sqlite:///abs/path.db`` or ``sqlite://relative/path.db``: everything after
      ``sqlite://`` up to an optional ``?synchronous=normal|full`` is the file path;
      parent directories are created. ``normal`` (the default) keeps every commit across
      a process crash or restart, ``full`` across a power cut too, at a disk sync per
      commit (see :mod:`._sqlite`).
    - ``sqlite://:memory:``: a private in-memory database (tests).
    - ``postgresql://user@host:port/db[?prefix=name]``: tables are created if missing,
      named ``<prefix>_store`` (default prefix ``passerelle``); ``pool_size`` bounds the
      connections of this process (default 10). Other parameters go to libpq.
    """
    if url.startswith("sqlite://"):
        from ._sqlite import SqliteStore

        path, _, query = url.removeprefix("sqlite://").partition("?")
        params = dict(parse_qsl(query, keep_blank_values=True))
        unknown = set(params) - {"synchronous"}
        if unknown:
            raise ValueError(f"unknown SQLite store parameters: {sorted(unknown)}")
        if "synchronous" in params:
            return SqliteStore(path, synchronous=params["synchronous"])
        return SqliteStore(path)
    if url.startswith(("postgresql://", "postgres://")):
        # Imported here so that SQLite-only deployments need no PostgreSQL driver.
        from ._postgres import PostgresStore

        return PostgresStore(url)
    raise ValueError("store URL must start with sqlite:// or postgresql://")
