"""Verifying an SD-JWT and its KB-JWT (RFC 9901 §7.1 and §7.3)."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from .._errors import PasserelleError, Reason
from .._json import JsonObject
from ..jose import PublicKey, check_jwt_times, epoch, load_public_jwk, numeric_date, verify_jws
from ._models import (
    KeyBindingCheck,
    SdJwt,
    VerifiedKeyBinding,
    VerifiedSdJwt,
    hash_b64url,
    parse_sd_jwt,
)
from ._process import process_disclosures

__all__ = ["KB_JWT_TYP", "holder_key_of", "verify_key_binding", "verify_sd_jwt"]

KB_JWT_TYP = "kb+jwt"


def holder_key_of(claims: JsonObject) -> PublicKey:
    """The holder's key from ``cnf.jwk`` (RFC 7800), the binding method RFC 9901 uses."""
    cnf = claims.get("cnf")
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict):
        raise PasserelleError(Reason.KB_JWT_NO_HOLDER_KEY, "the SD-JWT has no cnf.jwk holder key")
    return load_public_jwk(jwk)


def verify_key_binding(
    sd_jwt: SdJwt,
    *,
    holder_key: PublicKey,
    hash_alg: str,
    check: KeyBindingCheck,
    algorithms: Collection[str],
    now: datetime,
    skew: timedelta,
) -> VerifiedKeyBinding:
    if sd_jwt.kb_jwt is None:
        raise PasserelleError(
            Reason.KB_JWT_MISSING, "key binding is required but no KB-JWT is present"
        )
    try:
        kb = verify_jws(
            sd_jwt.kb_jwt,
            key=holder_key,
            algorithms=algorithms,
            typ=KB_JWT_TYP,
            what="KB-JWT",
            invalid_signature=Reason.KB_JWT_INVALID_SIGNATURE,
        )
    except PasserelleError as exc:
        if exc.reason is Reason.JWS_MALFORMED:
            raise PasserelleError(Reason.KB_JWT_MALFORMED, exc.detail) from exc
        raise
    expected_hash = hash_b64url(hash_alg, sd_jwt.without_key_binding)
    if kb.payload.get("sd_hash") != expected_hash:
        raise PasserelleError(
            Reason.KB_JWT_SD_HASH_MISMATCH, "KB-JWT sd_hash does not match the presented SD-JWT"
        )
    if kb.payload.get("nonce") != check.nonce:
        raise PasserelleError(Reason.KB_JWT_NONCE_MISMATCH, "KB-JWT nonce is not the expected one")
    if kb.payload.get("aud") != check.audience:
        raise PasserelleError(Reason.KB_JWT_AUD_MISMATCH, "KB-JWT aud is not this verifier")
    iat = numeric_date(kb.payload, "iat", required=True)
    assert iat is not None
    t = epoch(now)
    leeway = int(skew.total_seconds())
    if not t - int(check.max_age.total_seconds()) - leeway <= iat <= t + leeway:
        raise PasserelleError(
            Reason.KB_JWT_IAT_OUT_OF_WINDOW, f"KB-JWT iat {iat} is outside the acceptance window"
        )
    return VerifiedKeyBinding(
        holder_key=holder_key,
        nonce=check.nonce,
        audience=check.audience,
        issued_at=iat,
        header=kb.header,
        payload=kb.payload,
    )


def verify_sd_jwt(
    sd_jwt: SdJwt | str,
    *,
    issuer_key: PublicKey,
    algorithms: Collection[str],
    now: datetime,
    skew: timedelta = timedelta(seconds=60),
    typ: str | None = None,
    key_binding: KeyBindingCheck | None = None,
    kb_algorithms: Collection[str] | None = None,
) -> VerifiedSdJwt:
    """Verify the issuer signature, process the disclosures, check validity, and, if
    ``key_binding`` is given, the KB-JWT. Returns the verified result or raises.

    Validity (``exp``, ``nbf``, ``iat``) is checked on the processed claims, so that a
    selectively disclosed ``iat`` is checked too; expiry reports ``credential.expired``.
    """
    parsed = sd_jwt if isinstance(sd_jwt, SdJwt) else parse_sd_jwt(sd_jwt)
    issuer = verify_jws(
        parsed.issuer_jwt, key=issuer_key, algorithms=algorithms, typ=typ, what="issuer-signed JWT"
    )
    processed = process_disclosures(parsed, issuer.payload)
    check_jwt_times(
        processed.claims,
        now=now,
        skew=skew,
        expired=Reason.CREDENTIAL_EXPIRED,
        not_yet_valid=Reason.CREDENTIAL_NOT_YET_VALID,
        what="SD-JWT",
    )
    binding = None
    if key_binding is not None:
        binding = verify_key_binding(
            parsed,
            holder_key=holder_key_of(processed.claims),
            hash_alg=processed.hash_alg,
            check=key_binding,
            algorithms=algorithms if kb_algorithms is None else kb_algorithms,
            now=now,
            skew=skew,
        )
    return VerifiedSdJwt(
        header=issuer.header,
        signed_payload=issuer.payload,
        claims=processed.claims,
        hash_alg=processed.hash_alg,
        revealed=processed.revealed,
        key_binding=binding,
        sd_jwt=parsed,
    )
