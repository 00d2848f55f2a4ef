"""OpenID4VCI 1.0 pieces HAIP asks for: key attestations (Appendix D, F.1
``key_attestation``, F.3 ``attestation``) and encrypted Credential Responses (§8.2,
§10), with every refusal's reason code and wire error."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from passerelle._errors import PasserelleError, Reason
from passerelle._json import JsonObject, b64url_decode, parse_json_object
from passerelle.jose import KeySigner, decode_unverified_jws, private_jwk, sign_jws
from passerelle.oid4vci import (
    CredentialResponseEncryption,
    KeyAttestationPolicy,
    build_credential_response_encryption_metadata,
    create_credential_response_encryption,
    create_jwt_proof,
    create_key_attestation,
    decrypt_credential_request,
    decrypt_credential_response,
    encrypt_credential_request,
    encrypt_credential_response,
    parse_credential_response_encryption,
    verify_attestation_proof,
    verify_jwt_proof,
    verify_key_attestation,
)
from passerelle.x509 import encode_x5c
from tests.fuzzing import FUZZ as SHARED_FUZZ
from tests.unit.haip_world import (
    ALGS,
    AS_ISSUER,
    CLIENT_ID,
    MAX_AGE,
    NOW,
    SKEW,
    jwk_of,
    make_provider,
    p256,
)

PROVIDER = make_provider()
HOLDER = p256()
SECOND = p256()
C_NONCE = "c-nonce-1"
POLICY = KeyAttestationPolicy(anchors=(PROVIDER.root,), required=True)
NOW_S = int(NOW.timestamp())


def key_attestation(**overrides: object) -> str:
    options: dict[str, object] = {
        "signer": PROVIDER.signer,
        "x5c": PROVIDER.x5c,
        "attested_keys": [jwk_of(HOLDER), jwk_of(SECOND)],
        "now": NOW,
        "expires_at": NOW + timedelta(days=1),
        "nonce": C_NONCE,
        "key_storage": ["iso_18045_moderate"],
        "user_authentication": ["iso_18045_moderate"],
    }
    options.update(overrides)
    return create_key_attestation(**options)  # type: ignore[arg-type]


def raw_attestation(claims: JsonObject, header: JsonObject | None = None) -> str:
    base: JsonObject = {"typ": "key-attestation+jwt", "x5c": PROVIDER.x5c}
    return sign_jws({**base, **(header or {})}, claims, PROVIDER.signer)


def good_claims(**overrides: object) -> JsonObject:
    claims: JsonObject = {
        "iat": NOW_S,
        "exp": NOW_S + 3600,
        "attested_keys": [jwk_of(HOLDER)],
        "nonce": C_NONCE,
    }
    claims.update(overrides)  # type: ignore[arg-type]
    return claims


def verify(token: str, **overrides: object) -> object:
    options: dict[str, object] = {
        "policy": POLICY,
        "algorithms": ALGS,
        "now": NOW,
        "skew": SKEW,
        "expected_nonce": C_NONCE,
        "require_exp": True,
    }
    options.update(overrides)
    return verify_key_attestation(token, **options)  # type: ignore[arg-type]


def refused(token: str, **overrides: object) -> PasserelleError:
    with pytest.raises(PasserelleError) as info:
        verify(token, **overrides)
    return info.value


def test_key_attestation_round_trip() -> None:
    verified = verify(key_attestation())
    assert verified.attests(HOLDER.public_key())  # type: ignore[attr-defined]
    assert verified.attests(SECOND.public_key())  # type: ignore[attr-defined]
    assert not verified.attests(p256().public_key())  # type: ignore[attr-defined]
    assert verified.key_storage == ("iso_18045_moderate",)  # type: ignore[attr-defined]
    header = decode_unverified_jws(key_attestation()).header
    assert header["typ"] == "key-attestation+jwt"


def test_invalid_signature() -> None:
    forged = sign_jws(
        {"typ": "key-attestation+jwt", "x5c": PROVIDER.x5c}, good_claims(), KeySigner(p256())
    )
    exc = refused(forged)
    assert exc.reason is Reason.KEY_ATTESTATION_SIGNATURE_INVALID
    assert exc.wire_error == "invalid_proof"


def test_untrusted_or_badly_chained() -> None:
    rogue = make_provider(name="Rogue")
    assert (
        refused(key_attestation(signer=rogue.signer, x5c=rogue.x5c)).reason
        is Reason.KEY_ATTESTATION_UNTRUSTED
    )
    with_anchor = key_attestation(x5c=encode_x5c([PROVIDER.cert, PROVIDER.root]))
    assert refused(with_anchor).reason is Reason.KEY_ATTESTATION_UNTRUSTED
    no_x5c = sign_jws({"typ": "key-attestation+jwt"}, good_claims(), PROVIDER.signer)
    assert refused(no_x5c).reason is Reason.KEY_ATTESTATION_UNTRUSTED


def test_times_nonce_and_shape() -> None:
    assert refused(raw_attestation(good_claims(exp=NOW_S - 3600))).reason is (
        Reason.KEY_ATTESTATION_EXPIRED
    )
    claims = good_claims()
    del claims["exp"]
    assert refused(raw_attestation(claims)).reason is Reason.KEY_ATTESTATION_MALFORMED
    verify(raw_attestation(claims), require_exp=False)
    exc = refused(raw_attestation(good_claims(nonce="other")))
    assert exc.reason is Reason.KEY_ATTESTATION_NONCE_MISMATCH
    assert exc.wire_error == "invalid_nonce"
    for bad in ([], "x", [{"kty": "EC"}], [private_jwk(HOLDER)]):
        assert refused(raw_attestation(good_claims(attested_keys=bad))).reason is (
            Reason.KEY_ATTESTATION_MALFORMED
        )
    assert refused(raw_attestation(good_claims(), {"typ": "JWT"})).reason is (
        Reason.KEY_ATTESTATION_MALFORMED
    )
    # The pre-1.0 typ, still written by @openid4vc/openid4vci 0.4.6, is accepted.
    verify(raw_attestation(good_claims(), {"typ": "keyattestation+jwt"}))


def test_requirements_from_metadata() -> None:
    policy = KeyAttestationPolicy.from_metadata(
        {"key_attestations_required": {"key_storage": ["iso_18045_high"]}},
        anchors=[PROVIDER.root],
    )
    assert policy.required
    exc = refused(key_attestation(), policy=policy)
    assert exc.reason is Reason.KEY_ATTESTATION_REQUIREMENT_UNMET
    ok = key_attestation(key_storage=["iso_18045_high"])
    verify(ok, policy=policy)
    empty = KeyAttestationPolicy.from_metadata(
        {"key_attestations_required": {}}, anchors=[PROVIDER.root]
    )
    assert empty.required
    assert not KeyAttestationPolicy.from_metadata({}, anchors=[PROVIDER.root]).required


def test_attestation_proof_type() -> None:
    proof = key_attestation(expires_at=None)
    verified = verify_attestation_proof(
        proof, policy=POLICY, algorithms=ALGS, now=NOW, skew=SKEW, expected_nonce=C_NONCE
    )
    assert len(verified.attested_keys) == 2
    with pytest.raises(PasserelleError) as info:
        verify_attestation_proof(
            key_attestation(nonce=None),
            policy=POLICY,
            algorithms=ALGS,
            now=NOW,
            skew=SKEW,
            expected_nonce=C_NONCE,
        )
    assert info.value.reason is Reason.KEY_ATTESTATION_NONCE_MISMATCH


def jwt_proof(*, key: object = HOLDER, attestation: str | None) -> str:
    token = create_jwt_proof(
        signer=KeySigner(key),  # type: ignore[arg-type]
        holder_jwk=jwk_of(key),  # type: ignore[arg-type]
        audience=AS_ISSUER,
        nonce=C_NONCE,
        now=NOW,
        client_id=CLIENT_ID,
    )
    if attestation is None:
        return token
    jws = decode_unverified_jws(token)
    header = {k: v for k, v in jws.header.items() if k != "alg"}
    return sign_jws({**header, "key_attestation": attestation}, jws.payload_json(), KeySigner(key))  # type: ignore[arg-type]


def check_proof(token: str, policy: KeyAttestationPolicy | None = POLICY) -> object:
    return verify_jwt_proof(
        token,
        audience=AS_ISSUER,
        expected_nonce=C_NONCE,
        algorithms=ALGS,
        now=NOW,
        max_age=MAX_AGE,
        skew=SKEW,
        client_id=CLIENT_ID,
        key_attestation=policy,
    )


def test_jwt_proof_with_key_attestation() -> None:
    verified = check_proof(jwt_proof(attestation=key_attestation()))
    assert verified.key_attestation is not None  # type: ignore[attr-defined]
    assert verified.key_attestation.attests(HOLDER.public_key())  # type: ignore[attr-defined]


def test_jwt_proof_key_must_be_attested() -> None:
    stranger = p256()
    with pytest.raises(PasserelleError) as info:
        check_proof(jwt_proof(key=stranger, attestation=key_attestation()))
    assert info.value.reason is Reason.KEY_ATTESTATION_KEY_NOT_ATTESTED
    assert info.value.wire_error == "invalid_proof"


def test_jwt_proof_attestation_required_or_bad() -> None:
    with pytest.raises(PasserelleError) as info:
        check_proof(jwt_proof(attestation=None))
    assert info.value.reason is Reason.KEY_ATTESTATION_MISSING
    assert info.value.wire_error == "invalid_proof"
    with pytest.raises(PasserelleError) as info:
        check_proof(jwt_proof(attestation=key_attestation(nonce="stale")))
    assert info.value.reason is Reason.KEY_ATTESTATION_NONCE_MISMATCH
    assert info.value.wire_error == "invalid_nonce"
    forged = sign_jws(
        {"typ": "key-attestation+jwt", "x5c": PROVIDER.x5c}, good_claims(), KeySigner(p256())
    )
    with pytest.raises(PasserelleError) as info:
        check_proof(jwt_proof(attestation=forged))
    assert info.value.reason is Reason.KEY_ATTESTATION_SIGNATURE_INVALID
    # Without a policy the header is left aside and the proof is judged as before.
    assert check_proof(jwt_proof(attestation=forged), policy=None).key_attestation is None  # type: ignore[attr-defined]
    optional = KeyAttestationPolicy(anchors=(PROVIDER.root,), required=False)
    assert check_proof(jwt_proof(attestation=None), policy=optional).key_attestation is None  # type: ignore[attr-defined]


# --- encrypted credential responses ------------------------------------------------------

WALLET_ENC = p256()
METADATA = build_credential_response_encryption_metadata(
    zip_values=["DEF"], encryption_required=False
)


def request_member(**overrides: object) -> JsonObject:
    member = create_credential_response_encryption(
        WALLET_ENC.public_key(), enc="A256GCM", kid="wallet-enc-1"
    )
    member.update(overrides)  # type: ignore[arg-type]
    return member


def parse(body: JsonObject, **overrides: object) -> CredentialResponseEncryption | None:
    options: dict[str, object] = {
        "metadata": METADATA,
        "request_was_encrypted": True,
        "require_encrypted_request": True,
    }
    options.update(overrides)
    return parse_credential_response_encryption(body, **options)  # type: ignore[arg-type]


def test_encrypted_response_round_trip() -> None:
    params = parse({"credential_response_encryption": request_member(zip="DEF")})
    assert params is not None
    assert params.zip == "DEF"
    response: JsonObject = {"credentials": [{"credential": "eyJ..."}], "notification_id": "n"}
    token = encrypt_credential_response(response, params)
    assert token.count(".") == 4
    header = parse_json_object(b64url_decode(token.split(".")[0]))
    assert header["kid"] == "wallet-enc-1"
    assert header["alg"] == "ECDH-ES"
    assert header["enc"] == "A256GCM"
    assert decrypt_credential_response(token, private_key=WALLET_ENC, requested=params) == response


def test_wallet_refuses_a_response_not_as_asked() -> None:
    asked = parse({"credential_response_encryption": request_member()})
    assert asked is not None
    other = CredentialResponseEncryption(jwk=asked.jwk, alg="ECDH-ES", enc="A128GCM")
    token = encrypt_credential_response({"a": 1}, other)
    with pytest.raises(PasserelleError) as info:
        decrypt_credential_response(token, private_key=WALLET_ENC, requested=asked)
    assert info.value.reason is Reason.OID4VCI_RESPONSE_DECRYPTION_FAILED
    good = encrypt_credential_response({"a": 1}, asked)
    with pytest.raises(PasserelleError) as info:
        decrypt_credential_response(good, private_key=p256(), requested=asked)
    assert info.value.reason is Reason.OID4VCI_RESPONSE_DECRYPTION_FAILED


@pytest.mark.parametrize(
    "member",
    [
        {"enc": "A256GCM"},
        {"jwk": "x", "enc": "A256GCM"},
        {"jwk": {"kty": "EC", "crv": "P-256"}, "enc": "A256GCM"},
    ],
)
def test_malformed_parameters(member: JsonObject) -> None:
    with pytest.raises(PasserelleError) as info:
        parse({"credential_response_encryption": member})
    assert info.value.reason is Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID
    assert info.value.wire_error == "invalid_encryption_parameters"


@pytest.mark.parametrize(
    "change",
    [
        {"enc": "A128CBC-HS256"},
        {"enc": "XYZ"},
        {"zip": "GZIP"},
        {"alg": "RSA-OAEP-256"},
    ],
)
def test_unsupported_algorithm(change: JsonObject) -> None:
    member = request_member()
    if "alg" in change:
        member["jwk"] = {**member["jwk"], "alg": change["alg"]}  # type: ignore[dict-item]
    else:
        member.update(change)
    with pytest.raises(PasserelleError) as info:
        parse({"credential_response_encryption": member})
    assert info.value.reason is Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID
    assert info.value.wire_error == "invalid_encryption_parameters"


def test_zip_only_when_offered_and_other_curves_refused() -> None:
    plain_metadata = build_credential_response_encryption_metadata(encryption_required=False)
    with pytest.raises(PasserelleError) as info:
        parse(
            {"credential_response_encryption": request_member(zip="DEF")}, metadata=plain_metadata
        )
    assert info.value.wire_error == "invalid_encryption_parameters"
    from cryptography.hazmat.primitives.asymmetric import ec

    p384 = ec.generate_private_key(ec.SECP384R1())
    member = request_member(jwk={**jwk_of(p384), "alg": "ECDH-ES"})  # type: ignore[arg-type]
    with pytest.raises(PasserelleError) as info:
        parse({"credential_response_encryption": member})
    assert info.value.reason is Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID


def test_legacy_alg_beside_the_jwk() -> None:
    member = request_member()
    jwk = {k: v for k, v in member["jwk"].items() if k != "alg"}  # type: ignore[union-attr]
    params = parse({"credential_response_encryption": {**member, "jwk": jwk, "alg": "ECDH-ES"}})
    assert params is not None
    assert params.alg == "ECDH-ES"
    with pytest.raises(PasserelleError) as info:
        parse({"credential_response_encryption": {**member, "alg": "ECDH-ES+A128KW"}})
    assert info.value.reason is Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID


def test_issuer_support_and_requirement() -> None:
    assert parse({}) is None
    with pytest.raises(PasserelleError) as info:
        parse({"credential_response_encryption": request_member()}, metadata=None)
    assert info.value.wire_error == "invalid_encryption_parameters"
    required = build_credential_response_encryption_metadata(encryption_required=True)
    with pytest.raises(PasserelleError) as info:
        parse({}, metadata=required)
    assert info.value.reason is Reason.OID4VCI_ENCRYPTION_REQUIRED
    assert info.value.wire_error == "invalid_encryption_parameters"
    # §8.2: "Credential Request encryption MUST be used if the credential_response_encryption
    # parameter is included" - enforced when the caller asks for it.
    with pytest.raises(PasserelleError) as info:
        parse({"credential_response_encryption": request_member()}, request_was_encrypted=False)
    assert info.value.reason is Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID
    assert parse(
        {"credential_response_encryption": request_member()},
        request_was_encrypted=False,
        require_encrypted_request=False,
    )
    with pytest.raises(PasserelleError):
        build_credential_response_encryption_metadata(
            alg_values=["RSA1_5"], encryption_required=False
        )


def test_encrypted_request_round_trip() -> None:
    issuer_key = p256()
    jwks: JsonObject = {"keys": [{**jwk_of(issuer_key), "alg": "ECDH-ES", "kid": "iss-enc"}]}
    body: JsonObject = {"credential_configuration_id": "pid", "proofs": {"jwt": ["x"]}}
    token = encrypt_credential_request(body, issuer_jwks=jwks, enc="A128GCM")
    assert (
        decrypt_credential_request(
            token, private_keys={"iss-enc": issuer_key}, enc_values=["A128GCM"]
        )
        == body
    )
    with pytest.raises(PasserelleError) as info:
        decrypt_credential_request(
            token, private_keys={"iss-enc": issuer_key}, enc_values=["A256GCM"]
        )
    assert info.value.wire_error == "invalid_encryption_parameters"
    with pytest.raises(PasserelleError) as info:
        decrypt_credential_request(
            token, private_keys={"other": issuer_key}, enc_values=["A128GCM"]
        )
    assert info.value.reason is Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID


# The shared profile (derandomized under CI), with this module's own floor of examples.
FUZZ = settings(SHARED_FUZZ, max_examples=max(120, SHARED_FUZZ.max_examples))
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=200)
VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    TEXT,
    st.lists(TEXT, max_size=2),
    st.dictionaries(TEXT, TEXT, max_size=3),
)


@FUZZ
@given(TEXT)
def test_fuzz_key_attestation_token(token: str) -> None:
    with contextlib.suppress(PasserelleError):
        verify(token)
    with contextlib.suppress(PasserelleError):
        decrypt_credential_response(
            token,
            private_key=WALLET_ENC,
            requested=CredentialResponseEncryption(
                jwk=jwk_of(WALLET_ENC), alg="ECDH-ES", enc="A128GCM"
            ),
        )
    with contextlib.suppress(PasserelleError):
        decrypt_credential_request(token, private_keys={"k": WALLET_ENC}, enc_values=["A128GCM"])


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(
            ["iat", "exp", "nbf", "attested_keys", "key_storage", "user_authentication", "nonce"]
        ),
        VALUES,
    )
)
def test_fuzz_key_attestation_claims(claims: JsonObject) -> None:
    with contextlib.suppress(PasserelleError):
        verify(raw_attestation(claims))


@FUZZ
@given(
    st.one_of(
        VALUES,
        st.dictionaries(st.sampled_from(["jwk", "enc", "zip", "alg"]), VALUES),
    )
)
def test_fuzz_encryption_parameters(member: object) -> None:
    with contextlib.suppress(PasserelleError):
        parse({"credential_response_encryption": member})  # type: ignore[dict-item]


# --- the credential request parser's hooks -------------------------------------------------

CONFIGS: dict[str, JsonObject] = {
    "pid": {
        "format": "dc+sd-jwt",
        "vct": "urn:eudi:pid:1",
        "cryptographic_binding_methods_supported": ["jwk"],
        "proof_types_supported": {
            "jwt": {"proof_signing_alg_values_supported": ["ES256"]},
            "attestation": {"proof_signing_alg_values_supported": ["ES256"]},
        },
    }
}


def test_credential_request_hooks() -> None:
    from passerelle.oid4vci import parse_credential_request, parse_deferred_request

    body: JsonObject = {
        "credential_configuration_id": "pid",
        "proofs": {"attestation": [key_attestation()]},
        "credential_response_encryption": request_member(),
    }
    with pytest.raises(PasserelleError) as info:
        parse_credential_request(body, metadata_configurations=CONFIGS, authorized=["pid"])
    assert info.value.reason is Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID
    without_encryption = {k: v for k, v in body.items() if k != "credential_response_encryption"}
    with pytest.raises(PasserelleError) as info:
        parse_credential_request(
            without_encryption, metadata_configurations=CONFIGS, authorized=["pid"]
        )
    assert info.value.reason is Reason.OID4VCI_PROOF_TYPE_UNSUPPORTED
    parsed = parse_credential_request(
        body,
        metadata_configurations=CONFIGS,
        authorized=["pid"],
        proof_types={"jwt", "attestation"},
        accept_response_encryption=True,
    )
    assert parsed.proof_type == "attestation"
    assert parse(dict(parsed.extra)) is not None
    two: JsonObject = {**body, "proofs": {"attestation": [key_attestation(), key_attestation()]}}
    with pytest.raises(PasserelleError) as info:
        parse_credential_request(
            two,
            metadata_configurations=CONFIGS,
            authorized=["pid"],
            batch_size=5,
            proof_types={"jwt", "attestation"},
            accept_response_encryption=True,
        )
    assert info.value.reason is Reason.OID4VCI_PROOFS_MALFORMED
    deferred: JsonObject = {
        "transaction_id": "t",
        "credential_response_encryption": request_member(),
    }
    with pytest.raises(PasserelleError):
        parse_deferred_request(deferred)
    assert (
        "credential_response_encryption"
        in parse_deferred_request(deferred, accept_response_encryption=True).extra
    )
