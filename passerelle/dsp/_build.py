"""Build DSP 2025-1 messages as JSON, in the compact form of the 2025-1 context.

Every message builder runs its own output through the matching parser, so that an
invalid message cannot be built (a misuse raises ``dsp.message_invalid`` with
``Fault.LOCAL``). Error bodies are the exception: they may have to describe a request
too broken to name its process ids.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue
from ._common import DSP_CONTEXT, HTTP_ENDPOINT_TYPE, HTTP_PULL_FORMAT
from ._models import NegotiationEventType
from ._parse import (
    parse_agreement_verification,
    parse_catalog,
    parse_catalog_request,
    parse_contract_agreement,
    parse_contract_negotiation,
    parse_contract_request,
    parse_dataset,
    parse_negotiation_event,
    parse_negotiation_termination,
    parse_transfer_completion,
    parse_transfer_process,
    parse_transfer_request,
    parse_transfer_start,
    parse_transfer_suspension,
    parse_transfer_termination,
)
from ._states import NegotiationState, TransferState

__all__ = [
    "agreement_verification_message",
    "catalog",
    "catalog_error",
    "catalog_request_message",
    "contract_agreement_message",
    "contract_negotiation",
    "contract_request_message",
    "data_address",
    "data_service",
    "dataset",
    "negotiation_error",
    "negotiation_event_message",
    "negotiation_termination_message",
    "transfer_completion_message",
    "transfer_error",
    "transfer_process",
    "transfer_request_message",
    "transfer_start_message",
    "transfer_suspension_message",
    "transfer_termination_message",
]

# The members of an offer that carry its terms into an agreement.
_TERMS = ("profile", "permission", "prohibition", "obligation")


def _base(type_: str) -> JsonObject:
    return {"@context": [DSP_CONTEXT], "@type": type_}


def _checked(message: JsonObject, parse: Callable[[JsonValue], object]) -> JsonObject:
    try:
        parse(message)
    except PasserelleError as exc:
        raise local_error(exc.reason, f"refusing to build it: {exc.detail}") from exc
    return message


def _with_code(message: JsonObject, code: str | None, reason: Sequence[JsonValue]) -> JsonObject:
    if code is not None:
        message["code"] = code
    if reason:  # the schemas give reason minItems 1: an empty list is left out
        message["reason"] = list(reason)
    return message


def _pids(type_: str, provider_pid: str, consumer_pid: str) -> JsonObject:
    return {**_base(type_), "providerPid": provider_pid, "consumerPid": consumer_pid}


# -- catalog -----------------------------------------------------------------------------


def catalog_request_message(*, filter: Sequence[JsonValue] | None = None) -> JsonObject:
    message = _base("CatalogRequestMessage")
    if filter is not None:
        message["filter"] = list(filter)
    return _checked(message, parse_catalog_request)


def data_service(*, id: str, endpoint_url: str) -> JsonObject:
    """A DCAT ``DataService``; ``endpoint_url`` is the connector's DSP ``<base>``."""
    return {"@id": id, "@type": "DataService", "endpointURL": endpoint_url}


def dataset(
    *,
    id: str,
    offers: Sequence[JsonObject],
    access_service: str | JsonObject,
    title: str | None = None,
    description: str | None = None,
    format: str = HTTP_PULL_FORMAT,
) -> JsonObject:
    """A DCAT ``Dataset`` as ``GET /catalog/datasets/:id`` answers it (with ``@context``;
    :func:`catalog` drops it when embedding). ``offers`` are ODRL offers as JSON, each
    with an ``@id`` and no ``target`` (the dataset is their target); ``@type: Offer`` is
    added when missing. ``access_service`` is a :func:`data_service` or its ``@id``.
    Title and description use ``dct:``: the 2025-1 context defines no plain term for them,
    and it is ``@protected``."""
    message = _base("Dataset")
    message["@id"] = id
    if title is not None:
        message["dct:title"] = title
    if description is not None:
        message["dct:description"] = description
    message["hasPolicy"] = [{"@type": "Offer", **offer} for offer in offers]
    message["distribution"] = [
        {"@type": "Distribution", "format": format, "accessService": access_service}
    ]
    return _checked(message, parse_dataset)


def catalog(
    *,
    id: str,
    participant_id: str,
    services: Sequence[JsonObject],
    datasets: Sequence[JsonObject] = (),
) -> JsonObject:
    """A root DCAT ``Catalog``. A catalog filtered down to no dataset for this requester
    is valid: the ``dataset`` member is then left out (its schema wants minItems 1)."""
    message = _base("Catalog")
    message["@id"] = id
    message["participantId"] = participant_id
    if datasets:
        message["dataset"] = [
            {k: v for k, v in item.items() if k != "@context"} for item in datasets
        ]
    message["service"] = list(services)
    return _checked(message, parse_catalog)


def catalog_error(*, code: str | None = None, reason: Sequence[JsonValue] = ()) -> JsonObject:
    return _with_code(_base("CatalogError"), code, reason)


# -- contract negotiation ----------------------------------------------------------------


def contract_request_message(
    *,
    consumer_pid: str,
    offer: JsonObject,
    callback_address: str | None = None,
    provider_pid: str | None = None,
) -> JsonObject:
    """The consumer's request: initial (``callback_address``, no ``provider_pid``) or a
    counter-offer. ``offer`` is the catalog offer, with ``target`` set to the dataset."""
    message = _base("ContractRequestMessage")
    if provider_pid is not None:
        message["providerPid"] = provider_pid
    message["consumerPid"] = consumer_pid
    message["offer"] = {"@type": "Offer", **offer}
    if callback_address is not None:
        message["callbackAddress"] = callback_address
    return _checked(message, parse_contract_request)


def contract_negotiation(
    *, provider_pid: str, consumer_pid: str, state: NegotiationState
) -> JsonObject:
    """The ``ContractNegotiation`` acknowledgement."""
    message = _pids("ContractNegotiation", provider_pid, consumer_pid)
    message["state"] = state.value
    return _checked(message, parse_contract_negotiation)


def _xsd_datetime(moment: datetime) -> str:
    if moment.tzinfo is None:
        raise local_error(Reason.DSP_MESSAGE_INVALID, "agreement timestamp has no time zone")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def contract_agreement_message(
    *,
    provider_pid: str,
    consumer_pid: str,
    agreement_id: str,
    target: str,
    assigner: str,
    assignee: str,
    timestamp: datetime,
    offer: JsonObject,
) -> JsonObject:
    """The provider's agreement: the terms of ``offer`` (its profile and rules), bound to
    ``target`` (the dataset), the two parties and the moment of agreement."""
    agreement: JsonObject = {
        "@id": agreement_id,
        "@type": "Agreement",
        "target": target,
        "assigner": assigner,
        "assignee": assignee,
        "timestamp": _xsd_datetime(timestamp),
    }
    agreement.update({key: offer[key] for key in _TERMS if key in offer})
    message = _pids("ContractAgreementMessage", provider_pid, consumer_pid)
    message["agreement"] = agreement
    return _checked(message, parse_contract_agreement)


def agreement_verification_message(*, provider_pid: str, consumer_pid: str) -> JsonObject:
    message = _pids("ContractAgreementVerificationMessage", provider_pid, consumer_pid)
    return _checked(message, parse_agreement_verification)


def negotiation_event_message(
    *, provider_pid: str, consumer_pid: str, event_type: NegotiationEventType
) -> JsonObject:
    message = _pids("ContractNegotiationEventMessage", provider_pid, consumer_pid)
    message["eventType"] = NegotiationEventType(event_type).value
    return _checked(message, parse_negotiation_event)


def negotiation_termination_message(
    *,
    provider_pid: str,
    consumer_pid: str,
    code: str | None = None,
    reason: Sequence[JsonValue] = (),
) -> JsonObject:
    message = _pids("ContractNegotiationTerminationMessage", provider_pid, consumer_pid)
    return _checked(_with_code(message, code, reason), parse_negotiation_termination)


def negotiation_error(
    *,
    provider_pid: str | None,
    consumer_pid: str | None,
    code: str | None = None,
    reason: Sequence[JsonValue] = (),
) -> JsonObject:
    """``ContractNegotiationError``. Its schema requires both process ids; pass ``None``
    only when the failing request did not let us know one (a malformed request), and
    the member is left out."""
    return _error("ContractNegotiationError", provider_pid, consumer_pid, code, reason)


def _error(
    type_: str,
    provider_pid: str | None,
    consumer_pid: str | None,
    code: str | None,
    reason: Sequence[JsonValue],
) -> JsonObject:
    message = _base(type_)
    if provider_pid is not None:
        message["providerPid"] = provider_pid
    if consumer_pid is not None:
        message["consumerPid"] = consumer_pid
    return _with_code(message, code, reason)


# -- transfer process --------------------------------------------------------------------


def data_address(
    *,
    endpoint: str,
    endpoint_type: str = HTTP_ENDPOINT_TYPE,
    properties: Mapping[str, str] | None = None,
) -> JsonObject:
    """A ``DataAddress``; ``properties`` become ``endpointProperties`` (e.g.
    ``{"authorization": token, "authType": "bearer"}`` for a pull transfer)."""
    address: JsonObject = {"@type": "DataAddress", "endpointType": endpoint_type}
    address["endpoint"] = endpoint
    if properties:
        address["endpointProperties"] = [
            {"@type": "EndpointProperty", "name": name, "value": value}
            for name, value in properties.items()
        ]
    return address


def transfer_request_message(
    *,
    consumer_pid: str,
    agreement_id: str,
    callback_address: str,
    format: str = HTTP_PULL_FORMAT,
    data_address: JsonObject | None = None,
) -> JsonObject:
    message = _base("TransferRequestMessage")
    message["consumerPid"] = consumer_pid
    message["agreementId"] = agreement_id
    message["format"] = format
    if data_address is not None:
        message["dataAddress"] = data_address
    message["callbackAddress"] = callback_address
    return _checked(message, parse_transfer_request)


def transfer_process(*, provider_pid: str, consumer_pid: str, state: TransferState) -> JsonObject:
    """The ``TransferProcess`` acknowledgement."""
    message = _pids("TransferProcess", provider_pid, consumer_pid)
    message["state"] = state.value
    return _checked(message, parse_transfer_process)


def transfer_start_message(
    *, provider_pid: str, consumer_pid: str, data_address: JsonObject | None
) -> JsonObject:
    """``data_address`` is required for a pull transfer and ``None`` only to resume a
    push transfer; it has no default so that leaving it out is a visible choice."""
    message = _pids("TransferStartMessage", provider_pid, consumer_pid)
    if data_address is not None:
        message["dataAddress"] = data_address
    return _checked(message, parse_transfer_start)


def transfer_suspension_message(
    *,
    provider_pid: str,
    consumer_pid: str,
    code: str | None = None,
    reason: Sequence[JsonValue] = (),
) -> JsonObject:
    """Passerelle never suspends; the conformance suite sends this to see it refused."""
    message = _pids("TransferSuspensionMessage", provider_pid, consumer_pid)
    return _checked(_with_code(message, code, reason), parse_transfer_suspension)


def transfer_completion_message(*, provider_pid: str, consumer_pid: str) -> JsonObject:
    message = _pids("TransferCompletionMessage", provider_pid, consumer_pid)
    return _checked(message, parse_transfer_completion)


def transfer_termination_message(
    *,
    provider_pid: str,
    consumer_pid: str,
    code: str | None = None,
    reason: Sequence[JsonValue] = (),
) -> JsonObject:
    message = _pids("TransferTerminationMessage", provider_pid, consumer_pid)
    return _checked(_with_code(message, code, reason), parse_transfer_termination)


def transfer_error(
    *,
    provider_pid: str | None,
    consumer_pid: str | None,
    code: str | None = None,
    reason: Sequence[JsonValue] = (),
) -> JsonObject:
    """``TransferError``; the same rule for absent process ids as :func:`negotiation_error`."""
    return _error("TransferError", provider_pid, consumer_pid, code, reason)
