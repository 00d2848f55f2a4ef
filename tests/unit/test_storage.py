"""The storage layer, every behaviour against both backends.

PostgreSQL cases use this machine's server (``PASSERELLE_TEST_POSTGRES_URL``, default
``postgresql://postgres@127.0.0.1:5432/test``), each test in its own table prefix that
is dropped afterwards. Without a server they skip, except under CI, where they fail.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import TypeVar, cast

import pytest

from passerelle.services.storage import JSON, MAX_KEY_LENGTH, StorageError, Store, open_store
from tests.storage_backends import PG_URL, Backend

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LATER = NOW + timedelta(minutes=5)
THREADS = 8

T = TypeVar("T")


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    with backend.open() as opened:
        yield opened


def _race(n: int, work: Callable[[int], T]) -> list[T]:
    """Run ``work(i)`` for i in range(n) on n threads released at the same instant."""
    barrier = threading.Barrier(n)
    results: list[T | None] = [None] * n
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return cast(list[T], results)


# Basic behaviour ----------------------------------------------------------------------

VALUES: list[JSON] = [
    {"offer": {"credential_configuration_ids": ["pid"], "grants": {"n": 1}}, "ok": True},
    ["a", 1, 2.5, False, None, {"x": []}],
    "Ünïcødé — 日本語 🇨🇦",
    12345678901234567890,
    0.1,
    True,
    {},
]


@pytest.mark.parametrize("value", VALUES)
def test_put_then_get_round_trips_json(store: Store, value: JSON) -> None:
    store.put("offers", "k", value)
    assert store.get("offers", "k", now=NOW) == value


def test_get_of_unknown_key_is_none(store: Store) -> None:
    assert store.get("offers", "missing", now=NOW) is None


def test_put_replaces_value_and_expiry(store: Store) -> None:
    store.put("offers", "k", 1, expires_at=NOW)
    store.put("offers", "k", 2)
    assert store.get("offers", "k", now=LATER) == 2
    store.put("offers", "k", 3, expires_at=NOW + timedelta(seconds=1))
    assert store.get("offers", "k", now=LATER) is None


def test_collections_are_separate_namespaces(store: Store) -> None:
    store.put("offers", "k", "offer")
    store.put("codes", "k", "code")
    assert store.get("offers", "k", now=NOW) == "offer"
    assert store.take("codes", "k", now=NOW) == "code"
    assert store.get("offers", "k", now=NOW) == "offer"
    assert store.count("codes", now=NOW) == 0


def test_insert_only_if_absent(store: Store) -> None:
    assert store.insert("nonces", "n1", {"v": 1}, now=NOW) is True
    assert store.insert("nonces", "n1", {"v": 2}, now=NOW) is False
    assert store.get("nonces", "n1", now=NOW) == {"v": 1}
    assert store.insert("jtis", "n1", {"v": 3}, now=NOW) is True


def test_take_returns_value_once(store: Store) -> None:
    store.put("codes", "c", {"sub": "alice"})
    assert store.take("codes", "c", now=NOW) == {"sub": "alice"}
    assert store.take("codes", "c", now=NOW) is None
    assert store.get("codes", "c", now=NOW) is None


def test_delete_reports_whether_something_was_removed(store: Store) -> None:
    store.put("offers", "k", 1)
    assert store.delete("offers", "k") is True
    assert store.delete("offers", "k") is False
    assert store.get("offers", "k", now=NOW) is None


def test_list_is_in_insertion_order_and_limited(store: Store) -> None:
    for key in ["m", "b", "z", "a"]:
        store.put("transactions", key, {"key": key})
    store.put("transactions", "b", {"key": "b", "updated": True})  # keeps its place
    store.put("results", "other", 0)
    assert [k for k, _ in store.list("transactions", now=NOW)] == ["m", "b", "z", "a"]
    assert store.list("transactions", now=NOW, limit=2) == [
        ("m", {"key": "m"}),
        ("b", {"key": "b", "updated": True}),
    ]
    assert store.list("empty", now=NOW) == []


def test_count(store: Store) -> None:
    assert store.count("offers", now=NOW) == 0
    for i in range(5):
        store.put("offers", f"k{i}", i)
    store.delete("offers", "k0")
    assert store.count("offers", now=NOW) == 4


# Expiry -------------------------------------------------------------------------------


def test_value_expires_at_its_instant(store: Store) -> None:
    store.put("nonces", "n", "v", expires_at=LATER)
    assert store.get("nonces", "n", now=LATER - timedelta(microseconds=1)) == "v"
    assert store.get("nonces", "n", now=LATER) is None


def test_expiry_compares_instants_across_offsets(store: Store) -> None:
    toronto = timezone(timedelta(hours=-5))
    store.put("nonces", "n", "v", expires_at=LATER.astimezone(toronto))
    assert store.get("nonces", "n", now=LATER - timedelta(seconds=1)) == "v"
    assert store.get("nonces", "n", now=LATER.astimezone(toronto)) is None


def test_expired_entries_are_invisible_everywhere(store: Store) -> None:
    store.put("codes", "old", 1, expires_at=NOW)
    store.put("codes", "new", 2, expires_at=LATER + timedelta(hours=1))
    store.put("codes", "forever", 3)
    assert store.list("codes", now=LATER) == [("new", 2), ("forever", 3)]
    assert store.count("codes", now=LATER) == 2
    assert store.take("codes", "old", now=LATER) is None
    # take of an expired entry also removes it
    assert store.count("codes", now=NOW - timedelta(days=1)) == 2


def test_insert_over_an_expired_entry_succeeds(store: Store) -> None:
    store.put("nonces", "n", "old", expires_at=NOW)
    assert store.insert("nonces", "n", "new", now=NOW - timedelta(seconds=1)) is False
    assert (
        store.insert("nonces", "n", "new", now=LATER, expires_at=LATER + LATER.resolution) is True
    )
    assert store.get("nonces", "n", now=LATER) == "new"


def test_purge_expired_removes_only_expired_entries(store: Store) -> None:
    store.put("nonces", "a", 1, expires_at=NOW)
    store.put("codes", "b", 2, expires_at=NOW + timedelta(seconds=1))
    store.put("codes", "c", 3, expires_at=LATER + timedelta(days=1))
    store.put("offers", "d", 4)
    assert store.purge_expired(LATER) == 2
    assert store.purge_expired(LATER) == 0
    # Looking back in time shows the expired rows are really gone, not just hidden.
    before = NOW - timedelta(days=1)
    assert store.get("nonces", "a", now=before) is None
    assert store.get("codes", "b", now=before) is None
    assert store.get("codes", "c", now=before) == 3
    assert store.get("offers", "d", now=before) == 4


# update -------------------------------------------------------------------------------


def test_update_creates_then_modifies(store: Store) -> None:
    seen: list[JSON | None] = []

    def bump(old: JSON | None) -> JSON:
        seen.append(old)
        return {"next": (old["next"] if isinstance(old, dict) else 0) + 1}  # type: ignore[operator]

    assert store.update("status_lists", "list-1", bump, now=NOW) == {"next": 1}
    assert store.update("status_lists", "list-1", bump, now=NOW) == {"next": 2}
    assert seen == [None, {"next": 1}]
    assert store.get("status_lists", "list-1", now=NOW) == {"next": 2}


def test_update_keeps_expiry_and_treats_expired_as_absent(store: Store) -> None:
    store.put("transactions", "t", "a", expires_at=LATER)
    assert store.update("transactions", "t", lambda old: f"{old}b", now=NOW) == "ab"
    assert store.get("transactions", "t", now=LATER) is None  # expiry kept
    assert store.update("transactions", "t", lambda old: f"{old}c", now=LATER) == "Nonec"
    assert store.get("transactions", "t", now=LATER + timedelta(days=365)) == "Nonec"


def test_update_rolls_back_when_fn_raises(store: Store) -> None:
    store.put("results", "r", {"state": "pending"})

    def fail(old: JSON | None) -> JSON:
        raise KeyError("caller bug")

    with pytest.raises(KeyError):
        store.update("results", "r", fail, now=NOW)
    assert store.get("results", "r", now=NOW) == {"state": "pending"}
    # The store is still usable (no transaction left open on this thread's connection).
    assert store.update("results", "r", lambda _: {"state": "done"}, now=NOW) == {"state": "done"}


# Arguments ----------------------------------------------------------------------------


@pytest.mark.parametrize("collection", ["", "Offers", "1abc", "a-b", "a" * 64, "offers;drop"])
def test_bad_collection_names_are_refused(store: Store, collection: str) -> None:
    with pytest.raises(ValueError, match="collection"):
        store.put(collection, "k", 1)
    with pytest.raises(ValueError, match="collection"):
        store.get(collection, "k", now=NOW)


def test_collection_name_limits(store: Store) -> None:
    store.put("a" * 63, "k", 1)
    assert store.get("a" * 63, "k", now=NOW) == 1


@pytest.mark.parametrize("key", ["", "x" * (MAX_KEY_LENGTH + 1), "a\x00b", "\ud800"])
def test_bad_keys_are_refused(store: Store, key: str) -> None:
    with pytest.raises(ValueError, match="key"):
        store.put("offers", key, 1)
    with pytest.raises(ValueError, match="key"):
        store.insert("offers", key, 1, now=NOW)
    with pytest.raises(ValueError, match="key"):
        store.update("offers", key, lambda _: 1, now=NOW)
    # Peers supply the keys looked up; one that could never be stored is not there.
    assert store.get("offers", key, now=NOW) is None
    assert store.take("offers", key, now=NOW) is None
    assert store.delete("offers", key) is False


def test_longest_key_and_odd_characters_are_stored(store: Store) -> None:
    for key in ["x" * MAX_KEY_LENGTH, "https://issuer.example/ca#key-1", "'; DROP TABLE x; --"]:
        store.put("offers", key, key)
        assert store.get("offers", key, now=NOW) == key


@pytest.mark.parametrize(
    "value", [{1, 2}, float("nan"), float("inf"), {"a": "nul\x00"}, "\ud800", object()]
)
def test_values_that_are_not_storable_json_are_refused(store: Store, value: object) -> None:
    with pytest.raises(ValueError, match="JSON"):
        store.put("offers", "k", value)  # type: ignore[arg-type]
    assert store.count("offers", now=NOW) == 0


def test_an_escaped_backslash_before_u0000_is_not_a_nul(store: Store) -> None:
    store.put("offers", "k", "\\u0000")
    assert store.get("offers", "k", now=NOW) == "\\u0000"


def test_naive_datetimes_are_refused(store: Store) -> None:
    naive = datetime(2026, 11, 23, 12, 0)
    with pytest.raises(ValueError, match="timezone"):
        store.get("offers", "k", now=naive)
    with pytest.raises(ValueError, match="timezone"):
        store.put("offers", "k", 1, expires_at=naive)


def test_a_closed_store_raises_storage_error(backend: Backend) -> None:
    opened = backend.open()
    opened.put("offers", "k", 1)
    opened.close()
    opened.close()  # idempotent
    with pytest.raises(StorageError):
        opened.get("offers", "k", now=NOW)


# Durability ---------------------------------------------------------------------------


def test_nothing_acknowledged_is_lost_on_restart(backend: Backend) -> None:
    with backend.open() as first:
        first.put("offers", "o", {"pre-authorized_code": "abc"}, expires_at=LATER)
        assert first.insert("status_indices", "list-1/17", "reserved", now=NOW)
        first.put("codes", "c", "code")
        first.update("status_lists", "list-1", lambda _: {"next": 18}, now=NOW)
        assert first.take("codes", "c", now=NOW) == "code"
    with backend.open() as second:
        assert second.get("offers", "o", now=NOW) == {"pre-authorized_code": "abc"}
        assert second.get("offers", "o", now=LATER) is None
        assert second.get("status_lists", "list-1", now=NOW) == {"next": 18}
        assert second.get("codes", "c", now=NOW) is None  # a taken code stays taken
        # A reserved status index is never handed out again.
        assert second.insert("status_indices", "list-1/17", "again", now=NOW) is False


def test_ten_thousand_inserts_survive_reopen(backend: Backend) -> None:
    with backend.open() as first:

        def fill(worker: int) -> int:
            return sum(
                first.insert("status_indices", f"list/{i}", i, now=NOW)
                for i in range(worker, 10_000, THREADS)
            )

        assert sum(_race(THREADS, fill)) == 10_000
    with backend.open() as second:
        assert second.count("status_indices", now=NOW) == 10_000
        assert second.get("status_indices", "list/9999", now=NOW) == 9999
        assert second.insert("status_indices", "list/0", -1, now=NOW) is False


def test_two_stores_on_one_database_see_each_other(backend: Backend) -> None:
    with backend.open() as replica_a, backend.open() as replica_b:
        replica_a.put("offers", "k", "from a")
        assert replica_b.get("offers", "k", now=NOW) == "from a"
        assert replica_b.take("offers", "k", now=NOW) == "from a"
        assert replica_a.get("offers", "k", now=NOW) is None


# Concurrency: two store instances stand in for two replicas ----------------------------


@pytest.fixture
def replicas(backend: Backend) -> Iterator[tuple[Store, Store]]:
    with backend.open() as a, backend.open() as b:
        yield a, b


def test_take_race_has_exactly_one_winner(replicas: tuple[Store, Store]) -> None:
    def take_all(key: str) -> list[JSON | None]:
        return _race(THREADS, lambda i: replicas[i % 2].take("codes", key, now=NOW))

    for round_ in range(10):
        replicas[0].put("codes", f"code-{round_}", {"round": round_})
        got = take_all(f"code-{round_}")
        assert [g for g in got if g is not None] == [{"round": round_}]


def test_insert_race_has_exactly_one_winner(replicas: tuple[Store, Store]) -> None:
    def insert_all(key: str) -> list[bool]:
        return _race(THREADS, lambda i: replicas[i % 2].insert("nonces", key, i, now=NOW))

    for round_ in range(10):
        key = f"jti-{round_}"
        won = insert_all(key)
        assert won.count(True) == 1
        assert replicas[0].get("nonces", key, now=NOW) == won.index(True)


def test_insert_race_over_an_expired_entry_has_exactly_one_winner(
    replicas: tuple[Store, Store],
) -> None:
    replicas[0].put("nonces", "n", "stale", expires_at=NOW)
    won = _race(THREADS, lambda i: replicas[i % 2].insert("nonces", "n", i, now=LATER))
    assert won.count(True) == 1
    assert replicas[1].get("nonces", "n", now=LATER) == won.index(True)


def test_concurrent_updates_lose_no_increment(replicas: tuple[Store, Store]) -> None:
    def increment(old: JSON | None) -> JSON:
        return (old if isinstance(old, int) else 0) + 1

    def work(i: int) -> int:
        for _ in range(50):
            replicas[i % 2].update("counters", "c", increment, now=NOW)
        return 0

    # The key does not exist yet, so the first updates also race to create it.
    _race(THREADS, work)
    assert replicas[0].get("counters", "c", now=NOW) == THREADS * 50


# URLs and the in-memory store ------------------------------------------------------------


def test_memory_store_works_across_threads() -> None:
    with open_store("sqlite://:memory:") as memory:
        memory.put("codes", "c", "v")
        got = _race(THREADS, lambda _: memory.take("codes", "c", now=NOW))
        assert [g for g in got if g is not None] == ["v"]

        def work(_: int) -> None:
            for _ in range(20):
                memory.update(
                    "n", "k", lambda old: (old if isinstance(old, int) else 0) + 1, now=NOW
                )

        _race(THREADS, work)
        assert memory.get("n", "k", now=NOW) == THREADS * 20


def test_memory_stores_are_private() -> None:
    with open_store("sqlite://:memory:") as a, open_store("sqlite://:memory:") as b:
        a.put("offers", "k", 1)
        assert b.get("offers", "k", now=NOW) is None


@pytest.mark.parametrize(
    "url",
    ["mysql://localhost/db", "sqlite:", "file:///tmp/x.db", f"{PG_URL}?prefix=Bad-Prefix"],
)
def test_unsupported_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 - the message is not the contract
        open_store(url)


def test_sqlite_path_that_cannot_be_created_raises_storage_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StorageError):
        open_store(f"sqlite://{blocker}/store.db")


def test_unreachable_postgres_raises_storage_error() -> None:
    pytest.importorskip("psycopg")
    # Port 1 on loopback refuses at once; no server is needed for this test.
    with pytest.raises(StorageError):
        open_store("postgresql://postgres@127.0.0.1:1/test?connect_timeout=2")


def test_put_all_writes_every_entry_or_none(store: Store) -> None:
    later = NOW + timedelta(minutes=1)
    store.put_all([("a", "1", {"n": 1}, None), ("b", "2", [2], later)])
    assert store.get("a", "1", now=NOW) == {"n": 1}
    assert store.get("b", "2", now=NOW) == [2]
    assert store.get("b", "2", now=later) is None  # its own expiry
    # A bad entry is refused before anything is written.
    with pytest.raises(ValueError, match="keys"):
        store.put_all([("a", "3", 3, None), ("a", "", 4, None)])
    assert store.get("a", "3", now=NOW) is None


def test_put_all_beyond_one_statements_rows_writes_every_entry(store: Store) -> None:
    # SQLite writes up to 8,000 entries as one multi-row statement; more go in several,
    # in one transaction.
    entries: list[tuple[str, str, JSON, datetime | None]] = [
        ("many", str(i), i, None) for i in range(8_001)
    ]
    store.put_all(entries)
    assert store.count("many", now=NOW) == 8_001
    assert store.get("many", "8000", now=NOW) == 8_000


def test_concurrent_writers_of_two_stores_on_one_file_all_land(tmp_path: Path) -> None:
    # Two stores on one SQLite file stand for two worker processes: writes that find
    # the database busy wait their turn instead of failing.
    url = f"sqlite://{tmp_path}/shared.db"
    first, second = open_store(url), open_store(url)
    try:

        def write(store: Store, prefix: str) -> None:
            for i in range(40):
                store.update("n", "count", lambda v: (v if isinstance(v, int) else 0) + 1, now=NOW)
                store.put("k", f"{prefix}-{i}", i)

        threads = [
            threading.Thread(target=write, args=(s, f"{n}{t}"))
            for n, s in enumerate((first, second))
            for t in range(3)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert first.get("n", "count", now=NOW) == 240
        assert second.count("k", now=NOW) == 240
    finally:
        first.close()
        second.close()


def test_a_failing_update_is_undone_alone_among_concurrent_writes(tmp_path: Path) -> None:
    # Writes arriving together share one commit; each is in a savepoint of its own, so
    # an update whose function raises leaves the others' writes in place.
    store = open_store(f"sqlite://{tmp_path}/group.db")
    reopened = None
    try:
        barrier = threading.Barrier(12)
        errors: list[BaseException] = []

        def write(i: int) -> None:
            barrier.wait()

            def change(old: JSON | None) -> JSON:
                if i % 3 == 0:
                    raise LookupError(f"refused {i}")
                return i

            try:
                store.update("g", str(i), change, now=NOW)
            except LookupError as exc:
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(i,)) for i in range(12)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(errors) == 4
        # Read through another connection: what the callers saw returned is committed.
        reopened = open_store(f"sqlite://{tmp_path}/group.db")
        assert {k for k, _ in reopened.list("g", now=NOW)} == {str(i) for i in range(12) if i % 3}
    finally:
        store.close()
        if reopened is not None:
            reopened.close()


def test_an_update_raced_between_its_read_and_its_write_runs_again(tmp_path: Path) -> None:
    # SQLite compares and sets: another process's write landing after the update read
    # the row makes it read again and apply its function to that write, never overwrite
    # it (the lost update a blind write would make).
    url = f"sqlite://{tmp_path}/cas.db"
    with open_store(url) as ours, open_store(url) as theirs:
        ours.put("t", "k", {"events": ["made"]})
        seen: list[JSON | None] = []

        def add(old: JSON | None) -> JSON:
            seen.append(old)
            if len(seen) == 1:
                theirs.put("t", "k", {"events": ["made", "theirs"]})
            assert isinstance(old, dict)
            assert isinstance(old["events"], list)
            return {"events": [*old["events"], "ours"]}

        assert ours.update("t", "k", add, now=NOW) == {"events": ["made", "theirs", "ours"]}
        assert seen == [{"events": ["made"]}, {"events": ["made", "theirs"]}]
        assert theirs.get("t", "k", now=NOW) == {"events": ["made", "theirs", "ours"]}


def _statements(store: Store, write: Callable[[], object]) -> list[str]:
    """The SQL the store's connection in this thread runs for ``write``."""
    from passerelle.services.storage._sqlite import SqliteStore

    assert isinstance(store, SqliteStore)
    ran: list[str] = []
    with store._conn() as conn:
        conn.set_trace_callback(ran.append)
    try:
        write()
    finally:
        with store._conn() as conn:
            conn.set_trace_callback(None)
    return ran


@pytest.mark.parametrize("query", ["", "?synchronous=full"])
def test_each_sqlite_write_alone_is_one_statement(tmp_path: Path, query: str) -> None:
    # SQLite's write lock is then held inside one statement, by a thread that has let
    # go of the GIL, never across the Python between statements of a transaction
    # (which, in a busy worker, kept the other workers waiting on the lock).
    with open_store(f"sqlite://{tmp_path}/one.db{query}") as store:
        store.put("t", "old", 1, expires_at=NOW)
        writes: list[Callable[[], object]] = [
            lambda: store.put("t", "a", 1),
            lambda: store.put_all([("t", "b", 2, None), ("u", "c", 3, LATER)]),
            lambda: store.insert("t", "d", 4, now=NOW),
            lambda: store.take("t", "d", now=NOW),
            lambda: store.delete("t", "a"),
            lambda: store.update("t", "b", lambda v: [v], now=NOW),  # a live row
            lambda: store.update("t", "new", lambda v: 5, now=NOW),  # none yet
            lambda: store.update("t", "old", lambda v: 6, now=LATER),  # an expired row
            lambda: store.purge_expired(now=LATER),
        ]
        for write in writes:
            ran = [s for s in _statements(store, write) if not s.startswith("SELECT")]
            assert len(ran) == 1, ran
            assert ran[0].split()[0] in ("INSERT", "UPDATE", "DELETE"), ran
        assert store.get("t", "b", now=NOW) == [2]
        assert store.get("t", "new", now=NOW) == 5
        assert store.get("t", "old", now=LATER) == 6
        assert store.get("u", "c", now=LATER) is None


def test_waiting_sqlite_writes_share_one_commit_only_when_commits_sync(tmp_path: Path) -> None:
    # With synchronous=full each commit syncs the disk: writes that queue behind a
    # commit share the next one (one BEGIN for several). With normal, each commits alone.
    from passerelle.services.storage._sqlite import SqliteStore

    for query, grouped in (("", False), ("?synchronous=full", True)):
        store = open_store(f"sqlite://{tmp_path}/g{len(query)}.db{query}")
        assert isinstance(store, SqliteStore)
        ran: list[str] = []
        try:
            with store._write_lock:  # the writes below queue behind a commit under way
                threads = [
                    threading.Thread(target=store.put, args=("t", str(i), i)) for i in range(6)
                ]
                for thread in threads:
                    thread.start()
                for _ in range(60_000):  # a minute at most: six threads to enqueue
                    if len(store._queue) == 6:
                        break
                    threading.Event().wait(0.001)
                assert len(store._queue) == 6
                with store._conn() as conn:
                    conn.set_trace_callback(ran.append)
                batch, store._queue = store._queue, []
                store._commit(batch)
            for thread in threads:
                thread.join()
            assert store.count("t", now=NOW) == 6
            begins = [s for s in ran if s.startswith("BEGIN")]
            assert len(begins) == (1 if grouped else 0), ran
            assert len([s for s in ran if s.startswith("INSERT")]) == 6
        finally:
            store.close()


def test_opening_a_store_waits_out_another_connections_lock(tmp_path: Path) -> None:
    # Workers started together open a new file together: one turns it to WAL and
    # creates the table while the others wait for it, and none fails to start.
    import sqlite3

    path = tmp_path / "busy.db"
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    opened: list[Store] = []
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            opened.append(open_store(f"sqlite://{path}"))
        except BaseException as exc:
            errors.append(exc)

    thread = threading.Thread(target=open_it)
    thread.start()
    thread.join(timeout=0.5)
    assert thread.is_alive(), errors  # waiting on the lock, not failed
    holder.execute("COMMIT")
    holder.close()
    thread.join()
    assert not errors
    with opened[0] as store:
        store.put("k", "v", 1)
        assert store.get("k", "v", now=NOW) == 1


def _synchronous(store: Store) -> int:
    # PRAGMA synchronous as SQLite reports it on a connection of the store: 1 NORMAL, 2 FULL.
    from passerelle.services.storage._sqlite import SqliteStore

    assert isinstance(store, SqliteStore)
    with store._conn() as conn:
        return int(conn.execute("PRAGMA synchronous").fetchone()[0])


@pytest.mark.parametrize(
    ("query", "level"), [("", 1), ("?synchronous=normal", 1), ("?synchronous=full", 2)]
)
def test_sqlite_durability_is_the_urls_choice(tmp_path: Path, query: str, level: int) -> None:
    # The default keeps every commit across a process crash (NORMAL); ?synchronous=full
    # syncs each commit for a power cut too. Every connection of the store has it,
    # including those opened later by other threads.
    with open_store(f"sqlite://{tmp_path}/d.db{query}") as store:
        assert _synchronous(store) == level
        seen: list[int] = []
        thread = threading.Thread(target=lambda: seen.append(_synchronous(store)))
        thread.start()
        thread.join()
        assert seen == [level]
        store.put("k", "v", 1)
    # The query is no part of the file's name.
    assert (tmp_path / "d.db").is_file()


@pytest.mark.parametrize("query", ["?synchronous=off", "?synchronous=", "?journal_mode=delete"])
def test_sqlite_url_parameters_are_checked(tmp_path: Path, query: str) -> None:
    with pytest.raises(ValueError, match=r"synchronous|parameters"):
        open_store(f"sqlite://{tmp_path}/d.db{query}")
