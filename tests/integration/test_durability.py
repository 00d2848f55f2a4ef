"""Nothing acknowledged is lost: kill -9 under load, for every stateful service.

Each test runs the service under test as a process of its own (``passerelle serve``),
drives it with a few concurrent clients, and SIGKILLs it once enough answers have been
acknowledged, while requests are still in flight. It starts the service again on the
same store and checks that every acknowledged answer is still there, and that the
identifiers it handed out are unique. On SQLite and on PostgreSQL (the ``backend``
fixture). The issuer's own test is ``test_issuer_durability.py``.

Bounded and local: a fixed number of requests per client, loopback only, and every wait
ends on an event (enough acknowledgements, a port that answers) with a deadline that
only a broken service reaches.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from passerelle.services.catalog import data_root
from passerelle.services.launcher import ROLES, start_stack, store_for
from passerelle.services.pki import init_pki
from passerelle.services.runtime import utc_now
from passerelle.services.scenarios import (
    DATASPACE_SCENARIOS,
    DATASPACE_STACK,
    DataspaceClient,
    StackClient,
    free_ports,
    stack_hosts,
)
from passerelle.services.trust.build import build_with_pki
from tests.storage_backends import Backend, _drop_postgres_table

PASSERELLE = [sys.executable, "-c", "from passerelle.cli import main; main()"]
STARTUP = 300.0  # ends at the first healthy answer; only a broken service waits it out
CLIENTS = 4
PER_CLIENT = 25  # bounded load: at most CLIENTS x PER_CLIENT requests per phase


@contextmanager
def serve(role: str, data_dir: Path, url: str, store: str) -> Iterator[subprocess.Popen[bytes]]:
    """``passerelle serve ROLE`` on the port of ``url``; killed (if alive) on exit."""
    port = httpx.URL(url).port
    command = [*PASSERELLE, "serve", role, "--data-dir", str(data_dir), "--port", str(port)]
    process = subprocess.Popen(
        [*command, "--store", store], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + STARTUP
        while True:
            try:
                if httpx.get(f"{url}/health", timeout=10).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                stderr = process.stderr.read() if process.stderr else b""
                raise AssertionError(f"{role} did not start: {stderr[-2000:]!r}")
            time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=60)


def kill_9(process: subprocess.Popen[bytes]) -> None:
    process.kill()  # SIGKILL: no shutdown hook runs, nothing is flushed on the way out
    process.wait(timeout=60)


@dataclass
class Load:
    """Concurrent clients, each calling ``step`` up to PER_CLIENT times; what a step
    returns (not None) is an acknowledged answer. Clients stop at their first failure:
    the service has been killed under them."""

    step: Callable[[int], Any]
    acknowledged: list[Any] = field(default_factory=list)
    failures: int = 0
    _changed: threading.Condition = field(default_factory=threading.Condition)

    def _client(self, client: int) -> None:
        for i in range(PER_CLIENT):
            try:
                answer = self.step(client * PER_CLIENT + i)
            except (httpx.TransportError, AssertionError):
                with self._changed:
                    self.failures += 1
                    self._changed.notify_all()
                return
            with self._changed:
                if answer is not None:
                    self.acknowledged.append(answer)
                self._changed.notify_all()

    @contextmanager
    def running(self) -> Iterator[Load]:
        with ThreadPoolExecutor(CLIENTS) as pool:
            futures = [pool.submit(self._client, c) for c in range(CLIENTS)]
            yield self
        for future in futures:
            future.result()

    def wait_for(self, count: int) -> None:
        """Until ``count`` answers are acknowledged (or every client has ended)."""
        deadline = time.monotonic() + STARTUP
        with self._changed:
            while len(self.acknowledged) < count and time.monotonic() < deadline:
                self._changed.wait(1.0)
        assert len(self.acknowledged) >= count, f"only {len(self.acknowledged)} acknowledged"


def _store(backend: Backend, role: str, cleanup: list[str]) -> str:
    """The storage URL to serve ``role`` with (``serve`` appends the role to a
    PostgreSQL prefix itself, as the compose stack does)."""
    if backend.name == "sqlite":
        return backend.url.replace("issuer/store.db", f"{role}/store.db")
    made = store_for(role, backend.url)
    assert made is not None
    cleanup.append(made.rsplit("prefix=", 1)[1])
    return backend.url


@pytest.fixture
def pg_tables() -> Iterator[list[str]]:
    """Table prefixes the services made under the backend's prefix, dropped afterwards."""
    made: list[str] = []
    yield made
    for prefix in made:
        _drop_postgres_table(prefix)


# --- the verifier's transactions ----------------------------------------------------------


def test_verifier_transactions_survive_kill_9_under_load(
    tmp_path: Path, backend: Backend, pg_tables: list[str]
) -> None:
    hosts = stack_hosts(free_ports(len(ROLES)))
    init_pki(tmp_path, now=utc_now(), hosts=hosts)
    base = hosts["ca-verifier"]
    store = _store(backend, "ca-verifier", pg_tables)

    def step(n: int) -> dict[str, Any]:
        made = httpx.post(f"{base}/transactions", json={"policy": "age-and-name"}, timeout=120)
        assert made.status_code == 201, made.text
        answer = made.json()
        answer["fetched"] = False
        if n % 2 == 0:  # half of them also move on: the request object is served once
            fetched = httpx.get(answer["request_uri"], timeout=120)
            if fetched.status_code == 200:
                answer["fetched"] = True
        return answer  # type: ignore[no-any-return]

    load = Load(step)
    with serve("ca-verifier", tmp_path, base, store) as process, load.running():
        load.wait_for(20)
        kill_9(process)
    acknowledged = list(load.acknowledged)
    ids = [a["transaction_id"] for a in acknowledged]
    assert len(set(ids)) == len(ids)
    assert len({a["request_uri"] for a in acknowledged}) == len(ids)

    with serve("ca-verifier", tmp_path, base, store):
        for answer in acknowledged:
            row = httpx.get(f"{base}/transactions/{answer['transaction_id']}", timeout=120)
            assert row.status_code == 200, answer
            expected = "request_fetched" if answer["fetched"] else "created"
            assert row.json()["state"] == expected, (answer, row.json())
        # A request object served before the kill is still the same transaction's after it:
        # served again (until answered, OpenID4VP 1.0 does not make it single use) without
        # the transaction moving back or forward.
        served = [a for a in acknowledged if a["fetched"]]
        assert served
        again = httpx.get(served[0]["request_uri"], timeout=120)
        assert again.status_code == 200
        row = httpx.get(f"{base}/transactions/{served[0]['transaction_id']}", timeout=120)
        assert row.json()["state"] == "request_fetched"
        # What had not been fetched before the kill is served now, and the fetch is recorded.
        fresh = next(a for a in acknowledged if not a["fetched"])
        assert httpx.get(fresh["request_uri"], timeout=120).status_code == 200
        row = httpx.get(f"{base}/transactions/{fresh['transaction_id']}", timeout=120)
        assert row.json()["state"] == "request_fetched"


# --- the wallet's store -----------------------------------------------------------------


def test_wallet_credentials_survive_kill_9_under_load(
    tmp_path: Path, backend: Backend, pg_tables: list[str]
) -> None:
    hosts = stack_hosts(free_ports(len(ROLES)))
    init_pki(tmp_path, now=utc_now(), hosts=hosts)
    build_with_pki(data_dir=tmp_path, sources=data_root() / "trust_lists", now=utc_now())
    others = start_stack(
        data_dir=tmp_path, hosts=hosts, roles=["trust", "ca-issuer"], timeout=STARTUP
    )
    client = StackClient(urls=hosts, data_dir=tmp_path, timeout=120.0)
    store = _store(backend, "wallet", pg_tables)

    def step(_: int) -> dict[str, Any] | None:
        outcome = client.receive("ca-issuer", "ca-person-sd-jwt", "aiyana-stonechild")
        return outcome if outcome.get("accepted") else None

    load = Load(step)
    try:
        with serve("wallet", tmp_path, hosts["wallet"], store) as process, load.running():
            load.wait_for(8)
            kill_9(process)
        kept = [a["credential_id"] for a in load.acknowledged]
        assert len(set(kept)) == len(kept)
        decisions = [a["decision_id"] for a in load.acknowledged]
        with serve("wallet", tmp_path, hosts["wallet"], store):
            held = httpx.get(f"{hosts['wallet']}/api/credentials", timeout=120).json()
            held_ids = [c["credential_id"] for c in held]
            assert set(kept) <= set(held_ids)
            assert len(set(held_ids)) == len(held_ids)
            recorded = httpx.get(f"{hosts['wallet']}/api/decisions", timeout=120).json()
            assert set(decisions) <= {d["decision_id"] for d in recorded}
    finally:
        others.stop()


# --- the connectors' negotiations -------------------------------------------------------

TERMINAL = ("FINALIZED", "TERMINATED")


def test_connector_negotiations_survive_kill_9_under_load(
    tmp_path: Path, backend: Backend, pg_tables: list[str]
) -> None:
    """The EU provider is killed while Canadian SMEs negotiate with it. Every
    negotiation it acknowledged (a providerPid came back) is still known to it after
    the restart, under one providerPid each, and goes on to a terminal state: the
    provider resumes what it had acknowledged, and the outcome reaches the SME."""
    hosts = stack_hosts(free_ports(len(DATASPACE_STACK)), DATASPACE_STACK)
    init_pki(tmp_path, now=utc_now(), hosts=hosts)
    build_with_pki(data_dir=tmp_path, sources=data_root() / "trust_lists", now=utc_now())
    in_process = [r for r in DATASPACE_STACK if r != "eu-dataspace"]
    others = start_stack(data_dir=tmp_path, hosts=hosts, roles=in_process, timeout=STARTUP)
    client = DataspaceClient(urls=hosts, data_dir=tmp_path, timeout=120.0)
    store = _store(backend, "eu-dataspace", pg_tables)
    scenario = DATASPACE_SCENARIOS[0]  # the Canadian SME asks the EU provider
    assert (scenario.consumer, scenario.provider) == ("ca-dataspace", "eu-dataspace")
    try:
        with serve("eu-dataspace", tmp_path, hosts["eu-dataspace"], store) as process:
            client.enrol()
            provider = client.provider_did("eu-dataspace")
            listed = client.catalog("ca-dataspace", provider).json()
            dataset = next(d for d in listed["dataset"] if d["@id"] == scenario.dataset)
            offer = str(dataset["hasPolicy"][0]["@id"])

            def step(_: int) -> dict[str, Any] | None:
                row = client.negotiate("ca-dataspace", provider, scenario.dataset, offer)
                assert row.get("providerPid"), row  # not acknowledged: the provider died
                return row

            load = Load(step)
            with load.running():
                load.wait_for(6)
                kill_9(process)
        acknowledged = list(load.acknowledged)
        with serve("eu-dataspace", tmp_path, hosts["eu-dataspace"], store):
            rows = httpx.get(
                f"{hosts['eu-dataspace']}/api/provider/negotiations", timeout=120
            ).json()
            provider_pids = [r["providerPid"] for r in rows]
            assert len(set(provider_pids)) == len(provider_pids)
            assert {a["providerPid"] for a in acknowledged} <= set(provider_pids)
            for row in acknowledged:
                final = client.wait("ca-dataspace", "negotiations", row["consumerPid"], TERMINAL)
                assert final["state"] in TERMINAL, final
                assert final["providerPid"] == row["providerPid"]
    finally:
        others.stop()
