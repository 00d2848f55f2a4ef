"""``jwt_vc_json``: a VCDM 1.1 credential as a JWT (VCDM 1.1 §6.3.1, OpenID4VCI 1.0 A.1.1).

The credential travels in the ``vc`` claim; the registered claims carry its
properties "instead of or in addition to" the data-model members: ``iss`` = issuer,
``sub`` = ``credentialSubject.id``, ``jti`` = ``id``, ``nbf`` = ``issuanceDate``,
``exp`` = ``expirationDate``. Where both a claim and its member are present they must
agree; a disagreement is a forged-looking credential, not a matter of preference.

Header ``typ``: VCDM 1.1 says "typ, if present, MUST be set to JWT", so an absent
``typ`` is accepted and any other value (``vc+jwt``, ``dc+sd-jwt``, ...) is refused.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue
from .._time import format_date_time
from ..jose import (
    PublicKey,
    Signer,
    check_jwt_times,
    decode_unverified_jws,
    epoch,
    numeric_date,
    sign_jws,
    typ_matches,
    verify_jws,
)
from ._models import (
    VC_V1_CONTEXT,
    VerifiedW3cCredential,
    check_context,
    check_validity_period,
    from_epoch,
    parse_date_time,
    read_confirmation_jwk,
    read_id_or_object,
    read_schema_refs,
    read_status,
    read_subjects,
    read_types,
    single_subject_id,
)

__all__ = ["issue_jwt_vc_json", "verify_jwt_vc_json"]

_WHAT = "jwt_vc_json credential"


def check_jwt_typ(header: JsonObject, *, what: str) -> None:
    """VCDM 1.1 §6.3.1: ``typ``, if present, MUST be ``JWT``."""
    if "typ" in header and not typ_matches(header["typ"], "JWT"):
        raise PasserelleError(Reason.JWS_TYP_MISMATCH, f"{what} typ {header['typ']!r} is not JWT")


def _check_vc_shape(vc: JsonObject) -> tuple[tuple[str, ...], list[JsonObject]]:
    check_context(vc.get("@context"), first=VC_V1_CONTEXT, what=_WHAT)
    types = read_types(vc.get("type"), required="VerifiableCredential", what=_WHAT)
    subjects = read_subjects(vc.get("credentialSubject"), what=_WHAT)
    return types, subjects


def issue_jwt_vc_json(
    credential: JsonObject,
    *,
    signer: Signer,
    kid: str | None,
    now: datetime,
    confirmation_jwk: JsonObject | None = None,
) -> str:
    """Sign a VCDM 1.1 credential as a ``jwt_vc_json`` JWT.

    The registered claims are derived from the credential and the credential stays whole
    under ``vc`` (the "in addition to" reading, as in OpenID4VCI's own example). A missing
    ``issuanceDate`` becomes ``now``. ``confirmation_jwk`` adds an RFC 7800 ``cnf`` claim
    for holders identified by key rather than by DID.
    """
    try:
        _, subjects = _check_vc_shape(credential)
        issuer = read_id_or_object(credential.get("issuer"), what=f"{_WHAT} issuer")
        issued = credential.get("issuanceDate")
        valid_from = now if issued is None else parse_date_time(issued, what="issuanceDate")
        expires = credential.get("expirationDate")
        valid_until = None if expires is None else parse_date_time(expires, what="expirationDate")
        if confirmation_jwk is not None:
            read_confirmation_jwk({"cnf": {"jwk": confirmation_jwk}}, what=_WHAT)
    except PasserelleError as exc:
        raise local_error(exc.reason, f"cannot issue: {exc.detail}") from exc
    vc: JsonObject = dict(credential)
    if issued is None:
        vc["issuanceDate"] = format_date_time(now)
    claims: JsonObject = {"iss": issuer, "nbf": epoch(valid_from), "iat": epoch(now), "vc": vc}
    subject_id = single_subject_id(subjects)
    if subject_id is not None:
        claims["sub"] = subject_id
    if isinstance(credential.get("id"), str):
        claims["jti"] = credential["id"]
    if valid_until is not None:
        claims["exp"] = epoch(valid_until)
    if confirmation_jwk is not None:
        claims["cnf"] = {"jwk": confirmation_jwk}
    header: dict[str, object] = {"typ": "JWT"}
    if kid is not None:
        header["kid"] = kid
    return sign_jws(header, claims, signer)


def _agree(claim: JsonValue, member: JsonValue, *, name: str, reason: Reason) -> None:
    if claim is not None and member is not None and claim != member:
        raise PasserelleError(reason, f"{_WHAT}: JWT claim and vc.{name} disagree")


def verify_jwt_vc_json(
    token: str,
    *,
    issuer_key: PublicKey,
    algorithms: Collection[str],
    now: datetime,
    skew: timedelta,
) -> VerifiedW3cCredential:
    """Verify a ``jwt_vc_json`` credential signed by ``issuer_key``, or raise.

    Which key belongs to which issuer is the caller's decision (trust evaluation); this
    checks the signature, the header, the data model, claim/member agreement and the
    validity period (``exp``/``nbf`` or ``expirationDate``/``issuanceDate``).
    """
    jws = decode_unverified_jws(token, what=_WHAT)
    check_jwt_typ(jws.header, what=_WHAT)
    verified = verify_jws(jws, key=issuer_key, algorithms=algorithms, what=_WHAT)
    claims = verified.payload
    if "vp" in claims:
        raise PasserelleError(
            Reason.VC_MALFORMED, f"{_WHAT} carries a vp claim: it is a presentation"
        )
    vc = claims.get("vc")
    if not isinstance(vc, dict):
        raise PasserelleError(Reason.VC_MALFORMED, f"{_WHAT} has no vc claim object")
    types, subjects = _check_vc_shape(vc)

    iss = claims.get("iss")
    if iss is not None and (not isinstance(iss, str) or not iss):
        raise PasserelleError(Reason.JWT_CLAIM_INVALID, f"{_WHAT} iss is not a string")
    vc_issuer = (
        None if "issuer" not in vc else read_id_or_object(vc["issuer"], what=f"{_WHAT} vc.issuer")
    )
    _agree(iss, vc_issuer, name="issuer", reason=Reason.VC_ISSUER_MISMATCH)
    issuer = iss if isinstance(iss, str) else vc_issuer
    if issuer is None:
        raise PasserelleError(Reason.VC_MALFORMED, f"{_WHAT} names no issuer")

    sub = claims.get("sub")
    if sub is not None and (not isinstance(sub, str) or not sub):
        raise PasserelleError(Reason.JWT_CLAIM_INVALID, f"{_WHAT} sub is not a string")
    member_subject = single_subject_id(subjects)
    if sub is not None and len(subjects) != 1:
        raise PasserelleError(Reason.VC_MALFORMED, f"{_WHAT} has sub but several subjects")
    _agree(sub, subjects[0].get("id"), name="credentialSubject.id", reason=Reason.VC_MALFORMED)
    subject_id = sub if isinstance(sub, str) else member_subject

    jti = claims.get("jti")
    if jti is not None and not isinstance(jti, str):
        raise PasserelleError(Reason.JWT_CLAIM_INVALID, f"{_WHAT} jti is not a string")
    _agree(jti, vc.get("id"), name="id", reason=Reason.VC_MALFORMED)

    check_jwt_times(
        claims,
        now=now,
        skew=skew,
        expired=Reason.CREDENTIAL_EXPIRED,
        not_yet_valid=Reason.CREDENTIAL_NOT_YET_VALID,
        what=_WHAT,
    )
    nbf, exp = numeric_date(claims, "nbf"), numeric_date(claims, "exp")
    valid_from = from_epoch(nbf) if nbf is not None else None
    valid_until = from_epoch(exp) if exp is not None else None
    if valid_from is None and "issuanceDate" in vc:
        valid_from = parse_date_time(vc["issuanceDate"], what="issuanceDate")
    if valid_until is None and "expirationDate" in vc:
        valid_until = parse_date_time(vc["expirationDate"], what="expirationDate")
    if valid_from is None:
        # VCDM 1.1 §4.6: issuanceDate is required; nbf is its JWT encoding.
        raise PasserelleError(Reason.VC_MALFORMED, f"{_WHAT} has neither nbf nor issuanceDate")
    check_validity_period(valid_from, valid_until, now=now, skew=skew, what=_WHAT)

    # VCDM 1.1 §6.3.1 "JWT decoding": the registered claims become data-model members.
    credential: JsonObject = dict(vc)
    credential["issuer"] = vc.get("issuer", issuer)
    if isinstance(jti, str):
        credential["id"] = jti
    if isinstance(sub, str) and "id" not in subjects[0]:
        credential["credentialSubject"] = {**subjects[0], "id": sub}
    if "issuanceDate" not in vc:
        credential["issuanceDate"] = format_date_time(valid_from)
    if valid_until is not None and "expirationDate" not in vc:
        credential["expirationDate"] = format_date_time(valid_until)

    return VerifiedW3cCredential(
        format="jwt_vc_json",
        issuer=issuer,
        subject_id=subject_id,
        types=types,
        credential=credential,
        claims=claims,
        header=verified.header,
        valid_from=valid_from,
        valid_until=valid_until,
        status=read_status(vc, what=_WHAT),
        schemas=read_schema_refs(vc, what=_WHAT),
        confirmation_jwk=read_confirmation_jwk(claims, what=_WHAT),
    )
