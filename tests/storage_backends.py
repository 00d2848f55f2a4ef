"""Both storage backends as one pytest fixture: SQLite in a temporary file, and this
machine's PostgreSQL in a table prefix of its own, dropped afterwards. Without a
server the PostgreSQL cases skip, except under CI, where they fail."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from passerelle.services.storage import Store, open_store

PG_URL = os.environ.get("PASSERELLE_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


@dataclass(frozen=True, slots=True, kw_only=True)
class Backend:
    name: str
    url: str

    def open(self) -> Store:
        return open_store(self.url)


def _require_postgres() -> None:
    try:
        import psycopg

        psycopg.connect(PG_URL, connect_timeout=3).close()
    except Exception as exc:  # ImportError or any connection failure
        message = f"PostgreSQL at {PG_URL} is not usable: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def _drop_postgres_table(prefix: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(f"{prefix}_store")))


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        # Parent directories that do not exist yet: open_store must create them.
        yield Backend(name="sqlite", url=f"sqlite://{tmp_path}/data/issuer/store.db")
        return
    _require_postgres()
    prefix = f"t_{uuid.uuid4().hex[:16]}"
    try:
        yield Backend(name="postgres", url=f"{PG_URL}?prefix={prefix}")
    finally:
        _drop_postgres_table(prefix)
