"""VCDM 2.0 credentials secured with JOSE (W3C VC-JOSE-COSE §3.1.1, media type ``vc+jwt``).

The JWS payload IS the credential: no ``vc`` or ``vp`` claim (they "MUST NOT be
present"). Validity comes from ``validFrom``/``validUntil``; the JWT's own ``iat``/``exp``
are the signature's lifetime and, when present, are checked as such (``jwt.*``).

Header ``typ``: the spec says it SHOULD be ``vc+jwt``. We require it (RFC 8725 §3.11
explicit typing): it is what keeps a VCDM 1.1 ``JWT``, an SD-JWT VC or a presentation
from being accepted here. The spec's own examples omit ``typ``; they are refused, on
purpose. ``cty``, when present, is only required to be a string: the spec lets it name
"a more specific media type than application/vc".
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject
from ..jose import (
    PublicKey,
    Signer,
    check_jwt_times,
    decode_unverified_jws,
    sign_jws,
    typ_matches,
    verify_jws,
)
from ._models import (
    VC_V2_CONTEXT,
    VerifiedW3cCredential,
    check_context,
    check_validity_period,
    parse_date_time,
    read_confirmation_jwk,
    read_id_or_object,
    read_schema_refs,
    read_status,
    read_subjects,
    read_types,
    single_subject_id,
)

__all__ = ["VC_JWT_TYP", "VP_JWT_TYP", "issue_vc_jose", "verify_vc_jose"]

VC_JWT_TYP = "vc+jwt"
VP_JWT_TYP = "vp+jwt"
_WHAT = "vc+jwt credential"


def check_vc_jose_header(header: JsonObject, *, typ: str, what: str) -> None:
    if not typ_matches(header.get("typ"), typ):
        raise PasserelleError(
            Reason.JWS_TYP_MISMATCH, f"{what} typ {header.get('typ')!r}, {typ} is required"
        )
    cty = header.get("cty")
    if cty is not None and not isinstance(cty, str):
        raise PasserelleError(Reason.JWS_HEADER_INVALID, f"{what} cty is not a string")


def _check_shape(credential: JsonObject) -> tuple[str, tuple[str, ...], list[JsonObject]]:
    for name in ("vc", "vp"):
        if name in credential:
            raise PasserelleError(Reason.VC_MALFORMED, f"{_WHAT} must not carry a {name} claim")
    check_context(credential.get("@context"), first=VC_V2_CONTEXT, what=_WHAT)
    types = read_types(credential.get("type"), required="VerifiableCredential", what=_WHAT)
    issuer = read_id_or_object(credential.get("issuer"), what=f"{_WHAT} issuer")
    subjects = read_subjects(credential.get("credentialSubject"), what=_WHAT)
    return issuer, types, subjects


def _validity(credential: JsonObject) -> tuple[datetime | None, datetime | None]:
    valid_from = credential.get("validFrom")
    valid_until = credential.get("validUntil")
    return (
        None if valid_from is None else parse_date_time(valid_from, what="validFrom"),
        None if valid_until is None else parse_date_time(valid_until, what="validUntil"),
    )


def issue_vc_jose(
    credential: JsonObject,
    *,
    signer: Signer,
    kid: str | None,
    confirmation_jwk: JsonObject | None = None,
) -> str:
    """Sign a VCDM 2.0 credential as ``vc+jwt`` (header ``typ`` ``vc+jwt``, ``cty`` ``vc``).

    The payload is the credential as given, plus ``cnf`` when ``confirmation_jwk`` binds it
    to a holder key. No ``iss``/``iat``/``exp`` are added: the spec asks not to duplicate
    data-model members in claims that could then disagree.
    """
    try:
        _check_shape(credential)
        _validity(credential)
        if confirmation_jwk is not None:
            read_confirmation_jwk({"cnf": {"jwk": confirmation_jwk}}, what=_WHAT)
    except PasserelleError as exc:
        raise local_error(exc.reason, f"cannot issue: {exc.detail}") from exc
    payload: JsonObject = dict(credential)
    if confirmation_jwk is not None:
        payload["cnf"] = {"jwk": confirmation_jwk}
    header: dict[str, object] = {"typ": VC_JWT_TYP, "cty": "vc"}
    if kid is not None:
        header["kid"] = kid
    return sign_jws(header, payload, signer)


def verify_vc_jose(
    token: str,
    *,
    issuer_key: PublicKey,
    algorithms: Collection[str],
    now: datetime,
    skew: timedelta,
) -> VerifiedW3cCredential:
    """Verify a ``vc+jwt`` credential signed by ``issuer_key``, or raise.

    Checks the header, the signature, the VCDM 2.0 shape, ``iss`` against ``issuer``
    (VC-JOSE-COSE §6.1.1: "iss value, if present, MUST match issuer"), the JWT time
    claims and ``validFrom``/``validUntil``.
    """
    jws = decode_unverified_jws(token, what=_WHAT)
    check_vc_jose_header(jws.header, typ=VC_JWT_TYP, what=_WHAT)
    verified = verify_jws(jws, key=issuer_key, algorithms=algorithms, typ=VC_JWT_TYP, what=_WHAT)
    credential = verified.payload
    issuer, types, subjects = _check_shape(credential)
    iss = credential.get("iss")
    if iss is not None and iss != issuer:
        raise PasserelleError(Reason.VC_ISSUER_MISMATCH, f"{_WHAT} iss {iss!r} is not {issuer!r}")
    check_jwt_times(credential, now=now, skew=skew, what=_WHAT)
    valid_from, valid_until = _validity(credential)
    check_validity_period(valid_from, valid_until, now=now, skew=skew, what=_WHAT)
    return VerifiedW3cCredential(
        format="vc+jwt",
        issuer=issuer,
        subject_id=single_subject_id(subjects),
        types=types,
        credential=credential,
        claims=credential,
        header=verified.header,
        valid_from=valid_from,
        valid_until=valid_until,
        status=read_status(credential, what=_WHAT),
        schemas=read_schema_refs(credential, what=_WHAT),
        confirmation_jwk=read_confirmation_jwk(credential, what=_WHAT),
    )
