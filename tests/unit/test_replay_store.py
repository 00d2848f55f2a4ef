"""The durable jti registry holds on both backends: once per (scope, jti), across a
restart and across stores opened separately (as two worker processes would)."""

from __future__ import annotations

import threading
from datetime import timedelta

from passerelle.services.storage import StoreReplayRegistry
from tests.conftest import NOW
from tests.storage_backends import Backend


def test_a_jti_registers_once_and_survives_a_restart(backend: Backend) -> None:
    now = [NOW]
    until = NOW + timedelta(minutes=5)
    first = backend.open()
    registry = StoreReplayRegistry(first, clock=lambda: now[0])
    assert registry.register(scope="dpop:k1", jti="j1", expires_at=until) is True
    assert registry.register(scope="dpop:k1", jti="j1", expires_at=until) is False
    # Another scope is another identifier: a jti is unique per key, not globally.
    assert registry.register(scope="dpop:k2", jti="j1", expires_at=until) is True
    first.close()
    restarted = backend.open()
    again = StoreReplayRegistry(restarted, clock=lambda: now[0])
    assert again.register(scope="dpop:k1", jti="j1", expires_at=until) is False
    # Past its expiry the entry may go: the proof's own iat window refuses it by then.
    now[0] = until + timedelta(seconds=1)
    assert again.register(scope="dpop:k1", jti="j1", expires_at=now[0] + timedelta(minutes=5))
    restarted.close()


def test_two_workers_racing_on_one_jti_accept_it_once(backend: Backend) -> None:
    stores = [backend.open() for _ in range(4)]
    registries = [StoreReplayRegistry(s, clock=lambda: NOW) for s in stores]
    start = threading.Barrier(len(registries))
    results: list[bool] = []
    lock = threading.Lock()

    def race(registry: StoreReplayRegistry) -> None:
        start.wait()
        won = registry.register(scope="dpop:k", jti="same", expires_at=NOW + timedelta(minutes=1))
        with lock:
            results.append(won)

    threads = [threading.Thread(target=race, args=(r,)) for r in registries]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.close()
    assert sorted(results) == [False, False, False, True]


def test_a_long_or_odd_jti_is_stored_under_a_digest(backend: Backend) -> None:
    store = backend.open()
    registry = StoreReplayRegistry(store, clock=lambda: NOW)
    odd = "x" * 5000 + "\x00é"
    assert registry.register(scope="dpop:k", jti=odd, expires_at=NOW + timedelta(minutes=1))
    assert not registry.register(scope="dpop:k", jti=odd, expires_at=NOW + timedelta(minutes=1))
    store.close()
