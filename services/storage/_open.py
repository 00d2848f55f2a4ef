"""Choosing a backend from a store URL.

Kept apart from :mod:`._base` so the backends import the base and nothing imports
them back: the base defines what a store is, this module picks which one.
"""

from __future__ import annotations

from ._base import Store


def open_store(url: str) -> Store:
    """Open the store at ``url``.

    - ``sqlite:///abs/path.db`` or ``sqlite://relative/path.db``: everything after
      ``sqlite://`` is the file path; parent directories are created.
    - ``sqlite://:memory:``: a private in-memory database (tests).
    - ``postgresql://user@host:port/db[?prefix=name]``: tables are created if missing,
      named ``<prefix>_store`` (default prefix ``passerelle``); ``pool_size`` bounds the
      connections of this process (default 10). Other parameters go to libpq.
    """
    if url.startswith("sqlite://"):
        from ._sqlite import SqliteStore

        return SqliteStore(url.removeprefix("sqlite://"))
    if url.startswith(("postgresql://", "postgres://")):
        # Imported here so that SQLite-only deployments need no PostgreSQL driver.
        from ._postgres import PostgresStore

        return PostgresStore(url)
    raise ValueError("store URL must start with sqlite:// or postgresql://")
