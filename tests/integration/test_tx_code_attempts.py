"""A wrong tx_code does not burn the offer; three wrong ones do. Counted in the store,
so the bound holds across replicas and restarts: SQLite and PostgreSQL.

OpenID4VCI 1.0 §6.3: ``invalid_grant`` is the answer when "the End-User provides the
wrong Pre-Authorized Code or the wrong Transaction Code"."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from passerelle.services.issuer.app import TX_CODE_ATTEMPTS, create_issuer_app
from passerelle.services.pki import init_pki
from passerelle.services.runtime import utc_now
from tests.issuer_client import offer, persona_of, token
from tests.storage_backends import Backend

CONFIG = "ca-person-sd-jwt"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("tx-code")
    init_pki(path, now=utc_now())
    return path


def _wrong(pin: str) -> str:
    return "000000" if pin != "000000" else "111111"


def test_a_wrong_tx_code_then_the_right_one(data_dir: Path, backend: Backend) -> None:
    client = TestClient(
        create_issuer_app(profile_name="ca-issuer", data_dir=data_dir, store_url=backend.url)
    )
    made = offer(client, CONFIG, persona_of(client, CONFIG))
    wrong = token(client, made, tx_code=_wrong(made["tx_code"]))
    assert wrong.status_code == 400
    assert wrong.json()["error"] == "invalid_grant"
    assert wrong.json()["reason"] == "oid4vci.tx_code_mismatch"
    right = token(client, made)
    assert right.status_code == 200, right.text
    again = token(client, made)
    assert again.json()["error"] == "invalid_grant"
    assert again.json()["reason"] == "oid4vci.grant_invalid"


def test_attempts_are_bounded_and_survive_a_restart(data_dir: Path, backend: Backend) -> None:
    def app() -> TestClient:
        return TestClient(
            create_issuer_app(profile_name="ca-issuer", data_dir=data_dir, store_url=backend.url)
        )

    client = app()
    made = offer(client, CONFIG, persona_of(client, CONFIG))
    for _ in range(TX_CODE_ATTEMPTS - 1):
        assert token(client, made, tx_code=_wrong(made["tx_code"])).json()["error"] == (
            "invalid_grant"
        )
    client = app()  # a restart (or another replica) sees the same count
    last = token(client, made, tx_code=_wrong(made["tx_code"]))
    assert last.json()["reason"] == "oid4vci.tx_code_mismatch"
    dead = token(client, made)  # the right code, too late
    assert dead.status_code == 400
    assert dead.json()["error"] == "invalid_grant"
    assert dead.json()["reason"] == "oid4vci.tx_code_attempts_exhausted"


def test_a_missing_tx_code_is_no_attempt(data_dir: Path, backend: Backend) -> None:
    client = TestClient(
        create_issuer_app(profile_name="ca-issuer", data_dir=data_dir, store_url=backend.url)
    )
    made = offer(client, CONFIG, persona_of(client, CONFIG))
    for _ in range(TX_CODE_ATTEMPTS + 1):
        missing = token(client, made, tx_code=None)
        assert missing.json()["reason"] == "oid4vci.tx_code_missing"
    assert token(client, made).status_code == 200
