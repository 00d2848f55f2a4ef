"""Verified W3C credentials and presentations, and the data-model rules both JWT forms share.

The rules here are the JSON-level ones of VCDM 1.1 §4 and VCDM 2.0 §4 that a verifier
can check without JSON-LD processing (OpenID4VCI 1.0 Appendix A.1.1 forbids JSON-LD for
``jwt_vc_json``; VC-JOSE-COSE does not need it either): ``@context`` is an ordered set
whose first item is the base context, ``type`` contains the base type, ``issuer`` is a URL
or an object with an ``id``, dates are XML Schema ``dateTime`` strings with a time zone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, TypeAlias

from .._errors import PasserelleError, Reason
from .._json import JsonObject, JsonValue
from .._time import from_numeric_date
from .._time import parse_date_time as _parse_date_time
from ..jose import PublicKey

__all__ = [
    "VC_V1_CONTEXT",
    "VC_V2_CONTEXT",
    "CredentialFormat",
    "CredentialSchemaRef",
    "HolderKeyResolver",
    "VerifiedPresentation",
    "VerifiedW3cCredential",
]

VC_V1_CONTEXT = "https://www.w3.org/2018/credentials/v1"
"""First ``@context`` item of a VCDM 1.1 credential or presentation (VCDM 1.1 §4.1)."""
VC_V2_CONTEXT = "https://www.w3.org/ns/credentials/v2"
"""First ``@context`` item of a VCDM 2.0 credential or presentation (VCDM 2.0 §4.3)."""

CredentialFormat: TypeAlias = Literal["jwt_vc_json", "vc+jwt"]
"""``jwt_vc_json``: the OpenID4VC format id (VCDM 1.1 as JWT); ``vc+jwt``: VCDM 2.0 with JOSE."""

HolderKeyResolver: TypeAlias = Callable[[str, "str | None"], PublicKey]
"""Finds the key a holder signs presentations with: ``(holder id, kid header or None)``.

Security contract: return only a key that the holder identifier controls (for
``did:jwk`` the key inside the DID; for other methods, a key from a resolved, trusted
document) and raise :class:`PasserelleError` otherwise. The verifier calls it with the
holder named in the unverified presentation, then verifies the signature with the key.
"""


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialSchemaRef:
    """One ``credentialSchema`` entry: where a schema is and what kind of schema it is."""

    id: str
    type: str


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedW3cCredential:
    """A W3C credential whose signature, data-model shape and validity period checked out.

    ``credential`` is the data-model document: for ``jwt_vc_json`` the ``vc`` claim with the
    registered claims mapped back in (VCDM 1.1 §6.3.1 "JWT decoding"), for ``vc+jwt`` the
    payload itself. ``claims`` is the JWT claims set exactly as signed. ``status`` entries
    are shape-checked only; status lists are checked elsewhere. ``subject_id`` is ``None``
    for a bearer credential or one with several subjects.
    """

    format: CredentialFormat
    issuer: str
    subject_id: str | None
    types: tuple[str, ...]
    credential: JsonObject
    claims: JsonObject
    header: JsonObject
    valid_from: datetime | None
    valid_until: datetime | None
    status: tuple[JsonObject, ...]
    schemas: tuple[CredentialSchemaRef, ...]
    confirmation_jwk: JsonObject | None


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedPresentation:
    """A presentation signed by its holder for this verifier and nonce; its credentials verified."""

    format: CredentialFormat
    holder: str
    audience: str
    nonce: str
    credentials: tuple[VerifiedW3cCredential, ...]
    presentation: JsonObject
    claims: JsonObject
    header: JsonObject


# --- shared data-model rules -------------------------------------------------------------


def parse_date_time(
    value: JsonValue, *, what: str, reason: Reason = Reason.VC_MALFORMED
) -> datetime:
    # XML Schema dateTime with a mandatory zone (VCDM 2.0 asks for dateTimeStamp; we ask
    # the same of 1.1 so that "valid until" never depends on the verifier's time zone).
    return _parse_date_time(value, what=what, reason=reason)


def from_epoch(value: int) -> datetime:
    return from_numeric_date(value, what="NumericDate")


def check_context(value: JsonValue, *, first: str, what: str) -> None:
    """VCDM §4.1/§4.3: an ordered set (array) whose first item is the base context."""
    if not isinstance(value, list) or not value:
        raise PasserelleError(
            Reason.VC_CONTEXT_INVALID, f"{what} @context is not a non-empty array"
        )
    if value[0] != first:
        raise PasserelleError(
            Reason.VC_CONTEXT_INVALID, f"{what} @context must start with {first}, not {value[0]!r}"
        )
    for item in value[1:]:
        if not isinstance(item, str | dict):
            raise PasserelleError(
                Reason.VC_CONTEXT_INVALID, f"{what} @context item is not a URL or object"
            )


def read_types(value: JsonValue, *, required: str, what: str) -> tuple[str, ...]:
    """``type`` is a string or an array of strings and must contain ``required``."""
    items: list[JsonValue] = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, str) and item for item in items):
        raise PasserelleError(
            Reason.VC_TYPE_INVALID, f"{what} type is not a string or array of strings"
        )
    types = tuple(item for item in items if isinstance(item, str))
    if required not in types:
        raise PasserelleError(Reason.VC_TYPE_INVALID, f"{what} type does not include {required}")
    return types


def read_id_or_object(value: JsonValue, *, what: str, reason: Reason = Reason.VC_MALFORMED) -> str:
    """VCDM ``issuer``/``holder``: a URL string, or an object whose ``id`` is one."""
    if isinstance(value, dict):
        value = value.get("id")
    if not isinstance(value, str) or not value:
        raise PasserelleError(reason, f"{what} is not a URL or an object with an id")
    return value


def read_subjects(value: JsonValue, *, what: str) -> list[JsonObject]:
    """``credentialSubject``: an object or a non-empty array of objects."""
    items: list[JsonValue] = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(item, dict) for item in items):
        raise PasserelleError(
            Reason.VC_MALFORMED, f"{what} credentialSubject is not an object or array"
        )
    subjects = [item for item in items if isinstance(item, dict)]
    for subject in subjects:
        if "id" in subject and not (isinstance(subject["id"], str) and subject["id"]):
            raise PasserelleError(Reason.VC_MALFORMED, f"{what} credentialSubject.id is not a URL")
    return subjects


def single_subject_id(subjects: list[JsonObject]) -> str | None:
    if len(subjects) != 1:
        return None
    subject_id = subjects[0].get("id")
    return subject_id if isinstance(subject_id, str) else None


def _objects(credential: JsonObject, name: str, *, what: str) -> list[JsonObject]:
    value = credential.get(name)
    if value is None:
        return []
    items: list[JsonValue] = value if isinstance(value, list) else [value]
    out: list[JsonObject] = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise PasserelleError(
                Reason.VC_MALFORMED, f"{what} {name} entry is not an object with a type"
            )
        out.append(item)
    return out


def read_status(credential: JsonObject, *, what: str) -> tuple[JsonObject, ...]:
    """``credentialStatus`` entries, shape only: objects with a ``type`` (VCDM 2.0 §4.10)."""
    return tuple(_objects(credential, "credentialStatus", what=what))


def read_schema_refs(credential: JsonObject, *, what: str) -> tuple[CredentialSchemaRef, ...]:
    """``credentialSchema`` entries: objects with ``id`` and ``type`` (VCDM 2.0 §4.11)."""
    refs = []
    for item in _objects(credential, "credentialSchema", what=what):
        schema_id, schema_type = item.get("id"), item.get("type")
        if not isinstance(schema_id, str) or not schema_id or not isinstance(schema_type, str):
            raise PasserelleError(Reason.VC_MALFORMED, f"{what} credentialSchema entry has no id")
        refs.append(CredentialSchemaRef(id=schema_id, type=schema_type))
    return tuple(refs)


def read_confirmation_jwk(claims: JsonObject, *, what: str) -> JsonObject | None:
    """RFC 7800 ``cnf`` with a ``jwk`` member, if the issuer bound the credential to a key."""
    from ..jose import load_public_jwk

    cnf = claims.get("cnf")
    if cnf is None:
        return None
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict):
        raise PasserelleError(Reason.VC_MALFORMED, f"{what} cnf is not an object with a jwk")
    load_public_jwk(jwk)  # refuses private members and keys not on the curve
    return jwk


def check_validity_period(
    valid_from: datetime | None,
    valid_until: datetime | None,
    *,
    now: datetime,
    skew: timedelta,
    what: str,
) -> None:
    """The credential's own validity period; failures are ``credential.*`` (DESIGN §2.5)."""
    if now.tzinfo is None:
        from .._errors import local_error

        raise local_error(Reason.JWT_CLAIM_INVALID, "now must be a timezone-aware datetime")
    if valid_until is not None and now - skew >= valid_until:
        raise PasserelleError(
            Reason.CREDENTIAL_EXPIRED, f"{what} expired at {valid_until.isoformat()}"
        )
    if valid_from is not None and now + skew < valid_from:
        raise PasserelleError(
            Reason.CREDENTIAL_NOT_YET_VALID, f"{what} is not valid before {valid_from.isoformat()}"
        )
