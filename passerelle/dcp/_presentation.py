"""Presentations on the DCP path, profile ``vc20-bssl/jwt`` (DCP 1.0 §"Profiles").

VCDM 2.0 secured with JOSE (W3C VC-JOSE-COSE §3.1): a ``vp+jwt`` whose payload is the
presentation, each credential an ``EnvelopedVerifiableCredential`` around a ``vc+jwt``.
Homogeneous, as the profile asks: a ``vp+jwt`` carries ``vc+jwt`` credentials only.

What :func:`verify_dcp_presentation` checks, after DCP 1.0 §"Presentation Validation"
(the DCP TCK 5.4.x case in brackets):

1. the holder (``holder``, or ``iss``) is the consumer DID, and the ``kid`` is one of
   its verification methods — ``dcp.holder_mismatch``;
2. the presentation's signature, with the key ``resolve_key(kid)`` gives (2.);
3. ``aud``, when the caller expects one — ``dcp.audience_mismatch``;
4. per credential: "the DID in the VerificationMethod of the Verifiable Credential has
   the same value as the issuer" — ``vc.issuer_mismatch`` (4.); its signature with that
   DID's key (5.); ``validFrom``/``validUntil`` — ``credential.expired`` [5.4.3.7] and
   ``credential.not_yet_valid`` [5.4.3.6] (the profile: "use validUntil");
   ``credentialSubject.id`` is the holder — ``dcp.holder_mismatch`` [5.4.3];
5. every required type is among the credentials — ``dcp.credential_missing``
   [5.4.2.1, 5.4.2.4]; extra credentials are accepted [5.4.2.2].

Not here, on purpose: status (step 6 of the spec) needs the status list credentials
fetched, so each credential's ``credentialStatus`` entries are returned for the caller
to check with :func:`passerelle.status_list.check_bitstring_status`; and whether the
issuer is trusted is :func:`passerelle.trust.evaluate_trust`'s question, asked with
``IssuerIdentity(iss=credential.issuer, kid=credential.kid)``.

Why not :func:`passerelle.vc.verify_vp_jwt`: it binds a presentation to a request
``nonce`` (OpenID4VP), and DCP has none — the verifier fetched the presentation
itself, from the holder's own Credential Service, with its own single-use token. The
credentials themselves go through :func:`passerelle.vc.verify_vc_jose` unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue
from .._time import require_aware
from ..jose import (
    PublicKey,
    Signer,
    UnverifiedJws,
    check_jwt_times,
    decode_unverified_jws,
    epoch,
    jwk_thumbprint,
    sign_jws,
    typ_matches,
    verify_jws,
)
from ..vc import (
    ENVELOPED_VC_PREFIX,
    VC_V2_CONTEXT,
    VP_JWT_TYP,
    VerifiedW3cCredential,
    verify_vc_jose,
)
from ._did import did_of_key_id
from ._token import DCP_ALGORITHMS

__all__ = [
    "PROFILE",
    "VerifiedDcpCredential",
    "VerifiedDcpPresentation",
    "create_dcp_presentation",
    "verify_dcp_presentation",
    "verify_dcp_presentations",
]

PROFILE = "vc20-bssl/jwt"
_WHAT = "vp+jwt presentation"
_ENVELOPE_TYPE = "EnvelopedVerifiableCredential"
_MAX_CREDENTIALS = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedDcpCredential:
    """One credential of a DCP presentation, verified with its issuer's DID key.

    ``issuer`` is the issuer DID (the DID of the verification method in ``kid``);
    ``status`` the ``credentialStatus`` entries, NOT yet checked; ``token`` the
    ``vc+jwt`` as received.
    """

    issuer: str
    kid: str
    types: tuple[str, ...]
    status: tuple[JsonObject, ...]
    valid_until: datetime | None
    token: str
    credential: VerifiedW3cCredential


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedDcpPresentation:
    """A ``vp+jwt`` of the holder, signed with one of its DID keys, its credentials verified."""

    holder: str
    kid: str
    audience: str | None
    credentials: tuple[VerifiedDcpCredential, ...]
    header: JsonObject
    claims: JsonObject

    @property
    def types(self) -> frozenset[str]:
        return frozenset(t for c in self.credentials for t in c.types)

    def credentials_of_type(self, credential_type: str) -> tuple[VerifiedDcpCredential, ...]:
        return tuple(c for c in self.credentials if credential_type in c.types)


def _enveloped(token: str) -> JsonObject:
    return {"@context": VC_V2_CONTEXT, "type": _ENVELOPE_TYPE, "id": ENVELOPED_VC_PREFIX + token}


def create_dcp_presentation(
    credentials: Sequence[str],
    *,
    holder_did: str,
    signer: Signer,
    kid: str,
    audience: str,
    now: datetime,
    lifetime: timedelta,
) -> str:
    """A ``vp+jwt`` of ``vc+jwt`` credentials, as a Credential Service answers a query.

    ``holder`` and ``iss`` are the holder DID, ``kid`` one of its verification methods
    (listed under ``authentication``), ``aud`` the verifier's DID.
    """
    require_aware(now)
    if isinstance(credentials, str) or not all(
        isinstance(c, str) and c.count(".") == 2 for c in credentials
    ):
        raise local_error(Reason.DCP_PRESENTATION_INVALID, "credentials must be compact JWTs")
    if "#" not in kid or did_of_key_id(kid) != holder_did:
        raise local_error(Reason.DCP_HOLDER_MISMATCH, f"kid {kid!r} is no key of {holder_did}")
    if lifetime <= timedelta(0):
        raise local_error(Reason.DCP_PRESENTATION_INVALID, "a lifetime must be positive")
    issued = epoch(now)
    claims: JsonObject = {
        "@context": [VC_V2_CONTEXT],
        "type": ["VerifiablePresentation"],
        "holder": holder_did,
        "verifiableCredential": [_enveloped(c) for c in credentials],
        "iss": holder_did,
        "aud": audience,
        "iat": issued,
        "nbf": issued,
        "exp": epoch(now + lifetime),
    }
    return sign_jws({"typ": VP_JWT_TYP, "cty": "vp", "kid": kid}, claims, signer)


def _invalid(detail: str) -> PasserelleError:
    return PasserelleError(Reason.DCP_PRESENTATION_INVALID, f"{_WHAT}: {detail}")


def _id_of(value: JsonValue) -> str | None:
    if isinstance(value, dict):
        value = value.get("id")
    return value if isinstance(value, str) and value else None


def _holder_of(payload: JsonObject) -> str:
    """``holder`` (a URL or an object with an ``id``) or ``iss``; both must agree."""
    holder = _id_of(payload.get("holder"))
    iss = payload.get("iss")
    if "holder" in payload and holder is None:
        raise _invalid("holder is not a URL or an object with an id")
    if iss is not None and not (isinstance(iss, str) and iss):
        raise _invalid("iss is not a string")
    if holder is not None and iss is not None and holder != iss:
        raise _invalid(f"holder {holder!r} and iss {iss!r} disagree")
    found = holder or iss
    if not isinstance(found, str):
        raise _invalid("names no holder (holder or iss)")
    return found


def _types(value: JsonValue) -> list[str]:
    items: list[JsonValue] = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, str)]


def _credential_tokens(payload: JsonObject) -> list[str]:
    for name in ("vc", "vp"):
        # VC-JOSE-COSE §3.1.2: the payload is the presentation; vc/vp claims are 1.1.
        if name in payload:
            raise _invalid(f"must not carry a {name} claim")
    context = payload.get("@context")
    if not isinstance(context, list) or not context or context[0] != VC_V2_CONTEXT:
        raise _invalid(f"@context must start with {VC_V2_CONTEXT}")
    if "VerifiablePresentation" not in _types(payload.get("type")):
        raise _invalid("type does not include VerifiablePresentation")
    raw = payload.get("verifiableCredential", [])
    items: list[JsonValue] = raw if isinstance(raw, list) else [raw]
    if len(items) > _MAX_CREDENTIALS:
        raise _invalid(f"carries more than {_MAX_CREDENTIALS} credentials")
    tokens = []
    for item in items:
        envelope_id = _id_of(item) if isinstance(item, dict) else None
        if (
            not isinstance(item, dict)
            or _ENVELOPE_TYPE not in _types(item.get("type"))
            or envelope_id is None
            or not envelope_id.startswith(ENVELOPED_VC_PREFIX)
        ):
            # Profile homogeneity: only vc+jwt envelopes, no embedded or 1.1 credentials.
            raise _invalid(f"a credential is not an {_ENVELOPE_TYPE} of a vc+jwt")
        tokens.append(envelope_id[len(ENVELOPED_VC_PREFIX) :])
    return tokens


def _decode(token: str, what: str) -> tuple[UnverifiedJws, JsonObject]:
    try:
        jws = decode_unverified_jws(token, what=what)
        return jws, jws.payload_json(what=f"{what} payload")
    except PasserelleError as exc:
        raise _invalid(exc.detail) from exc


def _verify_credential(
    token: str,
    *,
    holder_did: str,
    holder_thumbprint: str,
    resolve_key: Callable[[str], PublicKey],
    algorithms: Collection[str],
    now: datetime,
    skew: timedelta,
) -> VerifiedDcpCredential:
    jws, payload = _decode(token, "vc+jwt credential")
    claimed = _id_of(payload.get("issuer"))
    if claimed is None:
        raise PasserelleError(Reason.VC_MALFORMED, "vc+jwt credential names no issuer")
    kid = jws.header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise PasserelleError(Reason.JWS_HEADER_INVALID, "vc+jwt credential kid is not a string")
    # Without a kid, the issuer DID's only verification method (as for the ID token).
    method = claimed if kid is None else (claimed + kid if kid.startswith("#") else kid)
    try:
        issuer = did_of_key_id(method)
    except PasserelleError as exc:
        raise PasserelleError(
            Reason.VC_ISSUER_MISMATCH, f"credential key {method!r} is not a DID URL"
        ) from exc
    # Checked before any key is looked up: a kid of another DID must not even be fetched.
    if issuer != claimed:
        raise PasserelleError(
            Reason.VC_ISSUER_MISMATCH,
            f"credential signed by a key of {issuer}, but its issuer is {claimed}",
        )
    verified = verify_vc_jose(
        token, issuer_key=resolve_key(method), algorithms=algorithms, now=now, skew=skew
    )
    if verified.issuer != issuer:  # the signed value, now that the signature holds
        raise PasserelleError(Reason.VC_ISSUER_MISMATCH, f"credential issuer is not {issuer}")
    if verified.subject_id != holder_did:
        raise PasserelleError(
            Reason.DCP_HOLDER_MISMATCH,
            f"credentialSubject.id {verified.subject_id!r} is not the holder {holder_did!r}",
        )
    if (
        verified.confirmation_jwk is not None
        and jwk_thumbprint(verified.confirmation_jwk) != holder_thumbprint
    ):
        raise PasserelleError(
            Reason.DCP_HOLDER_MISMATCH, "the presentation key is not the credential's cnf key"
        )
    return VerifiedDcpCredential(
        issuer=issuer,
        kid=method,
        types=verified.types,
        status=verified.status,
        valid_until=verified.valid_until,
        token=token,
        credential=verified,
    )


def _missing(required: Collection[str], present: Collection[str]) -> None:
    missing = sorted(t for t in set(required) if t not in present)
    if missing:
        raise PasserelleError(
            Reason.DCP_CREDENTIAL_MISSING, f"no credential of type {', '.join(missing)}"
        )


def verify_dcp_presentation(
    vp_jwt: str,
    *,
    holder_did: str,
    audience: str | None,
    resolve_key: Callable[[str], PublicKey],
    now: datetime,
    required_types: Collection[str],
    skew: timedelta = timedelta(0),
    algorithms: Collection[str] = DCP_ALGORITHMS,
) -> VerifiedDcpPresentation:
    """Verify one ``vp+jwt`` from ``holder_did``'s Credential Service, or raise (see module).

    ``resolve_key`` is called with an absolute DID URL (the ``kid`` of the presentation
    or of a credential), or a bare DID when there is no ``kid``. Security contract:
    return only a key that DID's document lists (``authentication`` for the holder,
    ``assertionMethod`` for issuers, see :func:`passerelle.dcp.key_resolver`) and raise
    otherwise; its errors propagate. ``audience``, when given, must be in ``aud``.
    """
    now = require_aware(now)
    jws, payload = _decode(vp_jwt, _WHAT)
    if not typ_matches(jws.header.get("typ"), VP_JWT_TYP):
        raise _invalid(f"typ {jws.header.get('typ')!r}, {VP_JWT_TYP} is required")
    holder = _holder_of(payload)
    if holder != holder_did:
        raise PasserelleError(
            Reason.DCP_HOLDER_MISMATCH, f"{_WHAT} holder {holder!r} is not {holder_did!r}"
        )
    kid = jws.header.get("kid")
    if kid is not None and not isinstance(kid, str):
        raise _invalid("kid is not a string")
    method = holder_did if kid is None else (holder_did + kid if kid.startswith("#") else kid)
    try:
        signer_did = did_of_key_id(method)
    except PasserelleError as exc:
        raise _invalid(f"kid {kid!r} is not a DID URL") from exc
    # DCP 1.0: the DID of the presentation's verification method is the holder.
    if signer_did != holder_did:
        raise PasserelleError(
            Reason.DCP_HOLDER_MISMATCH, f"{_WHAT} is signed by a key of {signer_did}"
        )
    key = resolve_key(method)
    try:
        verified = verify_jws(jws, key=key, algorithms=algorithms, typ=VP_JWT_TYP, what=_WHAT)
    except PasserelleError as exc:
        raise _invalid(exc.detail) from exc
    claims = verified.payload
    tokens = _credential_tokens(claims)
    if audience is not None:
        aud = claims.get("aud")
        if audience not in _types(aud):
            raise PasserelleError(
                Reason.DCP_AUDIENCE_MISMATCH, f"{_WHAT} aud {aud!r} is not {audience!r}"
            )
    # No nonce binds a DCP presentation; its own exp/nbf/iat, when present, still hold.
    check_jwt_times(claims, now=now, skew=skew, what=_WHAT)

    thumbprint = jwk_thumbprint(key)
    credentials = tuple(
        _verify_credential(
            token,
            holder_did=holder_did,
            holder_thumbprint=thumbprint,
            resolve_key=resolve_key,
            algorithms=algorithms,
            now=now,
            skew=skew,
        )
        for token in tokens
    )
    result = VerifiedDcpPresentation(
        holder=holder,
        kid=method,
        audience=audience,
        credentials=credentials,
        header=verified.header,
        claims=claims,
    )
    _missing(required_types, result.types)
    return result


def verify_dcp_presentations(
    presentations: Sequence[str],
    *,
    holder_did: str,
    audience: str | None,
    resolve_key: Callable[[str], PublicKey],
    now: datetime,
    required_types: Collection[str],
    skew: timedelta = timedelta(0),
    algorithms: Collection[str] = DCP_ALGORITHMS,
) -> tuple[VerifiedDcpPresentation, ...]:
    """Verify every presentation of a ``PresentationResponseMessage``; the required
    types may be spread over them. An empty answer fails (DCP TCK 5.4.2.3):
    ``dcp.credential_missing`` when types were required, ``dcp.presentation_invalid``
    otherwise."""
    if not presentations:
        if required_types:
            _missing(required_types, ())
        raise PasserelleError(Reason.DCP_PRESENTATION_INVALID, "the response has no presentation")
    verified = tuple(
        verify_dcp_presentation(
            vp,
            holder_did=holder_did,
            audience=audience,
            resolve_key=resolve_key,
            now=now,
            required_types=(),
            skew=skew,
            algorithms=algorithms,
        )
        for vp in presentations
    )
    _missing(required_types, frozenset(t for p in verified for t in p.types))
    return verified
