"""Compact JWS (RFC 7515) with an explicit algorithm allow-list on every call.

The compact form is assembled and split here, strictly; signing goes through PyJWT's
algorithm objects over pyca/cryptography, verification calls pyca/cryptography
directly (PyJWT's wrapper around that same call cost 10-25 % of a verification, on the
verifier's hot path). Verification returns a
:class:`VerifiedJws` or raises; reading a token without verifying it is
:func:`decode_unverified_jws`, and says so in its name.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from jwt.algorithms import ECAlgorithm, OKPAlgorithm

from .._errors import PasserelleError, Reason, local_error
from .._json import (
    MAX_INPUT_BYTES,
    JsonObject,
    JsonValue,
    b64url_decode,
    b64url_encode,
    canonical_json,
    parse_json_object,
)
from ._jwk import ALGORITHMS, Algorithm, PrivateKey, PublicKey, algorithm_for_key

__all__ = [
    "KeySigner",
    "Signer",
    "UnverifiedJws",
    "VerifiedJws",
    "decode_unverified_jws",
    "sign_jws",
    "typ_matches",
    "verify_jws",
]


class Signer(Protocol):
    """Produces JWS signatures.

    Security contract: ``sign`` returns the JWS signature value for ``alg`` over
    exactly ``signing_input`` (for ECDSA the fixed-size R||S form of RFC 7518 §3.4,
    not DER). ``alg`` is the algorithm the signer will actually use; callers put it in
    the protected header as it is.
    """

    @property
    def alg(self) -> str: ...

    def sign(self, signing_input: bytes) -> bytes: ...


def _primitive(alg: str) -> ECAlgorithm | OKPAlgorithm:
    spec = ALGORITHMS[alg]
    if spec.kty == "OKP":
        return OKPAlgorithm()
    return ECAlgorithm(ECAlgorithm.SHA256 if spec.name == "ES256" else ECAlgorithm.SHA384)


_ECDSA = {name: ec.ECDSA(spec.hash) for name, spec in ALGORITHMS.items() if spec.hash}
_CURVE_OF = {"P-256": "secp256r1", "P-384": "secp384r1"}


def _signature_verifies(
    spec: Algorithm, key: PublicKey, signing_input: bytes, signature: bytes
) -> bool:
    """The primitive alone: the caller has checked that ``key`` fits ``spec`` (so the
    key type follows from ``spec.kty``) and that ``signature`` has the algorithm's length."""
    try:
        if spec.kty == "OKP":
            key.verify(signature, signing_input)  # type: ignore[call-arg]
        else:
            # RFC 7518 §3.4: R || S, each the curve's size, big-endian; cryptography
            # takes the DER form.
            size = spec.coordinate_size
            der = encode_dss_signature(
                int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
            )
            key.verify(der, signing_input, _ECDSA[spec.name])  # type: ignore[call-arg]
    except InvalidSignature:
        return False
    return True


@dataclass(frozen=True, slots=True)
class KeySigner:
    """A :class:`Signer` over a private key held in memory."""

    key: PrivateKey
    alg: str = field(default="")

    def __post_init__(self) -> None:
        expected = algorithm_for_key(self.key)
        if not self.alg:
            object.__setattr__(self, "alg", expected)
        elif self.alg not in ALGORITHMS or ALGORITHMS[self.alg].crv != ALGORITHMS[expected].crv:
            raise local_error(Reason.JWS_ALG_MISMATCH, f"{self.alg} cannot sign with this key")

    @property
    def public_key(self) -> PublicKey:
        return self.key.public_key()

    def sign(self, signing_input: bytes) -> bytes:
        return _primitive(self.alg).sign(signing_input, self.key)  # type: ignore[arg-type]


def sign_jws(header: Mapping[str, object], payload: JsonObject | bytes, signer: Signer) -> str:
    """Sign ``payload`` in compact serialization. ``alg`` comes from the signer."""
    protected = {**header, "alg": signer.alg}
    body = payload if isinstance(payload, bytes) else canonical_json(payload)
    signing_input = (
        b64url_encode(canonical_json(protected)) + "." + b64url_encode(body)  # type: ignore[arg-type]
    ).encode("ascii")
    return signing_input.decode("ascii") + "." + b64url_encode(signer.sign(signing_input))


@dataclass(frozen=True, slots=True, kw_only=True)
class UnverifiedJws:
    """A compact JWS split and decoded, signature NOT checked."""

    header: JsonObject
    payload: bytes
    signing_input: bytes
    signature: bytes
    # The payload as parsed the first time it parsed: a decision reads it before the
    # signature check (references, claim-scoped trust) and after, from the same bytes.
    _parsed: list[JsonObject] = field(default_factory=list, repr=False, compare=False)

    def payload_json(
        self, *, what: str = "JWS payload", max_bytes: int = MAX_INPUT_BYTES
    ) -> JsonObject:
        """The payload parsed (the same object on every call), or ``input.*``."""
        if self._parsed and len(self.payload) <= max_bytes:
            return self._parsed[0]
        parsed = parse_json_object(self.payload, what=what, max_bytes=max_bytes)
        self._parsed[:] = [parsed]
        return parsed


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedJws:
    """A JWS whose signature verified with the given key and an allowed algorithm."""

    header: JsonObject
    payload: JsonObject


def decode_unverified_jws(
    token: str, *, what: str = "JWS", max_bytes: int = MAX_INPUT_BYTES
) -> UnverifiedJws:
    """Split a compact JWS of at most ``max_bytes``; nothing is verified."""
    if not isinstance(token, str):
        raise PasserelleError(Reason.JWS_MALFORMED, f"{what} is not a string")
    if len(token) > max_bytes:
        raise PasserelleError(Reason.INPUT_TOO_LARGE, f"{what} is larger than {max_bytes}")
    parts = token.split(".")
    if len(parts) != 3:
        raise PasserelleError(Reason.JWS_MALFORMED, f"{what} is not a compact JWS of three parts")
    protected, body, signed = parts
    try:
        header = _protected_header(protected, what)
        payload = b64url_decode(body, what=f"{what} payload")
        signature = b64url_decode(signed, what=f"{what} signature")
    except PasserelleError as exc:
        raise PasserelleError(Reason.JWS_MALFORMED, exc.detail) from exc
    return UnverifiedJws(
        header=header,
        payload=payload,
        # Both parts decoded as base64url, so they are ASCII.
        signing_input=token[: len(protected) + 1 + len(body)].encode("ascii"),
        signature=signature,
    )


_CACHED_HEADER_CHARS = 16384


def _protected_header(protected: str, what: str) -> JsonObject:
    """The protected header, parsed. An issuer puts the same header (alg, typ, its
    ``x5c`` chain) on every credential it signs, and a wallet the same one on every
    KB-JWT: a header is parsed once and handed out as a fresh copy, so no caller can
    change what another one reads. A refusal is not kept, and is worded with ``what``."""
    if len(protected) <= _CACHED_HEADER_CHARS:
        try:
            header, flat = _parsed_header(protected)
        except PasserelleError:
            pass
        else:
            return dict(header) if flat else _fresh(header)  # type: ignore[return-value]
    return parse_json_object(b64url_decode(protected, what=f"{what} header"), what=f"{what} header")


@functools.lru_cache(maxsize=256)
def _parsed_header(protected: str) -> tuple[JsonObject, bool]:
    """The header, and whether it is flat (no member an array or object): a flat one
    is copied whole by dict()."""
    header = parse_json_object(b64url_decode(protected))
    return header, not any(isinstance(v, dict | list) for v in header.values())


def _fresh(value: JsonValue) -> JsonValue:
    if isinstance(value, dict):
        return {k: _fresh(v) if isinstance(v, dict | list) else v for k, v in value.items()}
    if isinstance(value, list):
        return [_fresh(v) if isinstance(v, dict | list) else v for v in value]
    return value


def typ_matches(actual: object, expected: str) -> bool:
    """RFC 7515 §4.1.9: media types compare case-insensitively, ``application/`` optional."""
    if not isinstance(actual, str):
        return False
    return _media_type(actual) == _media_type(expected)


def _media_type(value: str) -> str:
    return value.lower().removeprefix("application/")


def verify_jws(
    token: str | UnverifiedJws,
    *,
    key: PublicKey,
    algorithms: Collection[str],
    typ: str | None = None,
    understood_crit: Collection[str] = (),
    what: str = "JWS",
    invalid_signature: Reason = Reason.JWS_INVALID_SIGNATURE,
    max_bytes: int = MAX_INPUT_BYTES,
) -> VerifiedJws:
    """Verify a compact JWS and return its header and JSON payload, or raise.

    ``algorithms`` is the caller's allow-list; the header's ``alg`` must be in it, in
    our closed table, and fit ``key`` (no algorithm confusion). ``typ``, when given,
    must match the header. ``crit`` members we do not understand fail (RFC 7515 §4.1.11).
    ``max_bytes`` bounds the token and its payload (default: the core's input cap).
    """
    jws = (
        token
        if isinstance(token, UnverifiedJws)
        else decode_unverified_jws(token, what=what, max_bytes=max_bytes)
    )
    alg = jws.header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms or alg not in ALGORITHMS:
        raise PasserelleError(Reason.JWS_ALG_NOT_ALLOWED, f"{what} alg {alg!r} is not allowed")
    spec = ALGORITHMS[alg]
    key_fits = (
        isinstance(key, ed25519.Ed25519PublicKey)
        if spec.kty == "OKP"
        else isinstance(key, ec.EllipticCurvePublicKey) and key.curve.name == _CURVE_OF[spec.crv]
    )
    if not key_fits:
        raise PasserelleError(Reason.JWS_ALG_MISMATCH, f"{what} alg {alg} does not fit the key")
    for name in ("jku", "x5u"):
        # We never fetch keys a token points at; a token that asks us to is refused.
        if name in jws.header:
            raise PasserelleError(
                Reason.JWS_HEADER_INVALID, f"{what} header {name} is not accepted"
            )
    crit = jws.header.get("crit")
    if crit is not None:
        if not isinstance(crit, list) or not crit or not all(isinstance(c, str) for c in crit):
            raise PasserelleError(Reason.JWS_HEADER_INVALID, f"{what} crit is not a list of names")
        unknown = [c for c in crit if c not in understood_crit]
        if unknown:
            raise PasserelleError(
                Reason.JWS_CRIT_UNSUPPORTED, f"{what} crit {unknown} not understood"
            )
    if typ is not None and not typ_matches(jws.header.get("typ"), typ):
        raise PasserelleError(
            Reason.JWS_TYP_MISMATCH, f"{what} typ {jws.header.get('typ')!r}, expected {typ!r}"
        )
    if spec.coordinate_size * 2 != len(jws.signature):
        raise PasserelleError(invalid_signature, f"{what} signature has the wrong length")
    if not _signature_verifies(spec, key, jws.signing_input, jws.signature):
        raise PasserelleError(invalid_signature, f"{what} signature does not verify")
    return VerifiedJws(
        header=jws.header, payload=jws.payload_json(what=f"{what} payload", max_bytes=max_bytes)
    )
