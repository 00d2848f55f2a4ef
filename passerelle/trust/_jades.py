"""Signed trust documents: compact JAdES baseline-B JWS (ETSI TS 119 182-1 V1.2.1).

One mechanism for everything a scheme operator signs here (EU lists of trusted
entities, the Canadian registry snapshot): protected header ``alg``, ``typ``, ``x5c``
(the operator's chain), ``x5t#S256`` (the signing-certificate reference of B-B) and
``iat`` (the claimed signing time, a NumericDate). No ``crit``, so that any ordinary
JOSE library verifies it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject, b64url_encode
from .._time import from_numeric_date
from ..jose import Signer, decode_unverified_jws, epoch, sign_jws, verify_jws
from ..x509 import certificate_to_der, decode_unverified_x5c, verify_x5c_chain

__all__ = ["OPERATOR_ALGORITHMS", "SignedDocument", "sign_jades_b", "verify_jades_b"]

OPERATOR_ALGORITHMS: tuple[str, ...] = ("ES256", "ES384")
"""JWS algorithms accepted on operator-signed documents (JAdES allows more)."""

_DEFAULT_TYP = "jose"
_IAT_FUTURE_TOLERANCE = timedelta(minutes=5)


@dataclass(frozen=True, slots=True, kw_only=True)
class SignedDocument:
    header: JsonObject
    payload: JsonObject
    signer: x509.Certificate
    signed_at: datetime


def _x5t(cert: x509.Certificate) -> str:
    return b64url_encode(hashlib.sha256(certificate_to_der(cert)).digest())


def sign_jades_b(
    payload: JsonObject,
    *,
    signer: Signer,
    x5c: Sequence[str],
    now: datetime,
    typ: str = _DEFAULT_TYP,
) -> str:
    if signer.alg not in OPERATOR_ALGORITHMS:
        raise local_error(
            Reason.JWS_ALG_NOT_ALLOWED, f"operator signer alg {signer.alg} not allowed"
        )
    leaf = decode_unverified_x5c(list(x5c))[0]
    header: JsonObject = {"typ": typ, "x5c": list(x5c), "x5t#S256": _x5t(leaf), "iat": epoch(now)}
    return sign_jws(header, payload, signer)


def verify_jades_b(
    token: str,
    *,
    operator_anchors: Sequence[x509.Certificate],
    now: datetime,
    accepted_typ: frozenset[str],
    what: str,
    max_bytes: int,
) -> SignedDocument:
    """Verify an operator-signed document, or raise ``trust.list_malformed``,
    ``trust.list_operator_untrusted`` (the x509 reason kept in the detail) or
    ``trust.list_signature_invalid``. ``max_bytes`` is the cap of this kind of list."""
    try:
        jws = decode_unverified_jws(token, what=what, max_bytes=max_bytes)
    except PasserelleError as exc:
        raise PasserelleError(
            Reason.TRUST_LIST_MALFORMED, f"{what} is not a compact JWS: {exc.detail}"
        ) from exc
    header = jws.header
    typ = header.get("typ")
    if typ is not None and (not isinstance(typ, str) or typ.lower() not in accepted_typ):
        raise PasserelleError(Reason.TRUST_LIST_MALFORMED, f"{what} typ {typ!r} is not accepted")
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not all(isinstance(c, str) for c in x5c):
        raise PasserelleError(
            Reason.TRUST_LIST_UNTRUSTED_OPERATOR, f"{what} header has no x5c (JAdES B-B needs it)"
        )
    try:
        chain = verify_x5c_chain([str(c) for c in x5c], anchors=operator_anchors, now=now)
    except PasserelleError as exc:
        raise PasserelleError(
            Reason.TRUST_LIST_UNTRUSTED_OPERATOR,
            f"{what} signer does not chain to an operator anchor: {exc.reason}: {exc.detail}",
        ) from exc
    thumbprint = header.get("x5t#S256")
    if thumbprint is not None and thumbprint != _x5t(chain.leaf):
        raise PasserelleError(Reason.TRUST_LIST_SIGNATURE, "x5t#S256 does not name the x5c leaf")
    try:
        verified = verify_jws(
            jws,
            key=chain.public_key,
            algorithms=OPERATOR_ALGORITHMS,
            what=what,
            invalid_signature=Reason.TRUST_LIST_SIGNATURE,
            max_bytes=max_bytes,
        )
    except PasserelleError as exc:
        if exc.reason.startswith("input."):
            raise PasserelleError(Reason.TRUST_LIST_MALFORMED, exc.detail) from exc
        if exc.reason is Reason.TRUST_LIST_SIGNATURE:
            raise
        raise PasserelleError(Reason.TRUST_LIST_SIGNATURE, f"{exc.reason}: {exc.detail}") from exc
    signed_at = from_numeric_date(
        header.get("iat"),
        what=f"{what} header iat (signing time)",
        reason=Reason.TRUST_LIST_MALFORMED,
    )
    if signed_at > now + _IAT_FUTURE_TOLERANCE:
        raise PasserelleError(Reason.TRUST_LIST_MALFORMED, f"{what} was signed in the future")
    return SignedDocument(
        header=verified.header, payload=verified.payload, signer=chain.leaf, signed_at=signed_at
    )
