"""Encrypted Authorization Responses (OpenID4VP 1.0 §8.3): an unsigned, encrypted JWT.

The JWE is :mod:`passerelle.jose`'s (``encrypt_ecdh_es``): ``ECDH-ES`` (direct key
agreement) on P-256 with ``A128GCM`` or ``A256GCM``, which is what HAIP 1.0 requires;
everything else is refused before any cryptography. As there, :func:`encrypt_response`
draws its ephemeral key and IV from the OS, not from a :class:`~passerelle.RandomSource`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from cryptography.hazmat.primitives.asymmetric import ec

from .._errors import Fault, PasserelleError, Reason
from .._json import (
    JsonObject,
)
from ..jose import ECDH_ES, JWE_ENCS, decrypt_ecdh_es, encrypt_ecdh_es, load_public_jwk, public_jwk
from ._models import DEFAULT_RESPONSE_ENC, oid4vp_error

__all__ = [
    "PREFERRED_RESPONSE_ENC",
    "RESPONSE_ENCRYPTION_ALG",
    "SUPPORTED_RESPONSE_ENC",
    "decrypt_response",
    "encrypt_response",
    "encryption_jwk",
    "response_encryption_key",
]

RESPONSE_ENCRYPTION_ALG = ECDH_ES
SUPPORTED_RESPONSE_ENC: tuple[str, ...] = JWE_ENCS
#: The Wallet's order of preference among what the Verifier offers. HAIP 1.0 §5: "If
#: both are supported, the Wallet SHOULD use A256GCM for the JWE enc."
PREFERRED_RESPONSE_ENC: tuple[str, ...] = ("A256GCM", "A128GCM")


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


def response_encryption_key(
    verifier_jwks: JsonObject, alg: str = RESPONSE_ENCRYPTION_ALG
) -> JsonObject:
    """The JWK of ``verifier_jwks`` that :func:`encrypt_response` encrypts to: what an
    mdoc SessionTranscript binds by its thumbprint (Appendix B.2.6.1)."""
    return _choose_key(verifier_jwks, alg)


def _choose_enc(enc_values_supported: Sequence[str] | None, prefer: Sequence[str]) -> str:
    offered = tuple(enc_values_supported) if enc_values_supported else (DEFAULT_RESPONSE_ENC,)
    # Liberal in what we accept: any value offered that we support will do, ours first.
    usable = [enc for enc in offered if enc in SUPPORTED_RESPONSE_ENC]
    for enc in prefer:
        if enc in usable:
            return enc
    if usable:
        return usable[0]
    raise oid4vp_error(
        Reason.OID4VP_ENCRYPTION_UNSUPPORTED, f"none of enc {list(offered)} is supported"
    )


def encrypt_response(
    payload: JsonObject,
    *,
    verifier_jwks: JsonObject,
    enc_values_supported: Sequence[str] | None,
    alg: str = RESPONSE_ENCRYPTION_ALG,
    prefer: Sequence[str] = PREFERRED_RESPONSE_ENC,
) -> str:
    """Encrypt Authorization Response parameters to the Verifier (Wallet side).

    The key is the first P-256 key of ``verifier_jwks`` whose ``alg`` is ``alg``; its
    ``kid`` goes into the JWE header. ``enc`` is one of the Verifier's
    ``encrypted_response_enc_values_supported`` (``A128GCM`` when absent) that we
    support: the first of ``prefer`` offered, else the first offered.
    """
    if alg != RESPONSE_ENCRYPTION_ALG:
        raise oid4vp_error(
            Reason.OID4VP_ENCRYPTION_UNSUPPORTED, f"alg {alg} is not supported", fault=Fault.LOCAL
        )
    jwk = _choose_key(verifier_jwks, alg)
    enc = _choose_enc(enc_values_supported, prefer)

    def unsupported(detail: str) -> PasserelleError:
        return oid4vp_error(Reason.OID4VP_ENCRYPTION_UNSUPPORTED, detail)

    try:
        # Our own import first: shape and point-on-curve checks, one error vocabulary.
        public = load_public_jwk(jwk)
    except PasserelleError as exc:
        raise unsupported(exc.detail) from exc
    if not isinstance(public, ec.EllipticCurvePublicKey):
        raise unsupported("not an EC key")
    return encrypt_ecdh_es(
        payload, public, header={"alg": alg, "enc": enc, "kid": jwk["kid"]}, failed=unsupported
    )


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
    return decrypt_ecdh_es(
        token,
        private_key=private_key,
        allowed_encs=allowed_enc,
        allowed_zips=(),  # compression would be an oracle over personal data
        expected_kid=expected_kid,
        failed=_failed,
        what="response",
    )
