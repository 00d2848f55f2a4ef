"""Encrypted Authorization Responses (OpenID4VP 1.0 §8.3): an unsigned, encrypted JWT.

The JWE work is joserfc's; nothing of joserfc crosses this module's edge. We speak
``ECDH-ES`` (direct key agreement) on P-256 with ``A128GCM`` or ``A256GCM``, which
is what HAIP 1.0 requires, and refuse everything else before joserfc sees it.

Randomness: joserfc draws the ephemeral key and the IV from the OS CSPRNG and offers
no hook to inject them, so :func:`encrypt_response` is the one place in this package
that does not take a :class:`~passerelle.RandomSource`.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence

from cryptography.hazmat.primitives.asymmetric import ec
from joserfc import jwe
from joserfc.errors import JoseError
from joserfc.jwk import ECKey

from .._errors import Fault, PasserelleError, Reason
from .._json import (
    MAX_INPUT_BYTES,
    JsonObject,
    b64url_decode,
    parse_json_object,
)
from ..jose import load_public_jwk, public_jwk
from ._models import DEFAULT_RESPONSE_ENC, oid4vp_error

__all__ = [
    "RESPONSE_ENCRYPTION_ALG",
    "SUPPORTED_RESPONSE_ENC",
    "decrypt_response",
    "encrypt_response",
    "encryption_jwk",
]

RESPONSE_ENCRYPTION_ALG = "ECDH-ES"
SUPPORTED_RESPONSE_ENC: tuple[str, ...] = ("A128GCM", "A256GCM")


def encryption_jwk(key: ec.EllipticCurvePublicKey, *, kid: str) -> JsonObject:
    """A ``client_metadata.jwks`` entry for response encryption (§5.1: ``kid``, ``alg``)."""
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise oid4vp_error(
            Reason.OID4VP_ENCRYPTION_UNSUPPORTED, "only P-256 keys are used", fault=Fault.LOCAL
        )
    return {**public_jwk(key), "kid": kid, "use": "enc", "alg": RESPONSE_ENCRYPTION_ALG}


def _choose_key(verifier_jwks: JsonObject, alg: str) -> JsonObject:
    keys = verifier_jwks.get("keys") if isinstance(verifier_jwks, dict) else None
    if not isinstance(keys, list):
        raise oid4vp_error(Reason.OID4VP_ENCRYPTION_UNSUPPORTED, "jwks is not a JWK Set")
    for key in keys:
        # §8.3: "The alg parameter MUST be present in the JWKs" and the JWE alg "MUST
        # be equal to the alg value of the chosen jwk".
        if (
            isinstance(key, dict)
            and key.get("kty") == "EC"
            and key.get("crv") == "P-256"
            and key.get("alg") == alg
            and key.get("use") in (None, "enc")
            and isinstance(key.get("kid"), str)
        ):
            return key
    raise oid4vp_error(
        Reason.OID4VP_ENCRYPTION_UNSUPPORTED, f"no P-256 {alg} key in the Verifier's jwks"
    )


def _choose_enc(enc_values_supported: Sequence[str] | None) -> str:
    offered = tuple(enc_values_supported) if enc_values_supported else (DEFAULT_RESPONSE_ENC,)
    for enc in offered:
        if enc in SUPPORTED_RESPONSE_ENC:
            return enc
    raise oid4vp_error(
        Reason.OID4VP_ENCRYPTION_UNSUPPORTED, f"none of enc {list(offered)} is supported"
    )


def encrypt_response(
    payload: JsonObject,
    *,
    verifier_jwks: JsonObject,
    enc_values_supported: Sequence[str] | None,
    alg: str = RESPONSE_ENCRYPTION_ALG,
) -> str:
    """Encrypt Authorization Response parameters to the Verifier (Wallet side).

    The key is the first P-256 key of ``verifier_jwks`` whose ``alg`` is ``alg``; its
    ``kid`` goes into the JWE header. ``enc`` is the first of the Verifier's
    ``encrypted_response_enc_values_supported`` we support, ``A128GCM`` when absent.
    """
    if alg != RESPONSE_ENCRYPTION_ALG:
        raise oid4vp_error(
            Reason.OID4VP_ENCRYPTION_UNSUPPORTED, f"alg {alg} is not supported", fault=Fault.LOCAL
        )
    jwk = _choose_key(verifier_jwks, alg)
    enc = _choose_enc(enc_values_supported)
    try:
        # Our own import first: shape and point-on-curve checks, one error vocabulary.
        public = load_public_jwk(jwk)
        if not isinstance(public, ec.EllipticCurvePublicKey):
            raise oid4vp_error(Reason.OID4VP_ENCRYPTION_UNSUPPORTED, "not an EC key")
        recipient = ECKey.import_key(public)
        plaintext = json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()
        return jwe.encrypt_compact(
            {"alg": alg, "enc": enc, "kid": jwk["kid"]},
            plaintext,
            recipient,
            algorithms=[alg, enc],
        )
    except PasserelleError as exc:
        raise oid4vp_error(Reason.OID4VP_ENCRYPTION_UNSUPPORTED, exc.detail) from exc
    except (JoseError, ValueError, TypeError) as exc:
        raise oid4vp_error(
            Reason.OID4VP_ENCRYPTION_UNSUPPORTED, f"cannot encrypt to this key: {exc}"
        ) from exc


def _failed(detail: str) -> PasserelleError:
    return oid4vp_error(Reason.OID4VP_RESPONSE_DECRYPTION_FAILED, detail)


def decrypt_response(
    token: str,
    *,
    private_key: ec.EllipticCurvePrivateKey,
    expected_kid: str | None,
    allowed_enc: Collection[str] = (DEFAULT_RESPONSE_ENC,),
) -> JsonObject:
    """Decrypt a ``direct_post.jwt`` ``response`` (Verifier side) to its JSON payload.

    The header is checked before any cryptography: ``alg`` ``ECDH-ES`` only, ``enc``
    in ``allowed_enc``, ``kid`` equal to ``expected_kid`` when given, no ``zip`` (a
    compression oracle over personal data) and no ``crit``.
    """
    if not isinstance(token, str) or len(token) > MAX_INPUT_BYTES:
        raise _failed("the response is not a JWE of bounded size")
    parts = token.split(".")
    if len(parts) != 5:
        raise _failed("the response is not a compact JWE of five parts")
    try:
        header = parse_json_object(b64url_decode(parts[0], what="JWE header"), what="JWE header")
    except PasserelleError as exc:
        raise _failed(exc.detail) from exc
    if header.get("alg") != RESPONSE_ENCRYPTION_ALG:
        raise _failed(f"JWE alg {header.get('alg')!r} is not allowed")
    enc = header.get("enc")
    if not isinstance(enc, str) or enc not in allowed_enc or enc not in SUPPORTED_RESPONSE_ENC:
        raise _failed(f"JWE enc {enc!r} is not allowed")
    if expected_kid is not None and header.get("kid") != expected_kid:
        raise _failed(f"JWE kid {header.get('kid')!r} is not the expected key")
    if "zip" in header or "crit" in header:
        raise _failed("JWE zip and crit are not accepted")
    if parts[1]:
        raise _failed("ECDH-ES direct key agreement has an empty encrypted key")
    epk = header.get("epk")
    if not isinstance(epk, dict) or epk.get("crv") != "P-256" or "d" in epk:
        raise _failed("JWE epk is not a public P-256 key")
    try:
        load_public_jwk(epk)
    except PasserelleError as exc:
        raise _failed(f"JWE epk: {exc.detail}") from exc
    try:
        key = ECKey.import_key(private_key)
        plaintext = jwe.decrypt_compact(
            token, key, algorithms=[RESPONSE_ENCRYPTION_ALG, enc]
        ).plaintext
    except (JoseError, ValueError, TypeError) as exc:
        raise _failed("the response does not decrypt with this key") from exc
    if plaintext is None:
        raise _failed("the JWE has no plaintext")
    try:
        return parse_json_object(plaintext, what="encrypted response payload")
    except PasserelleError as exc:
        raise _failed(exc.detail) from exc
