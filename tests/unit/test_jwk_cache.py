"""Public JWKs are loaded once per (kty, crv, x, y): the cache never lets through what
loading refuses, and never mixes keys up."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from passerelle._errors import PasserelleError, Reason
from passerelle._json import JsonObject
from passerelle.jose import load_public_jwk, public_jwk
from passerelle.jose._jwk import _cached_public_key


def _ec_jwk() -> JsonObject:
    return public_jwk(ec.generate_private_key(ec.SECP256R1()))


def test_the_same_members_give_the_same_key_object() -> None:
    jwk = _ec_jwk()
    first = load_public_jwk(jwk)
    assert load_public_jwk(dict(jwk)) is first
    assert public_jwk(first) == jwk


def test_other_members_give_other_keys() -> None:
    one, two = _ec_jwk(), _ec_jwk()
    assert public_jwk(load_public_jwk(one)) == one
    assert public_jwk(load_public_jwk(two)) == two
    okp = public_jwk(ed25519.Ed25519PrivateKey.generate())
    key = load_public_jwk({**okp, "y": "ignored"})
    assert isinstance(key, ed25519.Ed25519PublicKey)
    assert public_jwk(key) == okp


def test_a_private_member_is_refused_even_for_a_loaded_key() -> None:
    jwk = _ec_jwk()
    load_public_jwk(jwk)
    with pytest.raises(PasserelleError) as caught:
        load_public_jwk({**jwk, "d": "AA"})
    assert caught.value.reason is Reason.JWK_PRIVATE


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"kty": "OKP"}, Reason.JWK_UNSUPPORTED),
        ({"crv": "P-384"}, Reason.JWK_INVALID),
        ({"y": None}, Reason.JWK_INVALID),
        ({"y": 7}, Reason.JWK_INVALID),
        ({"x": "A"}, Reason.INPUT_MALFORMED),
    ],
)
def test_refusals_are_not_cached_away(change: JsonObject, reason: Reason) -> None:
    jwk = _ec_jwk()
    load_public_jwk(jwk)
    changed = {k: v for k, v in {**jwk, **change}.items() if v is not None}
    for _ in range(2):
        with pytest.raises(PasserelleError) as caught:
            load_public_jwk(changed)
        assert caught.value.reason is reason


def test_a_point_off_the_curve_is_refused_every_time() -> None:
    jwk = _ec_jwk()
    off = {**jwk, "y": jwk["x"]}
    before = _cached_public_key.cache_info().currsize
    for _ in range(2):
        with pytest.raises(PasserelleError) as caught:
            load_public_jwk(off)
        assert caught.value.reason is Reason.JWK_INVALID
    assert _cached_public_key.cache_info().currsize == before
