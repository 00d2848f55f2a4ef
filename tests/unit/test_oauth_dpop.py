"""DPoP (RFC 9449): proofs round-trip, and every check of §4.3, §7.1 and §7.2 refuses
with its own reason code and wire error."""

from __future__ import annotations

import contextlib
import hashlib
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from passerelle._errors import PasserelleError, Reason
from passerelle._json import JsonObject, b64url_encode
from passerelle.jose import KeySigner, jwk_thumbprint, private_jwk, sign_jws
from passerelle.oauth import (
    DPOP_NONCE_HEADER,
    TokenScheme,
    access_token_hash,
    check_dpop_jkt,
    confirmation_claim,
    create_dpop_proof,
    dpop_error_response,
    normalize_htu,
    parse_authorization_header,
    read_bound_jkt,
    read_dpop_header,
    read_dpop_nonce,
    verify_dpop_proof,
    verify_protected_request,
)
from tests.fuzzing import FUZZ as SHARED_FUZZ
from tests.unit.haip_world import (
    ALGS,
    CREDENTIAL_ENDPOINT,
    MAX_AGE,
    NOW,
    SKEW,
    TOKEN_ENDPOINT,
    MemoryReplay,
    SystemRandom,
    jwk_of,
    p256,
)

KEY = p256()
SIGNER = KeySigner(KEY)
JKT = jwk_thumbprint(KEY.public_key())
TOKEN = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"


def proof(**overrides: object) -> str:
    options: dict[str, object] = {
        "signer": SIGNER,
        "public_key_jwk": jwk_of(KEY),
        "method": "POST",
        "url": TOKEN_ENDPOINT,
        "now": NOW,
        "random": SystemRandom(),
    }
    options.update(overrides)
    return create_dpop_proof(**options)  # type: ignore[arg-type]


def raw_proof(header: JsonObject, claims: JsonObject, signer: KeySigner = SIGNER) -> str:
    return sign_jws(header, claims, signer)


def good_claims(**overrides: object) -> JsonObject:
    claims: JsonObject = {
        "jti": "j-1",
        "htm": "POST",
        "htu": TOKEN_ENDPOINT,
        "iat": int(NOW.timestamp()),
    }
    claims.update(overrides)  # type: ignore[arg-type]
    return claims


def verify(token: str, **overrides: object) -> object:
    options: dict[str, object] = {
        "method": "POST",
        "url": TOKEN_ENDPOINT,
        "algorithms": ALGS,
        "now": NOW,
        "skew": SKEW,
        "max_age": MAX_AGE,
        "replay": MemoryReplay(),
    }
    options.update(overrides)
    return verify_dpop_proof(token, **options)  # type: ignore[arg-type]


def refused(token: str, **overrides: object) -> PasserelleError:
    with pytest.raises(PasserelleError) as info:
        verify(token, **overrides)
    return info.value


def test_round_trip_at_the_token_endpoint() -> None:
    verified = verify(proof())
    assert verified.jkt == JKT  # type: ignore[attr-defined]
    assert verified.htm == "POST"  # type: ignore[attr-defined]
    assert verified.htu == TOKEN_ENDPOINT  # type: ignore[attr-defined]


def test_created_proof_has_the_rfc_members() -> None:
    from passerelle.jose import decode_unverified_jws

    jws = decode_unverified_jws(
        proof(access_token=TOKEN, nonce="n1", url=TOKEN_ENDPOINT + "?a=1#f")
    )
    assert jws.header["typ"] == "dpop+jwt"
    assert jws.header["jwk"] == jwk_of(KEY)
    claims = jws.payload_json()
    assert claims["htu"] == TOKEN_ENDPOINT
    assert claims["nonce"] == "n1"
    assert claims["ath"] == b64url_encode(hashlib.sha256(TOKEN.encode()).digest())
    assert isinstance(claims["jti"], str)
    assert len(claims["jti"]) >= 16


def test_ath_is_the_rfc_example_value() -> None:
    # RFC 9449 Figure 13/14: this token hashes to this ath.
    assert access_token_hash(TOKEN) == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"


def test_private_jwk_is_refused_on_create_and_on_verify() -> None:
    with pytest.raises(PasserelleError) as info:
        proof(public_key_jwk=private_jwk(KEY))
    assert info.value.reason is Reason.JWK_PRIVATE
    token = raw_proof({"typ": "dpop+jwt", "jwk": private_jwk(KEY)}, good_claims())
    exc = refused(token)
    assert exc.reason is Reason.JWK_PRIVATE
    assert exc.wire_error == "invalid_dpop_proof"


def test_typ_and_jwk_header() -> None:
    exc = refused(raw_proof({"typ": "JWT", "jwk": jwk_of(KEY)}, good_claims()))
    assert exc.reason is Reason.JWS_TYP_MISMATCH
    assert exc.wire_error == "invalid_dpop_proof"
    exc = refused(raw_proof({"typ": "dpop+jwt"}, good_claims()))
    assert exc.reason is Reason.DPOP_PROOF_INVALID
    assert exc.wire_error == "invalid_dpop_proof"
    # RFC 7515 §4.1.9: the typ media type compares case-insensitively.
    verify(raw_proof({"typ": "application/DPoP+JWT", "jwk": jwk_of(KEY)}, good_claims()))


def test_bad_signature() -> None:
    token = raw_proof({"typ": "dpop+jwt", "jwk": jwk_of(p256())}, good_claims())
    exc = refused(token)
    assert exc.reason is Reason.JWS_INVALID_SIGNATURE
    assert exc.wire_error == "invalid_dpop_proof"


def test_alg_outside_the_allow_list() -> None:
    exc = refused(proof(), algorithms=("ES384",))
    assert exc.reason is Reason.JWS_ALG_NOT_ALLOWED


@pytest.mark.parametrize("missing", ["jti", "htm", "htu", "iat"])
def test_required_claims(missing: str) -> None:
    claims = good_claims()
    del claims[missing]
    exc = refused(raw_proof({"typ": "dpop+jwt", "jwk": jwk_of(KEY)}, claims))
    assert exc.reason is Reason.DPOP_PROOF_INVALID
    assert exc.wire_error == "invalid_dpop_proof"


def test_wrong_htm() -> None:
    exc = refused(proof(method="GET"))
    assert exc.reason is Reason.DPOP_HTM_MISMATCH
    # RFC 9110 §9.1: methods are case-sensitive, so "post" is not "POST".
    token = raw_proof({"typ": "dpop+jwt", "jwk": jwk_of(KEY)}, good_claims(htm="post"))
    assert refused(token).reason is Reason.DPOP_HTM_MISMATCH


def test_wrong_htu() -> None:
    exc = refused(proof(url=CREDENTIAL_ENDPOINT))
    assert exc.reason is Reason.DPOP_HTU_MISMATCH
    assert exc.wire_error == "invalid_dpop_proof"
    token = raw_proof({"typ": "dpop+jwt", "jwk": jwk_of(KEY)}, good_claims(htu="not a uri"))
    assert refused(token).reason is Reason.DPOP_HTU_MISMATCH


def test_htu_ignores_query_and_fragment_on_both_sides() -> None:
    # RFC 9449 §4.3 check 9: "The htu claim matches the HTTP URI value for the HTTP
    # request in which the JWT was received, ignoring any query and fragment parts."
    verify(proof(), url=TOKEN_ENDPOINT + "?x=1#frag")
    token = raw_proof(
        {"typ": "dpop+jwt", "jwk": jwk_of(KEY)}, good_claims(htu=TOKEN_ENDPOINT + "?x=1#f")
    )
    verify(token)


@pytest.mark.parametrize(
    ("claimed", "request_url"),
    [
        ("HTTPS://Issuer.Example.EU:443/token", "https://issuer.example.eu/token"),
        ("https://issuer.example.eu/%7Etoken", "https://issuer.example.eu/~token"),
        ("https://issuer.example.eu/a/../token", "https://issuer.example.eu/token"),
        ("https://issuer.example.eu", "https://issuer.example.eu/"),
        ("http://127.0.0.1:80/token", "http://127.0.0.1/token"),
    ],
)
def test_htu_normalization(claimed: str, request_url: str) -> None:
    # §4.3: servers SHOULD employ syntax-based and scheme-based normalization (RFC 3986
    # §6.2.2 and §6.2.3) before comparing.
    assert normalize_htu(claimed) == normalize_htu(request_url)
    token = raw_proof({"typ": "dpop+jwt", "jwk": jwk_of(KEY)}, good_claims(htu=claimed))
    verify(token, url=request_url)


def test_port_and_path_still_matter() -> None:
    assert normalize_htu("https://a.example:8443/x") != normalize_htu("https://a.example/x")
    assert normalize_htu("https://a.example/x") != normalize_htu("https://a.example/X")


def test_iat_window() -> None:
    old = proof(now=NOW - MAX_AGE - SKEW - timedelta(seconds=1))
    assert refused(old).reason is Reason.DPOP_IAT_OUT_OF_WINDOW
    future = proof(now=NOW + SKEW + timedelta(seconds=5))
    assert refused(future).reason is Reason.DPOP_IAT_OUT_OF_WINDOW
    verify(proof(now=NOW - MAX_AGE + timedelta(seconds=1)))


def test_replayed_jti_is_refused_and_a_refused_proof_burns_nothing() -> None:
    replay = MemoryReplay()
    token = proof()
    exc = refused(token, replay=replay, method="GET")
    assert exc.reason is Reason.DPOP_HTM_MISMATCH
    assert replay.seen == {}
    verify(token, replay=replay)
    exc = refused(token, replay=replay)
    assert exc.reason is Reason.DPOP_JTI_REPLAYED
    assert exc.wire_error == "invalid_dpop_proof"


def test_server_nonce() -> None:
    exc = refused(proof(), accepted_nonces=["n-current"])
    assert exc.reason is Reason.DPOP_NONCE_MISSING
    assert exc.wire_error == "use_dpop_nonce"
    exc = refused(proof(nonce="n-stale"), accepted_nonces=["n-current"])
    assert exc.reason is Reason.DPOP_NONCE_MISMATCH
    assert exc.wire_error == "use_dpop_nonce"
    verified = verify(proof(nonce="n-current"), accepted_nonces=["n-old", "n-current"])
    assert verified.nonce == "n-current"  # type: ignore[attr-defined]
    # No nonce in use: a nonce the client sends anyway is not refused.
    verify(proof(nonce="whatever"))


def test_ath_and_key_binding() -> None:
    bound = proof(method="GET", url=CREDENTIAL_ENDPOINT, access_token=TOKEN)
    verify(bound, method="GET", url=CREDENTIAL_ENDPOINT, access_token=TOKEN, bound_jkt=JKT)
    exc = refused(bound, method="GET", url=CREDENTIAL_ENDPOINT, access_token=TOKEN + "x")
    assert exc.reason is Reason.DPOP_ATH_MISMATCH
    unbound = proof(method="GET", url=CREDENTIAL_ENDPOINT)
    exc = refused(unbound, method="GET", url=CREDENTIAL_ENDPOINT, access_token=TOKEN)
    assert exc.reason is Reason.DPOP_ATH_MISMATCH
    other = jwk_thumbprint(p256().public_key())
    exc = refused(bound, method="GET", url=CREDENTIAL_ENDPOINT, access_token=TOKEN, bound_jkt=other)
    assert exc.reason is Reason.DPOP_KEY_MISMATCH
    assert exc.wire_error == "invalid_token"


def test_cnf_jkt_helpers() -> None:
    verified = verify(proof())
    cnf = confirmation_claim(verified)  # type: ignore[arg-type]
    assert cnf == {"jkt": JKT}
    assert read_bound_jkt(cnf) == JKT
    assert read_bound_jkt(None) is None
    assert read_bound_jkt({"x5t#S256": "abc"}) is None
    with pytest.raises(PasserelleError):
        read_bound_jkt({"jkt": "short"})
    check_dpop_jkt(None, verified)  # type: ignore[arg-type]
    check_dpop_jkt(JKT, verified)  # type: ignore[arg-type]
    with pytest.raises(PasserelleError) as info:
        check_dpop_jkt(jwk_thumbprint(p256().public_key()), verified)  # type: ignore[arg-type]
    assert info.value.reason is Reason.DPOP_KEY_MISMATCH
    assert info.value.wire_error == "invalid_dpop_proof"


def test_read_dpop_nonce() -> None:
    assert read_dpop_nonce([]) is None
    assert read_dpop_nonce(["eyJ7S_zG.eyJH0-Z.HX4w-7v"]) == "eyJ7S_zG.eyJH0-Z.HX4w-7v"
    for bad in (["a", "b"], [""], ["has space"], ['quo"te']):
        with pytest.raises(PasserelleError) as info:
            read_dpop_nonce(bad)
        assert info.value.reason is Reason.DPOP_NONCE_MISMATCH


def test_read_dpop_header() -> None:
    token = proof()
    assert read_dpop_header([]) is None
    assert read_dpop_header([token]) == token
    with pytest.raises(PasserelleError) as info:
        read_dpop_header([token, token])
    assert info.value.reason is Reason.DPOP_PROOF_INVALID
    with pytest.raises(PasserelleError) as info:
        read_dpop_header([token + "," + token])
    assert info.value.reason is Reason.DPOP_PROOF_INVALID


@pytest.mark.parametrize("scheme", ["DPoP", "dpop", "DPOP", "dPoP"])
def test_scheme_is_case_insensitive(scheme: str) -> None:
    # RFC 9110 §11.1: "It uses a case-insensitive token to identify the authentication scheme".
    credentials = parse_authorization_header([f"{scheme} {TOKEN}"])
    assert credentials.scheme is TokenScheme.DPOP
    assert credentials.token == TOKEN
    assert parse_authorization_header([f"bearer {TOKEN}"]).scheme is TokenScheme.BEARER


@pytest.mark.parametrize(
    "values", [[], ["Basic abc"], ["DPoP"], ["DPoP a b"], [f"DPoP {TOKEN}", f"DPoP {TOKEN}"]]
)
def test_bad_authorization_headers(values: list[str]) -> None:
    with pytest.raises(PasserelleError) as info:
        parse_authorization_header(values)
    assert info.value.reason is Reason.DPOP_AUTHORIZATION_INVALID
    assert info.value.wire_error == "invalid_request"


def protected(**overrides: object) -> object:
    options: dict[str, object] = {
        "authorization": [f"DPoP {TOKEN}"],
        "dpop": [proof(method="GET", url=CREDENTIAL_ENDPOINT, access_token=TOKEN)],
        "method": "GET",
        "url": CREDENTIAL_ENDPOINT,
        "token_jkt": JKT,
        "require_dpop": True,
        "algorithms": ALGS,
        "now": NOW,
        "skew": SKEW,
        "max_age": MAX_AGE,
        "replay": MemoryReplay(),
    }
    options.update(overrides)
    return verify_protected_request(**options)  # type: ignore[arg-type]


def test_protected_request_round_trip() -> None:
    result = protected(authorization=[f"dpop {TOKEN}"])
    assert result.proof is not None  # type: ignore[attr-defined]
    assert result.proof.jkt == JKT  # type: ignore[attr-defined]


def test_bound_token_as_bearer_is_refused() -> None:
    with pytest.raises(PasserelleError) as info:
        protected(authorization=[f"Bearer {TOKEN}"], dpop=[], require_dpop=False)
    assert info.value.reason is Reason.DPOP_BOUND_TOKEN_AS_BEARER
    assert info.value.wire_error == "invalid_token"
    with pytest.raises(PasserelleError) as info:
        protected(authorization=[f"Bearer {TOKEN}"], dpop=[], token_jkt=None)
    assert info.value.reason is Reason.DPOP_BOUND_TOKEN_AS_BEARER
    # A plain bearer token where the profile allows it passes untouched.
    result = protected(
        authorization=[f"Bearer {TOKEN}"], dpop=[], token_jkt=None, require_dpop=False
    )
    assert result.proof is None  # type: ignore[attr-defined]


def test_dpop_scheme_needs_a_proof_and_a_bound_token() -> None:
    with pytest.raises(PasserelleError) as info:
        protected(dpop=[])
    assert info.value.reason is Reason.DPOP_PROOF_MISSING
    assert info.value.wire_error == "invalid_dpop_proof"
    with pytest.raises(PasserelleError) as info:
        protected(token_jkt=None)
    assert info.value.reason is Reason.DPOP_KEY_MISMATCH


def test_error_responses() -> None:
    nonce_error = refused(proof(), accepted_nonces=["n"])
    at_as = dpop_error_response(
        nonce_error, at_resource_server=False, new_nonce="n2", algorithms=ALGS
    )
    assert at_as.status == 400
    assert at_as.headers[DPOP_NONCE_HEADER] == "n2"
    assert at_as.body["error"] == "use_dpop_nonce"
    at_rs = dpop_error_response(
        nonce_error, at_resource_server=True, new_nonce="n2", algorithms=ALGS
    )
    assert at_rs.status == 401
    assert at_rs.headers["WWW-Authenticate"].startswith('DPoP error="use_dpop_nonce"')
    assert 'algs="ES256"' in at_rs.headers["WWW-Authenticate"]
    with pytest.raises(PasserelleError):
        dpop_error_response(nonce_error, at_resource_server=False, new_nonce=None, algorithms=ALGS)
    bad = refused(proof(method="GET"))
    assert (
        dpop_error_response(bad, at_resource_server=False, new_nonce=None, algorithms=ALGS).status
        == 400
    )


# The shared profile (derandomized under CI), with this module's own floor of examples.
FUZZ = settings(SHARED_FUZZ, max_examples=max(150, SHARED_FUZZ.max_examples))
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=200)


@FUZZ
@given(TEXT)
def test_fuzz_proof(token: str) -> None:
    with contextlib.suppress(PasserelleError):
        verify(token)


@FUZZ
@given(st.lists(TEXT, max_size=3), st.lists(TEXT, max_size=3))
def test_fuzz_headers(authorization: list[str], dpop: list[str]) -> None:
    with contextlib.suppress(PasserelleError):
        protected(authorization=authorization, dpop=dpop)


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["jti", "htm", "htu", "iat", "nonce", "ath", "exp", "nbf"]),
        st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), TEXT),
    )
)
def test_fuzz_signed_claims(claims: JsonObject) -> None:
    token = raw_proof({"typ": "dpop+jwt", "jwk": jwk_of(KEY)}, claims)
    with contextlib.suppress(PasserelleError):
        verify(token, accepted_nonces=["n"], access_token=TOKEN, bound_jkt=JKT)


@FUZZ
@given(TEXT)
def test_fuzz_htu(uri: str) -> None:
    with contextlib.suppress(PasserelleError):
        normalize_htu(uri)
