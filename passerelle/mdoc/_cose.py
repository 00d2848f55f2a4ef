"""COSE_Sign1, COSE_Mac0 and COSE_Key (RFC 9052, RFC 9053) over ``cryptography``.

Only what mdoc uses: single-signer COSE_Sign1 with ES256/ES384/ES512/EdDSA, COSE_Mac0
with HMAC 256/256, external_aad always empty, attached or detached payloads.

Sig_structure (RFC 9052 §4.4) and MAC_structure (§6.3) are built here, with definite
lengths as §9 demands of them: "Encoding MUST be done using definite lengths, and the
length of the (encoded) argument MUST be the minimum possible length."
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeAlias

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import constant_time, hashes, hmac
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from .._errors import PasserelleError, Reason, local_error
from ._cbor import decode, encode, expect

__all__ = [
    "ALG_EDDSA",
    "ALG_ES256",
    "ALG_ES384",
    "ALG_ES512",
    "ALG_HMAC_256",
    "CoseMac0",
    "CoseSign1",
    "DevicePrivateKey",
    "DevicePublicKey",
    "cose_key_from_public",
    "parse_cose_mac0",
    "parse_cose_sign1",
    "public_key_from_cose_key",
    "sign_cose_sign1",
]

DevicePublicKey: TypeAlias = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
DevicePrivateKey: TypeAlias = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

# RFC 9053 §2.1, §2.2 and §3.1 algorithm identifiers.
ALG_ES256 = -7
ALG_ES384 = -35
ALG_ES512 = -36
ALG_EDDSA = -8
ALG_HMAC_256 = 5

HEADER_ALG = 1
HEADER_X5CHAIN = 33  # RFC 9360 §2

# alg -> (curve name, coordinate size, hash); EdDSA has no curve here.
_EC_ALGS: dict[int, tuple[type[ec.EllipticCurve], int, hashes.HashAlgorithm]] = {
    ALG_ES256: (ec.SECP256R1, 32, hashes.SHA256()),
    ALG_ES384: (ec.SECP384R1, 48, hashes.SHA384()),
    ALG_ES512: (ec.SECP521R1, 66, hashes.SHA512()),
}
# COSE_Key crv values (RFC 9053 §7.1).
_CRV_EC2: dict[int, type[ec.EllipticCurve]] = {1: ec.SECP256R1, 2: ec.SECP384R1, 3: ec.SECP521R1}
_CRV_ED25519 = 6
_KTY_OKP = 1
_KTY_EC2 = 2


@dataclass(frozen=True, slots=True, kw_only=True)
class CoseSign1:
    """A decoded COSE_Sign1; nothing about it is verified yet."""

    protected_bytes: bytes
    protected: Mapping[object, object]
    unprotected: Mapping[object, object]
    #: None when detached (the caller supplies it to :meth:`verify`).
    payload: bytes | None
    signature: bytes

    @property
    def alg(self) -> int:
        return _protected_alg(self.protected)

    def verify(
        self, key: DevicePublicKey, *, reason: Reason, detached: bytes | None = None
    ) -> None:
        """Verify the signature under ``key``; raise ``reason`` if it does not hold."""
        payload = self.payload if detached is None else detached
        if payload is None:
            raise PasserelleError(Reason.MDOC_MALFORMED, "COSE_Sign1 has no payload to verify")
        if detached is not None and self.payload is not None:
            raise PasserelleError(
                Reason.MDOC_MALFORMED, "COSE_Sign1 carries a payload where it must be detached"
            )
        to_be_signed = _sig_structure(self.protected_bytes, payload)
        _verify_signature(self.alg, key, to_be_signed, self.signature, reason=reason)

    def to_cbor(self) -> list[object]:
        return [self.protected_bytes, dict(self.unprotected), self.payload, self.signature]


@dataclass(frozen=True, slots=True, kw_only=True)
class CoseMac0:
    """A decoded COSE_Mac0; nothing about it is verified yet."""

    protected_bytes: bytes
    protected: Mapping[object, object]
    unprotected: Mapping[object, object]
    payload: bytes | None
    tag: bytes

    def verify(self, key: bytes, *, detached: bytes, reason: Reason) -> None:
        alg = _protected_alg(self.protected)
        if alg != ALG_HMAC_256:
            raise PasserelleError(Reason.MDOC_ALG_UNSUPPORTED, f"COSE_Mac0 alg {alg} is not 5")
        if self.payload is not None:
            raise PasserelleError(
                Reason.MDOC_MALFORMED, "COSE_Mac0 carries a payload where it must be detached"
            )
        mac = hmac.HMAC(key, hashes.SHA256())
        mac.update(encode(["MAC0", self.protected_bytes, b"", detached]))
        if not constant_time.bytes_eq(mac.finalize(), self.tag):
            raise PasserelleError(reason, "the COSE_Mac0 tag does not verify")


def _protected_alg(protected: Mapping[object, object]) -> int:
    # ISO/IEC 18013-5 puts alg in the protected header; unprotected alone is not enough.
    alg = protected.get(HEADER_ALG)
    if alg is None:
        raise PasserelleError(Reason.MDOC_ALG_UNSUPPORTED, "no alg in the protected header")
    if isinstance(alg, bool) or not isinstance(alg, int):
        raise PasserelleError(Reason.MDOC_ALG_UNSUPPORTED, f"alg {alg!r} is not a COSE integer")
    return alg


def _sig_structure(protected_bytes: bytes, payload: bytes) -> bytes:
    # RFC 9052 §4.4: ["Signature1", body_protected, external_aad, payload].
    return encode(["Signature1", protected_bytes, b"", payload])


def _parse_headers(value: object, *, what: str) -> tuple[bytes, Mapping[object, object]]:
    protected_bytes = expect(value, bytes, what=f"{what} protected header")
    if not protected_bytes:
        return b"", {}
    # RFC 9052 §9 binds these bytes into the Sig_structure with definite lengths.
    header = decode(protected_bytes, what=f"{what} protected header", definite=True)
    return protected_bytes, expect(header, dict, what=f"{what} protected header")


def _untag(value: object, tag: int) -> object:
    if isinstance(value, cbor2.CBORTag):
        if value.tag != tag:
            raise PasserelleError(Reason.MDOC_MALFORMED, f"COSE structure tagged {value.tag}")
        return value.value
    return value


def parse_cose_sign1(value: object, *, what: str) -> CoseSign1:
    """A COSE_Sign1 from its decoded CBOR array (tag 18 allowed, not required)."""
    items = expect(_untag(value, 18), list, what=what)
    if len(items) != 4:
        raise PasserelleError(Reason.MDOC_MALFORMED, f"{what} is not a 4-element COSE_Sign1")
    protected_bytes, protected = _parse_headers(items[0], what=what)
    unprotected = expect(items[1], dict, what=f"{what} unprotected header")
    if set(protected) & set(unprotected):
        # RFC 9052 §3: a label MUST NOT occur in both buckets.
        raise PasserelleError(Reason.MDOC_MALFORMED, f"{what}: a label is both protected and not")
    payload = items[2]
    if payload is not None and not isinstance(payload, bytes):
        raise PasserelleError(Reason.MDOC_MALFORMED, f"{what} payload is not bstr or nil")
    signature = expect(items[3], bytes, what=f"{what} signature")
    return CoseSign1(
        protected_bytes=protected_bytes,
        protected=protected,
        unprotected=unprotected,
        payload=payload,
        signature=signature,
    )


def parse_cose_mac0(value: object, *, what: str) -> CoseMac0:
    items = expect(_untag(value, 17), list, what=what)
    if len(items) != 4:
        raise PasserelleError(Reason.MDOC_MALFORMED, f"{what} is not a 4-element COSE_Mac0")
    protected_bytes, protected = _parse_headers(items[0], what=what)
    unprotected = expect(items[1], dict, what=f"{what} unprotected header")
    payload = items[2]
    if payload is not None and not isinstance(payload, bytes):
        raise PasserelleError(Reason.MDOC_MALFORMED, f"{what} payload is not bstr or nil")
    tag = expect(items[3], bytes, what=f"{what} tag")
    return CoseMac0(
        protected_bytes=protected_bytes,
        protected=protected,
        unprotected=unprotected,
        payload=payload,
        tag=tag,
    )


def _alg_for_key(key: DevicePrivateKey | DevicePublicKey) -> int:
    if isinstance(key, ed25519.Ed25519PrivateKey | ed25519.Ed25519PublicKey):
        return ALG_EDDSA
    for alg, (curve, _, _) in _EC_ALGS.items():
        if isinstance(key.curve, curve):
            return alg
    raise local_error(Reason.MDOC_ALG_UNSUPPORTED, f"no COSE algorithm for curve {key.curve.name}")


def sign_cose_sign1(
    *,
    key: DevicePrivateKey,
    payload: bytes,
    detached: bool = False,
    unprotected: Mapping[object, object] | None = None,
) -> list[object]:
    """A COSE_Sign1 array (untagged, as ISO/IEC 18013-5 carries it) signed by ``key``,
    with the algorithm the key's curve implies in the protected header."""
    alg = _alg_for_key(key)
    protected_bytes = encode({HEADER_ALG: alg})
    to_be_signed = _sig_structure(protected_bytes, payload)
    if isinstance(key, ed25519.Ed25519PrivateKey):
        signature = key.sign(to_be_signed)
    else:
        _, size, digest = _EC_ALGS[alg]
        r, s = decode_dss_signature(key.sign(to_be_signed, ec.ECDSA(digest)))
        signature = r.to_bytes(size, "big") + s.to_bytes(size, "big")
    return [protected_bytes, dict(unprotected or {}), None if detached else payload, signature]


def _verify_signature(
    alg: int, key: DevicePublicKey, message: bytes, signature: bytes, *, reason: Reason
) -> None:
    try:
        if alg == ALG_EDDSA:
            if not isinstance(key, ed25519.Ed25519PublicKey):
                raise PasserelleError(Reason.MDOC_ALG_UNSUPPORTED, "EdDSA with a non-Ed25519 key")
            key.verify(signature, message)
            return
        if alg not in _EC_ALGS:
            raise PasserelleError(Reason.MDOC_ALG_UNSUPPORTED, f"COSE alg {alg} is not supported")
        curve, size, digest = _EC_ALGS[alg]
        if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, curve):
            raise PasserelleError(
                Reason.MDOC_ALG_UNSUPPORTED, f"COSE alg {alg} does not match the key's curve"
            )
        # RFC 9053 §2.1: the signature is r || s, each left-padded to the curve size.
        if len(signature) != 2 * size:
            raise PasserelleError(reason, "the signature has the wrong length for its alg")
        r = int.from_bytes(signature[:size], "big")
        s = int.from_bytes(signature[size:], "big")
        key.verify(encode_dss_signature(r, s), message, ec.ECDSA(digest))
    except InvalidSignature as exc:
        raise PasserelleError(reason, "the COSE signature does not verify") from exc


def cose_key_from_public(key: DevicePublicKey) -> dict[int, object]:
    """The COSE_Key (RFC 9053 §7) of a public key."""
    if isinstance(key, ed25519.Ed25519PublicKey):
        return {1: _KTY_OKP, -1: _CRV_ED25519, -2: key.public_bytes(Encoding.Raw, PublicFormat.Raw)}
    for crv, curve in _CRV_EC2.items():
        if isinstance(key.curve, curve):
            size = (key.curve.key_size + 7) // 8
            numbers = key.public_numbers()
            return {
                1: _KTY_EC2,
                -1: crv,
                -2: numbers.x.to_bytes(size, "big"),
                -3: numbers.y.to_bytes(size, "big"),
            }
    raise local_error(Reason.MDOC_DEVICE_KEY_INVALID, f"curve {key.curve.name} has no COSE crv")


def public_key_from_cose_key(value: object) -> DevicePublicKey:
    """A public key from a COSE_Key map; private members are refused."""
    if not isinstance(value, dict):
        raise PasserelleError(Reason.MDOC_DEVICE_KEY_INVALID, "the COSE_Key is not a map")
    if -4 in value:
        raise PasserelleError(Reason.MDOC_DEVICE_KEY_INVALID, "the COSE_Key holds a private key")
    kty, crv, x = value.get(1), value.get(-1), value.get(-2)
    try:
        if kty == _KTY_OKP and crv == _CRV_ED25519 and isinstance(x, bytes):
            return ed25519.Ed25519PublicKey.from_public_bytes(x)
        if kty == _KTY_EC2 and isinstance(crv, int) and crv in _CRV_EC2 and isinstance(x, bytes):
            y = value.get(-3)
            curve = _CRV_EC2[crv]()
            size = (curve.key_size + 7) // 8
            if not isinstance(y, bytes) or len(x) != size or len(y) != size:
                raise PasserelleError(
                    Reason.MDOC_DEVICE_KEY_INVALID, "EC2 COSE_Key coordinates are not bstr of size"
                )
            return ec.EllipticCurvePublicNumbers(
                int.from_bytes(x, "big"), int.from_bytes(y, "big"), curve
            ).public_key()
    except ValueError as exc:
        raise PasserelleError(Reason.MDOC_DEVICE_KEY_INVALID, f"COSE_Key: {exc}") from exc
    raise PasserelleError(
        Reason.MDOC_DEVICE_KEY_INVALID, f"COSE_Key kty {kty!r} crv {crv!r} is not supported"
    )
