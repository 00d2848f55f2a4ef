"""EU Lists of Trusted Entities (ETSI TS 119 602): build from the YAML sources, sign as
compact JAdES, verify, look up. Every key and certificate is generated here."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from jsonschema import Draft202012Validator

from passerelle._errors import Fault, PasserelleError, Reason
from passerelle._json import JsonObject, b64url_decode, b64url_encode, canonical_json
from passerelle.jose import KeySigner, sign_jws
from passerelle.trust._lote import (
    CREDENTIAL_TYPES_EXTENSION,
    LOTE_TYPE_PID_PROVIDERS,
    LOTE_TYPE_PUB_EAA_PROVIDERS,
    LOTE_TYPE_WRPAC_PROVIDERS,
    PROFILES,
    PUB_EAA_STATUS_NOTIFIED,
    PUB_EAA_STATUS_WITHDRAWN,
    SVC_TYPE_PID_ISSUANCE,
    SVC_TYPE_PUB_EAA_ISSUANCE,
    SVC_TYPE_WRPAC_ISSUANCE,
    LoteSource,
    VerifiedLote,
    build_lote,
    parse_lote_entity,
    parse_lote_source,
    sign_lote,
    verify_lote,
)
from passerelle.x509 import (
    LeafUsage,
    build_ca_certificate,
    build_leaf_certificate,
    build_name,
    certificate_to_der,
    certificate_to_pem,
    encode_x5c,
)

ROOT = Path(__file__).parents[2]
SOURCES = ROOT / "trust_lists" / "eu"
SCHEMA_PATH = ROOT / "trust_lists" / "schemas" / "lote.schema.json"

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
ISSUED = NOW - timedelta(days=1)
NEXT = NOW + timedelta(days=30)
OPERATOR = "Passerelle EU Trust List Operator"
BUSINESS_REGISTER = "Passerelle EU Business Register"
FILES = {
    LOTE_TYPE_PID_PROVIDERS: "pid-providers.yaml",
    LOTE_TYPE_PUB_EAA_PROVIDERS: "pubeaa-providers.yaml",
    LOTE_TYPE_WRPAC_PROVIDERS: "wrpac-providers.yaml",
}
ISSUANCE = {
    LOTE_TYPE_PID_PROVIDERS: SVC_TYPE_PID_ISSUANCE,
    LOTE_TYPE_PUB_EAA_PROVIDERS: SVC_TYPE_PUB_EAA_ISSUANCE,
    LOTE_TYPE_WRPAC_PROVIDERS: SVC_TYPE_WRPAC_ISSUANCE,
}
CA_NAMES = {
    LOTE_TYPE_PID_PROVIDERS: "eu-pid-provider-ca",
    LOTE_TYPE_PUB_EAA_PROVIDERS: "eu-pubeaa-provider-ca",
    LOTE_TYPE_WRPAC_PROVIDERS: "eu-wrpac-provider-ca",
}


def _key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@dataclasses.dataclass
class Pki:
    root: x509.Certificate
    root_key: ec.EllipticCurvePrivateKey
    operator: x509.Certificate
    operator_key: ec.EllipticCurvePrivateKey
    cas: dict[str, x509.Certificate]
    ca_keys: dict[str, ec.EllipticCurvePrivateKey]

    @property
    def names(self) -> dict[str, x509.Certificate]:
        return {"eu-lote-operator": self.operator, **self.cas}

    def leaf_under(
        self, ca_name: str, *, key: ec.EllipticCurvePrivateKey | None = None
    ) -> x509.Certificate:
        return build_leaf_certificate(
            subject=build_name(common_name=f"signer under {ca_name}", country="BE"),
            public_key=(key or _key()).public_key(),
            issuer_cert=self.cas[ca_name],
            issuer_key=self.ca_keys[ca_name],
            not_before=NOW - timedelta(days=10),
            not_after=NOW + timedelta(days=365),
            serial=77,
            usage=LeafUsage.SIGNING,
        )


def _root(
    common_name: str, *, organization: str | None = None
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = _key()
    cert = build_ca_certificate(
        subject=build_name(common_name=common_name, organization=organization, country="EU"),
        key=key,
        not_before=NOW - timedelta(days=365),
        not_after=NOW + timedelta(days=3650),
        serial=1,
    )
    return cert, key


def _operator_leaf(
    root: x509.Certificate,
    root_key: ec.EllipticCurvePrivateKey,
    key: ec.EllipticCurvePrivateKey,
    *,
    organization: str = OPERATOR,
    country: str = "EU",
) -> x509.Certificate:
    return build_leaf_certificate(
        subject=build_name(common_name="LoTE signer", organization=organization, country=country),
        public_key=key.public_key(),
        issuer_cert=root,
        issuer_key=root_key,
        not_before=NOW - timedelta(days=30),
        not_after=NOW + timedelta(days=365),
        serial=2,
        usage=LeafUsage.SIGNING,
    )


@pytest.fixture(scope="module")
def pki() -> Pki:
    root, root_key = _root("Passerelle EU LoTE root", organization=OPERATOR)
    operator_key = _key()
    operator = _operator_leaf(root, root_key, operator_key)
    cas: dict[str, x509.Certificate] = {}
    ca_keys: dict[str, ec.EllipticCurvePrivateKey] = {}
    for name, org in (
        ("eu-pid-provider-ca", "Passerelle EU PID Provider"),
        ("eu-pubeaa-provider-ca", BUSINESS_REGISTER),
        ("conformance-lab-ca", "Passerelle Conformance Laboratory"),
        ("eu-wrpac-provider-ca", "Passerelle EU Access Certificate Authority"),
        # The PID list names the mdoc IACA as a second service of the PID provider.
        ("eu-pid-iaca", "Passerelle EU PID Provider"),
    ):
        key = _key()
        ca_keys[name] = key
        cas[name] = build_ca_certificate(
            subject=build_name(common_name=name, organization=org, country="BE"),
            key=key,
            not_before=NOW - timedelta(days=365),
            not_after=NOW + timedelta(days=3650),
            serial=3,
        )
    return Pki(root, root_key, operator, operator_key, cas, ca_keys)


@pytest.fixture(scope="module")
def schema() -> JsonObject:
    loaded: JsonObject = json.loads(SCHEMA_PATH.read_text())
    return loaded


def _yaml(lote_type: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((SOURCES / FILES[lote_type]).read_text())
    return doc


def _source(lote_type: str, pki: Pki, doc: dict[str, Any] | None = None) -> LoteSource:
    return parse_lote_source(doc or _yaml(lote_type), certificates=pki.names)


def _sign(payload: JsonObject, pki: Pki, *, now: datetime = NOW) -> str:
    return sign_lote(
        payload, signer=KeySigner(pki.operator_key), x5c=encode_x5c([pki.operator]), now=now
    )


def _issue(
    lote_type: str, pki: Pki, *, doc: dict[str, Any] | None = None, sequence: int = 3
) -> tuple[JsonObject, str]:
    payload = build_lote(
        _source(lote_type, pki, doc), sequence_number=sequence, issued_at=ISSUED, next_update=NEXT
    )
    return payload, _sign(payload, pki)


def _verify(token: str, pki: Pki, **kwargs: Any) -> VerifiedLote:
    kwargs.setdefault("now", NOW)
    return verify_lote(token, operator_anchors=[pki.root], **kwargs)


def _reason(exc: pytest.ExceptionInfo[PasserelleError]) -> Reason:
    return exc.value.reason


def _resign_raw(token: str, pki: Pki, mutate: Any) -> str:
    """Change the payload of a token and sign it again, bypassing build_lote's checks."""
    header_b64, payload_b64, _ = token.split(".")
    payload = json.loads(b64url_decode(payload_b64))
    mutate(payload)
    header = json.loads(b64url_decode(header_b64))
    header.pop("alg")
    return sign_jws(header, payload, KeySigner(pki.operator_key))


# --- round trips -------------------------------------------------------------------


@pytest.mark.parametrize("lote_type", list(FILES))
def test_round_trip_from_yaml_source(lote_type: str, pki: Pki, schema: JsonObject) -> None:
    payload, token = _issue(lote_type, pki)
    verified = _verify(token, pki, schema=schema, last_seen_sequence=3)

    assert verified.list_type == lote_type
    assert verified.operator_name == OPERATOR
    assert verified.territory == "EU"
    assert verified.sequence_number == 3
    assert verified.issued_at == ISSUED.replace(microsecond=0)
    assert verified.next_update == NEXT
    assert verified.signed_at == NOW
    assert verified.signer == pki.operator
    assert verified.payload == payload
    ca = pki.cas[CA_NAMES[lote_type]]
    # The Pub-EAA list also names the conformance laboratory's CA, after the register's.
    assert verified.certificates_for(service_type=ISSUANCE[lote_type])[0] == ca
    found = verified.find_service(certificate_chain=[ca])
    assert found is not None
    assert found.service_type == ISSUANCE[lote_type]
    assert found.matched_certificate == ca


@pytest.mark.parametrize("lote_type", list(FILES))
def test_built_payload_is_valid_against_the_schema(
    lote_type: str, pki: Pki, schema: JsonObject
) -> None:
    payload, _ = _issue(lote_type, pki)
    Draft202012Validator.check_schema(schema)
    Draft202012Validator(schema).validate(payload)
    lote: Any = payload["LoTE"]
    info = lote["ListAndSchemeInformation"]
    profile = PROFILES[lote_type]
    assert info["LoTEVersionIdentifier"] == 1
    assert info["LoTEType"] == lote_type
    assert info["StatusDeterminationApproach"] == profile.status_determination_approach
    assert info["SchemeTypeCommunityRules"] == [{"lang": "en", "uriValue": profile.scheme_rules}]
    assert info["SchemeTerritory"] == "EU"
    assert info["ListIssueDateTime"] == "2026-11-22T12:00:00Z"
    assert info["NextUpdate"] == "2026-12-23T12:00:00Z"
    assert ("HistoricalInformationPeriod" in info) == (lote_type == LOTE_TYPE_PUB_EAA_PROVIDERS)
    assert ("PointersToOtherLoTE" in info) == (lote_type != LOTE_TYPE_PUB_EAA_PROVIDERS)


def test_schema_rejects_what_the_spec_forbids(pki: Pki, schema: JsonObject) -> None:
    payload, _ = _issue(LOTE_TYPE_PID_PROVIDERS, pki)
    validator = Draft202012Validator(schema)
    bad_time = json.loads(json.dumps(payload))
    bad_time["LoTE"]["ListAndSchemeInformation"]["NextUpdate"] = "2026-12-23T12:00:00.5Z"
    no_sequence = json.loads(json.dumps(payload))
    del no_sequence["LoTE"]["ListAndSchemeInformation"]["LoTESequenceNumber"]
    unknown_member = json.loads(json.dumps(payload))
    unknown_member["LoTE"]["TrustedEntitiesList"][0]["Surprise"] = 1
    for doc in (bad_time, no_sequence, unknown_member):
        assert not validator.is_valid(doc)


def test_pid_list_content(pki: Pki) -> None:
    payload, _ = _issue(LOTE_TYPE_PID_PROVIDERS, pki)
    lote: Any = payload["LoTE"]
    pointer = lote["ListAndSchemeInformation"]["PointersToOtherLoTE"][0]
    assert pointer["LoTELocation"] == "https://trust.passerelle.example/eu/pid-providers.jwt"
    assert pointer["LoTEQualifiers"][0]["MimeType"] == "application/jose"
    operator_der = base64.b64encode(certificate_to_der(pki.operator)).decode()
    assert pointer["ServiceDigitalIdentities"] == [{"X509Certificates": [{"val": operator_der}]}]
    entity = lote["TrustedEntitiesList"][0]
    uris = [u["uriValue"] for u in entity["TrustedEntityInformation"]["TEInformationURI"]]
    assert "http://uri.etsi.org/19602/ListOfTrustedEntities/PIDProvider/BE" in uris
    info = entity["TrustedEntityServices"][0]["ServiceInformation"]
    assert "ServiceStatus" not in info
    assert "StatusStartingTime" not in info
    assert info["ServiceInformationExtensions"] == [
        {CREDENTIAL_TYPES_EXTENSION: ["urn:eudi:pid:1"]}
    ]
    ca_der = base64.b64encode(certificate_to_der(pki.cas["eu-pid-provider-ca"])).decode()
    assert info["ServiceDigitalIdentity"] == {"X509Certificates": [{"val": ca_der}]}


def test_jades_header(pki: Pki) -> None:
    _, token = _issue(LOTE_TYPE_PID_PROVIDERS, pki)
    header = json.loads(b64url_decode(token.split(".")[0]))
    leaf_der = certificate_to_der(pki.operator)
    assert header == {
        "alg": "ES256",
        "typ": "jose",
        "iat": int(NOW.timestamp()),
        "x5c": [base64.b64encode(leaf_der).decode()],
        "x5t#S256": b64url_encode(hashlib.sha256(leaf_der).digest()),
    }


# --- rejections --------------------------------------------------------------------


def test_tampered_payload_is_a_signature_failure(pki: Pki) -> None:
    payload, token = _issue(LOTE_TYPE_PID_PROVIDERS, pki)
    header, _, signature = token.split(".")
    lote: Any = payload["LoTE"]
    lote["ListAndSchemeInformation"]["LoTESequenceNumber"] = 99
    tampered = f"{header}.{b64url_encode(canonical_json(payload))}.{signature}"
    with pytest.raises(PasserelleError) as exc:
        _verify(tampered, pki)
    assert _reason(exc) is Reason.TRUST_LIST_SIGNATURE


def test_signature_by_another_key_under_the_same_certificate_fails(pki: Pki) -> None:
    payload, _ = _issue(LOTE_TYPE_PID_PROVIDERS, pki)
    forged = sign_lote(payload, signer=KeySigner(_key()), x5c=encode_x5c([pki.operator]), now=NOW)
    with pytest.raises(PasserelleError) as exc:
        _verify(forged, pki)
    assert _reason(exc) is Reason.TRUST_LIST_SIGNATURE


def test_x5t_naming_another_certificate_fails(pki: Pki) -> None:
    payload, _ = _issue(LOTE_TYPE_PID_PROVIDERS, pki)
    header = {"typ": "jose", "x5c": encode_x5c([pki.operator]), "iat": int(NOW.timestamp())}
    header["x5t#S256"] = b64url_encode(hashlib.sha256(b"another").digest())
    token = sign_jws(header, payload, KeySigner(pki.operator_key))
    with pytest.raises(PasserelleError) as exc:
        _verify(token, pki)
    assert _reason(exc) is Reason.TRUST_LIST_SIGNATURE


def test_alg_none_is_refused(pki: Pki) -> None:
    _, token = _issue(LOTE_TYPE_PID_PROVIDERS, pki)
    header = json.loads(b64url_decode(token.split(".")[0]))
    header["alg"] = "none"
    unsigned = f"{b64url_encode(canonical_json(header))}.{token.split('.')[1]}."
    with pytest.raises(PasserelleError) as exc:
        _verify(unsigned, pki)
    assert _reason(exc) is Reason.TRUST_LIST_SIGNATURE


def test_garbage_is_malformed(pki: Pki) -> None:
    with pytest.raises(PasserelleError) as exc:
        _verify("not-a-jws", pki)
    assert _reason(exc) is Reason.TRUST_LIST_MALFORMED


def test_stale_list_fails_closed(pki: Pki) -> None:
    _, token = _issue(LOTE_TYPE_PID_PROVIDERS, pki)
    for later in (NEXT, NEXT + timedelta(seconds=1)):
        with pytest.raises(PasserelleError) as exc:
            _verify(token, pki, now=later)
        assert _reason(exc) is Reason.TRUST_LIST_STALE
    assert _verify(token, pki, now=NEXT - timedelta(seconds=1)).sequence_number == 3


def test_closed_list_is_stale(pki: Pki, schema: JsonObject) -> None:
    _, token = _issue(LOTE_TYPE_PID_PROVIDERS, pki)

    def close(payload: dict[str, Any]) -> None:
        payload["LoTE"]["ListAndSchemeInformation"]["NextUpdate"] = None

    with pytest.raises(PasserelleError) as exc:
        _verify(_resign_raw(token, pki, close), pki, schema=schema)
    assert _reason(exc) is Reason.TRUST_LIST_STALE


def test_rollback_to_a_lower_sequence(pki: Pki) -> None:
    _, token = _issue(LOTE_TYPE_PID_PROVIDERS, pki, sequence=3)
    with pytest.raises(PasserelleError) as exc:
        _verify(token, pki, last_seen_sequence=4)
    assert _reason(exc) is Reason.TRUST_LIST_ROLLBACK
    # The same issue fetched again, or a newer one, is fine.
    assert _verify(token, pki, last_seen_sequence=3).sequence_number == 3
    assert _verify(token, pki, last_seen_sequence=2).sequence_number == 3


def test_wrong_operator_anchor(pki: Pki) -> None:
    _, token = _issue(LOTE_TYPE_PID_PROVIDERS, pki)
    other_root, _ = _root("Someone else's root")
    with pytest.raises(PasserelleError) as exc:
        verify_lote(token, operator_anchors=[other_root], now=NOW)
    assert _reason(exc) is Reason.TRUST_LIST_UNTRUSTED_OPERATOR
    assert "x509.chain_invalid" in exc.value.detail


def test_expired_operator_certificate_keeps_the_x509_reason(pki: Pki) -> None:
    _, token = _issue(LOTE_TYPE_PID_PROVIDERS, pki)
    with pytest.raises(PasserelleError) as exc:
        _verify(token, pki, now=NOW + timedelta(days=400))
    assert _reason(exc) is Reason.TRUST_LIST_UNTRUSTED_OPERATOR
    assert "x509.expired" in exc.value.detail


def test_missing_x5c_is_an_untrusted_operator(pki: Pki) -> None:
    payload, _ = _issue(LOTE_TYPE_PID_PROVIDERS, pki)
    token = sign_jws({"iat": int(NOW.timestamp())}, payload, KeySigner(pki.operator_key))
    with pytest.raises(PasserelleError) as exc:
        _verify(token, pki)
    assert _reason(exc) is Reason.TRUST_LIST_UNTRUSTED_OPERATOR


def test_signer_subject_must_name_the_operator(pki: Pki) -> None:
    """Clause 6.8.0: signer C = SchemeTerritory, O = a SchemeOperatorName value."""
    payload, _ = _issue(LOTE_TYPE_PID_PROVIDERS, pki)
    key = _key()
    stranger = _operator_leaf(pki.root, pki.root_key, key, organization="Someone Else")
    with pytest.raises(PasserelleError) as exc:
        sign_lote(payload, signer=KeySigner(key), x5c=encode_x5c([stranger]), now=NOW)
    assert _reason(exc) is Reason.TRUST_LIST_UNTRUSTED_OPERATOR
    assert exc.value.fault is Fault.LOCAL
    header = {"typ": "jose", "x5c": encode_x5c([stranger]), "iat": int(NOW.timestamp())}
    token = sign_jws(header, payload, KeySigner(key))
    with pytest.raises(PasserelleError) as exc:
        _verify(token, pki)
    assert _reason(exc) is Reason.TRUST_LIST_UNTRUSTED_OPERATOR
    assert exc.value.fault is Fault.PEER


def test_schema_violation_is_malformed(pki: Pki, schema: JsonObject) -> None:
    _, token = _issue(LOTE_TYPE_PID_PROVIDERS, pki)

    def drop_name(payload: dict[str, Any]) -> None:
        del payload["LoTE"]["TrustedEntitiesList"][0]["TrustedEntityInformation"]["TEName"]

    with pytest.raises(PasserelleError) as exc:
        _verify(_resign_raw(token, pki, drop_name), pki, schema=schema)
    assert _reason(exc) is Reason.TRUST_LIST_MALFORMED


def test_profile_violation_in_a_received_list_is_malformed(pki: Pki) -> None:
    _, token = _issue(LOTE_TYPE_PID_PROVIDERS, pki)

    def add_status(payload: dict[str, Any]) -> None:
        info = payload["LoTE"]["TrustedEntitiesList"][0]["TrustedEntityServices"][0]
        info["ServiceInformation"]["ServiceStatus"] = PUB_EAA_STATUS_WITHDRAWN

    def foreign_type(payload: dict[str, Any]) -> None:
        info = payload["LoTE"]["TrustedEntitiesList"][0]["TrustedEntityServices"][0]
        info["ServiceInformation"]["ServiceTypeIdentifier"] = SVC_TYPE_WRPAC_ISSUANCE

    for mutate in (add_status, foreign_type):
        with pytest.raises(PasserelleError) as exc:
            _verify(_resign_raw(token, pki, mutate), pki)
        assert _reason(exc) is Reason.TRUST_LIST_MALFORMED


# --- look-ups ----------------------------------------------------------------------


def test_lookup_by_leaf_and_by_ca(pki: Pki) -> None:
    doc = _yaml(LOTE_TYPE_PID_PROVIDERS)
    direct_key = _key()
    direct_leaf = pki.leaf_under("eu-pid-provider-ca", key=direct_key)
    # A second service identified by its end-entity certificate (direct trust, Annex D).
    doc["entities"][0]["services"].append(
        {
            "name": "PID issuance (direct)",
            "type": "issuance",
            "certificate": {"pem": certificate_to_pem(direct_leaf)},
            "credential_types": ["urn:eudi:pid:1"],
        }
    )
    _, token = _issue(LOTE_TYPE_PID_PROVIDERS, pki, doc=doc)
    verified = _verify(token, pki)
    ca = pki.cas["eu-pid-provider-ca"]

    by_leaf = verified.find_service(certificate_chain=[direct_leaf, ca])
    assert by_leaf is not None
    assert by_leaf.service_name == "PID issuance (direct)"
    assert by_leaf.matched_certificate == direct_leaf
    assert by_leaf.matched_by == "certificate"

    # Each service once, by its strongest match nearest the leaf.
    both = verified.find_services(certificate_chain=[direct_leaf, ca])
    assert [(s.service_name, s.matched_by) for s in both] == [
        ("PID issuance (direct)", "certificate"),
        ("PID issuance", "certificate"),
    ]

    other_leaf = pki.leaf_under("eu-pid-provider-ca")
    by_ca = verified.find_service(certificate_chain=[other_leaf, ca])
    assert by_ca is not None
    assert by_ca.service_name == "PID issuance"
    assert by_ca.entity_name == "Passerelle EU PID Provider"
    assert by_ca.service_type == SVC_TYPE_PID_ISSUANCE
    assert by_ca.status is None
    assert by_ca.status_starting_time is None
    assert by_ca.credential_types == ("urn:eudi:pid:1",)
    assert by_ca.matched_certificate == ca
    by_ca.check_authorized(credential_type="urn:eudi:pid:1")

    # Same key in a re-issued certificate: found by the key, not the certificate.
    reissued = pki.leaf_under("eu-pid-provider-ca", key=direct_key)
    assert reissued != direct_leaf
    by_key = verified.find_service(certificate_chain=[reissued])
    assert by_key is not None
    assert by_key.service_name == "PID issuance (direct)"
    assert by_key.matched_by == "ski"

    assert verified.find_service(certificate_chain=[pki.leaf_under("eu-wrpac-provider-ca")]) is None
    assert (
        verified.find_service(certificate_chain=[ca], service_type=SVC_TYPE_WRPAC_ISSUANCE) is None
    )

    # The same chain asked again (a verified chain comes back as the same tuple): the
    # list answers from memory, for that question only.
    chain = (direct_leaf, ca)
    remembered = verified.find_services(certificate_chain=chain)
    assert remembered == both
    assert verified.find_services(certificate_chain=chain) is remembered
    assert verified.find_services(certificate_chain=(direct_leaf, ca)) == both
    assert verified.find_services(certificate_chain=(ca, direct_leaf)) != both
    assert verified.find_services(certificate_chain=chain, service_type="x") == ()
    # A list rebuilt with other services does not inherit the answers.
    fewer = dataclasses.replace(
        verified, services=(), _by_certificate={}, _by_ski={}, _by_thumbprint={}
    )
    assert fewer.find_services(certificate_chain=chain) == ()


def test_not_authorized_for_another_credential_type(pki: Pki) -> None:
    _, token = _issue(LOTE_TYPE_PID_PROVIDERS, pki)
    found = _verify(token, pki).find_service(certificate_chain=[pki.cas["eu-pid-provider-ca"]])
    assert found is not None
    with pytest.raises(PasserelleError) as exc:
        found.check_authorized(
            credential_type="https://credentials.passerelle.example/eu/legal-person/v1"
        )
    assert _reason(exc) is Reason.TRUST_NOT_AUTHORIZED_FOR_TYPE


def test_withdrawn_pub_eaa_service_is_surfaced(pki: Pki, schema: JsonObject) -> None:
    doc = _yaml(LOTE_TYPE_PUB_EAA_PROVIDERS)
    doc["entities"][0]["services"][0]["status"] = "withdrawn"
    doc["entities"][0]["services"][0]["status_since"] = "2026-11-22T12:00:00Z"
    _, token = _issue(LOTE_TYPE_PUB_EAA_PROVIDERS, pki, doc=doc)
    verified = _verify(token, pki, schema=schema)
    ca = pki.cas["eu-pubeaa-provider-ca"]
    found = verified.find_service(certificate_chain=[pki.leaf_under("eu-pubeaa-provider-ca"), ca])
    assert found is not None
    assert found.status == PUB_EAA_STATUS_WITHDRAWN
    assert found.status_starting_time == datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
    assert found.is_withdrawn
    with pytest.raises(PasserelleError) as exc:
        found.check_authorized(
            credential_type="https://credentials.passerelle.example/eu/legal-person/v1"
        )
    assert _reason(exc) is Reason.TRUST_SERVICE_WITHDRAWN
    assert ca not in verified.certificates_for(service_type=SVC_TYPE_PUB_EAA_ISSUANCE)


def test_notified_pub_eaa_service(pki: Pki) -> None:
    _, token = _issue(LOTE_TYPE_PUB_EAA_PROVIDERS, pki)
    found = _verify(token, pki).find_service(certificate_chain=[pki.cas["eu-pubeaa-provider-ca"]])
    assert found is not None
    assert found.status == PUB_EAA_STATUS_NOTIFIED
    # No status_since in the source: the status starts with this issue.
    assert found.status_starting_time == ISSUED.replace(microsecond=0)
    assert not found.is_withdrawn
    found.check_authorized(
        credential_type="https://credentials.passerelle.example/eu/legal-person/v1"
    )


# --- sources and profiles ----------------------------------------------------------


def test_partner_entity_with_inline_certificate(pki: Pki) -> None:
    partner_key = _key()
    partner_ca = build_ca_certificate(
        subject=build_name(common_name="Partner PID CA", organization="Partner", country="FR"),
        key=partner_key,
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(days=100),
        serial=9,
    )
    entry = {
        "name": "Partner PID Provider",
        "member_state": "FR",
        "address": {
            "postal": {"street": "1 rue de Rivoli", "locality": "Paris", "country": "FR"},
            "electronic": ["mailto:pid@partner.example", "tel:+33100000000"],
        },
        "information_uris": ["https://partner.example/terms"],
        "services": [
            {
                "name": "PID issuance",
                "type": "issuance",
                "certificate": {"der": base64.b64encode(certificate_to_der(partner_ca)).decode()},
                "credential_types": ["urn:eudi:pid:1"],
            }
        ],
    }
    source = _source(LOTE_TYPE_PID_PROVIDERS, pki)
    partner = parse_lote_entity(entry, profile=source.profile, certificates={})
    merged = dataclasses.replace(source, entities=(*source.entities, partner))
    payload = build_lote(merged, sequence_number=1, issued_at=ISSUED, next_update=NEXT)
    found = _verify(_sign(payload, pki), pki).find_service(certificate_chain=[partner_ca])
    assert found is not None
    assert found.entity_name == "Partner PID Provider"


@pytest.mark.parametrize(
    ("lote_type", "change"),
    [
        # Annex D: no ServiceStatus; remove a provider instead of marking it.
        (
            LOTE_TYPE_PID_PROVIDERS,
            lambda d: d["entities"][0]["services"][0].update(status="withdrawn"),
        ),
        # Annex D: X.509 certificates required.
        (LOTE_TYPE_PID_PROVIDERS, lambda d: d["entities"][0]["services"][0].pop("certificate")),
        # Service types of another list are excluded.
        (
            LOTE_TYPE_PID_PROVIDERS,
            lambda d: d["entities"][0]["services"][0].update(type=SVC_TYPE_WRPAC_ISSUANCE),
        ),
        # Annex H: a status is required, and the legal basis in the trade name.
        (LOTE_TYPE_PUB_EAA_PROVIDERS, lambda d: d["entities"][0]["services"][0].pop("status")),
        (LOTE_TYPE_PUB_EAA_PROVIDERS, lambda d: d["entities"][0].update(trade_name="NTRBE-1")),
        # Annex H: the certificate's O is the TEName.
        (LOTE_TYPE_PUB_EAA_PROVIDERS, lambda d: d["entities"][0].update(name="Another body")),
        # Unknown certificate name.
        (
            LOTE_TYPE_WRPAC_PROVIDERS,
            lambda d: d["entities"][0]["services"][0].update(certificate="nope"),
        ),
        # Self pointer needs the operator certificate.
        (LOTE_TYPE_WRPAC_PROVIDERS, lambda d: d["operator"].pop("certificate")),
    ],
)
def test_source_breaking_its_profile_is_refused(lote_type: str, change: Any, pki: Pki) -> None:
    doc = _yaml(lote_type)
    change(doc)
    with pytest.raises(PasserelleError) as exc:
        _issue(lote_type, pki, doc=doc)
    assert _reason(exc) is Reason.TRUST_LIST_MALFORMED
    assert exc.value.fault is Fault.LOCAL


def test_wrpac_services_are_ca_certificates(pki: Pki) -> None:
    doc = _yaml(LOTE_TYPE_WRPAC_PROVIDERS)
    leaf = pki.leaf_under("eu-wrpac-provider-ca")
    doc["entities"][0]["services"][0]["certificate"] = {"pem": certificate_to_pem(leaf)}
    with pytest.raises(PasserelleError) as exc:
        _issue(LOTE_TYPE_WRPAC_PROVIDERS, pki, doc=doc)
    assert _reason(exc) is Reason.TRUST_LIST_MALFORMED


@pytest.mark.parametrize(
    ("sequence", "issued", "next_update"),
    [
        (0, ISSUED, NEXT),  # clause 6.3.2: starts at 1
        (1, ISSUED, ISSUED),  # next update not after issue
        (1, ISSUED, ISSUED + timedelta(days=200)),  # more than 6 months (D.2, F.2, H.2)
    ],
)
def test_bad_issue_parameters(
    sequence: int, issued: datetime, next_update: datetime, pki: Pki
) -> None:
    source = _source(LOTE_TYPE_PID_PROVIDERS, pki)
    with pytest.raises(PasserelleError) as exc:
        build_lote(source, sequence_number=sequence, issued_at=issued, next_update=next_update)
    assert _reason(exc) is Reason.TRUST_LIST_MALFORMED
