"""W3C VCs as JWT: jwt_vc_json (VCDM 1.1), vc+jwt (VCDM 2.0 + VC-JOSE-COSE), VPs, did:jwk."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle._errors import Fault, PasserelleError, Reason
from passerelle._json import JsonObject, b64url_decode, b64url_encode, canonical_json
from passerelle.jose import KeySigner, PublicKey, load_public_jwk, public_jwk, sign_jws
from passerelle.vc import (
    VerifiedW3cCredential,
    check_credential_schema,
    create_vp_jwt,
    did_jwk_from_key,
    did_jwk_key_id,
    issue_jwt_vc_json,
    issue_vc_jose,
    resolve_did_jwk,
    resolve_did_jwk_holder_key,
    verify_jwt_vc_json,
    verify_vc_jose,
    verify_vp_jwt,
)

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
SKEW = timedelta(seconds=30)
ALGS = ("ES256",)
ISSUER = "https://issuer.example.ca"
VERIFIER = "x509_hash:verifier.example.eu"
NONCE = "n-0S6_WzA2Mj"


def _signer() -> KeySigner:
    return KeySigner(ec.generate_private_key(ec.SECP256R1()))


@pytest.fixture(scope="module")
def issuer() -> KeySigner:
    return _signer()


@pytest.fixture(scope="module")
def holder() -> KeySigner:
    return _signer()


@pytest.fixture(scope="module")
def holder_did(holder: KeySigner) -> str:
    return did_jwk_from_key(holder.public_key)


def _reason_of(fn: Any) -> Reason:
    with pytest.raises(PasserelleError) as info:
        fn()
    return info.value.reason


def _v1_credential(subject: str, **extra: Any) -> JsonObject:
    credential: JsonObject = {
        "@context": [
            "https://www.w3.org/2018/credentials/v1",
            "https://www.w3.org/2018/credentials/examples/v1",
        ],
        "id": "https://issuer.example.ca/credentials/3732",
        "type": ["VerifiableCredential", "BusinessRegistrationCredential"],
        "issuer": ISSUER,
        "issuanceDate": "2025-01-01T00:00:00Z",
        "expirationDate": "2026-01-01T00:00:00Z",
        "credentialSubject": {"id": subject, "legalName": "Passerelle Inc."},
    }
    credential.update(extra)
    return credential


def _v2_credential(subject: str, **extra: Any) -> JsonObject:
    # VC-JOSE-COSE §3.1.1 example credential, with our subject and a validity window.
    credential: JsonObject = {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://www.w3.org/ns/credentials/examples/v2",
        ],
        "id": "http://university.example/credentials/3732",
        "type": ["VerifiableCredential", "ExampleDegreeCredential", "ExamplePersonCredential"],
        "issuer": "https://university.example/issuers/14",
        "validFrom": "2010-01-01T19:23:24Z",
        "validUntil": "2030-01-01T19:23:24Z",
        "credentialSubject": {
            "id": subject,
            "degree": {"type": "ExampleBachelorDegree", "name": "Bachelor of Science and Arts"},
            "alumniOf": {"name": "Example University"},
        },
        "credentialSchema": [
            {"id": "https://example.org/examples/degree.json", "type": "JsonSchema"},
        ],
    }
    credential.update(extra)
    return credential


def _resign(
    token: str,
    signer: KeySigner,
    *,
    header: dict[str, object] | None = None,
    payload: JsonObject | None = None,
) -> str:
    """Re-sign a token after editing its header or payload, as a malicious issuer could."""
    head, body, _ = token.split(".")
    old_header = json.loads(b64url_decode(head))
    old_header.pop("alg")
    new_payload = payload if payload is not None else json.loads(b64url_decode(body))
    return sign_jws(header if header is not None else old_header, new_payload, signer)


def _payload(token: str) -> JsonObject:
    value = json.loads(b64url_decode(token.split(".")[1]))
    assert isinstance(value, dict)
    return value


# --- did:jwk ---------------------------------------------------------------------------

# OpenID4VCI 1.0, Appendix A.1.1.4: the example jwt_vc_json credential and the issuer's JWKS.
OID4VCI_JWT_VC = (
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJFUzI1NiIsImtpZCI6InVybjppZXRmOnBhcmFtczpvYXV0aDpqd2stdGh1bWJwcm"
    "ludDpzaGEtMjU2Om1sVXBvZzd2RWV3RkJlbTZVbDA5YzJkdFR3YzhkRnpWcElEWDNzcUdXVzAifQ.eyJ2YyI6eyJAY"
    "29udGV4dCI6WyJodHRwczovL3d3dy53My5vcmcvMjAxOC9jcmVkZW50aWFscy92MSIsImh0dHBzOi8vd3d3LnczLm9"
    "yZy8yMDE4L2NyZWRlbnRpYWxzL2V4YW1wbGVzL3YxIl0sImlkIjoiaHR0cHM6Ly9jcmVkZW50aWFsLWlzc3Vlci5le"
    "GFtcGxlLmNvbS9jcmVkZW50aWFscy8zNzMyIiwidHlwZSI6WyJWZXJpZmlhYmxlQ3JlZGVudGlhbCIsIlVuaXZlcnN"
    "pdHlEZWdyZWVDcmVkZW50aWFsIl0sImlzc3VlciI6Imh0dHBzOi8vY3JlZGVudGlhbC1pc3N1ZXIuZXhhbXBsZS5jb"
    "20iLCJpc3N1YW5jZURhdGUiOiIyMDI1LTAxLTAxVDAwOjAwOjAwWiIsImNyZWRlbnRpYWxTdWJqZWN0Ijp7ImlkIjo"
    "iZGlkOmp3azpleUpyYVdRaU9pSjFjbTQ2YVdWMFpqcHdZWEpoYlhNNmIyRjFkR2c2YW5kckxYUm9kVzFpY0hKcGJuU"
    "TZjMmhoTFRJMU5qcFdZa3BQVTNacWVGVTJURGhETjBkVlR6UmtjMmhKV1ZZemVtSjJSbmRyV1VJME0xbEtOVXQwZER"
    "oRklpd2lhM1I1SWpvaVJVTWlMQ0pqY25ZaU9pSlFMVEkxTmlJc0ltRnNaeUk2SWtWVE1qVTJJaXdpZUNJNklrMWtRe"
    "TFQUzNFMFFWRktabFpEV0RWNmNGRnZURGhxTkZaRlpuWlFXRGs0ZEZVNWFIaGpUbGhIY204aUxDSjVJam9pYm5OWGJ"
    "tWmlOazVYYzBzek9VSklMV2hCWVZOclExTmxORUo1YldWT2MyTktSVjl6WVVRelJETmlUU0o5IiwiZGVncmVlIjp7I"
    "nR5cGUiOiJCYWNoZWxvckRlZ3JlZSIsIm5hbWUiOiJCYWNoZWxvciBvZiBTY2llbmNlIGFuZCBBcnRzIn19fSwiaXN"
    "zIjoiaHR0cHM6Ly9jcmVkZW50aWFsLWlzc3Vlci5leGFtcGxlLmNvbSIsIm5iZiI6MTczNTY4OTYwMCwianRpIjoia"
    "HR0cHM6Ly9jcmVkZW50aWFsLWlzc3Vlci5leGFtcGxlLmNvbS9jcmVkZW50aWFscy8zNzMyIiwic3ViIjoiZGlkOmp"
    "3azpleUpyYVdRaU9pSjFjbTQ2YVdWMFpqcHdZWEpoYlhNNmIyRjFkR2c2YW5kckxYUm9kVzFpY0hKcGJuUTZjMmhoT"
    "FRJMU5qcFdZa3BQVTNacWVGVTJURGhETjBkVlR6UmtjMmhKV1ZZemVtSjJSbmRyV1VJME0xbEtOVXQwZERoRklpd2l"
    "hM1I1SWpvaVJVTWlMQ0pqY25ZaU9pSlFMVEkxTmlJc0ltRnNaeUk2SWtWVE1qVTJJaXdpZUNJNklrMWtReTFQUzNFM"
    "FFWRktabFpEV0RWNmNGRnZURGhxTkZaRlpuWlFXRGs0ZEZVNWFIaGpUbGhIY204aUxDSjVJam9pYm5OWGJtWmlOazV"
    "YYzBzek9VSklMV2hCWVZOclExTmxORUo1YldWT2MyTktSVjl6WVVRelJETmlUU0o5In0.k13xQCnQIKAIuwQIbg37d"
    "wlNr8D6_2YUQtDTVQCq-ZsjcXxHagGC_VIZtd7RpR8OvBzTBHVwrBRD-_RzoV2Ofg"
)
OID4VCI_ISSUER_JWK: JsonObject = {
    "kty": "EC",
    "crv": "P-256",
    "x": "_LC1FTUl0MltKAOQzXNsofVMpWFV2obLGrNCat_CQ-g",
    "y": "kBjoyjNuMVAOq--qVUgylDoLKuMdk4imS-Kk5ahuYIU",
}


def test_did_jwk_round_trip(holder: KeySigner) -> None:
    did = did_jwk_from_key(holder.public_key)
    assert did.startswith("did:jwk:")
    assert json.loads(b64url_decode(did[len("did:jwk:") :])) == public_jwk(holder.public_key)
    assert public_jwk(resolve_did_jwk(did)) == public_jwk(holder.public_key)
    assert public_jwk(resolve_did_jwk(did_jwk_key_id(did))) == public_jwk(holder.public_key)


def test_did_jwk_refuses_private_key_and_junk(holder: KeySigner) -> None:
    jwk = {**public_jwk(holder.public_key), "d": "AAAA"}
    did = "did:jwk:" + b64url_encode(canonical_json(jwk))
    assert _reason_of(lambda: resolve_did_jwk(did)) == Reason.JWK_PRIVATE
    assert _reason_of(lambda: resolve_did_jwk("did:web:example.com")) == Reason.JWK_INVALID
    assert _reason_of(lambda: resolve_did_jwk("did:jwk:not*base64")) == Reason.JWK_INVALID
    assert _reason_of(lambda: resolve_did_jwk("did:jwk:" + b64url_encode(b"[1]"))) == (
        Reason.JWK_INVALID
    )


def test_did_jwk_holder_resolver_checks_kid(holder_did: str) -> None:
    resolve_did_jwk_holder_key(holder_did, did_jwk_key_id(holder_did))
    resolve_did_jwk_holder_key(holder_did, None)
    assert _reason_of(lambda: resolve_did_jwk_holder_key(holder_did, "did:jwk:other#0")) == (
        Reason.VC_HOLDER_MISMATCH
    )


# --- jwt_vc_json -----------------------------------------------------------------------


def test_oid4vci_example_credential_verifies() -> None:
    verified = verify_jwt_vc_json(
        OID4VCI_JWT_VC,
        issuer_key=load_public_jwk(OID4VCI_ISSUER_JWK),
        algorithms=ALGS,
        now=NOW,
        skew=SKEW,
    )
    assert verified.format == "jwt_vc_json"
    assert verified.issuer == "https://credential-issuer.example.com"
    assert verified.types == ("VerifiableCredential", "UniversityDegreeCredential")
    assert verified.valid_from == datetime(2025, 1, 1, tzinfo=UTC)
    assert verified.valid_until is None
    assert verified.credential["id"] == "https://credential-issuer.example.com/credentials/3732"
    # The subject is a did:jwk whose JWK carries kid and alg members; it still resolves.
    assert verified.subject_id is not None
    key = resolve_did_jwk(verified.subject_id)
    assert public_jwk(key)["x"] == "MdC-OKq4AQJfVCX5zpQoL8j4VEfvPX98tU9hxcNXGro"


def test_oid4vci_example_rejects_other_key(issuer: KeySigner) -> None:
    assert (
        _reason_of(
            lambda: verify_jwt_vc_json(
                OID4VCI_JWT_VC, issuer_key=issuer.public_key, algorithms=ALGS, now=NOW, skew=SKEW
            )
        )
        == Reason.JWS_INVALID_SIGNATURE
    )


def test_jwt_vc_json_round_trip(issuer: KeySigner, holder_did: str) -> None:
    credential = _v1_credential(
        holder_did,
        credentialStatus={
            "id": "https://issuer.example.ca/status/1#94567",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "94567",
            "statusListCredential": "https://issuer.example.ca/status/1",
        },
    )
    token = issue_jwt_vc_json(credential, signer=issuer, kid="key-1", now=NOW)
    claims = _payload(token)
    assert claims["iss"] == ISSUER
    assert claims["sub"] == holder_did
    assert claims["jti"] == credential["id"]
    assert claims["nbf"] == int(datetime(2025, 1, 1, tzinfo=UTC).timestamp())
    assert claims["exp"] == int(datetime(2026, 1, 1, tzinfo=UTC).timestamp())
    assert claims["vc"] == credential
    verified = verify_jwt_vc_json(
        token, issuer_key=issuer.public_key, algorithms=ALGS, now=NOW, skew=SKEW
    )
    assert verified.issuer == ISSUER
    assert verified.subject_id == holder_did
    assert verified.types == ("VerifiableCredential", "BusinessRegistrationCredential")
    assert verified.valid_until == datetime(2026, 1, 1, tzinfo=UTC)
    assert verified.header["kid"] == "key-1"
    assert verified.header["typ"] == "JWT"
    assert verified.status[0]["statusPurpose"] == "revocation"
    assert verified.confirmation_jwk is None


def test_jwt_vc_json_decoding_fills_members_from_claims(issuer: KeySigner, holder_did: str) -> None:
    # The OpenID4VP example credential: issuer, subject id and dates only as JWT claims.
    payload: JsonObject = {
        "iss": ISSUER,
        "nbf": 1262304000,
        "jti": "http://example.gov/credentials/3732",
        "sub": holder_did,
        "vc": {
            "@context": ["https://www.w3.org/2018/credentials/v1"],
            "type": ["VerifiableCredential", "IDCredential"],
            "credentialSubject": {"given_name": "Max"},
        },
    }
    token = sign_jws({"typ": "JWT"}, payload, issuer)
    verified = verify_jwt_vc_json(
        token, issuer_key=issuer.public_key, algorithms=ALGS, now=NOW, skew=SKEW
    )
    assert verified.credential["issuer"] == ISSUER
    assert verified.credential["id"] == "http://example.gov/credentials/3732"
    assert verified.credential["credentialSubject"] == {"given_name": "Max", "id": holder_did}
    assert verified.credential["issuanceDate"] == "2010-01-01T00:00:00Z"


def test_jwt_vc_json_tolerates_absent_typ(issuer: KeySigner, holder_did: str) -> None:
    token = issue_jwt_vc_json(_v1_credential(holder_did), signer=issuer, kid=None, now=NOW)
    untyped = _resign(token, issuer, header={})
    verify_jwt_vc_json(untyped, issuer_key=issuer.public_key, algorithms=ALGS, now=NOW, skew=SKEW)


def _verify_v1(token: str, signer: KeySigner, now: datetime = NOW) -> VerifiedW3cCredential:
    return verify_jwt_vc_json(
        token, issuer_key=signer.public_key, algorithms=ALGS, now=now, skew=SKEW
    )


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        # @context order: the base context must come first.
        (
            lambda c: c.update({"@context": list(reversed(c["@context"]))}),
            Reason.VC_CONTEXT_INVALID,
        ),
        (
            lambda c: c.update({"@context": ["https://www.w3.org/ns/credentials/v2"]}),
            Reason.VC_CONTEXT_INVALID,
        ),
        (
            lambda c: c.update({"@context": "https://www.w3.org/2018/credentials/v1"}),
            Reason.VC_CONTEXT_INVALID,
        ),
        (lambda c: c.update({"type": ["BusinessRegistrationCredential"]}), Reason.VC_TYPE_INVALID),
        (lambda c: c.update({"type": []}), Reason.VC_TYPE_INVALID),
        (lambda c: c.update({"issuer": "https://someone-else.example"}), Reason.VC_ISSUER_MISMATCH),
        (
            lambda c: c.update({"issuer": {"id": "https://someone-else.example"}}),
            Reason.VC_ISSUER_MISMATCH,
        ),
        (lambda c: c.update({"credentialSubject": "did:example:123"}), Reason.VC_MALFORMED),
        (lambda c: c["credentialSubject"].update({"id": "did:example:other"}), Reason.VC_MALFORMED),
        (lambda c: c.update({"id": "urn:uuid:other"}), Reason.VC_MALFORMED),
        (lambda c: c.update({"credentialStatus": {"id": "x"}}), Reason.VC_MALFORMED),
    ],
)
def test_jwt_vc_json_rejects_bad_vc(
    issuer: KeySigner, holder_did: str, edit: Any, reason: Reason
) -> None:
    token = issue_jwt_vc_json(_v1_credential(holder_did), signer=issuer, kid=None, now=NOW)
    payload = _payload(token)
    edit(payload["vc"])
    assert _reason_of(lambda: _verify_v1(_resign(token, issuer, payload=payload), issuer)) == reason


def test_jwt_vc_json_issue_refuses_bad_credential(issuer: KeySigner, holder_did: str) -> None:
    credential = _v1_credential(holder_did, type=["Foo"])
    with pytest.raises(PasserelleError) as info:
        issue_jwt_vc_json(credential, signer=issuer, kid=None, now=NOW)
    assert info.value.reason == Reason.VC_TYPE_INVALID
    assert info.value.fault == Fault.LOCAL


def test_jwt_vc_json_validity(issuer: KeySigner, holder_did: str) -> None:
    token = issue_jwt_vc_json(_v1_credential(holder_did), signer=issuer, kid=None, now=NOW)
    expired_at = datetime(2026, 1, 1, tzinfo=UTC) + SKEW
    assert _reason_of(lambda: _verify_v1(token, issuer, expired_at)) == Reason.CREDENTIAL_EXPIRED
    _verify_v1(token, issuer, expired_at - timedelta(seconds=1))
    before = datetime(2024, 12, 31, 23, 59, tzinfo=UTC)
    assert _reason_of(lambda: _verify_v1(token, issuer, before)) == Reason.CREDENTIAL_NOT_YET_VALID
    # Without exp/nbf claims, expirationDate still counts.
    payload = _payload(token)
    del payload["exp"]
    no_exp = _resign(token, issuer, payload=payload)
    assert _reason_of(lambda: _verify_v1(no_exp, issuer, expired_at)) == Reason.CREDENTIAL_EXPIRED


def test_jwt_vc_json_signature_and_header_attacks(issuer: KeySigner, holder_did: str) -> None:
    token = issue_jwt_vc_json(_v1_credential(holder_did), signer=issuer, kid=None, now=NOW)
    head, body, sig = token.split(".")
    tampered_body = b64url_encode(
        canonical_json({**_payload(token), "sub": "did:example:attacker"})
    )
    assert _reason_of(lambda: _verify_v1(f"{head}.{tampered_body}.{sig}", issuer)) == (
        Reason.JWS_INVALID_SIGNATURE
    )
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    assert _reason_of(lambda: _verify_v1(f"{head}.{body}.{flipped}", issuer)) == (
        Reason.JWS_INVALID_SIGNATURE
    )
    none_head = b64url_encode(canonical_json({"alg": "none", "typ": "JWT"}))
    assert _reason_of(lambda: _verify_v1(f"{none_head}.{body}.", issuer)) == (
        Reason.JWS_ALG_NOT_ALLOWED
    )
    assert _reason_of(lambda: _verify_v1(token, _signer())) == Reason.JWS_INVALID_SIGNATURE
    # A vc+jwt typed token is not a jwt_vc_json credential, even with a vc claim.
    retyped = _resign(token, issuer, header={"typ": "vc+jwt"})
    assert _reason_of(lambda: _verify_v1(retyped, issuer)) == Reason.JWS_TYP_MISMATCH


def test_jwt_vc_json_refuses_vc_jose_and_vp(
    issuer: KeySigner, holder: KeySigner, holder_did: str
) -> None:
    v2 = issue_vc_jose(_v2_credential(holder_did), signer=issuer, kid=None)
    assert _reason_of(lambda: _verify_v1(v2, issuer)) == Reason.JWS_TYP_MISMATCH
    v1 = issue_jwt_vc_json(_v1_credential(holder_did), signer=issuer, kid=None, now=NOW)
    vp = create_vp_jwt(
        [v1],
        holder=holder_did,
        signer=holder,
        audience=VERIFIER,
        nonce=NONCE,
        now=NOW,
        format="jwt_vc_json",
    )
    assert _reason_of(lambda: _verify_v1(vp, holder)) == Reason.VC_MALFORMED


# --- vc+jwt ----------------------------------------------------------------------------


def _verify_v2(token: str, signer: KeySigner, now: datetime = NOW) -> VerifiedW3cCredential:
    return verify_vc_jose(token, issuer_key=signer.public_key, algorithms=ALGS, now=now, skew=SKEW)


def test_vc_jose_round_trip(issuer: KeySigner, holder_did: str) -> None:
    credential = _v2_credential(
        holder_did,
        issuer={"id": "https://university.example/issuers/14", "name": "Example University"},
    )
    token = issue_vc_jose(credential, signer=issuer, kid="https://university.example/issuers/14#k")
    head = json.loads(b64url_decode(token.split(".")[0]))
    assert head == {
        "alg": "ES256",
        "typ": "vc+jwt",
        "cty": "vc",
        "kid": "https://university.example/issuers/14#k",
    }
    assert _payload(token) == credential
    verified = _verify_v2(token, issuer)
    assert verified.format == "vc+jwt"
    assert verified.issuer == "https://university.example/issuers/14"
    assert verified.subject_id == holder_did
    assert verified.types[0] == "VerifiableCredential"
    assert verified.valid_from == datetime(2010, 1, 1, 19, 23, 24, tzinfo=UTC)
    assert verified.valid_until == datetime(2030, 1, 1, 19, 23, 24, tzinfo=UTC)
    assert [s.id for s in verified.schemas] == ["https://example.org/examples/degree.json"]
    assert verified.credential == credential


def test_vc_jose_validity(issuer: KeySigner, holder_did: str) -> None:
    token = issue_vc_jose(_v2_credential(holder_did), signer=issuer, kid=None)
    assert _reason_of(lambda: _verify_v2(token, issuer, datetime(2030, 1, 2, tzinfo=UTC))) == (
        Reason.CREDENTIAL_EXPIRED
    )
    assert _reason_of(lambda: _verify_v2(token, issuer, datetime(2009, 1, 1, tzinfo=UTC))) == (
        Reason.CREDENTIAL_NOT_YET_VALID
    )
    # Offsets other than Z are honoured: 12:30+01:00 is 11:30Z, before NOW (12:00Z).
    offset = issue_vc_jose(
        _v2_credential(holder_did, validUntil="2025-06-01T12:30:00+01:00"), signer=issuer, kid=None
    )
    assert _reason_of(lambda: _verify_v2(offset, issuer)) == Reason.CREDENTIAL_EXPIRED
    # The JWT exp is the signature's lifetime: its failure is a jwt.* finding.
    payload = _payload(token)
    payload["exp"] = int((NOW - timedelta(hours=1)).timestamp())
    assert _reason_of(lambda: _verify_v2(_resign(token, issuer, payload=payload), issuer)) == (
        Reason.JWT_EXPIRED
    )


@pytest.mark.parametrize(
    ("edit", "reason"),
    [
        (
            lambda c: c.update({"@context": list(reversed(c["@context"]))}),
            Reason.VC_CONTEXT_INVALID,
        ),
        (
            lambda c: c.update({"@context": ["https://www.w3.org/2018/credentials/v1"]}),
            Reason.VC_CONTEXT_INVALID,
        ),
        (lambda c: c.update({"type": "ExampleDegreeCredential"}), Reason.VC_TYPE_INVALID),
        (lambda c: c.update({"iss": "https://evil.example"}), Reason.VC_ISSUER_MISMATCH),
        (lambda c: c.update({"issuer": {"name": "no id"}}), Reason.VC_MALFORMED),
        (lambda c: c.update({"vc": {}}), Reason.VC_MALFORMED),
        (lambda c: c.update({"validUntil": "2030-01-01"}), Reason.VC_MALFORMED),
        (lambda c: c.update({"validFrom": "2010-01-01T19:23:24"}), Reason.VC_MALFORMED),
    ],
)
def test_vc_jose_rejects_bad_credential(
    issuer: KeySigner, holder_did: str, edit: Any, reason: Reason
) -> None:
    token = issue_vc_jose(_v2_credential(holder_did), signer=issuer, kid=None)
    payload = _payload(token)
    edit(payload)
    assert _reason_of(lambda: _verify_v2(_resign(token, issuer, payload=payload), issuer)) == reason


def test_vc_jose_iss_matching_issuer_is_fine(issuer: KeySigner, holder_did: str) -> None:
    credential = _v2_credential(holder_did, issuer={"id": "https://university.example/issuers/14"})
    token = issue_vc_jose(
        {**credential, "iss": "https://university.example/issuers/14"}, signer=issuer, kid=None
    )
    assert _verify_v2(token, issuer).issuer == "https://university.example/issuers/14"


def test_vc_jose_typ_confusion(issuer: KeySigner, holder_did: str) -> None:
    token = issue_vc_jose(_v2_credential(holder_did), signer=issuer, kid=None)
    for header in ({"typ": "JWT"}, {}, {"typ": "vp+jwt"}, {"typ": "dc+sd-jwt"}):
        retyped = _resign(token, issuer, header=header)
        assert _reason_of(lambda t=retyped: _verify_v2(t, issuer)) == Reason.JWS_TYP_MISMATCH
    # A jwt_vc_json credential is refused too.
    v1 = issue_jwt_vc_json(_v1_credential(holder_did), signer=issuer, kid=None, now=NOW)
    assert _reason_of(lambda: _verify_v2(v1, issuer)) == Reason.JWS_TYP_MISMATCH
    # application/ prefix is the same media type (RFC 7515 §4.1.9).
    _verify_v2(_resign(token, issuer, header={"typ": "application/vc+jwt"}), issuer)


def test_vc_jose_signature_attacks(issuer: KeySigner, holder_did: str) -> None:
    token = issue_vc_jose(_v2_credential(holder_did), signer=issuer, kid=None)
    head, body, sig = token.split(".")
    forged = b64url_encode(canonical_json({**_payload(token), "issuer": "https://evil.example"}))
    assert _reason_of(lambda: _verify_v2(f"{head}.{forged}.{sig}", issuer)) == (
        Reason.JWS_INVALID_SIGNATURE
    )
    none_head = b64url_encode(canonical_json({"alg": "none", "typ": "vc+jwt"}))
    assert _reason_of(lambda: _verify_v2(f"{none_head}.{body}.", issuer)) == (
        Reason.JWS_ALG_NOT_ALLOWED
    )


def test_vc_jose_spec_example_without_typ_is_refused() -> None:
    # VC-JOSE-COSE §3.1.2 example: its enveloped credential has no typ header (and its key
    # is not published, so it cannot be verified anyway); we require typ vc+jwt.
    token = (
        "eyJraWQiOiJFeEhrQk1XOWZtYmt2VjI2Nm1ScHVQMnNVWV9OX0VXSU4xbGFwVXpPOHJvIiwiYWxnIjoiRVMzODQifQ"
        ".e30.AAAA"
    )
    key = ec.generate_private_key(ec.SECP384R1()).public_key()
    assert (
        _reason_of(
            lambda: verify_vc_jose(token, issuer_key=key, algorithms=("ES384",), now=NOW, skew=SKEW)
        )
        == Reason.JWS_TYP_MISMATCH
    )


# --- presentations ---------------------------------------------------------------------


def _v1_verifier(issuer: KeySigner) -> Any:
    return lambda token: _verify_v1(token, issuer)


def _v2_verifier(issuer: KeySigner) -> Any:
    return lambda token: _verify_v2(token, issuer)


def _verify_vp(
    token: str,
    issuer: KeySigner,
    *,
    fmt: Any = "jwt_vc_json",
    holder_key: PublicKey | Any = resolve_did_jwk_holder_key,
    audience: str = VERIFIER,
    nonce: str = NONCE,
) -> Any:
    verifier = _v1_verifier(issuer) if fmt == "jwt_vc_json" else _v2_verifier(issuer)
    return verify_vp_jwt(
        token,
        format=fmt,
        holder_key=holder_key,
        algorithms=ALGS,
        audience=audience,
        nonce=nonce,
        now=NOW,
        skew=SKEW,
        credential_verifier=verifier,
    )


@pytest.mark.parametrize("fmt", ["jwt_vc_json", "vc+jwt"])
def test_vp_round_trip(issuer: KeySigner, holder: KeySigner, holder_did: str, fmt: Any) -> None:
    if fmt == "jwt_vc_json":
        credential = issue_jwt_vc_json(_v1_credential(holder_did), signer=issuer, kid=None, now=NOW)
    else:
        credential = issue_vc_jose(_v2_credential(holder_did), signer=issuer, kid=None)
    vp = create_vp_jwt(
        [credential],
        holder=holder_did,
        signer=holder,
        audience=VERIFIER,
        nonce=NONCE,
        now=NOW,
        format=fmt,
        kid=did_jwk_key_id(holder_did),
    )
    verified = _verify_vp(vp, issuer, fmt=fmt)
    assert verified.holder == holder_did
    assert verified.nonce == NONCE
    assert verified.audience == VERIFIER
    assert len(verified.credentials) == 1
    assert verified.credentials[0].subject_id == holder_did
    assert verified.credentials[0].format == fmt
    if fmt == "vc+jwt":
        assert verified.header["typ"] == "vp+jwt"
        entry = verified.presentation["verifiableCredential"][0]  # type: ignore[index]
        assert entry["type"] == "EnvelopedVerifiableCredential"
        assert entry["id"] == "data:application/vc+jwt," + credential
    else:
        assert verified.claims["iss"] == holder_did
        assert verified.presentation["verifiableCredential"] == [credential]
    # A plain key works as well as a resolver; aud as an array is accepted.
    _verify_vp(vp, issuer, fmt=fmt, holder_key=holder.public_key)


@pytest.mark.parametrize("fmt", ["jwt_vc_json", "vc+jwt"])
def test_vp_negatives(issuer: KeySigner, holder: KeySigner, holder_did: str, fmt: Any) -> None:
    if fmt == "jwt_vc_json":
        mine = issue_jwt_vc_json(_v1_credential(holder_did), signer=issuer, kid=None, now=NOW)
        someone_else = issue_jwt_vc_json(
            _v1_credential("did:example:alice"), signer=issuer, kid=None, now=NOW
        )
    else:
        mine = issue_vc_jose(_v2_credential(holder_did), signer=issuer, kid=None)
        someone_else = issue_vc_jose(_v2_credential("did:example:alice"), signer=issuer, kid=None)

    def vp(creds: list[str], signer: KeySigner = holder, holder_id: str = holder_did) -> str:
        return create_vp_jwt(
            creds,
            holder=holder_id,
            signer=signer,
            audience=VERIFIER,
            nonce=NONCE,
            now=NOW,
            format=fmt,
        )

    good = vp([mine])
    assert _reason_of(lambda: _verify_vp(good, issuer, fmt=fmt, nonce="other")) == (
        Reason.VP_NONCE_MISMATCH
    )
    assert _reason_of(lambda: _verify_vp(good, issuer, fmt=fmt, audience="x509_hash:other")) == (
        Reason.VP_AUD_MISMATCH
    )
    # Holder is not the credential's subject.
    assert _reason_of(lambda: _verify_vp(vp([mine, someone_else]), issuer, fmt=fmt)) == (
        Reason.VC_HOLDER_MISMATCH
    )
    # Signed by a key that is not the holder's.
    stranger = _signer()
    assert _reason_of(lambda: _verify_vp(vp([mine], signer=stranger), issuer, fmt=fmt)) == (
        Reason.JWS_INVALID_SIGNATURE
    )
    # The stranger names itself as holder: the signature is right, the binding is not.
    stranger_did = did_jwk_from_key(stranger.public_key)
    assert (
        _reason_of(
            lambda: _verify_vp(vp([mine], signer=stranger, holder_id=stranger_did), issuer, fmt=fmt)
        )
        == Reason.VC_HOLDER_MISMATCH
    )
    # Tampered presentation signature.
    head, body, sig = good.split(".")
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    assert _reason_of(lambda: _verify_vp(f"{head}.{body}.{flipped}", issuer, fmt=fmt)) == (
        Reason.JWS_INVALID_SIGNATURE
    )
    # alg none, with the typ the format expects so that only alg is wrong.
    typ = "JWT" if fmt == "jwt_vc_json" else "vp+jwt"
    none_head = b64url_encode(canonical_json({"alg": "none", "typ": typ}))
    assert _reason_of(lambda: _verify_vp(f"{none_head}.{body}.", issuer, fmt=fmt)) == (
        Reason.JWS_ALG_NOT_ALLOWED
    )


def test_vp_format_confusion(issuer: KeySigner, holder: KeySigner, holder_did: str) -> None:
    v1 = issue_jwt_vc_json(_v1_credential(holder_did), signer=issuer, kid=None, now=NOW)
    v1_vp = create_vp_jwt(
        [v1],
        holder=holder_did,
        signer=holder,
        audience=VERIFIER,
        nonce=NONCE,
        now=NOW,
        format="jwt_vc_json",
    )
    assert _reason_of(lambda: _verify_vp(v1_vp, issuer, fmt="vc+jwt")) == Reason.JWS_TYP_MISMATCH
    v2 = issue_vc_jose(_v2_credential(holder_did), signer=issuer, kid=None)
    v2_vp = create_vp_jwt(
        [v2],
        holder=holder_did,
        signer=holder,
        audience=VERIFIER,
        nonce=NONCE,
        now=NOW,
        format="vc+jwt",
    )
    assert _reason_of(lambda: _verify_vp(v2_vp, issuer, fmt="jwt_vc_json")) == (
        Reason.JWS_TYP_MISMATCH
    )
    # A vc+jwt credential smuggled into a jwt_vc_json presentation (not homogeneous).
    mixed = create_vp_jwt(
        [v2],
        holder=holder_did,
        signer=holder,
        audience=VERIFIER,
        nonce=NONCE,
        now=NOW,
        format="jwt_vc_json",
    )
    any_verifier = lambda token: _verify_v2(token, issuer)  # noqa: E731
    with pytest.raises(PasserelleError) as info:
        verify_vp_jwt(
            mixed,
            format="jwt_vc_json",
            holder_key=holder.public_key,
            algorithms=ALGS,
            audience=VERIFIER,
            nonce=NONCE,
            now=NOW,
            skew=SKEW,
            credential_verifier=any_verifier,
        )
    assert info.value.reason == Reason.VP_MALFORMED


def test_vp_envelope_must_be_vc_jwt_data_url(
    issuer: KeySigner, holder: KeySigner, holder_did: str
) -> None:
    v2 = issue_vc_jose(_v2_credential(holder_did), signer=issuer, kid=None)
    vp = create_vp_jwt(
        [v2],
        holder=holder_did,
        signer=holder,
        audience=VERIFIER,
        nonce=NONCE,
        now=NOW,
        format="vc+jwt",
    )
    payload = _payload(vp)
    payload["verifiableCredential"][0]["id"] = "data:application/vc+sd-jwt," + v2
    bad = _resign(vp, holder, payload=payload)
    assert _reason_of(lambda: _verify_vp(bad, issuer, fmt="vc+jwt")) == Reason.VP_MALFORMED


def test_vp_cnf_binding(issuer: KeySigner, holder: KeySigner, holder_did: str) -> None:
    token = issue_jwt_vc_json(
        _v1_credential(holder_did),
        signer=issuer,
        kid=None,
        now=NOW,
        confirmation_jwk=public_jwk(holder.public_key),
    )
    assert _verify_v1(token, issuer).confirmation_jwk == public_jwk(holder.public_key)
    vp = create_vp_jwt(
        [token],
        holder=holder_did,
        signer=holder,
        audience=VERIFIER,
        nonce=NONCE,
        now=NOW,
        format="jwt_vc_json",
    )
    _verify_vp(vp, issuer)
    # cnf names another key than the one that signed the presentation.
    other = _signer()
    bound_elsewhere = issue_jwt_vc_json(
        _v1_credential(holder_did),
        signer=issuer,
        kid=None,
        now=NOW,
        confirmation_jwk=public_jwk(other.public_key),
    )
    vp2 = create_vp_jwt(
        [bound_elsewhere],
        holder=holder_did,
        signer=holder,
        audience=VERIFIER,
        nonce=NONCE,
        now=NOW,
        format="jwt_vc_json",
    )
    assert _reason_of(lambda: _verify_vp(vp2, issuer)) == Reason.VC_HOLDER_MISMATCH


def test_vp_expired_token(issuer: KeySigner, holder: KeySigner, holder_did: str) -> None:
    token = issue_jwt_vc_json(_v1_credential(holder_did), signer=issuer, kid=None, now=NOW)
    vp = create_vp_jwt(
        [token],
        holder=holder_did,
        signer=holder,
        audience=VERIFIER,
        nonce=NONCE,
        now=NOW - timedelta(hours=2),
        format="jwt_vc_json",
        expires_at=NOW - timedelta(hours=1),
    )
    assert _reason_of(lambda: _verify_vp(vp, issuer)) == Reason.JWT_EXPIRED


# --- credentialSchema ------------------------------------------------------------------

DEGREE_SCHEMA: JsonObject = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://example.org/examples/degree.json",
    "type": "object",
    "required": ["credentialSubject"],
    "properties": {
        "credentialSubject": {
            "type": "object",
            "required": ["degree"],
            "properties": {
                "degree": {"$ref": "#/$defs/degree"},
            },
        }
    },
    "$defs": {
        "degree": {
            "type": "object",
            "required": ["type", "name"],
            "properties": {"name": {"type": "string", "minLength": 1}},
        }
    },
}


def test_schema_check_passes_and_fails(holder_did: str) -> None:
    schemas = {"https://example.org/examples/degree.json": DEGREE_SCHEMA}
    credential = _v2_credential(holder_did)
    assert check_credential_schema(credential, schemas=schemas) == (
        "https://example.org/examples/degree.json",
    )
    broken = _v2_credential(holder_did)
    broken["credentialSubject"]["degree"] = {"type": "ExampleBachelorDegree"}  # type: ignore[index]
    with pytest.raises(PasserelleError) as info:
        check_credential_schema(broken, schemas=schemas)
    assert info.value.reason == Reason.SCHEMA_VIOLATION


def test_schema_check_unknown_and_invalid(holder_did: str) -> None:
    credential = _v2_credential(holder_did)
    assert _reason_of(lambda: check_credential_schema(credential, schemas={})) == (
        Reason.SCHEMA_UNKNOWN
    )
    other_type = _v2_credential(
        holder_did,
        credentialSchema={
            "id": "https://example.org/examples/degree.json",
            "type": "JsonSchemaCredential",
        },
    )
    assert (
        _reason_of(
            lambda: check_credential_schema(
                other_type, schemas={"https://example.org/examples/degree.json": DEGREE_SCHEMA}
            )
        )
        == Reason.SCHEMA_UNKNOWN
    )
    invalid = {"https://example.org/examples/degree.json": {"type": 12}}
    assert _reason_of(lambda: check_credential_schema(credential, schemas=invalid)) == (
        Reason.SCHEMA_INVALID
    )
    # A $ref outside the given schemas is never fetched.
    remote = {
        "https://example.org/examples/degree.json": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$ref": "https://schemas.example.net/elsewhere.json",
        }
    }
    assert _reason_of(lambda: check_credential_schema(credential, schemas=remote)) == (
        Reason.SCHEMA_UNKNOWN
    )
    # No credentialSchema: nothing to apply.
    assert check_credential_schema(_v1_credential(holder_did), schemas={}) == ()


@pytest.mark.parametrize("fmt", ["jwt_vc_json", "vc+jwt"])
def test_an_old_presentation_is_refused(
    issuer: KeySigner, holder: KeySigner, holder_did: str, fmt: Any
) -> None:
    if fmt == "jwt_vc_json":
        credential = issue_jwt_vc_json(_v1_credential(holder_did), signer=issuer, kid=None, now=NOW)
    else:
        credential = issue_vc_jose(_v2_credential(holder_did), signer=issuer, kid=None)
    old = create_vp_jwt(
        [credential],
        holder=holder_did,
        signer=holder,
        audience=VERIFIER,
        nonce=NONCE,
        now=NOW - timedelta(hours=1),
        format=fmt,
        kid=did_jwk_key_id(holder_did),
    )
    assert _reason_of(lambda: _verify_vp(old, issuer, fmt=fmt)) is Reason.VP_IAT_OUT_OF_WINDOW
