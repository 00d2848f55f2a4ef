"""Attestation-Based Client Authentication (draft -07, OpenID4VCI 1.0 Appendix E):
round trips, and each refusal with its reason code and invalid_client on the wire."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from passerelle._errors import PasserelleError, Reason
from passerelle._json import JsonObject
from passerelle.jose import KeySigner, jwk_thumbprint, private_jwk, sign_jws
from passerelle.oauth import (
    attestation_challenge_response,
    client_attestation_metadata,
    create_client_attestation,
    create_client_attestation_pop,
    read_client_attestation_headers,
    verify_client_attestation,
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
    WALLET_PROVIDER,
    MemoryReplay,
    SystemRandom,
    jwk_of,
    make_provider,
    p256,
)

PROVIDER = make_provider()
INSTANCE = p256()
NOW_S = int(NOW.timestamp())


def attestation(**overrides: object) -> str:
    options: dict[str, object] = {
        "signer": PROVIDER.signer,
        "x5c": PROVIDER.x5c,
        "issuer": WALLET_PROVIDER,
        "client_id": CLIENT_ID,
        "instance_jwk": jwk_of(INSTANCE),
        "now": NOW,
        "lifetime": timedelta(hours=1),
    }
    options.update(overrides)
    return create_client_attestation(**options)  # type: ignore[arg-type]


def pop(**overrides: object) -> str:
    options: dict[str, object] = {
        "signer": KeySigner(INSTANCE),
        "client_id": CLIENT_ID,
        "authorization_server": AS_ISSUER,
        "now": NOW,
        "random": SystemRandom(),
    }
    options.update(overrides)
    return create_client_attestation_pop(**options)  # type: ignore[arg-type]


def raw_attestation(claims: JsonObject, *, header: JsonObject | None = None) -> str:
    base: JsonObject = {"typ": "oauth-client-attestation+jwt", "x5c": PROVIDER.x5c}
    return sign_jws({**base, **(header or {})}, claims, PROVIDER.signer)


def attestation_claims(**overrides: object) -> JsonObject:
    claims: JsonObject = {
        "iss": WALLET_PROVIDER,
        "sub": CLIENT_ID,
        "exp": NOW_S + 3600,
        "cnf": {"jwk": jwk_of(INSTANCE)},
    }
    claims.update(overrides)  # type: ignore[arg-type]
    return claims


def raw_pop(claims: JsonObject, *, key: object = INSTANCE, header: JsonObject | None = None) -> str:
    base: JsonObject = {"typ": "oauth-client-attestation-pop+jwt"}
    return sign_jws({**base, **(header or {})}, claims, KeySigner(key))  # type: ignore[arg-type]


def pop_claims(**overrides: object) -> JsonObject:
    claims: JsonObject = {"iss": CLIENT_ID, "aud": AS_ISSUER, "jti": "p-1", "iat": NOW_S}
    claims.update(overrides)  # type: ignore[arg-type]
    return claims


def verify(att: str, proof: str, **overrides: object) -> object:
    options: dict[str, object] = {
        "authorization_server": AS_ISSUER,
        "client_id": None,
        "anchors": [PROVIDER.root],
        "algorithms": ALGS,
        "now": NOW,
        "skew": SKEW,
        "max_pop_age": MAX_AGE,
        "replay": MemoryReplay(),
    }
    options.update(overrides)
    return verify_client_attestation(att, proof, **options)  # type: ignore[arg-type]


def refused(att: str, proof: str, **overrides: object) -> PasserelleError:
    with pytest.raises(PasserelleError) as info:
        verify(att, proof, **overrides)
    assert info.value.wire_error in (
        "invalid_client",
        "use_attestation_challenge",
        "use_fresh_attestation",
    )
    return info.value


def test_round_trip() -> None:
    verified = verify(attestation(), pop(), client_id=CLIENT_ID)
    assert verified.client_id == CLIENT_ID  # type: ignore[attr-defined]
    assert verified.attester == WALLET_PROVIDER  # type: ignore[attr-defined]
    assert verified.instance_jkt == jwk_thumbprint(INSTANCE.public_key())  # type: ignore[attr-defined]
    assert verified.chain.anchor == PROVIDER.root  # type: ignore[attr-defined]


def test_created_tokens_have_the_draft_members() -> None:
    from passerelle.jose import decode_unverified_jws

    att = decode_unverified_jws(attestation(extra_claims={"wallet_name": "W"}))
    assert att.header["typ"] == "oauth-client-attestation+jwt"
    assert att.header["x5c"] == PROVIDER.x5c
    claims = att.payload_json()
    assert claims["cnf"] == {"jwk": jwk_of(INSTANCE)}
    assert claims["sub"] == CLIENT_ID
    assert claims["wallet_name"] == "W"
    p = decode_unverified_jws(pop(challenge="c-1"))
    assert p.header["typ"] == "oauth-client-attestation-pop+jwt"
    body = p.payload_json()
    assert set(body) >= {"iss", "aud", "jti", "iat", "challenge"}
    assert body["challenge"] == "c-1"


def test_invalid_attestation_signature() -> None:
    token = attestation()
    head, _, sig = token.split(".")
    forged = sign_jws(
        {"typ": "oauth-client-attestation+jwt", "x5c": PROVIDER.x5c},
        attestation_claims(sub="https://evil.example"),
        KeySigner(p256()),
    )
    exc = refused(forged, pop())
    assert exc.reason is Reason.CLIENT_ATTESTATION_SIGNATURE_INVALID
    tampered = f"{head}.{forged.split('.')[1]}.{sig}"
    assert refused(tampered, pop()).reason is Reason.CLIENT_ATTESTATION_SIGNATURE_INVALID


def test_untrusted_provider() -> None:
    other = make_provider(name="Rogue Provider")
    exc = refused(attestation(signer=other.signer, x5c=other.x5c), pop())
    assert exc.reason is Reason.CLIENT_ATTESTATION_UNTRUSTED
    no_x5c = sign_jws(
        {"typ": "oauth-client-attestation+jwt"}, attestation_claims(), PROVIDER.signer
    )
    assert refused(no_x5c, pop()).reason is Reason.CLIENT_ATTESTATION_UNTRUSTED
    with_anchor = attestation(x5c=encode_x5c([PROVIDER.cert, PROVIDER.root]))
    assert refused(with_anchor, pop()).reason is Reason.CLIENT_ATTESTATION_UNTRUSTED


def test_expired_attestation() -> None:
    expired = raw_attestation(attestation_claims(exp=NOW_S - 3600))
    stale = refused(expired, pop())
    assert stale.reason is Reason.CLIENT_ATTESTATION_EXPIRED
    # -07 §6.2: "use_fresh_attestation MUST be used when the Client Attestation JWT is
    # deemed to be not fresh enough to be acceptable by the server"
    assert stale.wire_error == "use_fresh_attestation"
    # "subject to allowable clock skew between systems"
    verify(raw_attestation(attestation_claims(exp=NOW_S - 10)), pop())
    early = raw_attestation(attestation_claims(nbf=NOW_S + 3600))
    not_yet = refused(early, pop())
    assert not_yet.reason is Reason.CLIENT_ATTESTATION_NOT_YET_VALID
    assert not_yet.wire_error == "invalid_client"
    claims = attestation_claims()
    del claims["exp"]
    assert refused(raw_attestation(claims), pop()).reason is Reason.CLIENT_ATTESTATION_MALFORMED


def test_attestation_time_moves_the_attestation_clock_only() -> None:
    # Judged an hour and a half back, the attestation that expired an hour ago holds...
    expired = raw_attestation(attestation_claims(exp=NOW_S - 3600))
    earlier = NOW - timedelta(minutes=90)
    verify(expired, pop(), attestation_time=earlier)
    # ...while the PoP is still judged now: an old one stays refused.
    stale = raw_pop(pop_claims(iat=NOW_S - 3600))
    exc = refused(raw_attestation(attestation_claims()), stale, attestation_time=earlier)
    assert exc.reason is Reason.CLIENT_ATTESTATION_POP_IAT_OUT_OF_WINDOW


def test_missing_sub() -> None:
    claims = attestation_claims()
    del claims["sub"]
    assert refused(raw_attestation(claims), pop()).reason is Reason.CLIENT_ATTESTATION_SUB_MISSING


@pytest.mark.parametrize(
    "cnf", [None, {}, {"jwk": "x"}, {"jwk": private_jwk(INSTANCE)}, {"jwk": {"kty": "EC"}}]
)
def test_bad_cnf(cnf: object) -> None:
    claims = attestation_claims(cnf=cnf)
    assert refused(raw_attestation(claims), pop()).reason is Reason.CLIENT_ATTESTATION_CNF_INVALID


def test_wrong_typs() -> None:
    wrong = raw_attestation(attestation_claims(), header={"typ": "JWT"})
    assert refused(wrong, pop()).reason is Reason.CLIENT_ATTESTATION_MALFORMED
    wrong_pop = raw_pop(pop_claims(), header={"typ": "JWT"})
    assert refused(attestation(), wrong_pop).reason is Reason.CLIENT_ATTESTATION_POP_MALFORMED


def test_invalid_pop_signature() -> None:
    good = pop()
    head, body, _ = good.split(".")
    other_sig = pop().split(".")[2]
    exc = refused(attestation(), f"{head}.{body}.{other_sig}")
    assert exc.reason is Reason.CLIENT_ATTESTATION_POP_SIGNATURE_INVALID


def test_pop_key_is_not_the_cnf_key() -> None:
    stranger = p256()
    # Signed by another key that the header names: the precise finding.
    named = raw_pop(pop_claims(), key=stranger, header={"jwk": jwk_of(stranger)})
    exc = refused(attestation(), named)
    assert exc.reason is Reason.CLIENT_ATTESTATION_POP_KEY_MISMATCH
    # Signed by another key, named nowhere: the signature does not verify with cnf.
    unnamed = pop(signer=KeySigner(stranger))
    assert refused(attestation(), unnamed).reason is Reason.CLIENT_ATTESTATION_POP_SIGNATURE_INVALID


def test_pop_aud_is_not_the_authorization_server() -> None:
    exc = refused(attestation(), pop(authorization_server="https://other.example.eu"))
    assert exc.reason is Reason.CLIENT_ATTESTATION_POP_AUD_MISMATCH
    # -07: the issuer identifier is "a value for an 'aud' element", so an array holding it is fine.
    verify(attestation(), raw_pop(pop_claims(aud=["https://x.example", AS_ISSUER])))
    assert (
        refused(attestation(), raw_pop(pop_claims(aud=AS_ISSUER + "/"))).reason
        is Reason.CLIENT_ATTESTATION_POP_AUD_MISMATCH
    )


def test_pop_iss_is_not_sub_and_client_id_mismatch() -> None:
    exc = refused(attestation(), pop(client_id="https://other-wallet.example"))
    assert exc.reason is Reason.CLIENT_ATTESTATION_POP_ISS_MISMATCH
    exc = refused(attestation(), pop(), client_id="https://other-wallet.example")
    assert exc.reason is Reason.CLIENT_ATTESTATION_CLIENT_ID_MISMATCH


def test_pop_time_checks() -> None:
    old = pop(now=NOW - MAX_AGE - SKEW - timedelta(seconds=1), lifetime=timedelta(hours=1))
    assert refused(attestation(), old).reason is Reason.CLIENT_ATTESTATION_POP_IAT_OUT_OF_WINDOW
    future = raw_pop(pop_claims(iat=NOW_S + 3600))
    assert refused(attestation(), future).reason is Reason.CLIENT_ATTESTATION_POP_IAT_OUT_OF_WINDOW
    expired = raw_pop(pop_claims(exp=NOW_S - 3600))
    assert refused(attestation(), expired).reason is Reason.CLIENT_ATTESTATION_POP_EXPIRED
    claims = pop_claims()
    del claims["iat"]
    assert refused(attestation(), raw_pop(claims)).reason is Reason.CLIENT_ATTESTATION_POP_MALFORMED
    claims = pop_claims()
    del claims["jti"]
    assert refused(attestation(), raw_pop(claims)).reason is Reason.CLIENT_ATTESTATION_POP_MALFORMED


def test_pop_replay() -> None:
    replay = MemoryReplay()
    att, proof = attestation(), pop()
    # A refusal for another reason burns nothing.
    refused(att, proof, replay=replay, client_id="https://x.example")
    assert replay.seen == {}
    verify(att, proof, replay=replay)
    assert refused(att, proof, replay=replay).reason is Reason.CLIENT_ATTESTATION_POP_REPLAYED
    # The attestation itself may be reused with a fresh PoP (-07 §10.2).
    verify(att, pop(), replay=replay)


def test_challenge() -> None:
    exc = refused(attestation(), pop(), accepted_challenges=["c-1"])
    assert exc.reason is Reason.CLIENT_ATTESTATION_CHALLENGE_MISMATCH
    assert exc.wire_error == "use_attestation_challenge"
    exc = refused(attestation(), pop(challenge="c-0"), accepted_challenges=["c-1"])
    assert exc.reason is Reason.CLIENT_ATTESTATION_CHALLENGE_MISMATCH
    verified = verify(attestation(), pop(challenge="c-1"), accepted_challenges=["c-1"])
    assert verified.challenge == "c-1"  # type: ignore[attr-defined]
    # Drafts up to -05 (and @openid4vc/oauth2 0.4.6) carry the challenge as nonce.
    legacy = raw_pop(pop_claims(nonce="c-1"))
    verify(attestation(), legacy, accepted_challenges=["c-1"])
    assert attestation_challenge_response("c-1") == {"attestation_challenge": "c-1"}


def test_metadata() -> None:
    doc = client_attestation_metadata(algorithms=ALGS, challenge_endpoint=AS_ISSUER + "/challenge")
    assert doc["client_attestation_signing_alg_values_supported"] == ["ES256"]
    assert doc["client_attestation_pop_signing_alg_values_supported"] == ["ES256"]
    assert doc["challenge_endpoint"] == AS_ISSUER + "/challenge"
    with pytest.raises(PasserelleError):
        client_attestation_metadata(algorithms=["none"])


def test_read_headers() -> None:
    att, proof = attestation(), pop()
    assert read_client_attestation_headers([], []) is None
    assert read_client_attestation_headers([att], [proof]) == (att, proof)
    for a, p in (([att], []), ([], [proof]), ([att, att], [proof])):
        with pytest.raises(PasserelleError) as info:
            read_client_attestation_headers(a, p)
        assert info.value.reason is Reason.CLIENT_ATTESTATION_MISSING
        assert info.value.wire_error == "invalid_client"
    with pytest.raises(PasserelleError) as info:
        read_client_attestation_headers([att + "~" + proof], [proof])
    assert info.value.reason is Reason.CLIENT_ATTESTATION_MALFORMED


# The shared profile (derandomized under CI), with this module's own floor of examples.
FUZZ = settings(SHARED_FUZZ, max_examples=max(120, SHARED_FUZZ.max_examples))
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=200)
VALUES = st.one_of(st.none(), st.booleans(), st.integers(), TEXT, st.lists(TEXT, max_size=2))
GOOD_ATT = attestation()


@FUZZ
@given(TEXT, TEXT)
def test_fuzz_tokens(att: str, proof: str) -> None:
    with contextlib.suppress(PasserelleError):
        verify(att, proof)
    with contextlib.suppress(PasserelleError):
        verify(GOOD_ATT, proof)


@FUZZ
@given(st.dictionaries(st.sampled_from(["iss", "sub", "exp", "nbf", "iat", "cnf"]), VALUES))
def test_fuzz_attestation_claims(claims: JsonObject) -> None:
    with contextlib.suppress(PasserelleError):
        verify(raw_attestation(claims), pop())


@FUZZ
@given(
    st.dictionaries(
        st.sampled_from(["iss", "aud", "jti", "iat", "exp", "nbf", "challenge", "nonce"]), VALUES
    )
)
def test_fuzz_pop_claims(claims: JsonObject) -> None:
    with contextlib.suppress(PasserelleError):
        verify(GOOD_ATT, raw_pop(claims), accepted_challenges=["c"], client_id=CLIENT_ID)


@FUZZ
@given(st.lists(TEXT, max_size=3), st.lists(TEXT, max_size=3))
def test_fuzz_headers(att: list[str], proof: list[str]) -> None:
    with contextlib.suppress(PasserelleError):
        read_client_attestation_headers(att, proof)
