"""Every compact SD-JWT example of RFC 9901 verifies with the RFC's example issuer key
and yields exactly the processed payload the RFC states (tests/vectors/rfc9901/)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from passerelle import PasserelleError, Reason
from passerelle.jose import load_public_jwk
from passerelle.sd_jwt import KeyBindingCheck, verify_sd_jwt

VECTORS = sorted((Path(__file__).parents[1] / "vectors" / "rfc9901").glob("*.json"))


def _load(path: Path) -> dict:  # type: ignore[type-arg]
    return json.loads(path.read_text())


def _verify(vector: dict, token: str | None = None):  # type: ignore[no-untyped-def,type-arg]
    kb = vector["key_binding"]
    return verify_sd_jwt(
        token or vector["token"],
        issuer_key=load_public_jwk(vector["issuer_public_jwk"]),
        algorithms=vector["algorithms"],
        now=datetime.fromtimestamp(vector["now"], UTC),
        key_binding=KeyBindingCheck(
            nonce=kb["nonce"], audience=kb["aud"], max_age=timedelta(minutes=5)
        )
        if kb
        else None,
    )


def test_every_vector_is_present() -> None:
    assert len(VECTORS) >= 8
    for path in VECTORS:
        assert _load(path)["source"].startswith("RFC 9901")


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector_verifies_and_reveals_the_stated_claims(path: Path) -> None:
    vector = _load(path)
    verified = _verify(vector)
    assert verified.claims == vector["expected_claims"]
    assert len(verified.sd_jwt.disclosures) == vector["disclosures"]
    assert (verified.key_binding is not None) == (vector["key_binding"] is not None)


@pytest.mark.parametrize("path", VECTORS, ids=[p.stem for p in VECTORS])
def test_vector_with_a_flipped_signature_bit_fails(path: Path) -> None:
    vector = _load(path)
    jwt, rest = vector["token"].split("~", 1)
    head, body, sig = jwt.split(".")
    flipped = sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    with pytest.raises(PasserelleError) as err:
        _verify(vector, f"{head}.{body}.{flipped}~{rest}")
    assert err.value.reason is Reason.JWS_INVALID_SIGNATURE
