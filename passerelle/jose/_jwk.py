"""JWKs (RFC 7517/7518/8037), RFC 7638 thumbprints, and the algorithms we speak.

The algorithm table is closed on purpose: ES256, ES384 and Ed25519 (RFC 9864's
fully-specified name; ``EdDSA`` is kept for peers that still send it). There is no
HMAC and no ``none`` in it, so "HMAC with a public key" and ``alg: none`` cannot be
verified, whatever a caller allows.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue, b64url_decode, b64url_encode, canonical_json

__all__ = [
    "ALGORITHMS",
    "Algorithm",
    "PrivateKey",
    "PublicKey",
    "algorithm_for_key",
    "jwk_thumbprint",
    "load_private_jwk",
    "load_public_jwk",
    "private_jwk",
    "public_jwk",
]

PublicKey: TypeAlias = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
PrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


@dataclass(frozen=True, slots=True, kw_only=True)
class Algorithm:
    """A JWS algorithm and the only key shape it may be used with."""

    name: str
    kty: str
    crv: str
    hash: hashes.HashAlgorithm | None
    coordinate_size: int


ALGORITHMS: Mapping[str, Algorithm] = {
    "ES256": Algorithm(
        name="ES256", kty="EC", crv="P-256", hash=hashes.SHA256(), coordinate_size=32
    ),
    "ES384": Algorithm(
        name="ES384", kty="EC", crv="P-384", hash=hashes.SHA384(), coordinate_size=48
    ),
    "Ed25519": Algorithm(name="Ed25519", kty="OKP", crv="Ed25519", hash=None, coordinate_size=32),
    "EdDSA": Algorithm(name="EdDSA", kty="OKP", crv="Ed25519", hash=None, coordinate_size=32),
}

_CURVES: Mapping[str, ec.EllipticCurve] = {"P-256": ec.SECP256R1(), "P-384": ec.SECP384R1()}
_CURVE_NAMES: Mapping[str, str] = {"secp256r1": "P-256", "secp384r1": "P-384"}


def _crv_of(key: PublicKey | PrivateKey) -> tuple[str, str]:
    if isinstance(key, ed25519.Ed25519PublicKey | ed25519.Ed25519PrivateKey):
        return "OKP", "Ed25519"
    name = _CURVE_NAMES.get(key.curve.name)
    if name is None:
        raise local_error(Reason.JWK_UNSUPPORTED, f"curve {key.curve.name} is not supported")
    return "EC", name


def algorithm_for_key(key: PublicKey | PrivateKey) -> str:
    """The algorithm we sign with for this key (RFC 9864 names)."""
    _, crv = _crv_of(key)
    return {"P-256": "ES256", "P-384": "ES384", "Ed25519": "Ed25519"}[crv]


def _to_public(key: PublicKey | PrivateKey) -> PublicKey:
    if isinstance(key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        return key.public_key()
    return key


def public_jwk(key: PublicKey | PrivateKey) -> JsonObject:
    """The public JWK of a key, with only the members RFC 7638 hashes."""
    pub = _to_public(key)
    kty, crv = _crv_of(pub)
    if isinstance(pub, ed25519.Ed25519PublicKey):
        from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

        raw = pub.public_bytes(Encoding.Raw, PublicFormat.Raw)
        return {"kty": kty, "crv": crv, "x": b64url_encode(raw)}
    size = (pub.curve.key_size + 7) // 8
    numbers = pub.public_numbers()
    return {
        "kty": kty,
        "crv": crv,
        "x": b64url_encode(numbers.x.to_bytes(size, "big")),
        "y": b64url_encode(numbers.y.to_bytes(size, "big")),
    }


def private_jwk(key: PrivateKey) -> JsonObject:
    jwk = public_jwk(key)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        from cryptography.hazmat.primitives.serialization import (
            Encoding,
            NoEncryption,
            PrivateFormat,
        )

        d = key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    else:
        d = key.private_numbers().private_value.to_bytes((key.curve.key_size + 7) // 8, "big")
    return {**jwk, "d": b64url_encode(d)}


def _member(jwk: Mapping[str, JsonValue], name: str) -> str:
    value = jwk.get(name)
    if not isinstance(value, str):
        raise PasserelleError(Reason.JWK_INVALID, f"JWK member {name!r} is missing or not a string")
    return value


def _coordinate(jwk: Mapping[str, JsonValue], name: str, size: int) -> int:
    raw = b64url_decode(_member(jwk, name), what=f"JWK {name}")
    if len(raw) != size:
        raise PasserelleError(Reason.JWK_INVALID, f"JWK {name} must be {size} bytes")
    return int.from_bytes(raw, "big")


def load_public_jwk(jwk: Mapping[str, JsonValue]) -> PublicKey:
    """Import a public JWK from a peer. Private members are refused, not ignored."""
    if not isinstance(jwk, dict | Mapping):
        raise PasserelleError(Reason.JWK_INVALID, "JWK is not a JSON object")
    if "d" in jwk:
        raise PasserelleError(Reason.JWK_PRIVATE, "a public JWK must not carry the private key")
    kty, crv = _member(jwk, "kty"), _member(jwk, "crv")
    x, y = jwk.get("x"), jwk.get("y")
    if isinstance(x, str) and (isinstance(y, str) or (y is None and kty != "EC")):
        # The key is a function of these four strings alone (``d`` was refused above).
        return _cached_public_key(kty, crv, x, y)
    return _public_key(jwk, kty, crv)


@functools.lru_cache(maxsize=1024)
def _cached_public_key(kty: str, crv: str, x: str, y: str | None) -> PublicKey:
    """Holders and issuers present the same keys again and again; loading one checks
    the point is on the curve, a third of a verification. Key objects are immutable,
    and a refusal raises, so only keys that loaded are kept."""
    return _public_key({"x": x} if y is None else {"x": x, "y": y}, kty, crv)


def _public_key(jwk: Mapping[str, JsonValue], kty: str, crv: str) -> PublicKey:
    try:
        if kty == "OKP" and crv == "Ed25519":
            raw = b64url_decode(_member(jwk, "x"), what="JWK x")
            return ed25519.Ed25519PublicKey.from_public_bytes(raw)
        if kty == "EC" and crv in _CURVES:
            curve = _CURVES[crv]
            size = (curve.key_size + 7) // 8
            x, y = _coordinate(jwk, "x", size), _coordinate(jwk, "y", size)
            # from_encoded_point checks the point is on the curve (invalid-curve attacks).
            point = b"\x04" + x.to_bytes(size, "big") + y.to_bytes(size, "big")
            return ec.EllipticCurvePublicKey.from_encoded_point(curve, point)
    except ValueError as exc:
        raise PasserelleError(Reason.JWK_INVALID, f"JWK is not a valid {crv} key") from exc
    raise PasserelleError(Reason.JWK_UNSUPPORTED, f"unsupported JWK kty={kty!r} crv={crv!r}")


def load_private_jwk(jwk: Mapping[str, JsonValue]) -> PrivateKey:
    """Import one of our own private JWKs (from the data directory)."""
    public = load_public_jwk({k: v for k, v in jwk.items() if k != "d"})
    d = b64url_decode(_member(jwk, "d"), what="JWK d")
    try:
        if isinstance(public, ed25519.Ed25519PublicKey):
            return ed25519.Ed25519PrivateKey.from_private_bytes(d)
        private = ec.derive_private_key(int.from_bytes(d, "big"), public.curve)
    except ValueError as exc:
        raise PasserelleError(Reason.JWK_INVALID, "JWK d is not a valid private key") from exc
    if private.public_key().public_numbers() != public.public_numbers():
        raise PasserelleError(Reason.JWK_INVALID, "JWK d does not match x and y")
    return private


_THUMBPRINT_MEMBERS: Mapping[str, tuple[str, ...]] = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
}


def jwk_thumbprint(jwk: Mapping[str, JsonValue] | PublicKey) -> str:
    """RFC 7638 SHA-256 thumbprint, base64url."""
    members = jwk if isinstance(jwk, Mapping) else public_jwk(jwk)
    kty = _member(members, "kty")
    required = _THUMBPRINT_MEMBERS.get(kty)
    if required is None:
        raise PasserelleError(Reason.JWK_UNSUPPORTED, f"no thumbprint rule for kty={kty!r}")
    subset: JsonObject = {name: _member(members, name) for name in required}
    return b64url_encode(hashlib.sha256(canonical_json(subset)).digest())
