"""OpenID4VCI 1.0 wire messages as frozen models, with the spec's snake_case names.

Members the spec lets a party add (it says "MUST ignore any unrecognized
parameters") are kept in ``extra`` so that nothing a peer sent is silently lost.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from .._errors import PasserelleError
from .._json import JsonObject, JsonValue
from ..jose import PublicKey
from ._key_attestation import VerifiedKeyAttestation

__all__ = [
    "AUTHORIZATION_CODE_GRANT",
    "HAIP_OFFER_SCHEME",
    "OFFER_SCHEME",
    "OPENID_CREDENTIAL",
    "PRE_AUTHORIZED_CODE_GRANT",
    "PROOF_JWT_TYP",
    "SPEC_VERSION",
    "AuthorizationCodeGrant",
    "AuthorizationDetail",
    "AuthorizationRequest",
    "CredentialIssuerMetadata",
    "CredentialOffer",
    "CredentialRequest",
    "DeferredCredentialRequest",
    "NotificationEvent",
    "NotificationRequest",
    "OfferGrants",
    "OfferLink",
    "PreAuthorizedCodeGrant",
    "TokenRequest",
    "TxCode",
    "VerifiedProof",
]

SPEC_VERSION = "OpenID4VCI 1.0"
AUTHORIZATION_CODE_GRANT = "authorization_code"
PRE_AUTHORIZED_CODE_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
OPENID_CREDENTIAL = "openid_credential"
PROOF_JWT_TYP = "openid4vci-proof+jwt"
OFFER_SCHEME = "openid-credential-offer"
HAIP_OFFER_SCHEME = "haip-vci"


@dataclass(frozen=True, slots=True, kw_only=True)
class TxCode:
    """§4.1.1 ``tx_code``: present (even empty) means a Transaction Code is required."""

    input_mode: str | None = None
    length: int | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizationCodeGrant:
    issuer_state: str | None = None
    authorization_server: str | None = None
    extra: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class PreAuthorizedCodeGrant:
    pre_authorized_code: str
    tx_code: TxCode | None = None
    authorization_server: str | None = None
    extra: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class OfferGrants:
    authorization_code: AuthorizationCodeGrant | None = None
    pre_authorized_code: PreAuthorizedCodeGrant | None = None
    other: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialOffer:
    """§4.1.1 Credential Offer object."""

    credential_issuer: str
    credential_configuration_ids: tuple[str, ...]
    grants: OfferGrants | None = None
    extra: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class OfferLink:
    """A wallet invocation link: the offer by value or its URL, never both (§4.1)."""

    scheme: str
    credential_offer: CredentialOffer | None = None
    credential_offer_uri: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialIssuerMetadata:
    """§12.2.4 Credential Issuer Metadata, as a wallet reads it."""

    credential_issuer: str
    credential_endpoint: str
    credential_configurations_supported: Mapping[str, JsonObject]
    authorization_servers: tuple[str, ...] = ()
    nonce_endpoint: str | None = None
    deferred_credential_endpoint: str | None = None
    notification_endpoint: str | None = None
    batch_size: int | None = None
    display: tuple[JsonObject, ...] = ()
    raw: JsonObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizationDetail:
    """§5.1.1 an ``authorization_details`` entry of type ``openid_credential``."""

    credential_configuration_id: str
    type: str = OPENID_CREDENTIAL
    locations: tuple[str, ...] = ()
    claims: tuple[JsonObject, ...] | None = None
    extra: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizationRequest:
    """An OAuth authorization request (pushed, RFC 9126) with PKCE S256."""

    response_type: str
    client_id: str
    code_challenge: str
    code_challenge_method: str
    redirect_uri: str | None = None
    scope: tuple[str, ...] = ()
    authorization_details: tuple[AuthorizationDetail, ...] = ()
    state: str | None = None
    issuer_state: str | None = None
    resource: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenRequest:
    """§6.1 Token Request, for either grant."""

    grant_type: str
    pre_authorized_code: str | None = None
    tx_code: str | None = None
    code: str | None = None
    redirect_uri: str | None = None
    code_verifier: str | None = None
    client_id: str | None = None
    scope: tuple[str, ...] = ()
    authorization_details: tuple[AuthorizationDetail, ...] = ()
    extra: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedProof:
    """A ``jwt`` key proof (Appendix F.1) whose every check passed."""

    holder_key: PublicKey
    jwk: JsonObject
    iat: datetime
    nonce: str | None = None
    iss: str | None = None
    kid: str | None = None
    #: The ``key_attestation`` of the proof header, verified (Appendix D), when present.
    key_attestation: VerifiedKeyAttestation | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialRequest:
    """§8.2 Credential Request. Exactly one of the two identifiers is set."""

    credential_configuration_id: str | None = None
    credential_identifier: str | None = None
    proof_type: str | None = None
    proofs: tuple[str, ...] = ()
    extra: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class DeferredCredentialRequest:
    """§9.1 Deferred Credential Request."""

    transaction_id: str
    extra: Mapping[str, JsonValue] = field(default_factory=dict)


class NotificationEvent(enum.StrEnum):
    """§11.1 ``event`` values (case sensitive)."""

    CREDENTIAL_ACCEPTED = "credential_accepted"
    CREDENTIAL_FAILURE = "credential_failure"
    CREDENTIAL_DELETED = "credential_deleted"


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationRequest:
    """§11.1 Notification Request."""

    notification_id: str
    event: NotificationEvent
    event_description: str | None = None
    extra: Mapping[str, JsonValue] = field(default_factory=dict)


# Member readers shared by the parse_* functions of this package.

_ErrorFactory = Callable[[str], PasserelleError]


def _require_str(obj: Mapping[str, JsonValue], name: str, make: _ErrorFactory, *, what: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not value:
        raise make(f"{what} member {name!r} is missing or not a non-empty string")
    return value


def _optional_str(
    obj: Mapping[str, JsonValue], name: str, make: _ErrorFactory, *, what: str
) -> str | None:
    value = obj.get(name)
    if value is None and name not in obj:
        return None
    if not isinstance(value, str):
        raise make(f"{what} member {name!r} is not a string")
    return value


def _string_array(
    value: JsonValue, make: _ErrorFactory, *, what: str, unique: bool = False
) -> tuple[str, ...]:
    if not isinstance(value, list) or not value:
        raise make(f"{what} is not a non-empty array")
    if not all(isinstance(v, str) and v for v in value):
        raise make(f"{what} holds something other than non-empty strings")
    items = tuple(v for v in value if isinstance(v, str))
    if unique and len(set(items)) != len(items):
        raise make(f"{what} holds duplicate values")
    return items
