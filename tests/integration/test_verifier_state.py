"""The verifier's routes take their state from one FastAPI dependency: a test swaps the
state (here a fixed clock and other randomness) without building another app, and the
transaction lifecycle reads through the test API exactly as the core records it."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from passerelle.services.launcher import ROLES
from passerelle.services.pki import init_pki
from passerelle.services.runtime import utc_now
from passerelle.services.scenarios import free_ports, stack_hosts
from passerelle.services.verifier.app import create_verifier_app
from passerelle.services.verifier.state import VerifierState, verifier_state
from tests.conftest import NOW, SeededRandom


def test_a_dependency_override_replaces_the_state(tmp_path: Path) -> None:
    init_pki(tmp_path, now=utc_now(), hosts=stack_hosts(free_ports(len(ROLES))))
    app = create_verifier_app(profile_name="ca-verifier", data_dir=tmp_path)
    built = app.state.verifier
    assert isinstance(built, VerifierState)
    frozen = NOW + timedelta(days=1)
    swapped = replace(built, clock=lambda: frozen, random=SeededRandom(7))
    app.dependency_overrides[verifier_state] = lambda: swapped
    with TestClient(app) as client:
        opened = client.post("/transactions", json={"policy": "age-and-name"})
        assert opened.status_code == 201, opened.text
        tid = opened.json()["transaction_id"]
        read = client.get(f"/transactions/{tid}").json()
        assert read["state"] == "created"
        assert read["created_at"] == frozen.isoformat()
        assert not {"nonce", "state_param", "encryption_key"} & set(read)
        rid = read["request_id"]
        fetched = client.get(f"/request/{rid}")
        assert fetched.status_code == 200
        assert fetched.headers["content-type"].startswith("application/oauth-authz-req+jwt")
        events = [e["event"] for e in client.get(f"/transactions/{tid}").json()["events"]]
        assert events == ["created", "request_fetched"]
    # The same seed makes the same identifiers: the override's randomness was used.
    again = replace(swapped, random=SeededRandom(7))
    app.dependency_overrides[verifier_state] = lambda: again
    with TestClient(app) as client:
        twin = client.post("/transactions", json={"policy": "age-and-name"}).json()
    assert twin["transaction_id"] == tid


def test_the_pages_router(tmp_path: Path) -> None:
    init_pki(tmp_path, now=utc_now(), hosts=stack_hosts(free_ports(len(ROLES))))
    app = create_verifier_app(profile_name="ca-verifier", data_dir=tmp_path)
    with TestClient(app) as client:
        assert "age-and-name" in client.get("/").text
        made = client.post(
            "/transactions/form", data={"policy": "age-and-name"}, follow_redirects=False
        )
        assert made.status_code == 303
        location = made.headers["location"]
        assert location.endswith("/page")
        tid = location.rsplit("/", 2)[-2]
        page = client.get(f"/transactions/{tid}/page")
        assert page.status_code == 200
        assert client.get(f"/transactions/{tid}").json()["request_id"] in page.text
        assert client.get("/transactions/nothing/page").status_code == 404
        unknown = client.get("/transactions/nothing")
        assert (unknown.status_code, unknown.json()["reason"]) == (
            404,
            "oid4vp.transaction_unknown",
        )
