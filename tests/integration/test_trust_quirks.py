"""The trust service's deliberate faults: each breaks its one requirement, and nothing else."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from passerelle import PasserelleError, Reason
from passerelle.conformance._local import prepare_data_dir
from passerelle.jose import decode_unverified_jws
from passerelle.services.pki import load_pki
from passerelle.services.runtime import utc_now
from passerelle.services.trust.app import create_trust_app
from passerelle.services.trust.quirks import TrustBehaviour, TrustQuirk, behaviour_for
from passerelle.trust import verify_lote

SOURCES = Path(__file__).parents[2] / "trust_lists"
CA_PERSON = "https://credentials.passerelle.example/ca/person/v1"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data")
    prepare_data_dir(path)
    return path


def _client(data_dir: Path, *quirks: TrustQuirk) -> TestClient:
    return TestClient(
        create_trust_app(data_dir=data_dir, sources=SOURCES, quirks=frozenset(quirks))
    )


def _verify(data_dir: Path, token: str) -> None:
    anchor = load_pki(data_dir).anchor("eu-lote-operator")
    verify_lote(token, operator_anchors=[anchor], now=utc_now())


def _sequence(token: str) -> int:
    payload: Any = decode_unverified_jws(token).payload_json()
    return int(payload["LoTE"]["ListAndSchemeInformation"]["LoTESequenceNumber"])


def _query(data_dir: Path, **changes: str) -> dict[str, str]:
    hosts = load_pki(data_dir).hosts
    query = {
        "entity_id": hosts["ca-issuer"],
        "authority_id": hosts["trust"] + "/ca",
        "action": "issue",
        "resource": CA_PERSON,
    }
    return {**query, **changes}


def test_no_quirk_is_the_required_behaviour() -> None:
    assert behaviour_for(()) == TrustBehaviour()
    assert not TrustBehaviour().rewrites_lists


def test_clean_lists_verify(data_dir: Path) -> None:
    client = _client(data_dir)
    _verify(data_dir, client.get("/eu/pid-providers.jwt").text)


def test_stale_lists_are_signed_by_the_operator_but_overdue(data_dir: Path) -> None:
    client = _client(data_dir, TrustQuirk.STALE_LISTS)
    token = client.get("/eu/pid-providers.jwt").text
    with pytest.raises(PasserelleError) as caught:
        _verify(data_dir, token)
    assert caught.value.reason is Reason.TRUST_LIST_STALE
    # The same bytes on every fetch: only freshness is wrong.
    assert client.get("/eu/pid-providers.jwt").text == token


def test_wrong_signer_lists_do_not_chain_to_the_operator(data_dir: Path) -> None:
    client = _client(data_dir, TrustQuirk.WRONG_SIGNER)
    token = client.get("/eu/wrpac-providers.jwt").text
    with pytest.raises(PasserelleError) as caught:
        _verify(data_dir, token)
    assert caught.value.reason is Reason.TRUST_LIST_UNTRUSTED_OPERATOR


def test_sequence_regression_goes_down_at_every_fetch(data_dir: Path) -> None:
    client = _client(data_dir, TrustQuirk.SEQUENCE_REGRESSION)
    first = client.get("/eu/pubeaa-providers.jwt").text
    second = client.get("/eu/pubeaa-providers.jwt").text
    _verify(data_dir, first)
    _verify(data_dir, second)
    assert _sequence(second) < _sequence(first)


def test_unknown_entity_as_unauthorized(data_dir: Path) -> None:
    client = _client(data_dir, TrustQuirk.TRQP_UNKNOWN_AS_UNAUTHORIZED)
    answer = client.post(
        "/ca/authorization", json=_query(data_dir, entity_id="https://nobody.test")
    )
    assert answer.status_code == 200
    assert answer.json()["authorized"] is False
    # Only the entity: an unknown authority is still a 404.
    other = client.post("/ca/authorization", json=_query(data_dir, authority_id="https://x.test"))
    assert other.status_code == 404
    assert client.post("/ca/authorization", json=_query(data_dir)).json()["authorized"] is True


def test_plain_json_errors(data_dir: Path) -> None:
    client = _client(data_dir, TrustQuirk.TRQP_PLAIN_JSON_ERRORS)
    response = client.post("/ca/authorization", json={"entity_id": 3})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    clean = _client(data_dir).post("/ca/authorization", json={"entity_id": 3})
    assert clean.headers["content-type"].startswith("application/problem+json")
