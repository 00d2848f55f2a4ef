"""Two worker processes per service, over SQLite (WAL) and PostgreSQL: whatever must hold
across workers lives in the store. A pre-authorized code is redeemed once and a
transaction is answered once (one of eight concurrent responses moves it, the others
find it answered), whichever worker each client reaches; a full issuance and
presentation works across them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from passerelle.jose import decode_unverified_jws
from passerelle.services.catalog import data_root
from passerelle.services.launcher import ROLES, RunningStack, start_stack
from passerelle.services.pki import init_pki
from passerelle.services.runtime import utc_now
from passerelle.services.scenarios import StackClient, free_ports, stack_hosts
from passerelle.services.trust.build import build_with_pki
from tests.storage_backends import PG_URL, _require_postgres

PRE = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
STARTED = ("trust", "ca-issuer", "wallet", "ca-verifier")
CLIENTS = 8


def _children(pid: int) -> list[int]:
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(p) for p in children.read_text().split()] if children.exists() else []


def _workers(pid: int) -> list[int]:
    """The worker processes under uvicorn's supervisor: its children less the helpers
    multiprocessing starts beside them (the resource tracker)."""
    found = []
    for child in _children(pid):
        try:
            cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"resource_tracker" not in cmdline:
            found.append(child)
    return found


def _drop_tables(prefix: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        for role in STARTED:
            table = f"{prefix}_{role.replace('-', '_')}_store"
            conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def workers(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[StackClient, RunningStack]]:
    store = None
    prefix = f"w_{uuid.uuid4().hex[:12]}"
    if request.param == "postgres":
        _require_postgres()
        store = f"{PG_URL}?prefix={prefix}"
    data_dir = tmp_path_factory.mktemp(f"workers-{request.param}")
    hosts = stack_hosts(free_ports(len(ROLES)))
    init_pki(data_dir, now=utc_now(), hosts=hosts)
    build_with_pki(data_dir=data_dir, sources=data_root() / "trust_lists", now=utc_now())
    running = start_stack(
        data_dir=data_dir, hosts=hosts, roles=STARTED, store=store, workers=2, timeout=60
    )
    try:
        yield StackClient(urls=running.urls, data_dir=data_dir), running
    finally:
        running.stop()
        if store is not None:
            _drop_tables(prefix)


def test_each_service_runs_two_worker_processes(
    workers: tuple[StackClient, RunningStack],
) -> None:
    _, running = workers
    assert len(running._processes) == len(STARTED)
    for process in running._processes:
        assert process.poll() is None
        assert len(_workers(process.pid)) == 2


def test_a_pre_authorized_code_is_redeemed_once_across_workers(
    workers: tuple[StackClient, RunningStack],
) -> None:
    client, _ = workers
    for _ in range(3):
        made = client.offer("ca-issuer", "ca-person-sd-jwt", "eloise-tremblay-gagnon")
        code = made["credential_offer"]["grants"][PRE]["pre-authorized_code"]
        form = {"grant_type": PRE, "pre-authorized_code": code, "tx_code": made["tx_code"]}

        def redeem(_: int, form: dict[str, str] = form) -> httpx.Response:
            # A client of its own per call: new connections spread over the workers.
            return httpx.post(f"{client.urls['ca-issuer']}/token", data=form, timeout=60)

        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(redeem, range(CLIENTS)))
        statuses = sorted(a.status_code for a in answers)
        assert statuses.count(200) == 1, [a.text for a in answers]
        refused = [a.json() for a in answers if a.status_code != 200]
        assert {r["error"] for r in refused} == {"invalid_grant"}


def test_a_transaction_moves_once_across_workers(
    workers: tuple[StackClient, RunningStack],
) -> None:
    client, _ = workers
    verifier = client.urls["ca-verifier"]
    for _ in range(3):
        made = client.transaction("ca-verifier", policy="age-and-name")
        request = httpx.get(made["request_uri"], timeout=60)
        assert request.status_code == 200
        claims = decode_unverified_jws(request.text).payload_json()
        # Eight wallets answer the same transaction at once (a wallet error is a complete
        # answer): one of them moves it, every other finds it answered.
        form = {"error": "access_denied", "state": str(claims["state"])}

        def answer(
            _: int, form: dict[str, str] = form, uri: str = str(claims["response_uri"])
        ) -> httpx.Response:
            return httpx.post(uri, data=form, timeout=60)

        with ThreadPoolExecutor(CLIENTS) as pool:
            answers = list(pool.map(answer, range(CLIENTS)))
        statuses = [a.status_code for a in answers]
        assert statuses.count(200) == 1, [a.text for a in answers]
        assert all(400 <= code < 500 for code in statuses if code != 200), statuses
        row = httpx.get(f"{verifier}/transactions/{made['transaction_id']}").json()
        assert row["state"] == "failed", row  # the state table names a rejection so
        assert row["result"]["reason"] == "oid4vp.wallet_error"
        events = [e["event"] for e in row["events"]]
        assert events.count("response_received") == 1
        assert events.count("wallet_error") == 1
        assert events.count("response_refused") == CLIENTS - 1


def test_issuance_and_presentation_across_workers(
    workers: tuple[StackClient, RunningStack],
) -> None:
    client, _ = workers
    outcome = client.receive("ca-issuer", "ca-person-sd-jwt", "eloise-tremblay-gagnon")
    assert outcome["accepted"], outcome
    made = client.transaction("ca-verifier", policy="age-and-name")
    wallet = client.present(made["request_url"])
    assert wallet["accepted"], wallet
    result = client.result("ca-verifier", made["transaction_id"])
    assert result["state"] == "verified", result
    assert result["result"]["accepted"] is True
    steps = [e for e in result["events"] if e["event"] == "check"]
    assert {e["step"] for e in steps} >= {"trust_list", "signature", "holder_binding"}
    # The response is processed once: the same post again, to any worker, is refused.
    again = client.present(made["request_url"])
    assert not again.get("accepted"), again


def _cpus_of(pid: int) -> set[frozenset[int]]:
    """The CPU sets of every thread of ``pid``."""
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        status = (task / "status").read_text()
        listed = next(line for line in status.splitlines() if line.startswith("Cpus_allowed_list"))
        cpus: set[int] = set()
        for part in listed.split(":", 1)[1].strip().split(","):
            first, _, last = part.partition("-")
            cpus.update(range(int(first), int(last or first) + 1))
        found.add(frozenset(cpus))
    return found


@pytest.mark.parametrize(
    ("workers", "pin"),
    [(2, False), (2, True), (1, True)],
    ids=["two-unpinned", "two-pinned", "one-pinned"],
)
def test_serve_with_workers(tmp_path: Path, workers: int, pin: bool) -> None:
    allowed = frozenset(os.sched_getaffinity(0))
    if pin and len(allowed) < 2:
        pytest.skip("pinning apart needs two CPUs")
    data_dir = tmp_path / "data"
    hosts = stack_hosts(free_ports(len(ROLES)))
    init_pki(data_dir, now=utc_now(), hosts=hosts)
    build_with_pki(data_dir=data_dir, sources=data_root() / "trust_lists", now=utc_now())
    port = free_ports(1)[0]
    process = subprocess.Popen(
        [sys.executable, "-c", "from passerelle.cli import main; main()", "serve", "trust",
         "--data-dir", str(data_dir), "--port", str(port), "--workers", str(workers),
         *(["--pin"] if pin else [])],
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 300
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert process.poll() is None, "serve exited"
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
        # One worker is the serve process itself; several run under uvicorn's supervisor.
        serving = _workers(process.pid) if workers > 1 else [process.pid]
        assert len(serving) == workers
        cpus = [_cpus_of(w) for w in serving]
        if pin:
            # Every thread of a worker on one CPU, and no two workers on the same one.
            assert all(len(c) == 1 and len(next(iter(c))) == 1 for c in cpus), cpus
            assert len({next(iter(c)) for c in cpus}) == workers, cpus
        else:
            assert cpus == [{allowed}] * workers, cpus
    finally:
        process.terminate()
        process.wait(timeout=30)
