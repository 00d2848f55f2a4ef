"""TRQP v2 core: registry source, queries, answers, signed answers.

Shapes checked against the TRQP v2 JSON Schemas (trustoverip/tswg-trust-registry-protocol
at 0b6c24b, specification/v2/core/schema/trqp_*.schema.json).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jsonschema
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle._errors import Fault, PasserelleError, Reason
from passerelle._json import JsonObject, JsonValue, b64url_decode, b64url_encode
from passerelle.jose import KeySigner, sign_jws
from passerelle.trust._trqp import (
    SIGNED_ANSWER_TYP,
    AuthorizationQuery,
    RecognitionQuery,
    RecordStatus,
    Registry,
    RegistryRecord,
    Standing,
    answer_authorization,
    answer_recognition,
    describe_registry,
    parse_authorization_answer,
    parse_authorization_query,
    parse_recognition_query,
    parse_registry,
    sign_answer,
    verify_signed_answer,
    verify_signed_recognition_answer,
)

ROOT = Path(__file__).parents[2]
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

AUTHORITY = "https://trust.ca.test"
ISSUER = "https://ca-issuer.test"
OTHER_ISSUER = "https://revoked-issuer.test"
EU_AUTHORITY = "https://trust.eu.test/lote/pid-providers"
PERSON = "https://credentials.passerelle.example/ca/person/v1"
BUSINESS = "https://credentials.passerelle.example/ca/business-registration/v1"
CONFORMITY = "https://credentials.passerelle.example/untp/conformity-attestation/v1"
PID = "urn:eudi:pid:1"

# The TRQP v2 response schemas' "required" lists.
AUTHZ_REQUIRED = {"entity_id", "action", "resource", "authority_id", "time_evaluated", "authorized"}
RECOG_REQUIRED = {"entity_id", "action", "resource", "authority_id", "time_evaluated", "recognized"}


def _record(entity: str, action: str, resource: str, status: str, **times: str) -> JsonObject:
    out: JsonObject = {
        "entity_id": entity,
        "action": action,
        "resource": resource,
        "status": status,
        "valid_from": times.get("valid_from", "2026-01-01T00:00:00Z"),
    }
    if "valid_until" in times:
        out["valid_until"] = times["valid_until"]
    return out


def source() -> JsonObject:
    return {
        "placeholders": {"ISSUER": ISSUER, "AUTHORITY": AUTHORITY},
        "operator": {"authority_id": "${AUTHORITY}", "name": "Test CA registry"},
        "authorizations": [
            _record("${ISSUER}", "issue", PERSON, "current", valid_until="2028-01-01T00:00:00Z"),
            _record("${ISSUER}", "issue", BUSINESS, "revoked", valid_until="2028-01-01T00:00:00Z"),
            _record("${ISSUER}", "issue", CONFORMITY, "current", valid_from="2027-01-01T00:00:00Z"),
            _record(OTHER_ISSUER, "issue", PERSON, "terminated"),
            _record(OTHER_ISSUER, "issue", BUSINESS, "expired"),
            _record(
                OTHER_ISSUER, "issue", CONFORMITY, "current", valid_until="2026-06-01T00:00:00Z"
            ),
            _record("https://ca-verifier.test", "verify", PID, "current"),
        ],
        "recognitions": [
            {
                **_record(
                    EU_AUTHORITY, "issue", PID, "current", valid_until="2028-01-01T00:00:00Z"
                ),
                "agreement": "CA-EU dev",
            },
            _record(
                "https://trust.eu.test/lote/pubeaa-providers",
                "issue",
                "https://credentials.passerelle.example/eu/legal-person/v1",
                "current",
                valid_until="2026-03-01T00:00:00Z",
            ),
        ],
    }


@pytest.fixture
def registry() -> Registry:
    return parse_registry(source(), substitutions={})


def authz(resource: str = PERSON, entity: str = ISSUER, **extra: JsonValue) -> AuthorizationQuery:
    body: JsonObject = {
        "entity_id": entity,
        "authority_id": AUTHORITY,
        "action": "issue",
        "resource": resource,
        **extra,
    }
    return parse_authorization_query(body)


def recog(entity: str = EU_AUTHORITY, resource: str = PID, **extra: JsonValue) -> RecognitionQuery:
    body: JsonObject = {
        "entity_id": entity,
        "authority_id": AUTHORITY,
        "action": "issue",
        "resource": resource,
        **extra,
    }
    return parse_recognition_query(body)


# --------------------------------------------------------------------------- authorization


def test_authorized_answer_has_the_spec_members(registry: Registry) -> None:
    answer = answer_authorization(registry, authz(), now=NOW)
    assert answer.authorized is True
    assert answer.standing is Standing.IN_EFFECT
    body = answer.as_json()
    assert set(body) >= AUTHZ_REQUIRED
    assert body["entity_id"] == ISSUER
    assert body["authority_id"] == AUTHORITY
    assert body["action"] == "issue"
    assert body["resource"] == PERSON
    assert body["time_evaluated"] == "2026-11-23T12:00:00Z"
    assert "time_requested" not in body
    assert "context" not in body
    assert isinstance(body["message"], str)
    assert ISSUER in body["message"]


@pytest.mark.parametrize(
    ("entity", "resource", "standing"),
    [
        (ISSUER, BUSINESS, Standing.REVOKED),
        (ISSUER, CONFORMITY, Standing.NOT_YET_VALID),
        (OTHER_ISSUER, PERSON, Standing.TERMINATED),
        (OTHER_ISSUER, BUSINESS, Standing.EXPIRED),
        (OTHER_ISSUER, CONFORMITY, Standing.EXPIRED),  # current, but valid_until has passed
    ],
)
def test_known_but_not_authorized_is_an_answer_not_an_error(
    registry: Registry, entity: str, resource: str, standing: Standing
) -> None:
    answer = answer_authorization(registry, authz(resource, entity), now=NOW)
    assert answer.authorized is False
    assert answer.standing is standing
    assert answer.as_json()["authorized"] is False


def test_known_entity_action_and_resource_without_a_record_is_not_authorized(
    registry: Registry,
) -> None:
    # The issuer is listed, issue is an action, PID is a resource: but not together.
    answer = answer_authorization(registry, authz(PID), now=NOW)
    assert answer.authorized is False
    assert answer.standing is Standing.NO_RECORD


def test_context_time_is_the_evaluation_time_and_is_echoed(registry: Registry) -> None:
    # Before valid_until: authorized then, although at NOW the record has expired.
    q = authz(CONFORMITY, OTHER_ISSUER, context={"time": "2026-05-31T23:59:59Z", "x-foo": "a"})
    answer = answer_authorization(registry, q, now=NOW)
    assert answer.authorized is True
    body = answer.as_json()
    assert body["time_requested"] == "2026-05-31T23:59:59Z"
    assert body["time_evaluated"] == "2026-11-23T12:00:00Z"
    assert body["context"] == {"time": "2026-05-31T23:59:59Z", "x-foo": "a"}
    # valid_until is exclusive.
    at_end = authz(CONFORMITY, OTHER_ISSUER, context={"time": "2026-06-01T00:00:00Z"})
    assert answer_authorization(registry, at_end, now=NOW).authorized is False
    # valid_from is inclusive.
    at_start = authz(CONFORMITY, ISSUER, context={"time": "2027-01-01T00:00:00Z"})
    assert answer_authorization(registry, at_start, now=NOW).authorized is True
    before = authz(CONFORMITY, ISSUER, context={"time": "2026-12-31T23:59:59.999Z"})
    assert answer_authorization(registry, before, now=NOW).standing is Standing.NOT_YET_VALID


def test_a_later_current_record_outranks_an_older_revoked_one() -> None:
    doc = source()
    authorizations = doc["authorizations"]
    assert isinstance(authorizations, list)
    authorizations.append(
        _record("${ISSUER}", "issue", BUSINESS, "current", valid_from="2026-09-01T00:00:00Z")
    )
    registry = parse_registry(doc, substitutions={})
    assert answer_authorization(registry, authz(BUSINESS), now=NOW).authorized is True
    earlier = authz(BUSINESS, context={"time": "2026-08-01T00:00:00Z"})
    answer = answer_authorization(registry, earlier, now=NOW)
    assert answer.authorized is False
    assert answer.standing is Standing.NOT_YET_VALID


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"entity_id": "https://unknown.test"}, Reason.TRQP_UNKNOWN_ENTITY),
        ({"authority_id": "https://other-authority.test"}, Reason.TRQP_UNKNOWN_AUTHORITY),
        ({"action": "revoke"}, Reason.TRQP_UNKNOWN_ACTION),
        ({"resource": "https://credentials.example/unknown/v1"}, Reason.TRQP_UNKNOWN_RESOURCE),
        # An EU authority is known to recognition, not to authorization.
        ({"entity_id": EU_AUTHORITY}, Reason.TRQP_UNKNOWN_ENTITY),
    ],
)
def test_unknowns_raise_their_reason(
    registry: Registry, change: dict[str, str], reason: Reason
) -> None:
    body: JsonObject = {**authz().as_json(), **change}
    with pytest.raises(PasserelleError) as info:
        answer_authorization(registry, parse_authorization_query(body), now=NOW)
    assert info.value.reason is reason


def test_naive_now_is_a_local_error(registry: Registry) -> None:
    with pytest.raises(PasserelleError) as info:
        answer_authorization(registry, authz(), now=datetime(2026, 11, 23, 12, 0))
    assert info.value.fault is Fault.LOCAL


# --------------------------------------------------------------------------- recognition


def test_recognized(registry: Registry) -> None:
    answer = answer_recognition(registry, recog(), now=NOW)
    assert answer.recognized is True
    body = answer.as_json()
    assert set(body) >= RECOG_REQUIRED
    assert "authorized" not in body
    assert body["entity_id"] == EU_AUTHORITY


def test_expired_recognition_is_not_recognized(registry: Registry) -> None:
    q = recog(
        "https://trust.eu.test/lote/pubeaa-providers",
        "https://credentials.passerelle.example/eu/legal-person/v1",
    )
    answer = answer_recognition(registry, q, now=NOW)
    assert answer.recognized is False
    assert answer.standing is Standing.EXPIRED
    then = recog(
        "https://trust.eu.test/lote/pubeaa-providers",
        "https://credentials.passerelle.example/eu/legal-person/v1",
        context={"time": "2026-02-01T00:00:00Z"},
    )
    assert answer_recognition(registry, then, now=NOW).recognized is True


def test_recognition_known_authority_other_resource_is_not_recognized(registry: Registry) -> None:
    q = recog(resource="https://credentials.passerelle.example/eu/legal-person/v1")
    answer = answer_recognition(registry, q, now=NOW)
    assert answer.recognized is False
    assert answer.standing is Standing.NO_RECORD


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"entity_id": ISSUER}, Reason.TRQP_UNKNOWN_ENTITY),
        ({"authority_id": EU_AUTHORITY}, Reason.TRQP_UNKNOWN_AUTHORITY),
        ({"action": "verify"}, Reason.TRQP_UNKNOWN_ACTION),
        ({"resource": PERSON}, Reason.TRQP_UNKNOWN_RESOURCE),
    ],
)
def test_recognition_unknowns(registry: Registry, change: dict[str, str], reason: Reason) -> None:
    body: JsonObject = {**recog().as_json(), **change}
    with pytest.raises(PasserelleError) as info:
        answer_recognition(registry, parse_recognition_query(body), now=NOW)
    assert info.value.reason is reason


# --------------------------------------------------------------------------- malformed queries


def _good_query() -> JsonObject:
    return {"entity_id": ISSUER, "authority_id": AUTHORITY, "action": "issue", "resource": PERSON}


@pytest.mark.parametrize(
    "body",
    [
        None,
        [],
        "query",
        42,
        {k: v for k, v in _good_query().items() if k != "entity_id"},
        {k: v for k, v in _good_query().items() if k != "authority_id"},
        {k: v for k, v in _good_query().items() if k != "action"},
        {k: v for k, v in _good_query().items() if k != "resource"},
        {**_good_query(), "entity_id": 42},
        {**_good_query(), "entity_id": None},
        {**_good_query(), "action": True},
        {**_good_query(), "resource": [PERSON]},
        {**_good_query(), "action": ""},
        {**_good_query(), "resource": "has space"},
        {**_good_query(), "entity_id": "https://ca-issuer.test/%zz"},
        {**_good_query(), "entity_id": "https://émetteur.test"},
        {**_good_query(), "entity_id": "x" * 2049},
        {**_good_query(), "context": "2026-01-01T00:00:00Z"},
        {**_good_query(), "context": []},
        {**_good_query(), "context": {"time": 1767225600}},
        {**_good_query(), "context": {"other": 1}},
        {**_good_query(), "context": {"time": "2026-01-01"}},
        {**_good_query(), "context": {"time": "2026-01-01T00:00:00"}},
        {**_good_query(), "context": {"time": "2026-01-01T01:00:00+01:00"}},
        {**_good_query(), "context": {"time": "2026-01-01T00:00:00-00:00"}},
        {**_good_query(), "context": {"time": "2026-02-30T00:00:00Z"}},
        {**_good_query(), "context": {"time": "2026-01-01 00:00:00Z"}},
    ],
)
def test_malformed_queries(body: JsonValue) -> None:
    for parse in (parse_authorization_query, parse_recognition_query):
        with pytest.raises(PasserelleError) as info:
            parse(body)
        assert info.value.reason is Reason.TRQP_MALFORMED_QUERY


def test_query_time_forms_the_spec_allows() -> None:
    for text in ("2026-01-01T00:00:00Z", "2026-01-01t00:00:00z", "2026-01-01T00:00:00+00:00"):
        q = parse_authorization_query({**_good_query(), "context": {"time": text}})
        assert q.time == datetime(2026, 1, 1, tzinfo=UTC)
    q = parse_authorization_query({**_good_query(), "context": {"time": "2026-01-01T00:00:00.5Z"}})
    assert q.time == datetime(2026, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)


def test_unknown_top_level_members_are_ignored(registry: Registry) -> None:
    q = parse_authorization_query({**_good_query(), "assertion_id": "x", "extra": [1]})
    assert q.as_json() == _good_query()
    assert answer_authorization(registry, q, now=NOW).authorized is True


def test_a_query_cannot_be_built_malformed() -> None:
    with pytest.raises(PasserelleError) as info:
        AuthorizationQuery(entity_id="", authority_id=AUTHORITY, action="issue", resource=PERSON)
    assert info.value.reason is Reason.TRQP_MALFORMED_QUERY


# --------------------------------------------------------------------------- registry source


def test_placeholders_take_their_defaults_and_substitutions_override() -> None:
    default = parse_registry(source(), substitutions={})
    assert default.authority_id == AUTHORITY
    assert default.authorizations[0].entity_id == ISSUER
    assert default.authorizations[0].authority_id == AUTHORITY
    moved = parse_registry(
        source(),
        substitutions={"ISSUER": "https://127.0.0.1:8443", "UNUSED_ELSEWHERE": "ignored"},
    )
    assert moved.authorizations[0].entity_id == "https://127.0.0.1:8443"
    assert ISSUER not in {r.entity_id for r in moved.authorizations}
    q = authz(entity="https://127.0.0.1:8443")
    assert answer_authorization(moved, q, now=NOW).authorized is True
    with pytest.raises(PasserelleError) as info:
        answer_authorization(moved, authz(), now=NOW)
    assert info.value.reason is Reason.TRQP_UNKNOWN_ENTITY


def test_placeholder_inside_a_string_is_substituted() -> None:
    doc = source()
    doc["operator"] = {
        "authority_id": "${AUTHORITY}",
        "name": "n",
        "governance_framework": "${AUTHORITY}/egf",
    }
    registry = parse_registry(doc, substitutions={"AUTHORITY": "https://127.0.0.1:9000"})
    assert registry.governance_framework == "https://127.0.0.1:9000/egf"
    assert describe_registry(registry)["governance_framework"] == "https://127.0.0.1:9000/egf"


def _mutate(path: tuple[str | int, ...], value: JsonValue | None) -> JsonObject:
    doc = copy.deepcopy(source())
    target: JsonValue = doc
    for step in path[:-1]:
        target = target[step]  # type: ignore[index]
    if value is None:
        del target[path[-1]]  # type: ignore[arg-type,union-attr]
    else:
        target[path[-1]] = value  # type: ignore[index]
    return doc


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("operator", "authority_id"), "${NOT_DECLARED}"),
        (("operator", "authority_id"), "${bad name}"),
        (("operator", "authority_id"), "has space"),
        (("operator",), None),
        (("operator", "name"), None),
        (("operator", "colour"), "red"),
        (("authorizations",), None),
        (("authorizations",), {}),
        (("authorizations", 0, "status"), "suspended"),
        (("authorizations", 0, "status"), None),
        (("authorizations", 0, "valid_from"), None),
        (("authorizations", 0, "valid_from"), 20260101),
        (("authorizations", 0, "valid_from"), "2026-01-01"),
        (("authorizations", 0, "valid_until"), "2026-01-01T00:00:00Z"),
        (("authorizations", 0, "entity_id"), 7),
        (("authorizations", 0, "agreement"), "not for authorizations"),
        (("recognitions", 0, "entity_id"), "${AUTHORITY}"),
        (("recognitions",), {}),
        (("placeholders",), {"ISSUER": 1, "AUTHORITY": AUTHORITY}),
        (("placeholders",), {"not a name": "x", "ISSUER": ISSUER, "AUTHORITY": AUTHORITY}),
        (("unknown",), "member"),
    ],
)
def test_malformed_sources(path: tuple[str | int, ...], value: JsonValue | None) -> None:
    with pytest.raises(PasserelleError) as info:
        parse_registry(_mutate(path, value), substitutions={})
    assert info.value.reason is Reason.TRUST_LIST_MALFORMED


def test_a_substitution_that_is_not_an_identifier_is_refused() -> None:
    with pytest.raises(PasserelleError) as info:
        parse_registry(source(), substitutions={"ISSUER": "not a url"})
    assert info.value.reason is Reason.TRUST_LIST_MALFORMED


def test_lookups_are_indexed_not_scanned() -> None:
    # 20 000 records; a scan per query would make 2 000 queries take seconds.
    records = tuple(
        RegistryRecord(
            entity_id=f"https://issuer-{i}.test",
            authority_id=AUTHORITY,
            action="issue",
            resource=PERSON,
            status=RecordStatus.CURRENT,
            valid_from=datetime(2026, 1, 1, tzinfo=UTC),
        )
        for i in range(20_000)
    )
    registry = Registry(authority_id=AUTHORITY, name="big", authorizations=records)

    class Exploding(tuple[RegistryRecord, ...]):
        def __iter__(self):  # type: ignore[no-untyped-def]
            raise AssertionError("the records were scanned")

    object.__setattr__(registry, "authorizations", Exploding(records))
    answer = answer_authorization(registry, authz(entity="https://issuer-19999.test"), now=NOW)
    assert answer.authorized is True


# --------------------------------------------------------------------------- shipped data


def _load_shipped() -> JsonObject:
    # The source quotes its dates, so plain safe_load keeps them as strings.
    doc = yaml.safe_load((ROOT / "trust_lists/ca/registry.yaml").read_text())
    assert isinstance(doc, dict)
    return doc


def test_the_canadian_registry_parses_and_answers() -> None:
    doc = _load_shipped()
    registry = parse_registry(doc, substitutions={"CA_ISSUER": "https://127.0.0.1:8001"})
    assert registry.name == "Canada (Passerelle dev) Trust Registry"
    index = json.loads((ROOT / "schemas/index.json").read_text())
    ca_vcts = {
        t["vct"]
        for t in index["types"]
        if t["id"] in {"ca-person", "ca-business-registration", "conformity-attestation"}
    }
    assert len(ca_vcts) == 3
    for vct in ca_vcts:
        q = parse_authorization_query(
            {
                "entity_id": "https://127.0.0.1:8001",
                "authority_id": registry.authority_id,
                "action": "issue",
                "resource": vct,
            }
        )
        assert answer_authorization(registry, q, now=NOW).authorized is True
    rq = parse_recognition_query(
        {
            "entity_id": "https://trust.eu.passerelle.localhost/lote/pid-providers",
            "authority_id": registry.authority_id,
            "action": "issue",
            "resource": PID,
        }
    )
    assert answer_recognition(registry, rq, now=NOW).recognized is True


def test_the_schema_accepts_the_shipped_source_and_agrees_with_the_parser() -> None:
    schema = json.loads((ROOT / "trust_lists/schemas/trqp-registry.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    validator.check_schema(schema)
    validator.validate(_load_shipped())
    validator.validate(source())
    for path, value in [
        (("authorizations", 0, "status"), "suspended"),
        (("authorizations", 0, "agreement"), "not for authorizations"),
        (("authorizations", 0, "valid_from"), "2026-01-01"),
        (("operator", "colour"), "red"),
        (("unknown",), "member"),
    ]:
        doc = _mutate(path, value)
        assert not validator.is_valid(doc), path
        with pytest.raises(PasserelleError):
            parse_registry(doc, substitutions={})


# --------------------------------------------------------------------------- signed answers


@pytest.fixture
def key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def _tamper(token: str, **changes: JsonValue) -> str:
    header, payload, signature = token.split(".")
    body = json.loads(b64url_decode(payload))
    body.update(changes)
    new_payload = b64url_encode(json.dumps(body).encode())
    return f"{header}.{new_payload}.{signature}"


def test_signed_answer_round_trip(registry: Registry, key: ec.EllipticCurvePrivateKey) -> None:
    query = authz(context={"time": "2026-10-01T00:00:00Z"})
    answer = answer_authorization(registry, query, now=NOW)
    token = sign_answer(answer, signer=KeySigner(key), kid="registry-key-1")
    header = json.loads(b64url_decode(token.split(".")[0]))
    assert header == {"alg": "ES256", "kid": "registry-key-1", "typ": SIGNED_ANSWER_TYP}
    verified = verify_signed_answer(
        token,
        key=key.public_key(),
        algorithms=["ES256"],
        now=NOW + timedelta(seconds=30),
        max_age=timedelta(minutes=5),
        query=query,
    )
    assert verified == answer


def test_signed_recognition_round_trip(registry: Registry, key: ec.EllipticCurvePrivateKey) -> None:
    answer = answer_recognition(registry, recog(), now=NOW)
    token = sign_answer(answer, signer=KeySigner(key), x5c=["MIIB"])
    verified = verify_signed_recognition_answer(
        token, key=key.public_key(), algorithms=["ES256"], now=NOW, max_age=timedelta(minutes=1)
    )
    assert verified == answer
    with pytest.raises(PasserelleError) as info:
        verify_signed_answer(
            token, key=key.public_key(), algorithms=["ES256"], now=NOW, max_age=timedelta(1)
        )
    assert info.value.reason is Reason.TRUST_REGISTRY_ANSWER_INVALID


def _signed(registry: Registry, key: ec.EllipticCurvePrivateKey) -> str:
    answer = answer_authorization(registry, authz(BUSINESS), now=NOW)
    return sign_answer(answer, signer=KeySigner(key), kid="k")


@pytest.mark.parametrize(
    "tamper",
    [
        {"authorized": True},
        {"entity_id": "https://evil.test"},
        {"standing": "in_effect"},
        {"iat": 1900000000},
    ],
)
def test_tampered_signed_answer_is_refused(
    registry: Registry, key: ec.EllipticCurvePrivateKey, tamper: dict[str, JsonValue]
) -> None:
    token = _tamper(_signed(registry, key), **tamper)
    with pytest.raises(PasserelleError) as info:
        verify_signed_answer(
            token, key=key.public_key(), algorithms=["ES256"], now=NOW, max_age=timedelta(1)
        )
    assert info.value.reason is Reason.TRUST_REGISTRY_ANSWER_INVALID


def test_signed_answer_checks(registry: Registry, key: ec.EllipticCurvePrivateKey) -> None:
    token = _signed(registry, key)
    other = ec.generate_private_key(ec.SECP256R1())

    def check(**kwargs: object) -> Reason:
        options: dict[str, object] = {
            "key": key.public_key(),
            "algorithms": ["ES256"],
            "now": NOW,
            "max_age": timedelta(minutes=5),
        }
        options.update(kwargs)
        tok = options.pop("token", token)
        with pytest.raises(PasserelleError) as info:
            verify_signed_answer(tok, **options)  # type: ignore[arg-type]
        return info.value.reason

    bad = Reason.TRUST_REGISTRY_ANSWER_INVALID
    assert check(key=other.public_key()) is bad
    assert check(algorithms=["ES384"]) is bad
    assert check(now=NOW + timedelta(minutes=5, seconds=1)) is bad  # stale
    assert check(now=NOW - timedelta(seconds=1)) is bad  # issued in the future
    assert check(query=authz(PERSON)) is bad  # about another resource
    assert check(query=authz(BUSINESS, context={"time": "2026-01-02T00:00:00Z"})) is bad
    assert check(token="not.a.jws") is bad
    payload = answer_authorization(registry, authz(), now=NOW).as_json()
    payload["iat"] = int(NOW.timestamp())
    wrong_typ = sign_jws({"typ": "JWT", "kid": "k"}, payload, KeySigner(key))
    assert check(token=wrong_typ) is bad
    no_iat = sign_jws({"typ": SIGNED_ANSWER_TYP}, {**payload, "iat": None}, KeySigner(key))
    assert check(token=no_iat) is bad
    # The freshness window is inclusive of max_age and honours skew for clocks behind.
    verify_signed_answer(
        token,
        key=key.public_key(),
        algorithms=["ES256"],
        now=NOW - timedelta(seconds=2),
        max_age=timedelta(minutes=5),
        skew=timedelta(seconds=5),
    )


def test_signing_needs_a_key_name(registry: Registry, key: ec.EllipticCurvePrivateKey) -> None:
    answer = answer_authorization(registry, authz(), now=NOW)
    with pytest.raises(PasserelleError) as info:
        sign_answer(answer, signer=KeySigner(key))
    assert info.value.fault is Fault.LOCAL


def test_parse_answer_from_a_peer_registry() -> None:
    # The example response of the TRQP v2 api.md, Authorization Response.
    example: JsonObject = {
        "entity_id": "did:user-1234",
        "authority_id": "auth-service-A",
        "action": "issue",
        "resource": "country:state:driverlicense",
        "authorized": True,
        "time_requested": "2025-06-25T00:42:00Z",
        "time_evaluated": "2025-06-19T11:30:00Z",
        "message": "did:user-1234 is authorized for issue+country:state:driverlicense "
        "(action+resource) by auth-service-A.",
    }
    answer = parse_authorization_answer(example)
    assert answer.authorized is True
    assert answer.time_evaluated == datetime(2025, 6, 19, 11, 30, tzinfo=UTC)
    assert answer.standing is None
    assert answer.as_json() == example
    for broken in (
        {**example, "authorized": "true"},
        {k: v for k, v in example.items() if k != "time_evaluated"},
        {**example, "standing": "in_effect", "authorized": False},
    ):
        with pytest.raises(PasserelleError) as info:
            parse_authorization_answer(broken)
        assert info.value.reason is Reason.TRUST_REGISTRY_ANSWER_INVALID


def test_time_evaluated_is_whole_seconds_so_answers_round_trip(registry: Registry) -> None:
    answer = answer_authorization(registry, authz(), now=NOW.replace(microsecond=654321))
    assert answer.time_evaluated == NOW
    assert parse_authorization_answer(answer.as_json()) == answer
