"""OpenID4VP 1.0 (final) wire messages as frozen models, and the wire error table.

Field names are the spec's. Request parameters the spec lets a Verifier add ("The
Wallet MUST ignore any unrecognized parameters") are kept in ``extra``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography import x509

from .._errors import Fault, PasserelleError, Reason
from .._json import JsonObject, JsonValue
from ..jose import PublicKey

__all__ = [
    "DEFAULT_RESPONSE_ENC",
    "HAIP_PROFILE",
    "HAIP_SCHEME",
    "OPENID4VP_SCHEME",
    "REQUEST_OBJECT_TYP",
    "RESPONSE_TYPE_VP_TOKEN",
    "SPEC_VERSION",
    "STATIC_AUDIENCE",
    "WALLET_ERROR_CODES",
    "WIRE_ERROR_FOR_REASON",
    "AuthorizationError",
    "AuthorizationRequest",
    "AuthorizationResponse",
    "ClientId",
    "ClientIdPrefix",
    "ClientMetadata",
    "Profile",
    "RequestLink",
    "RequestReference",
    "RequestUriMethod",
    "ResponseMode",
    "VerifiedAuthorizationRequest",
    "VerifierInfo",
    "oid4vp_error",
]

SPEC_VERSION = "OpenID4VP 1.0"
REQUEST_OBJECT_TYP = "oauth-authz-req+jwt"
RESPONSE_TYPE_VP_TOKEN = "vp_token"  # noqa: S105 (a response type)
OPENID4VP_SCHEME = "openid4vp"
HAIP_SCHEME = "haip-vp"
#: §5.8: the ``aud`` of a Request Object when the Wallet's metadata is static.
STATIC_AUDIENCE = "https://self-issued.me/v2"
#: §8.3: the ``enc`` a Wallet uses when ``encrypted_response_enc_values_supported`` is absent.
DEFAULT_RESPONSE_ENC = "A128GCM"


class ResponseMode(enum.StrEnum):
    """The Response Modes this implementation speaks (§8.2, §8.3.1)."""

    DIRECT_POST = "direct_post"
    DIRECT_POST_JWT = "direct_post.jwt"


class ClientIdPrefix(enum.StrEnum):
    """The Client Identifier Prefixes of §5.9.3 this implementation supports."""

    REDIRECT_URI = "redirect_uri"
    X509_SAN_DNS = "x509_san_dns"
    X509_HASH = "x509_hash"
    DECENTRALIZED_IDENTIFIER = "decentralized_identifier"


class RequestUriMethod(enum.StrEnum):
    GET = "get"
    POST = "post"


#: Error codes a Wallet may return: RFC 6749 §4.1.2.1, RFC 9101 §6.3, OpenID4VP §8.5.
WALLET_ERROR_CODES: frozenset[str] = frozenset(
    {
        "invalid_request",
        "unauthorized_client",
        "access_denied",
        "unsupported_response_type",
        "invalid_scope",
        "server_error",
        "temporarily_unavailable",
        "invalid_client",
        "invalid_request_uri",
        "invalid_request_object",
        "request_not_supported",
        "request_uri_not_supported",
        "vp_formats_not_supported",
        "invalid_request_uri_method",
        "invalid_transaction_data",
        "wallet_unavailable",
    }
)

_R = Reason
# OpenID4VP §8.5 puts unsupported prefixes and broken prefix rules under
# invalid_request; RFC 9101 §6.3 has invalid_request_object for a Request Object
# that fails as a JWT (those reasons come from lower layers, re-labelled by callers).
WIRE_ERROR_FOR_REASON: Mapping[Reason, str] = {
    _R.OID4VP_REQUEST_INVALID: "invalid_request",
    _R.OID4VP_RESPONSE_TYPE_UNSUPPORTED: "unsupported_response_type",
    _R.OID4VP_RESPONSE_MODE_UNSUPPORTED: "invalid_request",
    _R.OID4VP_RESPONSE_URI_MISSING: "invalid_request",
    _R.OID4VP_REDIRECT_URI_WITH_DIRECT_POST: "invalid_request",
    _R.OID4VP_NONCE_MISSING: "invalid_request",
    _R.OID4VP_DCQL_QUERY_MISSING: "invalid_request",
    _R.OID4VP_SCOPE_UNSUPPORTED: "invalid_scope",
    _R.OID4VP_TRANSACTION_DATA_UNSUPPORTED: "invalid_transaction_data",
    _R.OID4VP_CLIENT_METADATA_INVALID: "invalid_request",
    _R.OID4VP_REQUEST_URI_METHOD_INVALID: "invalid_request_uri_method",
    _R.OID4VP_CLIENT_ID_PREFIX_UNSUPPORTED: "invalid_request",
    _R.OID4VP_CLIENT_ID_INVALID: "invalid_request",
    _R.OID4VP_CLIENT_ID_MISMATCH: "invalid_request",
    _R.OID4VP_SIGNED_REQUEST_REQUIRED: "invalid_request",
    _R.OID4VP_SIGNED_REQUEST_NOT_ALLOWED: "invalid_request",
    _R.OID4VP_REQUEST_OBJECT_INVALID: "invalid_request_object",
    _R.OID4VP_REQUEST_OBJECT_AUD_INVALID: "invalid_request_object",
    _R.OID4VP_WALLET_NONCE_MISMATCH: "invalid_request_object",
    _R.OID4VP_DID_KEY_UNRESOLVED: "invalid_request",
    _R.OID4VP_PROFILE_VIOLATION: "invalid_request",
    _R.OID4VP_ENCRYPTION_UNSUPPORTED: "invalid_request",
    _R.OID4VP_RESPONSE_DECRYPTION_FAILED: "invalid_request",
    _R.OID4VP_RESPONSE_NOT_ENCRYPTED: "invalid_request",
    _R.OID4VP_RESPONSE_INVALID: "invalid_request",
    _R.OID4VP_STATE_MISMATCH: "invalid_request",
    _R.OID4VP_RESPONSE_REPLAYED: "invalid_request",
    _R.OID4VP_TRANSACTION_EXPIRED: "invalid_request",
    _R.OID4VP_SESSION_TRANSITION_INVALID: "invalid_request",
    _R.OID4VP_RESPONSE_CODE_MISMATCH: "access_denied",
}


def oid4vp_error(reason: Reason, detail: str, *, fault: Fault = Fault.PEER) -> PasserelleError:
    """A :class:`PasserelleError` for an ``oid4vp.*`` reason with its wire code."""
    return PasserelleError(
        reason, detail, fault=fault, wire_error=WIRE_ERROR_FOR_REASON.get(reason)
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientId:
    """A Client Identifier split at its first ``:`` (§5.9.1)."""

    prefix: ClientIdPrefix
    #: The original Client Identifier, without the prefix.
    identifier: str

    @property
    def value(self) -> str:
        """The full Client Identifier, the one audiences name.

        §14 "Always Use the Full Client Identifier": the prefix is part of it.
        """
        return f"{self.prefix.value}:{self.identifier}"


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientMetadata:
    """§5.1 ``client_metadata`` members this implementation uses."""

    jwks: JsonObject | None = None
    #: None when absent: the Wallet then uses :data:`DEFAULT_RESPONSE_ENC`.
    encrypted_response_enc_values_supported: tuple[str, ...] | None = None
    vp_formats_supported: JsonObject | None = None
    extra: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifierInfo:
    """One §5.1 ``verifier_info`` attestation; it is not validated here."""

    format: str
    data: str | JsonObject
    credential_ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizationRequest:
    """An OpenID4VP Authorization Request (§5) using DCQL and a ``direct_post*`` mode.

    ``dcql_query`` is carried as a JSON object; validating it is the DCQL layer's job.
    """

    client_id: str
    response_mode: ResponseMode
    response_uri: str
    nonce: str
    dcql_query: JsonObject
    response_type: str = RESPONSE_TYPE_VP_TOKEN
    state: str | None = None
    client_metadata: ClientMetadata | None = None
    wallet_nonce: str | None = None
    verifier_info: tuple[VerifierInfo, ...] = ()
    extra: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestReference:
    """An Authorization Request passed as a Request Object by value or by reference."""

    client_id: str
    request_uri: str | None = None
    request_uri_method: RequestUriMethod | None = None
    #: The Request Object itself, when passed by value.
    request: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RequestLink:
    """A wallet invocation URL split into its scheme and query parameters."""

    scheme: str
    params: Mapping[str, str]


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedAuthorizationRequest:
    """A Request Object whose signature verified under the key its prefix designates."""

    request: AuthorizationRequest
    client_id: ClientId
    header: JsonObject
    claims: JsonObject
    signer_key: PublicKey
    #: Leaf first, anchor last, for the ``x509_*`` prefixes.
    certificate_chain: tuple[x509.Certificate, ...] = ()
    #: The DID URL of the verification method, for ``decentralized_identifier``.
    verification_method: str | None = None

    @property
    def alg(self) -> str:
        alg = self.header.get("alg")
        return alg if isinstance(alg, str) else ""


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizationResponse:
    """A successful Authorization Response (§8.1): presentations by credential query id."""

    vp_token: Mapping[str, tuple[str | JsonObject, ...]]
    state: str | None = None
    #: True when it arrived as a JWE (``direct_post.jwt``).
    encrypted: bool = False
    extra: Mapping[str, JsonValue] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizationError:
    """An Authorization Error Response from the Wallet (§8.5, RFC 6749 §4.1.2.1)."""

    error: str
    error_description: str | None = None
    error_uri: str | None = None
    state: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """A policy narrowing what an OpenID4VP request may use (HAIP is one)."""

    name: str
    client_id_prefixes: frozenset[ClientIdPrefix]
    response_modes: frozenset[ResponseMode]
    request_object_algorithms: frozenset[str]
    require_signed_request: bool
    #: ``enc`` values the Verifier must accept for encrypted responses. A Wallet checking
    #: a request needs only one of them offered: it is liberal in what it accepts.
    required_response_enc: frozenset[str] = frozenset()


#: HAIP 1.0 §5 for SD-JWT VC over redirects: ``x509_hash`` (not ``x509_san_dns``),
#: signed requests (JAR by ``request_uri``), ``direct_post.jwt``, ES256 (§7),
#: ECDH-ES P-256 with A128GCM and A256GCM ("values A128GCM and A256GCM ... MUST be
#: supported by Verifiers"), DCQL (the only query this package parses).
HAIP_PROFILE = Profile(
    name="haip-1.0",
    client_id_prefixes=frozenset({ClientIdPrefix.X509_HASH}),
    response_modes=frozenset({ResponseMode.DIRECT_POST_JWT}),
    request_object_algorithms=frozenset({"ES256"}),
    require_signed_request=True,
    required_response_enc=frozenset({"A128GCM", "A256GCM"}),
)
