"""TRQP v2 HTTPS binding: status codes, Problem Details, signed answers, reload."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI
from fastapi.testclient import TestClient

from passerelle._errors import PasserelleError, Reason
from passerelle._json import JsonObject, JsonValue
from passerelle.jose import KeySigner
from passerelle.services.trust.trqp import MAX_QUERY_BYTES, build_trqp_router, load_registry_file
from passerelle.trust._trqp import (
    SIGNED_ANSWER_TYP,
    AuthorizationAnswer,
    RecordStatus,
    Registry,
    RegistryRecord,
    parse_authorization_query,
    verify_signed_answer,
    verify_signed_recognition_answer,
)

ROOT = Path(__file__).parents[2]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ISSUER = "https://127.0.0.1:8443"
PERSON = "https://credentials.passerelle.example/ca/person/v1"
BUSINESS = "https://credentials.passerelle.example/ca/business-registration/v1"
PID = "urn:eudi:pid:1"
EU_PID_LIST = "https://trust.eu.passerelle.localhost/lote/pid-providers"
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "reason"}


def _load(**subs: str) -> Registry:
    return load_registry_file(
        ROOT / "trust_lists/ca/registry.yaml", substitutions={"CA_ISSUER": ISSUER, **subs}
    )


@pytest.fixture(scope="module")
def registry() -> Registry:
    return _load()


def _client(
    get_registry: Callable[[], Registry],
    *,
    signer: KeySigner | None = None,
    clock: Callable[[], datetime] = lambda: NOW,
) -> TestClient:
    app = FastAPI()
    app.include_router(build_trqp_router(get_registry, signer=signer, clock=clock, kid="ca-trqp-1"))
    return TestClient(app)


@pytest.fixture
def client(registry: Registry) -> TestClient:
    return _client(lambda: registry)


def _query(registry: Registry, **change: JsonValue) -> JsonObject:
    body: JsonObject = {
        "entity_id": ISSUER,
        "authority_id": registry.authority_id,
        "action": "issue",
        "resource": PERSON,
    }
    body.update(change)
    return body


def _assert_problem(response: httpx.Response, status: int, reason: Reason) -> None:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    assert set(body) >= PROBLEM_MEMBERS
    assert body["status"] == status
    assert body["reason"] == str(reason)
    assert body["type"].endswith(str(reason))
    assert body["detail"]


def test_authorized(client: TestClient, registry: Registry) -> None:
    response = client.post(
        "/authorization",
        json=_query(registry, context={"time": "2026-10-01T00:00:00Z"}),
        headers={"X-Request-ID": "d4f34c12-9b7a-4e3a-a5d1-7e4f8c2c9f10"},
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.headers["x-request-id"] == "d4f34c12-9b7a-4e3a-a5d1-7e4f8c2c9f10"
    body = response.json()
    assert body["authorized"] is True
    assert body["entity_id"] == ISSUER
    assert body["resource"] == PERSON
    assert body["time_requested"] == "2026-10-01T00:00:00Z"
    assert body["time_evaluated"] == "2026-11-23T12:00:00Z"
    assert body["context"] == {"time": "2026-10-01T00:00:00Z"}
    assert "signed_answer" not in body


def test_not_authorized_is_200(client: TestClient, registry: Registry) -> None:
    # Outside validity: the records end on 2028-01-01.
    late = client.post(
        "/authorization", json=_query(registry, context={"time": "2028-01-01T00:00:00Z"})
    )
    assert late.status_code == 200
    assert late.json()["authorized"] is False
    assert late.json()["standing"] == "expired"
    # Known entity, action and resource, but no record joining them.
    no_record = client.post("/authorization", json=_query(registry, resource=PID))
    assert no_record.status_code == 200
    assert no_record.json()["authorized"] is False
    assert no_record.json()["standing"] == "no_record"


def test_revoked_is_200_not_authorized(registry: Registry) -> None:
    doc_registry = Registry(
        authority_id=registry.authority_id,
        name=registry.name,
        authorizations=tuple(
            r if r.resource != BUSINESS else _revoked(r) for r in registry.authorizations
        ),
        recognitions=registry.recognitions,
    )
    client = _client(lambda: doc_registry)
    response = client.post(
        "/authorization", json=_query(doc_registry, action="issue", resource=BUSINESS)
    )
    assert response.status_code == 200
    assert response.json()["authorized"] is False
    assert response.json()["standing"] == "revoked"


def _revoked(record: RegistryRecord) -> RegistryRecord:
    return replace(record, status=RecordStatus.REVOKED)


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"entity_id": "https://unknown-issuer.test"}, Reason.TRQP_UNKNOWN_ENTITY),
        ({"action": "delegate"}, Reason.TRQP_UNKNOWN_ACTION),
        ({"resource": "https://credentials.example/other/v1"}, Reason.TRQP_UNKNOWN_RESOURCE),
        ({"authority_id": "did:web:someone-else.test"}, Reason.TRQP_UNKNOWN_AUTHORITY),
    ],
)
def test_unknowns_are_404(
    client: TestClient, registry: Registry, change: dict[str, str], reason: Reason
) -> None:
    response = client.post("/authorization", json=_query(registry, **change))
    _assert_problem(response, 404, reason)


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"",
        b"[]",
        b'{"entity_id": "a", "entity_id": "b", "authority_id": "x", "action": "y",'
        b' "resource": "z"}',  # duplicate member name
        b"\xff\xfe",
        b'{"entity_id": NaN}',
    ],
)
def test_malformed_json_is_400(client: TestClient, content: bytes) -> None:
    response = client.post(
        "/authorization", content=content, headers={"Content-Type": "application/json"}
    )
    _assert_problem(response, 400, Reason.TRQP_MALFORMED_QUERY)


@pytest.mark.parametrize(
    "change",
    [
        {"entity_id": 1},
        {"action": None},
        {"resource": ["x"]},
        {"context": "now"},
        {"context": {"time": "yesterday"}},
        {"context": {"time": "2026-01-01T00:00:00+02:00"}},
        {"context": {"locator": 3}},
    ],
)
def test_wrong_types_are_400(client: TestClient, registry: Registry, change: JsonObject) -> None:
    response = client.post("/authorization", json=_query(registry, **change))
    _assert_problem(response, 400, Reason.TRQP_MALFORMED_QUERY)


@pytest.mark.parametrize("missing", ["entity_id", "authority_id", "action", "resource"])
def test_missing_members_are_400(client: TestClient, registry: Registry, missing: str) -> None:
    body = _query(registry)
    del body[missing]
    for path in ("/authorization", "/recognition"):
        _assert_problem(client.post(path, json=body), 400, Reason.TRQP_MALFORMED_QUERY)


def test_content_type_must_be_json(client: TestClient, registry: Registry) -> None:
    response = client.post(
        "/authorization",
        content=json.dumps(_query(registry)),
        headers={"Content-Type": "text/plain"},
    )
    _assert_problem(response, 415, Reason.TRQP_MALFORMED_QUERY)
    with_charset = client.post(
        "/authorization",
        content=json.dumps(_query(registry)),
        headers={"Content-Type": "application/json; charset=utf-8"},
    )
    assert with_charset.status_code == 200


def test_oversized_query_is_413(client: TestClient, registry: Registry) -> None:
    body = _query(registry, context={"padding": "x" * MAX_QUERY_BYTES})
    _assert_problem(client.post("/authorization", json=body), 413, Reason.INPUT_TOO_LARGE)


def test_recognition(client: TestClient, registry: Registry) -> None:
    body = {
        "entity_id": EU_PID_LIST,
        "authority_id": registry.authority_id,
        "action": "issue",
        "resource": PID,
    }
    response = client.post("/recognition", json=body)
    assert response.status_code == 200
    assert response.json()["recognized"] is True
    assert "authorized" not in response.json()
    expired = client.post(
        "/recognition", json={**body, "context": {"time": "2030-01-01T00:00:00Z"}}
    )
    assert expired.status_code == 200
    assert expired.json()["recognized"] is False
    # The Canadian issuer is an authorized entity, not a recognized authority.
    _assert_problem(
        client.post("/recognition", json={**body, "entity_id": ISSUER}),
        404,
        Reason.TRQP_UNKNOWN_ENTITY,
    )
    _assert_problem(
        client.post("/recognition", json={**body, "resource": PERSON}),
        404,
        Reason.TRQP_UNKNOWN_RESOURCE,
    )


def test_signed_answers(registry: Registry) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    client = _client(lambda: registry, signer=KeySigner(key))
    query = _query(registry)
    response = client.post("/authorization", json=query)
    assert response.status_code == 200
    body = response.json()
    token = body.pop("signed_answer")
    verified = verify_signed_answer(
        token,
        key=key.public_key(),
        algorithms=["ES256"],
        now=NOW + timedelta(seconds=5),
        max_age=timedelta(minutes=5),
        query=parse_authorization_query(query),
    )
    assert isinstance(verified, AuthorizationAnswer)
    assert verified.as_json() == body
    recognition = client.post(
        "/recognition",
        json={
            "entity_id": EU_PID_LIST,
            "authority_id": registry.authority_id,
            "action": "issue",
            "resource": PID,
        },
    ).json()
    answer = verify_signed_recognition_answer(
        recognition["signed_answer"],
        key=key.public_key(),
        algorithms=["ES256"],
        now=NOW,
        max_age=timedelta(minutes=5),
    )
    assert answer.recognized is True
    # A different key does not verify it.
    with pytest.raises(PasserelleError) as info:
        verify_signed_answer(
            token,
            key=ec.generate_private_key(ec.SECP256R1()).public_key(),
            algorithms=["ES256"],
            now=NOW,
            max_age=timedelta(minutes=5),
        )
    assert info.value.reason is Reason.TRUST_REGISTRY_ANSWER_INVALID
    metadata = client.get("/metadata").json()
    assert metadata["signed_answers"] == {
        "member": "signed_answer",
        "typ": SIGNED_ANSWER_TYP,
        "alg": "ES256",
        "kid": "ca-trqp-1",
    }


def test_metadata(client: TestClient, registry: Registry) -> None:
    response = client.get("/metadata")
    assert response.status_code == 200
    body = response.json()
    assert body["trqp_version"] == "2.0"
    assert body["authority_id"] == registry.authority_id
    assert body["signed_answers"] is None
    actions = body["authorization"][registry.authority_id]["actions"]
    assert actions == ["issue", "verify"]
    assert PID in body["recognition"][registry.authority_id]["resources"]


def test_registry_is_read_per_request(registry: Registry) -> None:
    current = {"registry": registry}
    client = _client(lambda: current["registry"])
    assert client.post("/authorization", json=_query(registry)).status_code == 200
    current["registry"] = _load(CA_ISSUER="https://127.0.0.1:9999")
    _assert_problem(
        client.post("/authorization", json=_query(registry)), 404, Reason.TRQP_UNKNOWN_ENTITY
    )
    moved = client.post("/authorization", json=_query(registry, entity_id="https://127.0.0.1:9999"))
    assert moved.json()["authorized"] is True


def test_a_broken_registry_is_503_not_500(registry: Registry) -> None:
    def broken() -> Registry:
        raise PasserelleError(Reason.TRUST_LIST_MALFORMED, "rebuild failed")

    client = _client(broken)
    _assert_problem(
        client.post("/authorization", json=_query(registry)), 503, Reason.TRUST_LIST_MALFORMED
    )
    _assert_problem(client.get("/metadata"), 503, Reason.TRUST_LIST_MALFORMED)


def test_the_placeholder_host_is_substituted() -> None:
    registry = _load(CA_TRUST="https://127.0.0.1:7000", EU_TRUST="https://127.0.0.1:7100")
    assert registry.authority_id == "https://127.0.0.1:7000"
    assert registry.governance_framework == "https://127.0.0.1:7000/governance-framework"
    assert {r.entity_id for r in registry.recognitions} == {
        "https://127.0.0.1:7100/lote/pid-providers",
        "https://127.0.0.1:7100/lote/pubeaa-providers",
    }
    assert all("${" not in r.entity_id for r in registry.authorizations)


def test_the_yaml_loader_refuses_duplicates_and_unquoted_dates(tmp_path: Path) -> None:
    text = (ROOT / "trust_lists/ca/registry.yaml").read_text()
    unquoted = tmp_path / "unquoted.yaml"
    unquoted.write_text(text.replace('"2026-01-01T00:00:00Z"', "2026-01-01T00:00:00Z", 1))
    # The strict loader keeps unquoted dates as strings, so this one still parses.
    assert load_registry_file(unquoted, substitutions={}).authorizations
    duplicate = tmp_path / "duplicate.yaml"
    duplicate.write_text(
        text.replace("    action: issue\n", "    action: issue\n    action: verify\n", 1)
    )
    with pytest.raises(PasserelleError) as info:
        load_registry_file(duplicate, substitutions={})
    assert info.value.reason is Reason.TRUST_LIST_MALFORMED


def test_a_naive_clock_is_a_server_error_not_a_400(registry: Registry) -> None:
    client = _client(lambda: registry, clock=lambda: datetime(2026, 11, 23, 12, 0))
    with pytest.raises(PasserelleError) as info:
        client.post("/authorization", json=_query(registry))
    assert info.value.reason is Reason.TRQP_MALFORMED_QUERY  # raised, never answered as 400
