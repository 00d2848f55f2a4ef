"""§8 Credential, §9 Deferred Credential and §11 Notification messages."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

from .._errors import Fault, PasserelleError, Reason
from .._json import JsonObject, JsonValue
from ._errors import oid4vci_error
from ._models import (
    CredentialRequest,
    DeferredCredentialRequest,
    NotificationEvent,
    NotificationRequest,
    _require_str,
)

__all__ = [
    "HTTP_STATUS_DEFERRED",
    "SUPPORTED_PROOF_TYPES",
    "credential_response",
    "deferred_response",
    "parse_credential_request",
    "parse_deferred_request",
    "parse_notification_request",
]

HTTP_STATUS_DEFERRED = 202
"""§8.3 and §9.2: a response with ``transaction_id`` is sent with 202 Accepted."""

SUPPORTED_PROOF_TYPES = frozenset({"jwt"})
"""Proof types accepted by default (Appendix F.1). ``attestation`` (F.3) is verified by
:func:`verify_attestation_proof` and accepted when a caller passes it in ``proof_types``."""


def _request_error(detail: str) -> PasserelleError:
    return oid4vci_error(Reason.OID4VCI_CREDENTIAL_REQUEST_INVALID, detail)


def _local(detail: str) -> PasserelleError:
    return PasserelleError(Reason.OID4VCI_CREDENTIAL_REQUEST_INVALID, detail, fault=Fault.LOCAL)


def _proofs(
    raw: JsonValue,
    *,
    config: Mapping[str, JsonValue] | None,
    batch_size: int | None,
    proof_types: Collection[str] = SUPPORTED_PROOF_TYPES,
) -> tuple[str, tuple[str, ...]]:
    if not isinstance(raw, dict) or len(raw) != 1:
        raise oid4vci_error(
            Reason.OID4VCI_PROOFS_MALFORMED, "proofs must hold exactly one proof type"
        )
    ((proof_type, values),) = raw.items()
    supported = config.get("proof_types_supported") if config is not None else None
    if isinstance(supported, dict) and proof_type not in supported:
        raise oid4vci_error(
            Reason.OID4VCI_PROOF_TYPE_UNSUPPORTED,
            f"proof type {proof_type!r} is not supported for this configuration",
        )
    if proof_type not in proof_types:
        raise oid4vci_error(
            Reason.OID4VCI_PROOF_TYPE_UNSUPPORTED, f"proof type {proof_type!r} is not supported"
        )
    if not isinstance(values, list) or not values:
        raise oid4vci_error(
            Reason.OID4VCI_PROOFS_MALFORMED, f"proofs.{proof_type} is not a non-empty array"
        )
    if not all(isinstance(v, str) and v for v in values):
        raise oid4vci_error(
            Reason.OID4VCI_PROOFS_MALFORMED, f"proofs.{proof_type} holds something but JWTs"
        )
    if proof_type == "attestation" and len(values) != 1:
        # Appendix F: the attestation parameter is "an array that contains exactly one JWT".
        raise oid4vci_error(
            Reason.OID4VCI_PROOFS_MALFORMED, "proofs.attestation holds exactly one key attestation"
        )
    limit = batch_size if batch_size is not None else 1
    if len(values) > limit:
        raise oid4vci_error(
            Reason.OID4VCI_BATCH_TOO_LARGE,
            f"{len(values)} proofs sent, at most {limit} accepted (batch_size)",
        )
    return proof_type, tuple(v for v in values if isinstance(v, str))


_KNOWN = frozenset({"credential_identifier", "credential_configuration_id", "proofs", "proof"})


def parse_credential_request(
    body: JsonObject,
    *,
    metadata_configurations: Mapping[str, JsonObject],
    authorized: Collection[str],
    batch_size: int | None = None,
    proof_types: Collection[str] = SUPPORTED_PROOF_TYPES,
    accept_response_encryption: bool = False,
) -> CredentialRequest:
    """A §8.2 Credential Request checked against metadata and the access token, or raise.

    ``authorized`` holds the configuration ids or credential identifiers the access
    token covers. Pass a mapping of credential identifier to configuration id to let
    identifier requests be checked against their configuration's proof types too.
    ``batch_size`` is the issuer's ``batch_credential_issuance.batch_size``; without
    it one proof is the most a request may carry.

    Unknown parameters are kept and otherwise ignored (§8.2: "The Credential Issuer
    MUST ignore any unrecognized parameters"), the singular ``proof`` of drafts before
    1.0 included: beside ``proofs`` it changes nothing; alone, ``proofs`` is missing, and
    the refusal names the draft parameter so its sender knows why.
    ``credential_response_encryption`` is refused unless ``accept_response_encryption``
    is set: §8.3 "If the Client requested an encrypted response ..., the Credential
    Issuer MUST encode the information in the Credential Response as specified by
    (#encrypted-messages)", which an issuer without encryption cannot. When set, the
    member stays in ``extra`` for :func:`parse_credential_response_encryption`.
    ``proof_types`` are the proof types the caller can verify (``attestation`` too once
    it has a :class:`KeyAttestationPolicy`).
    """
    if not isinstance(body, dict):
        raise _request_error("the credential request is not a JSON object")
    if "credential_response_encryption" in body and not accept_response_encryption:
        raise oid4vci_error(
            Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID,
            "this issuer does not support credential response encryption",
        )
    has_identifier = "credential_identifier" in body
    has_config = "credential_configuration_id" in body
    if has_identifier == has_config:
        raise _request_error(
            "exactly one of credential_identifier and credential_configuration_id is required"
        )
    config_id: str | None = None
    identifier: str | None = None
    config: Mapping[str, JsonValue] | None = None
    if has_config:
        config_id = _require_str(
            body, "credential_configuration_id", _request_error, what="credential request"
        )
        if config_id not in metadata_configurations:
            raise oid4vci_error(
                Reason.OID4VCI_UNKNOWN_CREDENTIAL_CONFIGURATION,
                f"credential configuration {config_id!r} is unknown",
            )
        if config_id not in authorized:
            raise oid4vci_error(
                Reason.OID4VCI_CREDENTIAL_NOT_AUTHORIZED,
                f"the access token does not cover {config_id!r}",
            )
        config = metadata_configurations[config_id]
    else:
        identifier = _require_str(
            body, "credential_identifier", _request_error, what="credential request"
        )
        # §8.2: credential_identifier is used only when the token response returned
        # credential_identifiers; a plain collection of configuration ids names none.
        if not isinstance(authorized, Mapping) or identifier not in authorized:
            raise oid4vci_error(
                Reason.OID4VCI_UNKNOWN_CREDENTIAL_IDENTIFIER,
                f"credential identifier {identifier!r} is unknown",
            )
        if isinstance(authorized, Mapping):
            mapped = authorized[identifier]
            config = metadata_configurations.get(mapped) if isinstance(mapped, str) else None
    proof_type: str | None = None
    proofs: tuple[str, ...] = ()
    if body.get("proofs") is not None:
        proof_type, proofs = _proofs(
            body["proofs"], config=config, batch_size=batch_size, proof_types=proof_types
        )
    elif config is None or config.get("proof_types_supported") is not None:
        # §8.2: proofs MUST be present when the configuration lists proof types; when
        # the configuration is not known here, binding is assumed (fail closed).
        if "proof" in body:
            raise oid4vci_error(
                Reason.OID4VCI_PROOF_PARAMETER_OBSOLETE,
                "the proofs parameter is missing; the singular proof of drafts before "
                "OpenID4VCI 1.0 is not read",
            )
        raise oid4vci_error(Reason.OID4VCI_PROOF_MISSING, "the proofs parameter is missing")
    return CredentialRequest(
        credential_configuration_id=config_id,
        credential_identifier=identifier,
        proof_type=proof_type,
        proofs=proofs,
        extra={k: v for k, v in body.items() if k not in _KNOWN},
    )


def credential_response(
    credentials: Sequence[JsonValue], *, notification_id: str | None = None
) -> JsonObject:
    """§8.3 immediate Credential Response (HTTP 200)."""
    if not credentials:
        raise _local("a credential response carries at least one credential")
    body: JsonObject = {"credentials": [{"credential": c} for c in credentials]}
    if notification_id is not None:
        body["notification_id"] = notification_id
    return body


def deferred_response(transaction_id: str, *, interval: int) -> JsonObject:
    """§8.3 / §9.2 response that defers issuance; send it with :data:`HTTP_STATUS_DEFERRED`."""
    if not transaction_id or isinstance(interval, bool) or interval <= 0:
        raise _local("a deferred response needs a transaction_id and a positive interval")
    return {"transaction_id": transaction_id, "interval": interval}


def parse_deferred_request(
    body: JsonObject, *, accept_response_encryption: bool = False
) -> DeferredCredentialRequest:
    """§9.1 Deferred Credential Request. Whether the id is live is the service's check.

    ``credential_response_encryption`` is refused unless ``accept_response_encryption``
    is set; then it stays in ``extra`` for :func:`parse_credential_response_encryption`.
    """

    def error(detail: str) -> PasserelleError:
        return oid4vci_error(Reason.OID4VCI_DEFERRED_REQUEST_INVALID, detail)

    if not isinstance(body, dict):
        raise error("the deferred credential request is not a JSON object")
    if "credential_response_encryption" in body and not accept_response_encryption:
        raise oid4vci_error(
            Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID,
            "this issuer does not support credential response encryption",
        )
    transaction_id = _require_str(body, "transaction_id", error, what="deferred request")
    return DeferredCredentialRequest(
        transaction_id=transaction_id,
        extra={k: v for k, v in body.items() if k != "transaction_id"},
    )


def _is_description_ascii(text: str) -> bool:
    # §11.1: %x20-21 / %x23-5B / %x5D-7E, i.e. printable ASCII without '"' and '\'.
    return all(0x20 <= ord(c) <= 0x7E and c not in '"\\' for c in text)


def parse_notification_request(
    body: JsonObject, *, known_notification_ids: Collection[str] | None = None
) -> NotificationRequest:
    """§11.1 Notification Request, or raise ``invalid_notification_request``.

    With ``known_notification_ids``, an id outside it is ``invalid_notification_id``.
    """

    def error(detail: str) -> PasserelleError:
        return oid4vci_error(Reason.OID4VCI_NOTIFICATION_REQUEST_INVALID, detail)

    if not isinstance(body, dict):
        raise error("the notification request is not a JSON object")
    notification_id = _require_str(body, "notification_id", error, what="notification")
    raw_event = _require_str(body, "event", error, what="notification")
    try:
        event = NotificationEvent(raw_event)
    except ValueError as exc:
        raise error(f"event {raw_event!r} is not a notification event") from exc
    description = body.get("event_description")
    if description is not None and (
        not isinstance(description, str) or not _is_description_ascii(description)
    ):
        raise error("event_description is not restricted ASCII text")
    if known_notification_ids is not None and notification_id not in known_notification_ids:
        raise oid4vci_error(Reason.OID4VCI_NOTIFICATION_ID_INVALID, "notification_id is not known")
    known = {"notification_id", "event", "event_description"}
    return NotificationRequest(
        notification_id=notification_id,
        event=event,
        event_description=description,
        extra={k: v for k, v in body.items() if k not in known},
    )
