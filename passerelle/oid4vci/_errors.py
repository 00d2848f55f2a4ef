"""OpenID4VCI wire errors: which code, which HTTP status, which headers.

One table maps every ``oid4vci.*`` reason to the error code the spec puts on the
wire (OpenID4VCI 1.0 §6.3 token errors, §8.3.1.2 credential request errors, §9.3
deferred, §11.3 notification; RFC 6749 §5.2 and RFC 6750 §3.1 for the OAuth ones).
Lower layers (``jws.*``, ``jwk.*``, ``jwt.*``) are re-labelled by the caller with
:meth:`PasserelleError.for_wire`.
"""

from __future__ import annotations

from collections.abc import Mapping

from .._errors import Fault, PasserelleError, Reason
from .._json import JsonObject

__all__ = [
    "HTTP_STATUS_FOR_ERROR",
    "WIRE_ERROR_FOR_REASON",
    "error_body",
    "error_headers",
    "http_status_for",
    "oid4vci_error",
]

WIRE_ERROR_FOR_REASON: Mapping[Reason, str] = {
    Reason.OID4VCI_OFFER_INVALID: "invalid_request",
    Reason.OID4VCI_METADATA_INVALID: "invalid_request",
    Reason.OID4VCI_AUTHORIZATION_REQUEST_INVALID: "invalid_request",
    Reason.OID4VCI_AUTHORIZATION_DETAILS_INVALID: "invalid_authorization_details",
    Reason.OID4VCI_TOKEN_REQUEST_INVALID: "invalid_request",
    Reason.OID4VCI_GRANT_TYPE_UNSUPPORTED: "unsupported_grant_type",
    Reason.OID4VCI_GRANT_INVALID: "invalid_grant",
    Reason.OID4VCI_CLIENT_INVALID: "invalid_client",
    # §6.3: a missing or an unexpected Transaction Code is invalid_request, a wrong
    # one is invalid_grant.
    Reason.OID4VCI_TX_CODE_MISSING: "invalid_request",
    Reason.OID4VCI_TX_CODE_UNEXPECTED: "invalid_request",
    Reason.OID4VCI_TX_CODE_MISMATCH: "invalid_grant",
    Reason.OID4VCI_PKCE_METHOD_UNSUPPORTED: "invalid_request",
    Reason.OID4VCI_PKCE_MISMATCH: "invalid_grant",
    Reason.OID4VCI_ACCESS_TOKEN_INVALID: "invalid_token",
    Reason.OID4VCI_CREDENTIAL_NOT_AUTHORIZED: "insufficient_scope",
    Reason.OID4VCI_CREDENTIAL_REQUEST_INVALID: "invalid_credential_request",
    Reason.OID4VCI_CREDENTIAL_REQUEST_DENIED: "credential_request_denied",
    Reason.OID4VCI_UNKNOWN_CREDENTIAL_CONFIGURATION: "unknown_credential_configuration",
    Reason.OID4VCI_UNKNOWN_CREDENTIAL_IDENTIFIER: "unknown_credential_identifier",
    Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID: "invalid_encryption_parameters",
    Reason.OID4VCI_ENCRYPTION_REQUIRED: "invalid_encryption_parameters",
    Reason.OID4VCI_RESPONSE_DECRYPTION_FAILED: "invalid_request",
    Reason.OID4VCI_BATCH_TOO_LARGE: "invalid_credential_request",
    # §8.3.1.2: invalid_proof covers a missing proofs parameter, an invalid proof and
    # a proof without c_nonce; only a wrong c_nonce is invalid_nonce.
    Reason.OID4VCI_PROOF_MISSING: "invalid_proof",
    Reason.OID4VCI_PROOF_PARAMETER_OBSOLETE: "invalid_proof",
    Reason.OID4VCI_PROOFS_MALFORMED: "invalid_proof",
    Reason.OID4VCI_PROOF_TYPE_UNSUPPORTED: "invalid_proof",
    Reason.OID4VCI_PROOF_KEY_INVALID: "invalid_proof",
    Reason.OID4VCI_PROOF_KEY_UNSUPPORTED: "invalid_proof",
    Reason.OID4VCI_PROOF_AUD_MISMATCH: "invalid_proof",
    Reason.OID4VCI_PROOF_ISS_MISMATCH: "invalid_proof",
    Reason.OID4VCI_PROOF_TOO_OLD: "invalid_proof",
    Reason.OID4VCI_NONCE_MISSING: "invalid_proof",
    Reason.OID4VCI_NONCE_MISMATCH: "invalid_nonce",
    Reason.OID4VCI_DEFERRED_REQUEST_INVALID: "invalid_credential_request",
    Reason.OID4VCI_TRANSACTION_ID_INVALID: "invalid_transaction_id",
    Reason.OID4VCI_NOTIFICATION_REQUEST_INVALID: "invalid_notification_request",
    Reason.OID4VCI_NOTIFICATION_ID_INVALID: "invalid_notification_id",
    Reason.OID4VCI_SESSION_TRANSITION_INVALID: "invalid_request",
}

HTTP_STATUS_FOR_ERROR: Mapping[str, int] = {
    # RFC 6749 §5.2: 400, except invalid_client, which is 401 when the client
    # authenticated through the Authorization header (and may be 401 otherwise).
    "invalid_request": 400,
    "invalid_client": 401,
    "invalid_grant": 400,
    "unauthorized_client": 400,
    "unsupported_grant_type": 400,
    "invalid_scope": 400,
    "invalid_authorization_details": 400,
    # RFC 6750 §3.1.
    "invalid_token": 401,
    "insufficient_scope": 403,
    # OpenID4VCI 1.0 §8.3.1.2, §9.3, §11.3: all 400 Bad Request.
    "invalid_credential_request": 400,
    "unknown_credential_configuration": 400,
    "unknown_credential_identifier": 400,
    "invalid_proof": 400,
    "invalid_nonce": 400,
    "invalid_encryption_parameters": 400,
    "credential_request_denied": 400,
    "invalid_transaction_id": 400,
    "invalid_notification_id": 400,
    "invalid_notification_request": 400,
}

_BEARER_ERRORS = frozenset({"invalid_token", "insufficient_scope"})


def oid4vci_error(reason: Reason, detail: str, *, fault: Fault = Fault.PEER) -> PasserelleError:
    """A :class:`PasserelleError` for an ``oid4vci.*`` reason with its wire code."""
    return PasserelleError(
        reason, detail, fault=fault, wire_error=WIRE_ERROR_FOR_REASON.get(reason)
    )


def _ascii_description(detail: str) -> str:
    # §8.3.1.2 and RFC 6749 §5.2: error_description is limited to %x20-21 / %x23-5B /
    # %x5D-7E, so quotes, backslashes and anything outside printable ASCII go.
    return "".join(c if 0x20 <= ord(c) <= 0x7E and c not in '"\\' else "?" for c in detail)


def error_body(exc: PasserelleError) -> JsonObject:
    """The JSON error response body: ``error`` and an ASCII-safe ``error_description``."""
    return {
        "error": exc.wire_error or "invalid_request",
        "error_description": _ascii_description(exc.detail),
    }


def http_status_for(exc: PasserelleError) -> int:
    return HTTP_STATUS_FOR_ERROR.get(exc.wire_error or "invalid_request", 400)


def error_headers(exc: PasserelleError, *, scheme: str = "Bearer") -> dict[str, str]:
    """Headers of an error response: no caching, and ``WWW-Authenticate`` for token errors.

    ``scheme`` is ``Bearer`` or ``DPoP`` (RFC 9449 §7.1), whichever the token used.
    """
    headers = {"Cache-Control": "no-store"}
    if exc.wire_error in _BEARER_ERRORS:
        description = _ascii_description(exc.detail)
        headers["WWW-Authenticate"] = (
            f'{scheme} error="{exc.wire_error}", error_description="{description}"'
        )
    return headers
