"""passerelle.oid4vp: OpenID4VP 1.0 final requests, Request Objects, responses, HAIP.

Vectors are the spec's examples (openid/OpenID4VP, tag 1.0-final); negatives follow
the OpenID Foundation wallet test plan and each asserts reason and wire error.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from itertools import count
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import PasserelleError, Reason
from passerelle.jose import KeySigner, load_private_jwk, public_jwk, sign_jws
from passerelle.oid4vp import (
    HAIP_PROFILE,
    HAIP_SCHEME,
    OPENID4VP_SCHEME,
    AuthorizationError,
    AuthorizationRequest,
    AuthorizationResponse,
    ClientIdPrefix,
    ClientMetadata,
    PresentationEvent,
    PresentationState,
    RequestUriMethod,
    ResponseMode,
    StaticDidResolver,
    advance,
    authorization_request_url,
    authorization_request_value_url,
    build_vp_token,
    check_profile,
    create_request_object,
    decrypt_response,
    direct_post_form,
    direct_post_jwt_form,
    encrypt_response,
    encryption_jwk,
    error_response_form,
    key_binding_check_for,
    parse_authorization_request,
    parse_authorization_request_url,
    parse_authorization_response,
    parse_client_id,
    parse_request_reference,
    request_to_params,
    verify_request_object,
)
from passerelle.x509 import (
    LeafUsage,
    build_ca_certificate,
    build_leaf_certificate,
    build_name,
    encode_x5c,
    x509_hash,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
SKEW = timedelta(seconds=30)
_serials = count(7000)

# OpenID4VP 1.0 §6 example DCQL query (examples/query_lang/simple.json).
SIMPLE_DCQL: dict[str, Any] = {
    "credentials": [
        {
            "id": "my_credential",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://credentials.example.com/identity_credential"]},
            "claims": [
                {"path": ["last_name"]},
                {"path": ["first_name"]},
                {"path": ["address", "street_address"]},
            ],
        }
    ]
}

# §5.10.1 example Request Object payload (request_uri_method=post), with the DCQL
# query of §6 in place of "{...}".
SPEC_REQUEST_OBJECT_X509_SAN_DNS: dict[str, Any] = {
    "client_id": "x509_san_dns:client.example.org",
    "response_uri": "https://client.example.org/post",
    "response_type": "vp_token",
    "response_mode": "direct_post",
    "dcql_query": SIMPLE_DCQL,
    "nonce": "n-0S6_WzA2Mj",
    "wallet_nonce": "qPmxiNFCR3QTm19POc8u",
    "state": "eyJhb...6-sVA",
}

# §8.2 example Request Object payload with Response Mode direct_post.
SPEC_REQUEST_REDIRECT_URI: dict[str, Any] = {
    "client_id": "redirect_uri:https://client.example.org/post",
    "response_uri": "https://client.example.org/post",
    "response_type": "vp_token",
    "response_mode": "direct_post",
    "dcql_query": SIMPLE_DCQL,
    "nonce": "n-0S6_WzA2Mj",
    "state": "eyJhb...6-sVA",
}

# §8.3 example: an encrypted response, and the Verifier key that opens it.
SPEC_JWE_PRIVATE_JWK: dict[str, Any] = {
    "kty": "EC",
    "crv": "P-256",
    "x": "YO4epjifD-KWeq1sL2tNmm36BhXnkJ0He-WqMYrp9Fk",
    "y": "Hekpm0zfK7C-YccH5iBjcIXgf6YdUvNUac_0At55Okk",
    "d": "Et-3ce0omz8_TuZ96Df9lp0GAaaDoUnDe6X-CRO7Aww",
}
SPEC_JWE = (
    "eyJhbGciOiJFQ0RILUVTIiwiZW5jIjoiQTEyOEdDTSIsImtpZCI6ImFjIiwiZXBrIjp7Imt"
    "0eSI6IkVDIiwieCI6Im5ubVZwbTNWM2piaGNhZlFhUkJrU1ZOSGx3Wkh3dC05ck9wSnVmeVlJdWsiLCJ5I"
    "joicjRmakRxd0p5czlxVU9QLV9iM21SNVNaRy0tQ3dPMm1pYzVWU05UWU45ZyIsImNydiI6IlAtMjU2In1"
    "9..uAYcHRUSSn2X0WPX.yVzlGSYG4qbg0bq18JcUiDRw56yVnbKR8E7S7YlEtzT00RqE3Pw5oTpUG3hdLN"
    "4taHZ9gC1kwak8JOnJgQ.1wR024_3-qtAlx1oFIUpQQ"
)


def raises(reason: Reason, wire: str | None) -> Any:
    """Context manager asserting the reason and the wire error of a PasserelleError."""

    class _Check:
        def __enter__(self) -> None:
            return None

        def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
            assert isinstance(exc, PasserelleError), f"expected {reason}, got {exc!r}"
            assert exc.reason is reason, exc
            assert exc.wire_error == wire, exc
            return True

    return _Check()


@dataclass(frozen=True)
class Pki:
    root: x509.Certificate
    leaf_key: ec.EllipticCurvePrivateKey
    leaf: x509.Certificate

    @property
    def x5c(self) -> list[str]:
        return encode_x5c([self.leaf])


def make_pki(dns_names: tuple[str, ...] = ("client.example.org",)) -> Pki:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = build_ca_certificate(
        subject=build_name(common_name="Verifier Root"),
        key=root_key,
        not_before=NOW - timedelta(days=30),
        not_after=NOW + timedelta(days=365),
        serial=next(_serials),
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = build_leaf_certificate(
        subject=build_name(common_name="Verifier"),
        public_key=leaf_key.public_key(),
        issuer_cert=root,
        issuer_key=root_key,
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(days=90),
        serial=next(_serials),
        usage=LeafUsage.ACCESS,
        dns_names=dns_names,
    )
    return Pki(root=root, leaf_key=leaf_key, leaf=leaf)


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


@pytest.fixture(scope="module")
def enc_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def request_for(client_id: str, **changes: Any) -> AuthorizationRequest:
    base = AuthorizationRequest(
        client_id=client_id,
        response_mode=ResponseMode.DIRECT_POST,
        response_uri="https://client.example.org/post",
        nonce="n-0S6_WzA2Mj",
        state="st-1",
        dcql_query=SIMPLE_DCQL,
    )
    return replace(base, **changes)


def verify(token: str, pki: Pki, **overrides: Any) -> Any:
    options: dict[str, Any] = {
        "client_id_from_url": None,
        "anchors": [pki.root],
        "did_resolver": None,
        "now": NOW,
        "skew": SKEW,
        "wallet_nonce": None,
    }
    options.update(overrides)
    return verify_request_object(token, **options)


# --- spec examples parse -------------------------------------------------------------


def test_spec_request_object_x509_san_dns_parses() -> None:
    request = parse_authorization_request(
        SPEC_REQUEST_OBJECT_X509_SAN_DNS, from_request_object=True
    )
    assert request.client_id == "x509_san_dns:client.example.org"
    assert request.response_mode is ResponseMode.DIRECT_POST
    assert request.response_uri == "https://client.example.org/post"
    assert request.wallet_nonce == "qPmxiNFCR3QTm19POc8u"
    assert request.state == "eyJhb...6-sVA"
    assert request.dcql_query == SIMPLE_DCQL


def test_spec_redirect_uri_request_parses_from_url_parameters() -> None:
    params = {
        k: v if isinstance(v, str) else json.dumps(v) for k, v in SPEC_REQUEST_REDIRECT_URI.items()
    }
    request = parse_authorization_request(params, from_request_object=False)
    assert parse_client_id(request.client_id).prefix is ClientIdPrefix.REDIRECT_URI
    assert request.dcql_query == SIMPLE_DCQL
    assert key_binding_check_for(request).audience == "redirect_uri:https://client.example.org/post"


def test_spec_request_by_reference_url_parses() -> None:
    # §5.4 example, invoked through the openid4vp:// scheme.
    url = (
        "openid4vp://?client_id=x509_san_dns%3Aclient.example.org"
        "&request_uri=https%3A%2F%2Fclient.example.org%2Frequest%2Fvapof4ql2i7m41m68uep"
        "&request_uri_method=post"
    )
    link = parse_authorization_request_url(url)
    assert link.scheme == OPENID4VP_SCHEME
    reference = parse_request_reference(link.params)
    assert reference.client_id == "x509_san_dns:client.example.org"
    assert reference.request_uri == "https://client.example.org/request/vapof4ql2i7m41m68uep"
    assert reference.request_uri_method is RequestUriMethod.POST


def test_request_url_round_trip_haip_scheme() -> None:
    url = authorization_request_url(
        scheme=HAIP_SCHEME,
        client_id="x509_hash:abc",
        request_uri="https://verifier.example/r/1",
        request_uri_method=RequestUriMethod.GET,
    )
    assert url.startswith("haip-vp://?")
    reference = parse_request_reference(parse_authorization_request_url(url).params)
    assert reference.request_uri == "https://verifier.example/r/1"
    assert reference.request_uri_method is RequestUriMethod.GET


def test_request_by_value_url_round_trip() -> None:
    request = request_for(
        "redirect_uri:https://client.example.org/post",
        client_metadata=ClientMetadata(
            vp_formats_supported={"dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"]}}
        ),
    )
    url = authorization_request_value_url(request, scheme=OPENID4VP_SCHEME)
    params = parse_authorization_request_url(url).params
    assert json.loads(params["dcql_query"]) == SIMPLE_DCQL
    assert parse_authorization_request(params, from_request_object=False) == request


def test_request_uri_method_must_be_get_or_post() -> None:
    with raises(Reason.OID4VP_REQUEST_URI_METHOD_INVALID, "invalid_request_uri_method"):
        parse_request_reference(
            {
                "client_id": "x509_hash:a",
                "request_uri": "https://v.example/r",
                "request_uri_method": "PUT",
            }
        )


def test_duplicate_url_parameter_is_refused() -> None:
    with raises(Reason.OID4VP_REQUEST_INVALID, "invalid_request"):
        parse_authorization_request_url("openid4vp://?client_id=a&client_id=b")


def test_spec_vp_token_shapes_and_direct_post_form() -> None:
    # §8.1 examples: one presentation, and several when "multiple" is true.
    single = build_vp_token({"my_credential": ["eyJhbGci...QMA"]})
    assert single == {"my_credential": ["eyJhbGci...QMA"]}
    form = direct_post_form(single, "eyJhb...6-sVA")
    assert json.loads(form["vp_token"]) == single
    parsed = parse_authorization_response(
        form, response_mode=ResponseMode.DIRECT_POST, expected_state="eyJhb...6-sVA"
    )
    assert isinstance(parsed, AuthorizationResponse)
    assert parsed.vp_token == {"my_credential": ("eyJhbGci...QMA",)}
    many = build_vp_token({"my_credential": ["a.b.c~", "d.e.f~", {"@context": []}]})
    assert len(many["my_credential"]) == 3  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "vp_token", ['{"my_credential": "eyJ"}', '{"my_credential": []}', "{}", '["eyJ"]']
)
def test_vp_token_must_map_ids_to_non_empty_arrays(vp_token: str) -> None:
    with raises(Reason.OID4VP_RESPONSE_INVALID, "invalid_request"):
        parse_authorization_response(
            {"vp_token": vp_token}, response_mode=ResponseMode.DIRECT_POST, expected_state=None
        )


def test_spec_error_response_parses() -> None:
    # §8.2 example Authorization Error Response.
    form = {
        "error": "invalid_request",
        "error_description": "unsupported client_id_prefix",
        "state": "eyJhb...6-sVA",
    }
    parsed = parse_authorization_response(
        form, response_mode=ResponseMode.DIRECT_POST_JWT, expected_state="eyJhb...6-sVA"
    )
    assert parsed == AuthorizationError(
        error="invalid_request",
        error_description="unsupported client_id_prefix",
        state="eyJhb...6-sVA",
    )
    assert error_response_form("access_denied", state="s") == {
        "error": "access_denied",
        "state": "s",
    }


def test_state_mismatch() -> None:
    form = direct_post_form({"q": ["x"]}, "other")
    with raises(Reason.OID4VP_STATE_MISMATCH, "invalid_request"):
        parse_authorization_response(
            form, response_mode=ResponseMode.DIRECT_POST, expected_state="mine"
        )


# --- JWE ---------------------------------------------------------------------------------


def test_spec_encrypted_response_vector_decrypts() -> None:
    key = load_private_jwk(SPEC_JWE_PRIVATE_JWK)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    payload = decrypt_response(SPEC_JWE, private_key=key, expected_kid="ac")
    assert payload == {"vp_token": {"example_credential_id": ["eyJhb...YMetA"]}}
    parsed = parse_authorization_response(
        direct_post_jwt_form(SPEC_JWE),
        response_mode=ResponseMode.DIRECT_POST_JWT,
        expected_state=None,
        decrypt=partial(decrypt_response, private_key=key, expected_kid="ac"),
    )
    assert isinstance(parsed, AuthorizationResponse)
    assert parsed.encrypted
    assert parsed.vp_token == {"example_credential_id": ("eyJhb...YMetA",)}


def test_jwe_round_trip_picks_key_and_enc(enc_key: ec.EllipticCurvePrivateKey) -> None:
    other = ec.generate_private_key(ec.SECP384R1())
    jwks = {
        "keys": [
            {**public_jwk(other), "kid": "p384", "alg": "ECDH-ES"},
            encryption_jwk(enc_key.public_key(), kid="k1"),
        ]
    }
    payload = {"vp_token": {"q": ["a~b~"]}, "state": "s1"}
    jwe = encrypt_response(payload, verifier_jwks=jwks, enc_values_supported=["A256GCM"])
    header = json.loads(base64.urlsafe_b64decode(jwe.split(".")[0] + "==").decode())
    assert (header["alg"], header["enc"], header["kid"]) == ("ECDH-ES", "A256GCM", "k1")
    got = decrypt_response(jwe, private_key=enc_key, expected_kid="k1", allowed_enc=["A256GCM"])
    assert got == payload
    default = encrypt_response(payload, verifier_jwks=jwks, enc_values_supported=None)
    assert decrypt_response(default, private_key=enc_key, expected_kid="k1") == payload


def _enc_of(jwe: str) -> str:
    return str(json.loads(base64.urlsafe_b64decode(jwe.split(".")[0] + "==").decode())["enc"])


def test_wallet_picks_an_offered_enc_a256gcm_first(enc_key: ec.EllipticCurvePrivateKey) -> None:
    """HAIP 1.0 §5: "Wallets MUST support A128GCM or A256GCM, or both. If both are
    supported, the Wallet SHOULD use A256GCM for the JWE enc." Whatever the order the
    Verifier lists them in; and only what the Verifier offers is ever used."""
    jwks = {"keys": [encryption_jwk(enc_key.public_key(), kid="k1")]}
    payload: dict[str, Any] = {"vp_token": {"q": ["x"]}}
    for offered, expected in (
        (["A128GCM", "A256GCM"], "A256GCM"),
        (["A256GCM", "A128GCM"], "A256GCM"),
        (["A128GCM"], "A128GCM"),
        (["A128CBC-HS256", "A128GCM"], "A128GCM"),
        (None, "A128GCM"),  # OpenID4VP §8.3: the default when the parameter is absent
    ):
        jwe = encrypt_response(payload, verifier_jwks=jwks, enc_values_supported=offered)
        assert _enc_of(jwe) == expected, offered
        assert (
            decrypt_response(jwe, private_key=enc_key, expected_kid="k1", allowed_enc=[expected])
            == payload
        )
    # A wallet that prefers otherwise still picks among the offered values only.
    jwe = encrypt_response(
        payload, verifier_jwks=jwks, enc_values_supported=["A256GCM"], prefer=("A128GCM",)
    )
    assert _enc_of(jwe) == "A256GCM"


def test_jwe_tampered_ciphertext_fails(enc_key: ec.EllipticCurvePrivateKey) -> None:
    jwks = {"keys": [encryption_jwk(enc_key.public_key(), kid="k1")]}
    jwe = encrypt_response(
        {"vp_token": {"q": ["x"]}}, verifier_jwks=jwks, enc_values_supported=None
    )
    parts = jwe.split(".")
    parts[3] = ("A" if parts[3][0] != "A" else "B") + parts[3][1:]
    with raises(Reason.OID4VP_RESPONSE_DECRYPTION_FAILED, "invalid_request"):
        decrypt_response(".".join(parts), private_key=enc_key, expected_kid="k1")
    wrong_key = ec.generate_private_key(ec.SECP256R1())
    with raises(Reason.OID4VP_RESPONSE_DECRYPTION_FAILED, "invalid_request"):
        decrypt_response(jwe, private_key=wrong_key, expected_kid="k1")
    with raises(Reason.OID4VP_RESPONSE_DECRYPTION_FAILED, "invalid_request"):
        decrypt_response(jwe, private_key=enc_key, expected_kid="other")
    with raises(Reason.OID4VP_RESPONSE_DECRYPTION_FAILED, "invalid_request"):
        decrypt_response(jwe, private_key=enc_key, expected_kid="k1", allowed_enc=["A256GCM"])


def test_jwe_needs_a_usable_key_and_enc(enc_key: ec.EllipticCurvePrivateKey) -> None:
    no_alg = {"keys": [{**public_jwk(enc_key), "kid": "k"}]}
    with raises(Reason.OID4VP_ENCRYPTION_UNSUPPORTED, "invalid_request"):
        encrypt_response({}, verifier_jwks=no_alg, enc_values_supported=None)
    jwks = {"keys": [encryption_jwk(enc_key.public_key(), kid="k")]}
    with raises(Reason.OID4VP_ENCRYPTION_UNSUPPORTED, "invalid_request"):
        encrypt_response({}, verifier_jwks=jwks, enc_values_supported=["A128CBC-HS256"])


def test_direct_post_jwt_refuses_plain_vp_token() -> None:
    with raises(Reason.OID4VP_RESPONSE_NOT_ENCRYPTED, "invalid_request"):
        parse_authorization_response(
            direct_post_form({"q": ["x"]}, None),
            response_mode=ResponseMode.DIRECT_POST_JWT,
            expected_state=None,
        )


# --- Request Objects: round trips --------------------------------------------------------


def test_round_trip_x509_san_dns(pki: Pki) -> None:
    request = request_for("x509_san_dns:client.example.org")
    token = create_request_object(
        request, signer=KeySigner(pki.leaf_key), x5c=pki.x5c, now=NOW, wallet_nonce="wn-1"
    )
    verified = verify(
        token, pki, client_id_from_url="x509_san_dns:client.example.org", wallet_nonce="wn-1"
    )
    assert verified.request == replace(request, wallet_nonce="wn-1")
    assert verified.client_id.prefix is ClientIdPrefix.X509_SAN_DNS
    assert verified.certificate_chain[0] == pki.leaf
    assert verified.header["typ"] == "oauth-authz-req+jwt"
    assert verified.claims["aud"] == "https://self-issued.me/v2"


def test_round_trip_x509_hash(pki: Pki) -> None:
    client_id = f"x509_hash:{x509_hash(pki.leaf)}"
    request = request_for(client_id, response_uri="https://elsewhere.example/post")
    token = create_request_object(request, signer=KeySigner(pki.leaf_key), x5c=pki.x5c, now=NOW)
    verified = verify(token, pki, client_id_from_url=client_id)
    assert verified.request == request
    assert verified.client_id.identifier == x509_hash(pki.leaf)


DID = "did:web:verifier.example"


def did_document(key: ec.EllipticCurvePrivateKey) -> dict[str, Any]:
    return {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": DID,
        "verificationMethod": [
            {
                "id": "#key-1",
                "type": "JsonWebKey",
                "controller": DID,
                "publicKeyJwk": public_jwk(key),
            }
        ],
        "assertionMethod": ["#key-1"],
    }


def test_round_trip_decentralized_identifier() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    resolver = StaticDidResolver({DID: did_document(key)})
    client_id = f"decentralized_identifier:{DID}"
    request = request_for(client_id)
    token = create_request_object(request, signer=KeySigner(key), kid=f"{DID}#key-1", now=NOW)
    verified = verify_request_object(
        token,
        client_id_from_url=client_id,
        anchors=[],
        did_resolver=resolver,
        now=NOW,
        skew=SKEW,
        wallet_nonce=None,
    )
    assert verified.request == request
    assert verified.verification_method == f"{DID}#key-1"
    # Another DID's key, or a kid that is not a DID URL of this DID, is refused.
    bad = create_request_object(
        request, signer=KeySigner(key), kid="did:web:other.example#key-1", now=NOW
    )
    with raises(Reason.OID4VP_DID_KEY_UNRESOLVED, "invalid_request"):
        verify_request_object(
            bad,
            client_id_from_url=client_id,
            anchors=[],
            did_resolver=resolver,
            now=NOW,
            skew=SKEW,
            wallet_nonce=None,
        )
    # A key not in the document does not verify the signature.
    forged = create_request_object(
        request,
        signer=KeySigner(ec.generate_private_key(ec.SECP256R1())),
        kid=f"{DID}#key-1",
        now=NOW,
    )
    with raises(Reason.JWS_INVALID_SIGNATURE, "invalid_request_object"):
        verify_request_object(
            forged,
            client_id_from_url=client_id,
            anchors=[],
            did_resolver=resolver,
            now=NOW,
            skew=SKEW,
            wallet_nonce=None,
        )


# --- Request Objects: OIDF wallet test plan negatives ---------------------------------


def test_invalid_request_object_signature(pki: Pki) -> None:
    request = request_for("x509_san_dns:client.example.org")
    other = ec.generate_private_key(ec.SECP256R1())
    token = create_request_object(request, signer=KeySigner(other), x5c=pki.x5c, now=NOW)
    with raises(Reason.JWS_INVALID_SIGNATURE, "invalid_request_object"):
        verify(token, pki)


def test_client_id_in_object_differs_from_url(pki: Pki) -> None:
    request = request_for("x509_san_dns:client.example.org")
    token = create_request_object(request, signer=KeySigner(pki.leaf_key), x5c=pki.x5c, now=NOW)
    with raises(Reason.OID4VP_CLIENT_ID_MISMATCH, "invalid_request"):
        verify(token, pki, client_id_from_url="x509_san_dns:other.example.org")
    # The prefix is part of the comparison (§5.10.1 "including the Client Identifier Prefix").
    with raises(Reason.OID4VP_CLIENT_ID_MISMATCH, "invalid_request"):
        verify(token, pki, client_id_from_url="client.example.org")


@pytest.mark.parametrize(
    "client_id",
    [
        "foo:client.example.org",
        "verifier_attestation:verifier.example",
        "openid_federation:https://fed.example",
        "origin:https://verifier.example",
        "pre-registered-client",
    ],
)
def test_unknown_or_unsupported_client_id_prefix(pki: Pki, client_id: str) -> None:
    claims = {
        **SPEC_REQUEST_OBJECT_X509_SAN_DNS,
        "client_id": client_id,
        "aud": "https://self-issued.me/v2",
    }
    token = sign_jws(
        {"typ": "oauth-authz-req+jwt", "x5c": pki.x5c}, claims, KeySigner(pki.leaf_key)
    )
    with raises(Reason.OID4VP_CLIENT_ID_PREFIX_UNSUPPORTED, "invalid_request"):
        verify(token, pki, client_id_from_url=client_id)
    with raises(Reason.OID4VP_CLIENT_ID_PREFIX_UNSUPPORTED, "invalid_request"):
        parse_authorization_request(claims, from_request_object=True)


def test_missing_nonce() -> None:
    claims = {k: v for k, v in SPEC_REQUEST_OBJECT_X509_SAN_DNS.items() if k != "nonce"}
    with raises(Reason.OID4VP_NONCE_MISSING, "invalid_request"):
        parse_authorization_request(claims, from_request_object=True)


def test_redirect_uri_with_direct_post() -> None:
    claims = {**SPEC_REQUEST_OBJECT_X509_SAN_DNS, "redirect_uri": "https://client.example.org/cb"}
    with raises(Reason.OID4VP_REDIRECT_URI_WITH_DIRECT_POST, "invalid_request"):
        parse_authorization_request(claims, from_request_object=True)


def test_response_uri_differs_from_redirect_uri_client_id() -> None:
    params = request_to_params(request_for("redirect_uri:https://client.example.org/post")) | {
        "response_uri": "https://attacker.example/post"
    }
    with raises(Reason.OID4VP_CLIENT_ID_INVALID, "invalid_request"):
        parse_authorization_request(params, from_request_object=False)


def test_signed_request_under_redirect_uri_prefix(pki: Pki) -> None:
    client_id = "redirect_uri:https://client.example.org/post"
    claims = {**SPEC_REQUEST_REDIRECT_URI, "aud": "https://self-issued.me/v2"}
    token = sign_jws(
        {"typ": "oauth-authz-req+jwt", "x5c": pki.x5c}, claims, KeySigner(pki.leaf_key)
    )
    with raises(Reason.OID4VP_SIGNED_REQUEST_NOT_ALLOWED, "invalid_request"):
        verify(token, pki, client_id_from_url=client_id)
    with raises(Reason.OID4VP_SIGNED_REQUEST_NOT_ALLOWED, "invalid_request"):
        parse_authorization_request(claims, from_request_object=True)
    with raises(Reason.OID4VP_SIGNED_REQUEST_NOT_ALLOWED, "invalid_request"):
        create_request_object(
            request_for(client_id), signer=KeySigner(pki.leaf_key), x5c=pki.x5c, now=NOW
        )


def test_unsigned_request_under_x509_prefix() -> None:
    params = request_to_params(request_for("x509_san_dns:client.example.org"))
    with raises(Reason.OID4VP_SIGNED_REQUEST_REQUIRED, "invalid_request"):
        parse_authorization_request(params, from_request_object=False)


def test_x509_san_dns_not_among_sans(pki: Pki) -> None:
    request = request_for(
        "x509_san_dns:other.example.org", response_uri="https://other.example.org/post"
    )
    token = create_request_object(request, signer=KeySigner(pki.leaf_key), x5c=pki.x5c, now=NOW)
    with raises(Reason.X509_SAN_MISMATCH, "invalid_request"):
        verify(token, pki)


def test_x509_san_dns_response_uri_host_must_match(pki: Pki) -> None:
    request = request_for(
        "x509_san_dns:client.example.org", response_uri="https://attacker.example/post"
    )
    token = create_request_object(request, signer=KeySigner(pki.leaf_key), x5c=pki.x5c, now=NOW)
    with raises(Reason.OID4VP_CLIENT_ID_INVALID, "invalid_request"):
        verify(token, pki)


def test_x509_hash_mismatch(pki: Pki) -> None:
    other = make_pki()
    request = request_for(f"x509_hash:{x509_hash(other.leaf)}")
    token = create_request_object(request, signer=KeySigner(pki.leaf_key), x5c=pki.x5c, now=NOW)
    with raises(Reason.X509_HASH_MISMATCH, "invalid_request"):
        verify(token, pki)


def test_chain_to_unknown_anchor(pki: Pki) -> None:
    request = request_for(f"x509_hash:{x509_hash(pki.leaf)}")
    token = create_request_object(request, signer=KeySigner(pki.leaf_key), x5c=pki.x5c, now=NOW)
    with raises(Reason.X509_CHAIN_INVALID, "invalid_request"):
        verify(token, pki, anchors=[make_pki().root])


def test_request_object_typ_aud_time_and_wallet_nonce(pki: Pki) -> None:
    request = request_for(f"x509_hash:{x509_hash(pki.leaf)}")
    claims = {
        "client_id": request.client_id,
        "response_type": "vp_token",
        "response_mode": "direct_post",
        "response_uri": request.response_uri,
        "nonce": "n",
        "dcql_query": SIMPLE_DCQL,
        "aud": "https://self-issued.me/v2",
    }
    signer = KeySigner(pki.leaf_key)
    wrong_typ = sign_jws({"typ": "JWT", "x5c": pki.x5c}, claims, signer)
    with raises(Reason.JWS_TYP_MISMATCH, "invalid_request_object"):
        verify(wrong_typ, pki)
    wrong_aud = sign_jws(
        {"typ": "oauth-authz-req+jwt", "x5c": pki.x5c}, {**claims, "aud": "https://x"}, signer
    )
    with raises(Reason.OID4VP_REQUEST_OBJECT_AUD_INVALID, "invalid_request_object"):
        verify(wrong_aud, pki)
    token = create_request_object(request, signer=signer, x5c=pki.x5c, now=NOW)
    with raises(Reason.JWT_EXPIRED, "invalid_request_object"):
        verify(token, pki, now=NOW + timedelta(hours=1))
    with raises(Reason.OID4VP_WALLET_NONCE_MISMATCH, "invalid_request_object"):
        verify(token, pki, wallet_nonce="expected-nonce")


def test_request_parameter_rules() -> None:
    base = dict(SPEC_REQUEST_OBJECT_X509_SAN_DNS)
    with raises(Reason.OID4VP_SCOPE_UNSUPPORTED, "invalid_scope"):
        parse_authorization_request(
            {k: v for k, v in base.items() if k != "dcql_query"} | {"scope": "com.example.x"},
            from_request_object=True,
        )
    with raises(Reason.OID4VP_REQUEST_INVALID, "invalid_request"):
        parse_authorization_request(base | {"scope": "com.example.x"}, from_request_object=True)
    with raises(Reason.OID4VP_DCQL_QUERY_MISSING, "invalid_request"):
        parse_authorization_request(
            {k: v for k, v in base.items() if k != "dcql_query"}, from_request_object=True
        )
    with raises(Reason.OID4VP_TRANSACTION_DATA_UNSUPPORTED, "invalid_transaction_data"):
        parse_authorization_request(base | {"transaction_data": ["e30"]}, from_request_object=True)
    with raises(Reason.OID4VP_RESPONSE_MODE_UNSUPPORTED, "invalid_request"):
        parse_authorization_request(base | {"response_mode": "fragment"}, from_request_object=True)
    with raises(Reason.OID4VP_RESPONSE_TYPE_UNSUPPORTED, "unsupported_response_type"):
        parse_authorization_request(base | {"response_type": "code"}, from_request_object=True)
    with raises(Reason.OID4VP_RESPONSE_URI_MISSING, "invalid_request"):
        parse_authorization_request(
            {k: v for k, v in base.items() if k != "response_uri"}, from_request_object=True
        )
    with raises(Reason.OID4VP_CLIENT_METADATA_INVALID, "invalid_request"):
        parse_authorization_request(
            base | {"client_metadata": {"jwks": {"keys": [{"kty": "EC"}]}}},
            from_request_object=True,
        )
    with raises(Reason.OID4VP_REQUEST_INVALID, "invalid_request"):
        parse_authorization_request(base | {"nonce": "has space"}, from_request_object=True)


# --- HAIP ---------------------------------------------------------------------------------


def haip_request(
    pki: Pki, enc_key: ec.EllipticCurvePrivateKey, **changes: Any
) -> AuthorizationRequest:
    fields: dict[str, Any] = {
        "response_mode": ResponseMode.DIRECT_POST_JWT,
        "client_metadata": ClientMetadata(
            jwks={"keys": [encryption_jwk(enc_key.public_key(), kid="k1")]},
            vp_formats_supported={"dc+sd-jwt": {"sd-jwt_alg_values": ["ES256"]}},
        ),
    }
    fields.update(changes)
    client_id = fields.pop("client_id", f"x509_hash:{x509_hash(pki.leaf)}")
    return request_for(client_id, **fields)


def test_haip_profile_accepts_a_conforming_request(
    pki: Pki, enc_key: ec.EllipticCurvePrivateKey
) -> None:
    token = create_request_object(
        haip_request(pki, enc_key), signer=KeySigner(pki.leaf_key), x5c=pki.x5c, now=NOW
    )
    check_profile(verify(token, pki), HAIP_PROFILE)


def test_haip_profile_violations(pki: Pki, enc_key: ec.EllipticCurvePrivateKey) -> None:
    signer = KeySigner(pki.leaf_key)
    san_dns = create_request_object(
        haip_request(pki, enc_key, client_id="x509_san_dns:client.example.org"),
        signer=signer,
        x5c=pki.x5c,
        now=NOW,
    )
    plain_post = create_request_object(
        haip_request(pki, enc_key, response_mode=ResponseMode.DIRECT_POST),
        signer=signer,
        x5c=pki.x5c,
        now=NOW,
    )
    no_jwks = create_request_object(
        haip_request(pki, enc_key, client_metadata=None), signer=signer, x5c=pki.x5c, now=NOW
    )
    for token in (san_dns, plain_post, no_jwks):
        with raises(Reason.OID4VP_PROFILE_VIOLATION, "invalid_request"):
            check_profile(verify(token, pki), HAIP_PROFILE)
    with raises(Reason.OID4VP_PROFILE_VIOLATION, "invalid_request"):
        check_profile(haip_request(pki, enc_key), HAIP_PROFILE)  # unsigned
    p384 = make_p384_pki()
    es384 = create_request_object(
        haip_request(p384, enc_key), signer=KeySigner(p384.leaf_key), x5c=p384.x5c, now=NOW
    )
    with raises(Reason.OID4VP_PROFILE_VIOLATION, "invalid_request"):
        check_profile(verify(es384, p384), HAIP_PROFILE)


def make_p384_pki() -> Pki:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = build_ca_certificate(
        subject=build_name(common_name="Root 2"),
        key=root_key,
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(days=30),
        serial=next(_serials),
    )
    leaf_key = ec.generate_private_key(ec.SECP384R1())
    leaf = build_leaf_certificate(
        subject=build_name(common_name="Verifier 384"),
        public_key=leaf_key.public_key(),
        issuer_cert=root,
        issuer_key=root_key,
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(days=30),
        serial=next(_serials),
        usage=LeafUsage.ACCESS,
        dns_names=("client.example.org",),
    )
    return Pki(root=root, leaf_key=leaf_key, leaf=leaf)


# --- transaction table -----------------------------------------------------------------


def test_transaction_happy_path_and_replay() -> None:
    S, E = PresentationState, PresentationEvent
    state = advance(S.CREATED, E.FETCH_REQUEST)
    state = advance(state, E.RECEIVE_RESPONSE)
    assert state is S.RESPONSE_RECEIVED
    assert advance(state, E.ACCEPT) is S.VERIFIED
    for finished in (S.RESPONSE_RECEIVED, S.VERIFIED, S.FAILED):
        with raises(Reason.OID4VP_RESPONSE_REPLAYED, "invalid_request"):
            advance(finished, E.RECEIVE_RESPONSE)
    with raises(Reason.OID4VP_TRANSACTION_EXPIRED, "invalid_request"):
        advance(advance(S.CREATED, E.EXPIRE), E.RECEIVE_RESPONSE)
    # A request_uri may be fetched again until the transaction is answered.
    assert advance(S.REQUEST_FETCHED, E.FETCH_REQUEST) is S.REQUEST_FETCHED
    with raises(Reason.OID4VP_SESSION_TRANSITION_INVALID, "invalid_request"):
        advance(S.RESPONSE_RECEIVED, E.FETCH_REQUEST)
    assert advance(S.RESPONSE_RECEIVED, E.REJECT) is S.FAILED
