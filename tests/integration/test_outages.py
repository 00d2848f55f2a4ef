"""Our own dependencies fail, and the blame stays where it belongs.

Real services on loopback ports, each started on its own so that one can be stopped
while the others run: the trust service goes down, an issuer's status list host goes
down. Every wait is on an event (a server thread that has ended, a port that refuses),
never on a clock.

- Trust service down, nothing cached: the verifier answers 503
  ``temporarily_unavailable`` / ``trust.unavailable``, and the transaction is not
  consumed; once the trust service is back, presentations are accepted again.
- Trust service down, lists cached: the cached lists serve until their ``NextUpdate``,
  then every decision fails closed with ``trust.list_stale``.
- Status list host down: ``status.unavailable`` (503) unless the verifier's policy
  relaxes it, as data in its profile; a relaxed decision records the step as skipped.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from passerelle import Fault, PasserelleError, Reason
from passerelle.jose import decode_unverified_jws
from passerelle.services.catalog import data_root
from passerelle.services.fetch import Fetcher, FetchPolicy
from passerelle.services.launcher import ROLES, RunningStack, start_stack
from passerelle.services.pki import init_pki, load_pki
from passerelle.services.runtime import utc_now
from passerelle.services.scenarios import StackClient, free_ports, stack_hosts
from passerelle.services.trust.build import LIST_VALIDITY, build_with_pki, load_recognitions
from passerelle.services.trust.client import REFRESH, RETRY, TrustClient
from passerelle.trust import Framework, IssuerIdentity, StepOutcome, evaluate_trust

PID = "urn:eudi:pid:1"
STARTUP = 120.0  # generous: a loaded two-core machine; the wait ends on the event


@dataclass
class Stack:
    data_dir: Path
    hosts: dict[str, str]
    running: dict[str, RunningStack] = field(default_factory=dict)

    def start(self, *roles: str) -> None:
        for role in roles:
            self.running[role] = start_stack(
                data_dir=self.data_dir, hosts=self.hosts, roles=[role], timeout=STARTUP
            )

    def stop(self, role: str) -> None:
        """Stop one service and return once its port refuses connections."""
        self.running.pop(role).stop()
        url = httpx.URL(self.hosts[role])
        with (
            pytest.raises(ConnectionRefusedError),
            socket.create_connection((url.host, url.port), timeout=10),
        ):
            pass

    def client(self) -> StackClient:
        return StackClient(urls=self.hosts, data_dir=self.data_dir, timeout=120.0)


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    hosts = stack_hosts(free_ports(len(ROLES)))
    init_pki(tmp_path, now=utc_now(), hosts=hosts)
    build_with_pki(data_dir=tmp_path, sources=data_root() / "trust_lists", now=utc_now())
    made = Stack(data_dir=tmp_path, hosts=hosts)
    try:
        yield made
    finally:
        for running in made.running.values():
            running.stop()


def _present(client: StackClient, verifier: str, policy: str) -> tuple[dict[str, Any], str]:
    made = client.transaction(verifier, policy=policy)
    return client.present(made["request_url"]), made["transaction_id"]


def _answer(wallet: dict[str, Any]) -> dict[str, Any]:
    """The verifier's error body, as the wallet saw it."""
    return json.loads(wallet["verifier_answer"])  # type: ignore[no-any-return]


def test_trust_service_down_with_nothing_cached_is_our_outage(stack: Stack) -> None:
    stack.start("trust", "eu-issuer", "wallet", "ca-verifier")
    client = stack.client()
    assert client.receive("eu-issuer", "eu-pid-sd-jwt", "bjoern-mueller")["accepted"]
    # The wallet has its lists; the verifier has never fetched any.
    stack.stop("trust")
    wallet, tid = _present(client, "ca-verifier", "age-and-name")
    assert wallet["accepted"] is False
    assert wallet["verifier_status"] == 503
    answer = _answer(wallet)
    assert answer["error"] == "temporarily_unavailable"
    assert answer["reason"] == "trust.unavailable"
    # Not input.malformed, and no transport error text handed to the caller.
    assert "ConnectError" not in answer["error_description"]
    # The transaction was not consumed by our outage: the response may come again.
    row = client.result("ca-verifier", tid)
    assert row["state"] == "request_fetched"
    assert [e["reason"] for e in row["events"] if e["event"] == "response_deferred"] == [
        "trust.unavailable"
    ]
    stack.start("trust")
    wallet, tid = _present(client, "ca-verifier", "age-and-name")
    assert wallet["accepted"] is True, wallet
    assert client.result("ca-verifier", tid)["result"]["accepted"] is True


def test_cached_lists_serve_until_next_update_then_fail_closed(stack: Stack) -> None:
    """The verifiers' own TrustClient against the real trust service, on a clock the
    test moves (the lists are valid for weeks; nobody waits for that)."""
    stack.start("trust")
    pki = load_pki(stack.data_dir)
    clock = {"now": utc_now()}

    def trust_client() -> TrustClient:
        return TrustClient(
            Fetcher(FetchPolicy(allow_insecure_loopback=True, allow_loopback=True)),
            trust_url=stack.hosts["trust"],
            home=Framework.CA,
            eu_operator_anchors=[pki.anchor("eu-lote-operator")],
            ca_operator_anchors=[pki.anchor("ca-registry-operator")],
            recognitions=load_recognitions(data_root() / "trust_lists"),
            clock=lambda: clock["now"],
        )

    def first_step(snapshot: Any, now: datetime) -> tuple[StepOutcome, Reason | None]:
        decision = evaluate_trust(
            issuer=IssuerIdentity(iss=stack.hosts["ca-issuer"]),
            credential_type="https://credentials.passerelle.example/ca/person/v1",
            snapshot=snapshot,
            now=now,
            allow_insecure_loopback=True,
        )
        step = decision.steps[0]
        assert step.step == "trust_list"
        return step.outcome, step.reason

    verifier = trust_client()
    fresh = verifier.snapshot()
    next_update = min(lote.next_update for lote in fresh.eu_lists)
    assert next_update > clock["now"] + REFRESH + RETRY  # room for the steps below
    stack.stop("trust")

    # Past the refresh interval: a refresh is tried, fails, and the cached lists serve.
    clock["now"] += REFRESH + timedelta(seconds=1)
    assert verifier.snapshot() is fresh
    assert first_step(fresh, clock["now"]) == (StepOutcome.PASSED, None)
    # And again after the retry interval: still ours, still fresh enough.
    clock["now"] += RETRY + timedelta(seconds=1)
    assert verifier.snapshot() is fresh

    # Past NextUpdate: the cached lists are still all there is, and they fail closed.
    clock["now"] = next_update + timedelta(seconds=1)
    stale = verifier.snapshot()
    assert stale is fresh
    assert first_step(stale, clock["now"]) == (StepOutcome.FAILED, Reason.TRUST_LIST_STALE)

    # A verifier that never had lists gets no snapshot at all: trust.unavailable, ours.
    with pytest.raises(PasserelleError) as info:
        trust_client().snapshot()
    assert info.value.reason is Reason.TRUST_UNAVAILABLE
    assert info.value.fault is Fault.DEPENDENCY
    assert info.value.wire_error == "temporarily_unavailable"
    assert LIST_VALIDITY > REFRESH


def test_a_forged_list_fails_closed_and_is_blamed_on_the_trust_service(stack: Stack) -> None:
    stack.running["trust"] = start_stack(
        data_dir=stack.data_dir,
        hosts=stack.hosts,
        roles=["trust"],
        quirks={"trust": ["wrong_signer"]},
        timeout=STARTUP,
    )
    stack.start("ca-verifier")
    client = stack.client()
    # No wallet can use these lists either, so the test posts as one would.
    made = client.transaction("ca-verifier", policy="age-and-name", response_mode="direct_post")
    request = decode_unverified_jws(httpx.get(made["request_uri"], timeout=120).text)
    claims = request.payload_json()
    answer = httpx.post(
        str(claims["response_uri"]),
        data={
            "vp_token": json.dumps({"pid": ["eyJhbGciOiJFUzI1NiJ9.e30.AA~"]}),
            "state": claims["state"],
        },
        timeout=120,
    )
    assert answer.status_code == 503
    body = answer.json()
    assert body["error"] == "temporarily_unavailable"
    assert body["reason"] in ("trust.list_signature_invalid", "trust.list_operator_untrusted")
    assert client.result("ca-verifier", made["transaction_id"])["state"] == "request_fetched"


def test_status_host_down_fails_closed_unless_the_policy_relaxes_it(stack: Stack) -> None:
    stack.start("trust", "eu-issuer", "wallet", "ca-verifier")
    client = stack.client()
    assert client.receive("eu-issuer", "eu-pid-sd-jwt", "bjoern-mueller")["accepted"]
    # The EU issuer serves its own status list; the verifier has never fetched it.
    stack.stop("eu-issuer")

    wallet, tid = _present(client, "ca-verifier", "age-and-name")
    assert wallet["accepted"] is False
    assert wallet["verifier_status"] == 503
    assert _answer(wallet)["reason"] == "status.unavailable"
    result = client.result("ca-verifier", tid)["result"]
    assert result["accepted"] is False
    assert result["reason"] == "status.unavailable"

    # The same credential, under the profile's policy that tolerates an unreachable list.
    wallet, tid = _present(client, "ca-verifier", "age-and-name-status-optional")
    assert wallet["accepted"] is True, wallet
    result = client.result("ca-verifier", tid)["result"]
    assert result["accepted"] is True
    steps = {
        step["step"]: step["outcome"]
        for decisions in result["credentials"].values()
        for decision in decisions
        for step in decision["steps"]
    }
    assert steps["status"] == "skipped"
    assert steps["signature"] == "passed"
