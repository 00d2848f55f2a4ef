"""Self-Issued ID Tokens (DCP 1.0 §"Self-Issued ID Tokens").

A participant signs its own JWT with a key of its DID: ``iss`` = ``sub`` = its DID,
``aud`` the verifier's DID, ``jti``, ``iat``, ``exp``, and, for a Credential Service,
the access token in the ``token`` claim. The verifier checks it with the key the
``kid`` names in the issuer's DID document.

Order of checks in :func:`verify_self_issued_token` (each with its own reason; the
DCP TCK 4.3.x cases in brackets)::

    1 parse                     dcp.token_invalid
    2 iss == sub                dcp.iss_sub_mismatch        [4.3.3 iss and sub different]
    3 kid of iss, signature     dcp.token_invalid           [4.3.3 bound to another iss/sub]
    4 aud                       dcp.audience_mismatch       [4.3.3 incorrect aud]
    5 exp                       dcp.token_expired           [4.3.3 expired]
    6 nbf, iat not in future    dcp.token_not_yet_valid     [4.3.3 nbf in future]
    7 jti not seen before       dcp.jti_replayed            [4.3.3 jti]
    8 token claim               dcp.access_token_missing    [4.3.1 no token claim]

The signature is checked before anything the token asserts is believed, so that a
forged token is reported as forged rather than as, say, expired.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue
from .._time import from_numeric_date, require_aware
from ..jose import (
    PublicKey,
    Signer,
    decode_unverified_jws,
    epoch,
    sign_jws,
    typ_matches,
    verify_jws,
)
from ._did import did_of_key_id

__all__ = [
    "DCP_ALGORITHMS",
    "SelfIssuedToken",
    "create_self_issued_token",
    "verify_self_issued_token",
]

DCP_ALGORITHMS: tuple[str, ...] = ("ES256", "ES384", "Ed25519", "EdDSA")
"""What we verify on the DCP path. DCP 1.0 profiles leave the algorithm open ("all
reasonably well-known crypto algorithms"); these are the ones our JOSE layer speaks."""

_WHAT = "Self-Issued ID Token"
_MAX_CLAIM = 8192


@dataclass(frozen=True, slots=True, kw_only=True)
class SelfIssuedToken:
    """A Self-Issued ID Token that passed every check of :func:`verify_self_issued_token`.

    ``iss`` is the participant's DID (equal to ``sub``), ``aud`` the audience that
    matched (the verifier's DID), ``access_token`` the opaque ``token`` claim.
    """

    iss: str
    aud: str
    jti: str
    exp: datetime
    access_token: str
    kid: str | None
    claims: JsonObject


def _invalid(detail: str) -> PasserelleError:
    return PasserelleError(Reason.DCP_TOKEN_INVALID, f"{_WHAT}: {detail}")


def _did_url_of(kid: str, did: str) -> str:
    """``kid`` as an absolute DID URL of ``did``, or raise (a key of another DID)."""
    absolute = did + kid if kid.startswith("#") else kid
    try:
        owner = did_of_key_id(absolute)
    except PasserelleError as exc:
        raise _invalid(f"kid {kid!r} is not a DID URL") from exc
    if owner != did:
        raise _invalid(f"kid {kid!r} is a key of {owner}, not of the issuer {did}")
    return absolute


def create_self_issued_token(
    *,
    holder_did: str,
    audience: str,
    access_token: str,
    signer: Signer,
    kid: str,
    now: datetime,
    lifetime: timedelta,
    jti: str,
) -> str:
    """Sign a Self-Issued ID Token for ``audience`` carrying ``access_token``.

    ``kid`` is a DID URL of ``holder_did`` naming the signer's verification method
    (it should be listed under ``capabilityInvocation``). ``jti`` comes from the
    caller's randomness; ``nbf`` is ``iat``.
    """
    require_aware(now)
    if not holder_did.startswith("did:"):
        raise local_error(Reason.DCP_TOKEN_INVALID, f"{holder_did!r} is not a DID")
    try:
        owner = did_of_key_id(kid)
    except PasserelleError as exc:
        raise local_error(Reason.DCP_TOKEN_INVALID, exc.detail) from exc
    if owner != holder_did or "#" not in kid:
        raise local_error(Reason.DCP_TOKEN_INVALID, f"kid {kid!r} is no key of {holder_did}")
    if lifetime <= timedelta(0):
        raise local_error(Reason.DCP_TOKEN_INVALID, "a token lifetime must be positive")
    if not audience or not jti or not access_token:
        raise local_error(Reason.DCP_TOKEN_INVALID, "audience, jti and access token are required")
    issued = epoch(now)
    claims: JsonObject = {
        "iss": holder_did,
        "sub": holder_did,
        "aud": audience,
        "jti": jti,
        "iat": issued,
        "nbf": issued,
        "exp": epoch(now + lifetime),
        "token": access_token,
    }
    return sign_jws({"typ": "JWT", "kid": kid}, claims, signer)


def _string_claim(claims: JsonObject, name: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value or len(value) > _MAX_CLAIM:
        raise _invalid(f"claim {name!r} is missing or not a non-empty string")
    return value


def _time_claim(claims: JsonObject, name: str, *, required: bool) -> datetime | None:
    value = claims.get(name)
    if value is None:
        if required:
            raise _invalid(f"claim {name!r} is required")
        return None
    return from_numeric_date(value, what=f"{_WHAT} {name}", reason=Reason.DCP_TOKEN_INVALID)


def _audiences(value: JsonValue) -> list[str]:
    items: list[JsonValue] = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, str)]


def verify_self_issued_token(
    token: str,
    *,
    audience: str,
    resolve_key: Callable[[str], PublicKey],
    now: datetime,
    skew: timedelta,
    seen_jti: Callable[[str, datetime], bool],
) -> SelfIssuedToken:
    """Verify a Self-Issued ID Token for ``audience`` (our DID), or raise (see module).

    ``resolve_key`` is called with the ``kid`` as an absolute DID URL of ``iss``, or
    with the bare DID when the token has no ``kid`` (DCP 1.0: the document's only
    verification method is then used). Security contract: return only a key that the
    DID document of that DID lists (ideally under ``capabilityInvocation``, see
    :func:`passerelle.dcp.key_resolver`) and raise otherwise; its errors propagate.

    ``seen_jti(jti, exp)`` is asked last but one, once everything else held; it
    returns True when the ``jti`` was already used and otherwise records it until
    ``exp`` (single use: DCP 1.0 "MUST assert that the jti claim value has not been
    used previously").
    """
    now = require_aware(now).astimezone(UTC)
    try:
        jws = decode_unverified_jws(token, what=_WHAT)
        claims = jws.payload_json(what=f"{_WHAT} claims")
    except PasserelleError as exc:
        raise _invalid(exc.detail) from exc
    typ = jws.header.get("typ")
    # RFC 7519 §5.1 "JWT" or no typ: a vc+jwt, vp+jwt or KB-JWT is not an ID token.
    if typ is not None and not typ_matches(typ, "JWT"):
        raise _invalid(f"typ {typ!r} is not a JWT")
    iss = _string_claim(claims, "iss")
    sub = _string_claim(claims, "sub")
    if not iss.startswith("did:"):
        raise _invalid(f"iss {iss!r} is not a DID")

    if iss != sub:
        raise PasserelleError(
            Reason.DCP_ISS_SUB_MISMATCH, f"{_WHAT}: iss {iss!r} and sub {sub!r} differ"
        )

    kid = jws.header.get("kid")
    if kid is not None and (not isinstance(kid, str) or not kid):
        raise _invalid("kid is not a string")
    key = resolve_key(iss if kid is None else _did_url_of(kid, iss))
    try:
        verify_jws(
            jws,
            key=key,
            algorithms=DCP_ALGORITHMS,
            what=_WHAT,
            invalid_signature=Reason.DCP_TOKEN_INVALID,
        )
    except PasserelleError as exc:
        raise _invalid(exc.detail) from exc

    matched = audience if audience in _audiences(claims.get("aud")) else None
    if matched is None:
        raise PasserelleError(
            Reason.DCP_AUDIENCE_MISMATCH, f"{_WHAT}: aud {claims.get('aud')!r} is not {audience!r}"
        )

    expires = _time_claim(claims, "exp", required=True)
    assert expires is not None
    if now - skew >= expires:
        raise PasserelleError(Reason.DCP_TOKEN_EXPIRED, f"{_WHAT} expired at {expires.isoformat()}")
    not_before = _time_claim(claims, "nbf", required=False)
    issued = _time_claim(claims, "iat", required=True)
    for name, moment in (("nbf", not_before), ("iat", issued)):
        if moment is not None and now + skew < moment:
            raise PasserelleError(
                Reason.DCP_TOKEN_NOT_YET_VALID, f"{_WHAT} {name} {moment.isoformat()} is ahead"
            )

    jti = _string_claim(claims, "jti")
    if seen_jti(jti, expires):
        raise PasserelleError(Reason.DCP_JTI_REPLAYED, f"{_WHAT} jti {jti!r} was used before")

    access_token = claims.get("token")
    if not isinstance(access_token, str) or not access_token:
        raise PasserelleError(
            Reason.DCP_ACCESS_TOKEN_MISSING, f"{_WHAT} carries no access token in 'token'"
        )
    return SelfIssuedToken(
        iss=iss,
        aud=matched,
        jti=jti,
        exp=expires,
        access_token=access_token,
        kid=kid,
        claims=claims,
    )
