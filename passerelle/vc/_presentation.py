"""Verifiable presentations as JWTs, and holder binding.

Two homogeneous forms (DCP 1.0 profiles: "the same data model version and proof
mechanism MUST be used for both credentials and presentations"):

* ``jwt_vc_json`` — VCDM 1.1 §6.3.1: a ``JWT`` whose ``vp`` claim holds the presentation,
  ``iss`` = holder, ``verifiableCredential`` = credential JWT strings; OpenID4VP 1.0
  B.1.3.1: ``nonce`` is the request's nonce, ``aud`` the verifier's client identifier.
* ``vc+jwt`` — VC-JOSE-COSE §3.1.2: a ``vp+jwt`` whose payload is the presentation,
  ``holder`` names the holder, each credential is an ``EnvelopedVerifiableCredential``
  with a ``data:application/vc+jwt,<jwt>`` id; ``nonce``/``aud`` bind it to the verifier.

Holder binding: the presentation verifies with the holder's key, and every credential
is about the holder: its subject id equals the holder (DCP 1.0 §5.4.3 "the
credentialSubject.id ... and the DID ... of the Verifiable Presentation have the same
value") and, when the credential carries ``cnf.jwk``, the presentation key is that key.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue
from ..jose import (
    PublicKey,
    Signer,
    check_jwt_times,
    decode_unverified_jws,
    epoch,
    jwk_thumbprint,
    numeric_date,
    sign_jws,
    verify_jws,
)
from ._jwt_vc_json import check_jwt_typ
from ._models import (
    VC_V1_CONTEXT,
    VC_V2_CONTEXT,
    CredentialFormat,
    HolderKeyResolver,
    VerifiedPresentation,
    VerifiedW3cCredential,
    check_context,
    read_id_or_object,
    read_types,
)
from ._vc_jose import VP_JWT_TYP, check_vc_jose_header

__all__ = ["ENVELOPED_VC_PREFIX", "create_vp_jwt", "verify_vp_jwt"]

ENVELOPED_VC_PREFIX = "data:application/vc+jwt,"
"""The ``id`` prefix of an enveloped ``vc+jwt`` credential (VCDM 2.0 §4.13.1, RFC 2397)."""


def _enveloped(token: str) -> JsonObject:
    return {
        "@context": VC_V2_CONTEXT,
        "type": "EnvelopedVerifiableCredential",
        "id": ENVELOPED_VC_PREFIX + token,
    }


def create_vp_jwt(
    credentials: Sequence[str],
    *,
    holder: str,
    signer: Signer,
    audience: str,
    nonce: str,
    now: datetime,
    format: CredentialFormat,
    kid: str | None = None,
    expires_at: datetime | None = None,
) -> str:
    """Sign a presentation of ``credentials`` (compact JWTs) for ``audience`` and ``nonce``."""
    if not credentials or not all(isinstance(c, str) and c.count(".") == 2 for c in credentials):
        raise local_error(Reason.VP_MALFORMED, "credentials must be one or more compact JWTs")
    claims: JsonObject = {"aud": audience, "nonce": nonce, "iat": epoch(now)}
    if expires_at is not None:
        claims["exp"] = epoch(expires_at)
    if format == "jwt_vc_json":
        header: dict[str, object] = {"typ": "JWT"}
        claims["iss"] = holder
        claims["vp"] = {
            "@context": [VC_V1_CONTEXT],
            "type": ["VerifiablePresentation"],
            "verifiableCredential": list(credentials),
        }
    elif format == "vc+jwt":
        header = {"typ": VP_JWT_TYP, "cty": "vp"}
        claims = {
            "@context": [VC_V2_CONTEXT],
            "type": ["VerifiablePresentation"],
            "holder": holder,
            "verifiableCredential": [_enveloped(c) for c in credentials],
            **claims,
        }
    else:
        raise local_error(Reason.VP_MALFORMED, f"unknown presentation format {format!r}")
    if kid is not None:
        header["kid"] = kid
    return sign_jws(header, claims, signer)


def _string(value: JsonValue, *, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise PasserelleError(Reason.VP_MALFORMED, f"{what} is not a non-empty string")
    return value


def _holder_of(payload: JsonObject, format: CredentialFormat) -> str:
    """The holder, read before the signature is checked: it only selects the key."""
    if format == "jwt_vc_json":
        return _string(payload.get("iss"), what="presentation iss (holder)")
    holder = read_id_or_object(
        payload.get("holder"), what="vp+jwt holder", reason=Reason.VP_MALFORMED
    )
    return holder


def _check_jwt_vc_json_vp(claims: JsonObject, holder: str) -> tuple[list[str], JsonObject]:
    if "vc" in claims:
        raise PasserelleError(Reason.VP_MALFORMED, "presentation carries a vc claim")
    vp = claims.get("vp")
    if not isinstance(vp, dict):
        raise PasserelleError(Reason.VP_MALFORMED, "presentation has no vp claim object")
    check_context(vp.get("@context"), first=VC_V1_CONTEXT, what="presentation")
    read_types(vp.get("type"), required="VerifiablePresentation", what="presentation")
    if "holder" in vp and vp["holder"] != holder:
        raise PasserelleError(Reason.VP_MALFORMED, "vp.holder and iss disagree")
    items = vp.get("verifiableCredential")
    if not isinstance(items, list) or not items:
        raise PasserelleError(
            Reason.VP_MALFORMED, "vp.verifiableCredential is not a non-empty array"
        )
    return [_string(item, what="vp.verifiableCredential entry") for item in items], vp


def _check_vc_jose_vp(payload: JsonObject, holder: str) -> list[str]:
    for name in ("vc", "vp"):
        if name in payload:
            raise PasserelleError(Reason.VP_MALFORMED, f"vp+jwt must not carry a {name} claim")
    check_context(payload.get("@context"), first=VC_V2_CONTEXT, what="presentation")
    read_types(payload.get("type"), required="VerifiablePresentation", what="presentation")
    if "iss" in payload and payload["iss"] != holder:
        raise PasserelleError(Reason.VP_MALFORMED, "vp+jwt iss and holder disagree")
    raw = payload.get("verifiableCredential")
    items: list[JsonValue] = raw if isinstance(raw, list) else [raw]
    if raw is None or not items:
        raise PasserelleError(Reason.VP_MALFORMED, "presentation has no verifiableCredential")
    tokens = []
    for item in items:
        if not isinstance(item, dict):
            raise PasserelleError(
                Reason.VP_MALFORMED, "verifiableCredential entry is not an object"
            )
        read_types(item.get("type"), required="EnvelopedVerifiableCredential", what="envelope")
        envelope_id = _string(item.get("id"), what="enveloped credential id")
        if not envelope_id.startswith(ENVELOPED_VC_PREFIX):
            raise PasserelleError(
                Reason.VP_MALFORMED, f"enveloped credential is not {ENVELOPED_VC_PREFIX}<jwt>"
            )
        tokens.append(envelope_id[len(ENVELOPED_VC_PREFIX) :])
    return tokens


def _check_audience(claims: JsonObject, audience: str) -> None:
    aud = claims.get("aud")
    values: list[JsonValue] = aud if isinstance(aud, list) else [aud]
    if audience not in values:
        raise PasserelleError(
            Reason.VP_AUD_MISMATCH, f"presentation aud {aud!r} is not {audience!r}"
        )


def _check_nonce(claims: JsonObject, nonce: str) -> None:
    got = claims.get("nonce")
    if not isinstance(got, str) or not hmac.compare_digest(got.encode(), nonce.encode()):
        raise PasserelleError(Reason.VP_NONCE_MISMATCH, "presentation nonce is not the request's")


def verify_vp_jwt(
    token: str,
    *,
    format: CredentialFormat,
    holder_key: PublicKey | HolderKeyResolver,
    algorithms: Collection[str],
    audience: str,
    nonce: str,
    now: datetime,
    skew: timedelta,
    credential_verifier: Callable[[str], VerifiedW3cCredential],
    max_age: timedelta = timedelta(minutes=5),
) -> VerifiedPresentation:
    """Verify a presentation JWT, each credential in it, and holder binding; or raise.

    ``holder_key`` is the holder's key, or a resolver called with the holder the token
    names and its ``kid``. ``credential_verifier`` verifies one credential JWT (typically
    :func:`verify_jwt_vc_json` or :func:`verify_vc_jose` with the issuer's key bound in);
    its errors propagate unchanged.
    """
    what = "presentation"
    jws = decode_unverified_jws(token, what=what)
    if format == "jwt_vc_json":
        check_jwt_typ(jws.header, what=what)
        typ = None
    elif format == "vc+jwt":
        check_vc_jose_header(jws.header, typ=VP_JWT_TYP, what=what)
        typ = VP_JWT_TYP
    else:
        raise local_error(Reason.VP_MALFORMED, f"unknown presentation format {format!r}")
    holder = _holder_of(jws.payload_json(what=f"{what} payload"), format)
    if callable(holder_key):
        kid = jws.header.get("kid")
        key = holder_key(holder, kid if isinstance(kid, str) else None)
    else:
        key = holder_key
    verified = verify_jws(jws, key=key, algorithms=algorithms, typ=typ, what=what)
    claims = verified.payload
    if format == "jwt_vc_json":
        tokens, presentation = _check_jwt_vc_json_vp(claims, holder)
    else:
        tokens, presentation = _check_vc_jose_vp(claims, holder), claims
    _check_audience(claims, audience)
    _check_nonce(claims, nonce)
    # Like a KB-JWT, a presentation is only as fresh as its iat: required, and no older
    # than max_age, so that one without exp cannot be replayed for ever.
    check_jwt_times(claims, now=now, skew=skew, require=("iat",), what=what)
    issued = numeric_date(claims, "iat", required=True)
    assert issued is not None
    if issued < epoch(now) - int((max_age + skew).total_seconds()):
        raise PasserelleError(Reason.VP_IAT_OUT_OF_WINDOW, f"{what} iat is older than {max_age}")

    holder_thumbprint = jwk_thumbprint(key)
    credentials = []
    for credential_token in tokens:
        credential = credential_verifier(credential_token)
        if credential.format != format:
            raise PasserelleError(
                Reason.VP_MALFORMED, f"a {credential.format} credential in a {format} presentation"
            )
        if credential.subject_id != holder:
            raise PasserelleError(
                Reason.VC_HOLDER_MISMATCH,
                f"credential subject {credential.subject_id!r} is not the holder {holder!r}",
            )
        if (
            credential.confirmation_jwk is not None
            and jwk_thumbprint(credential.confirmation_jwk) != holder_thumbprint
        ):
            raise PasserelleError(
                Reason.VC_HOLDER_MISMATCH,
                "presentation is not signed with the credential's cnf key",
            )
        credentials.append(credential)
    return VerifiedPresentation(
        format=format,
        holder=holder,
        audience=audience,
        nonce=nonce,
        credentials=tuple(credentials),
        presentation=presentation,
        claims=claims,
        header=verified.header,
    )
