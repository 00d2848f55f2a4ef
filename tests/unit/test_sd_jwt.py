"""SD-JWT (RFC 9901): issuance, presentation, verification, and the negative catalog."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from passerelle import PasserelleError, Reason
from passerelle._json import b64url_encode
from passerelle.jose import KeySigner, public_jwk, sign_jws
from passerelle.sd_jwt import (
    KeyBindingCheck,
    KeyBindingInput,
    create_kb_jwt,
    hash_b64url,
    issue_sd_jwt,
    parse_sd_jwt,
    present_sd_jwt,
    verify_sd_jwt,
)
from tests.conftest import NOW, SeededRandom

AUD = "https://verifier.example.org"
NONCE = "n-0S6_WzA2Mj"


def _claims(holder: ec.EllipticCurvePrivateKey) -> dict[str, object]:
    return {
        "iss": "https://issuer.example.ca",
        "iat": int(NOW.timestamp()) - 60,
        "exp": int(NOW.timestamp()) + 3600,
        "cnf": {"jwk": public_jwk(holder)},
        "given_name": "Élise",
        "family_name": "Tremblay",
        "address": {"locality": "Montréal", "region": "QC", "country": "CA"},
        "nationalities": ["CA", "FR"],
    }


DISCLOSABLE = [
    ("given_name",),
    ("family_name",),
    ("address",),
    ("address", "locality"),
    ("address", "region"),
    ("nationalities", None),
]


def _issue(
    issuer: ec.EllipticCurvePrivateKey, holder: ec.EllipticCurvePrivateKey, **kw: object
) -> str:
    return issue_sd_jwt(
        _claims(holder),  # type: ignore[arg-type]
        disclosable=DISCLOSABLE,
        signer=KeySigner(issuer),
        random=SeededRandom(),
        header={"typ": "example+sd-jwt"},
        **kw,  # type: ignore[arg-type]
    )


def _bind(
    holder: ec.EllipticCurvePrivateKey, *, now: datetime = NOW, nonce: str = NONCE, aud: str = AUD
) -> KeyBindingInput:
    return KeyBindingInput(signer=KeySigner(holder), nonce=nonce, audience=aud, now=now)


def _verify(token: str, issuer: ec.EllipticCurvePrivateKey, *, kb: bool = True, **kw: object):  # type: ignore[no-untyped-def]
    return verify_sd_jwt(
        token,
        issuer_key=issuer.public_key(),
        algorithms=["ES256"],
        now=kw.pop("now", NOW),  # type: ignore[arg-type]
        key_binding=KeyBindingCheck(nonce=NONCE, audience=AUD) if kb else None,
        **kw,  # type: ignore[arg-type]
    )


def _forge(
    issuer: ec.EllipticCurvePrivateKey, payload: dict[str, object], disclosures: list[list[object]]
) -> tuple[str, list[str]]:
    """Sign an arbitrary payload with arbitrary disclosures: how an attacker with the
    issuer's cooperation (or a buggy issuer) would build a malformed SD-JWT."""
    encoded = [b64url_encode(json.dumps(d).encode()) for d in disclosures]
    jwt = sign_jws({"typ": "example+sd-jwt"}, payload, KeySigner(issuer))  # type: ignore[arg-type]
    return "~".join([jwt, *encoded]) + "~", encoded


def _digest(encoded: str) -> str:
    return hash_b64url("sha-256", encoded)


# --- positive behaviour ---------------------------------------------------------------


def test_issue_then_verify_reveals_everything(issuer_key, holder_key) -> None:
    token = _issue(issuer_key, holder_key, max_decoys=4)
    verified = _verify(token, issuer_key, kb=False)
    expected = _claims(holder_key)
    assert verified.claims == expected
    assert verified.key_binding is None
    # Nothing of the clear text is readable in the signed payload.
    signed = json.dumps(verified.signed_payload)
    for clear in ('"Élise"', '"Montréal"', '"FR"', '"Tremblay"'):
        assert clear not in signed


def test_presentation_with_key_binding_reveals_only_the_selection(issuer_key, holder_key) -> None:
    token = _issue(issuer_key, holder_key)
    shown = present_sd_jwt(
        token,
        disclose=[("address", "locality"), ("nationalities", 1)],
        key_binding=_bind(holder_key),
    )
    verified = _verify(shown, issuer_key)
    assert verified.claims["address"] == {"locality": "Montréal", "country": "CA"}
    assert verified.claims["nationalities"] == ["FR"]
    assert "given_name" not in verified.claims
    assert "family_name" not in verified.claims
    assert verified.key_binding is not None
    assert verified.key_binding.nonce == NONCE


def test_decoys_are_added_and_sd_arrays_sorted(issuer_key, holder_key) -> None:
    token = _issue(issuer_key, holder_key, max_decoys=5)
    parsed = parse_sd_jwt(token)
    payload = parsed.unverified_payload()
    digests = payload["_sd"]
    assert digests == sorted(digests)  # type: ignore[type-var]

    def count(node: object) -> int:
        if isinstance(node, dict):
            own = len(node.get("_sd", [])) + (1 if "..." in node else 0)
            return own + sum(count(v) for k, v in node.items() if k != "_sd")
        if isinstance(node, list):
            return sum(count(v) for v in node)
        return 0

    total = count(payload) + sum(count(d.value) for d in parsed.disclosures)
    assert total > len(parsed.disclosures)  # decoys exist beside the real digests


def test_salts_are_distinct_between_issuances(issuer_key, holder_key) -> None:
    a = issue_sd_jwt(
        {"x": 1}, disclosable=[("x",)], signer=KeySigner(issuer_key), random=SeededRandom(1)
    )
    b = issue_sd_jwt(
        {"x": 1}, disclosable=[("x",)], signer=KeySigner(issuer_key), random=SeededRandom(2)
    )
    assert parse_sd_jwt(a).disclosures[0].salt != parse_sd_jwt(b).disclosures[0].salt


def test_unknown_disclosable_path_is_a_local_error(issuer_key) -> None:
    with pytest.raises(PasserelleError) as err:
        issue_sd_jwt(
            {"x": 1}, disclosable=[("y",)], signer=KeySigner(issuer_key), random=SeededRandom()
        )
    assert err.value.reason is Reason.SD_JWT_UNDISCLOSABLE


# --- negative catalog (DESIGN §9) -------------------------------------------------------


def test_alg_none_is_refused(issuer_key, holder_key) -> None:
    token = _issue(issuer_key, holder_key)
    jwt, rest = token.split("~", 1)
    header = b64url_encode(json.dumps({"alg": "none", "typ": "example+sd-jwt"}).encode())
    forged = f"{header}.{jwt.split('.')[1]}.~{rest}"
    with pytest.raises(PasserelleError) as err:
        _verify(forged, issuer_key, kb=False)
    assert err.value.reason in (Reason.JWS_ALG_NOT_ALLOWED, Reason.SD_JWT_MALFORMED)
    forged_sig = f"{header}.{jwt.split('.')[1]}.{b64url_encode(b'x' * 64)}~{rest}"
    with pytest.raises(PasserelleError) as err:
        _verify(forged_sig, issuer_key, kb=False)
    assert err.value.reason is Reason.JWS_ALG_NOT_ALLOWED


def test_hmac_with_the_public_key_is_refused(issuer_key, holder_key) -> None:
    secret = issuer_key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    header = b64url_encode(json.dumps({"alg": "HS256", "typ": "example+sd-jwt"}).encode())
    body = b64url_encode(json.dumps(_claims(holder_key)).encode())
    mac = hmac.new(secret, f"{header}.{body}".encode(), hashlib.sha256).digest()
    with pytest.raises(PasserelleError) as err:
        _verify(f"{header}.{body}.{b64url_encode(mac)}~", issuer_key, kb=False)
    assert err.value.reason is Reason.JWS_ALG_NOT_ALLOWED


def test_algorithm_key_mismatch_is_refused(holder_key) -> None:
    p384 = ec.generate_private_key(ec.SECP384R1())
    token = issue_sd_jwt(
        _claims(holder_key), disclosable=[], signer=KeySigner(p384), random=SeededRandom()
    )  # type: ignore[arg-type]
    p256 = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(PasserelleError) as err:
        verify_sd_jwt(token, issuer_key=p256.public_key(), algorithms=["ES256", "ES384"], now=NOW)
    assert err.value.reason is Reason.JWS_ALG_MISMATCH


def test_wrong_issuer_key_fails_signature(issuer_key, holder_key) -> None:
    token = _issue(issuer_key, holder_key)
    other = ec.generate_private_key(ec.SECP256R1())
    with pytest.raises(PasserelleError) as err:
        _verify(token, other, kb=False)
    assert err.value.reason is Reason.JWS_INVALID_SIGNATURE


def test_tampered_disclosure_is_unreferenced(issuer_key, holder_key) -> None:
    token = _issue(issuer_key, holder_key)
    parsed = parse_sd_jwt(token)
    victim = next(d for d in parsed.disclosures if d.name == "family_name")
    tampered = b64url_encode(json.dumps([victim.salt, "family_name", "Smith"]).encode())
    with pytest.raises(PasserelleError) as err:
        _verify(token.replace(victim.encoded, tampered), issuer_key, kb=False)
    assert err.value.reason is Reason.SD_JWT_UNREFERENCED_DISCLOSURE


def test_duplicate_digest_is_refused(issuer_key) -> None:
    d = b64url_encode(json.dumps(["salt1", "a", 1]).encode())
    token, _ = _forge(issuer_key, {"_sd": [_digest(d)], "nested": {"_sd": [_digest(d)]}}, [])
    with pytest.raises(PasserelleError) as err:
        _verify(token + "", issuer_key, kb=False)
    assert err.value.reason is Reason.SD_JWT_DUPLICATE_DIGEST


def test_duplicate_disclosure_is_refused(issuer_key) -> None:
    _, (enc,) = _forge(issuer_key, {}, [["salt1", "a", 1]])
    payload_token, _ = _forge(issuer_key, {"_sd": [_digest(enc)]}, [["salt1", "a", 1]])
    with pytest.raises(PasserelleError) as err:
        _verify(payload_token + enc + "~", issuer_key, kb=False)
    assert err.value.reason is Reason.SD_JWT_DUPLICATE_DISCLOSURE


def test_unreferenced_disclosure_is_refused(issuer_key) -> None:
    token, _ = _forge(issuer_key, {"a": 1}, [["salt1", "b", 2]])
    with pytest.raises(PasserelleError) as err:
        _verify(token, issuer_key, kb=False)
    assert err.value.reason is Reason.SD_JWT_UNREFERENCED_DISCLOSURE


@pytest.mark.parametrize("name", ["_sd", "..."])
def test_reserved_name_inside_a_disclosure_is_refused(issuer_key, name: str) -> None:
    enc = b64url_encode(json.dumps(["salt1", name, ["x"]]).encode())
    token, _ = _forge(issuer_key, {"_sd": [_digest(enc)]}, [["salt1", name, ["x"]]])
    with pytest.raises(PasserelleError) as err:
        _verify(token, issuer_key, kb=False)
    assert err.value.reason is Reason.SD_JWT_RESERVED_CLAIM_NAME


def test_disclosed_claim_colliding_with_a_clear_claim_is_refused(issuer_key) -> None:
    enc = b64url_encode(json.dumps(["salt1", "a", 2]).encode())
    token, _ = _forge(issuer_key, {"a": 1, "_sd": [_digest(enc)]}, [["salt1", "a", 2]])
    with pytest.raises(PasserelleError) as err:
        _verify(token, issuer_key, kb=False)
    assert err.value.reason is Reason.SD_JWT_CLAIM_COLLISION


def test_array_disclosure_in_object_position_is_refused(issuer_key) -> None:
    enc = b64url_encode(json.dumps(["salt1", "value"]).encode())
    token, _ = _forge(issuer_key, {"_sd": [_digest(enc)]}, [["salt1", "value"]])
    with pytest.raises(PasserelleError) as err:
        _verify(token, issuer_key, kb=False)
    assert err.value.reason is Reason.SD_JWT_DISCLOSURE_WRONG_PLACE


def test_malformed_disclosure_is_refused(issuer_key) -> None:
    token, _ = _forge(issuer_key, {}, [["only-salt"]])
    with pytest.raises(PasserelleError) as err:
        _verify(token, issuer_key, kb=False)
    assert err.value.reason is Reason.SD_JWT_DISCLOSURE_MALFORMED


def test_unsupported_sd_alg_is_refused(issuer_key) -> None:
    token, _ = _forge(issuer_key, {"_sd_alg": "md5", "_sd": []}, [["s", "a", 1]])
    with pytest.raises(PasserelleError) as err:
        _verify(token, issuer_key, kb=False)
    assert err.value.reason is Reason.SD_JWT_ALG_UNSUPPORTED


def test_expired_and_not_yet_valid_credentials(issuer_key, holder_key) -> None:
    token = _issue(issuer_key, holder_key)
    with pytest.raises(PasserelleError) as err:
        _verify(token, issuer_key, kb=False, now=NOW + timedelta(hours=2))
    assert err.value.reason is Reason.CREDENTIAL_EXPIRED
    early = issue_sd_jwt(
        {"nbf": int(NOW.timestamp()) + 3600},
        disclosable=[],
        signer=KeySigner(issuer_key),
        random=SeededRandom(),
    )
    with pytest.raises(PasserelleError) as err:
        _verify(early, issuer_key, kb=False)
    assert err.value.reason is Reason.CREDENTIAL_NOT_YET_VALID


# --- key binding ---------------------------------------------------------------------------


def test_key_binding_required_but_missing(issuer_key, holder_key) -> None:
    shown = present_sd_jwt(_issue(issuer_key, holder_key), disclose=[("given_name",)])
    with pytest.raises(PasserelleError) as err:
        _verify(shown, issuer_key)
    assert err.value.reason is Reason.KB_JWT_MISSING


def test_wrong_sd_hash_is_refused(issuer_key, holder_key) -> None:
    token = _issue(issuer_key, holder_key)
    shown = present_sd_jwt(token, disclose=[("given_name",)])
    kb = create_kb_jwt(shown, binding=_bind(holder_key), hash_alg="sha-256")
    # The KB-JWT was made for one selection; the holder then adds a disclosure.
    extra = next(d.encoded for d in parse_sd_jwt(token).disclosures if d.name == "family_name")
    with pytest.raises(PasserelleError) as err:
        _verify(shown + extra + "~" + kb, issuer_key)
    assert err.value.reason is Reason.KB_JWT_SD_HASH_MISMATCH


@pytest.mark.parametrize(
    ("binding", "reason"),
    [
        ({"nonce": "other"}, Reason.KB_JWT_NONCE_MISMATCH),
        ({"aud": "https://evil.example"}, Reason.KB_JWT_AUD_MISMATCH),
        ({"now": NOW - timedelta(minutes=30)}, Reason.KB_JWT_IAT_OUT_OF_WINDOW),
        ({"now": NOW + timedelta(minutes=5)}, Reason.KB_JWT_IAT_OUT_OF_WINDOW),
    ],
)
def test_key_binding_checks(
    issuer_key, holder_key, binding: dict[str, object], reason: Reason
) -> None:
    shown = present_sd_jwt(
        _issue(issuer_key, holder_key),
        disclose=[("given_name",)],
        key_binding=_bind(holder_key, **binding),
    )  # type: ignore[arg-type]
    with pytest.raises(PasserelleError) as err:
        _verify(shown, issuer_key)
    assert err.value.reason is reason


def test_kb_jwt_signed_by_another_key_is_refused(issuer_key, holder_key) -> None:
    thief = ec.generate_private_key(ec.SECP256R1())
    shown = present_sd_jwt(_issue(issuer_key, holder_key), disclose=[], key_binding=_bind(thief))
    with pytest.raises(PasserelleError) as err:
        _verify(shown, issuer_key)
    assert err.value.reason is Reason.KB_JWT_INVALID_SIGNATURE


def test_kb_jwt_with_wrong_typ_is_refused(issuer_key, holder_key) -> None:
    shown = present_sd_jwt(_issue(issuer_key, holder_key), disclose=[])
    payload = {
        "iat": int(NOW.timestamp()),
        "aud": AUD,
        "nonce": NONCE,
        "sd_hash": hash_b64url("sha-256", shown),
    }
    kb = sign_jws({"typ": "JWT"}, payload, KeySigner(holder_key))
    with pytest.raises(PasserelleError) as err:
        _verify(shown + kb, issuer_key)
    assert err.value.reason is Reason.JWS_TYP_MISMATCH


def test_no_holder_key_means_no_key_binding(issuer_key, holder_key) -> None:
    token = issue_sd_jwt(
        {"a": 1}, disclosable=[], signer=KeySigner(issuer_key), random=SeededRandom()
    )
    shown = present_sd_jwt(token, disclose=[], key_binding=_bind(holder_key))
    with pytest.raises(PasserelleError) as err:
        _verify(shown, issuer_key)
    assert err.value.reason is Reason.KB_JWT_NO_HOLDER_KEY


@pytest.mark.parametrize(
    "text",
    ["", "not-a-jwt", "a.b.c", "a.b~", "eyJ9.e30.AA~~x~", base64.b64encode(b"{}").decode() + "~"],
)
def test_garbage_is_refused_with_a_reason(issuer_key, text: str) -> None:
    with pytest.raises(PasserelleError) as err:
        _verify(text, issuer_key, kb=False)
    assert err.value.reason.startswith(("sd_jwt.", "jws.", "input."))


# --- property: what is presented is exactly what is revealed ----------------------------

_SUBJECT = {
    "given_name": "Élise",
    "family_name": "Tremblay",
    "birthdate": "1990-04-01",
    "email": "elise@example.ca",
    "address": {"locality": "Montréal", "region": "QC", "postal_code": "H2X 1Y4"},
    "nationalities": ["CA", "FR", "IE"],
}
_LEAVES: list[tuple[str | int, ...]] = [
    ("given_name",),
    ("family_name",),
    ("birthdate",),
    ("email",),
    ("address", "locality"),
    ("address", "region"),
    ("address", "postal_code"),
    ("nationalities", 0),
    ("nationalities", 1),
    ("nationalities", 2),
]
_ISSUER = ec.generate_private_key(ec.SECP256R1())
_HOLDER = ec.generate_private_key(ec.SECP256R1())
_TOKEN = issue_sd_jwt(
    {**_SUBJECT, "cnf": {"jwk": public_jwk(_HOLDER)}},  # type: ignore[dict-item]
    disclosable=[*_LEAVES, ("address",)],
    signer=KeySigner(_ISSUER),
    random=SeededRandom(3),
    max_decoys=3,
)


def _expected(subset: list[tuple[str | int, ...]]) -> dict[str, object]:
    out: dict[str, object] = {}
    for name in ("given_name", "family_name", "birthdate", "email"):
        if (name,) in subset:
            out[name] = _SUBJECT[name]
    address = {k: v for k, v in _SUBJECT["address"].items() if ("address", k) in subset}  # type: ignore[attr-defined]
    if address:
        out["address"] = address
    out["nationalities"] = [
        v for i, v in enumerate(_SUBJECT["nationalities"]) if ("nationalities", i) in subset
    ]  # type: ignore[arg-type]
    return out


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(_LEAVES), unique=True))
def test_present_any_subset_reveals_exactly_that_subset(
    subset: list[tuple[str | int, ...]],
) -> None:
    shown = present_sd_jwt(_TOKEN, disclose=subset, key_binding=_bind(_HOLDER))
    verified = _verify(shown, _ISSUER)
    revealed = {k: v for k, v in verified.claims.items() if k != "cnf"}
    assert revealed == _expected(subset)


def test_unsupported_sd_alg_is_refused_even_without_disclosures(issuer_key) -> None:
    token, _ = _forge(issuer_key, {"_sd_alg": "md5", "a": 1}, [])
    with pytest.raises(PasserelleError) as err:
        _verify(token, issuer_key, kb=False)
    assert err.value.reason is Reason.SD_JWT_ALG_UNSUPPORTED


@pytest.mark.parametrize("payload", [b'{"exp": 1e999}', b'{"a": "\\ud800"}', b'{"\\udfff": 1}'])
def test_out_of_range_json_is_refused_at_parse(payload: bytes) -> None:
    from passerelle._json import parse_json

    with pytest.raises(PasserelleError) as err:
        parse_json(payload)
    assert err.value.reason is Reason.INPUT_MALFORMED


def test_numeric_dates_beyond_year_9999_are_refused(issuer_key) -> None:
    token, _ = _forge(issuer_key, {"exp": 10**12}, [])
    with pytest.raises(PasserelleError) as err:
        _verify(token, issuer_key, kb=False)
    assert err.value.reason is Reason.JWT_CLAIM_INVALID
