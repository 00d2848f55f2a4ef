"""The issuer's routes reach their state through one FastAPI dependency, so a test
swaps the state (here, its clock) without rebuilding the app."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from passerelle.services.issuer.app import create_issuer_app
from passerelle.services.issuer.state import IssuerState, issuer_state
from passerelle.services.pki import init_pki
from passerelle.services.runtime import utc_now
from tests.issuer_client import offer, persona_of, token


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    init_pki(tmp_path, now=utc_now())
    with TestClient(create_issuer_app(profile_name="ca-issuer", data_dir=tmp_path)) as c:
        yield c


def _state(client: TestClient) -> IssuerState:
    state = client.app.state.issuer  # type: ignore[attr-defined]
    assert isinstance(state, IssuerState)
    return state


def test_an_overridden_clock_expires_the_offer(client: TestClient) -> None:
    config = "ca-person-sd-jwt"
    made = offer(client, config, persona_of(client, config))
    later = utc_now() + timedelta(hours=2)
    moved = dataclasses.replace(_state(client), clock=lambda: later)
    client.app.dependency_overrides[issuer_state] = lambda: moved  # type: ignore[attr-defined]
    try:
        assert client.get(f"/offers/{made['offer_id']}").status_code == 404
        answer = token(client, made)
        assert answer.status_code == 400
        assert answer.json()["error"] == "invalid_grant"
        assert answer.json()["reason"] == "oid4vci.grant_invalid"
    finally:
        client.app.dependency_overrides.clear()  # type: ignore[attr-defined]
    # The app's own state never moved: a fresh offer is redeemed as before.
    fresh = offer(client, config, persona_of(client, config))
    assert token(client, fresh).status_code == 200


def test_admin_routes_take_the_admin_token_of_the_state(client: TestClient) -> None:
    assert client.get("/admin/issuances").json()["reason"] == "oid4vci.access_token_invalid"
    bearer = {"Authorization": f"Bearer {_state(client).admin_token}"}
    assert client.get("/admin/issuances", headers=bearer).status_code == 200
