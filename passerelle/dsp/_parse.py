"""Parse DSP 2025-1 messages from JSON into models, or raise ``dsp.message_invalid``.

Each parser checks what the 2025-1 JSON Schema requires (``@context`` naming the 2025-1
context, the exact ``@type``, the required members and their types) plus the MUSTs of
the prose that a schema cannot say (an agreement's ``timestamp``, no ``target`` on the
rules of an offer or agreement, a callback address that is a URL). Input is JSON already
parsed by :func:`passerelle._json.parse_json_object` (strict, bounded); these functions
raise with the wire error ``"400"``, the status the HTTPS bindings give a bad message.

Where prose and schema disagree we say which we follow, beside the check.
"""

from __future__ import annotations

from collections.abc import Mapping

from .._json import JsonObject, JsonValue
from ._common import (
    XSD_DATETIME,
    check_context,
    check_optional_type,
    check_type,
    extra_members,
    invalid,
    optional_reason,
    optional_str,
    require_object,
    require_str,
    require_url,
)
from ._models import (
    Agreement,
    AgreementVerification,
    Catalog,
    CatalogRequest,
    ContractAgreement,
    ContractNegotiation,
    ContractRequest,
    DataAddress,
    DataService,
    Dataset,
    Distribution,
    DspError,
    EndpointProperty,
    NegotiationEvent,
    NegotiationEventType,
    NegotiationTermination,
    Offer,
    TransferCompletion,
    TransferProcess,
    TransferRequest,
    TransferStart,
    TransferSuspension,
    TransferTermination,
)
from ._states import NegotiationState, TransferState

__all__ = [
    "parse_agreement_verification",
    "parse_catalog",
    "parse_catalog_request",
    "parse_contract_agreement",
    "parse_contract_negotiation",
    "parse_contract_request",
    "parse_dataset",
    "parse_dsp_error",
    "parse_negotiation_event",
    "parse_negotiation_termination",
    "parse_transfer_completion",
    "parse_transfer_process",
    "parse_transfer_request",
    "parse_transfer_start",
    "parse_transfer_suspension",
    "parse_transfer_termination",
]

_PIDS = ("@context", "@type", "providerPid", "consumerPid")
_RULE_MEMBERS = ("permission", "prohibition", "obligation")


def _message(doc: JsonValue, type_: str) -> JsonObject:
    obj = require_object(doc, type_)
    check_context(obj, where=type_)
    check_type(obj, type_, where=type_)
    return obj


def _check_rules(policy: Mapping[str, JsonValue], *, where: str, required: bool) -> None:
    """ODRL rules as contract-schema.json shapes them: each of ``permission``,
    ``prohibition``, ``obligation`` an array of at least one object with an ``action``;
    and (prose, for offers in messages and for agreements) no rule with a ``target``,
    "to prevent inconsistencies with the ODRL inferencing rules for compact policies".
    The schema types ``action`` as a string; an ODRL action with a refinement is an
    object, so we accept both and leave the semantics to the ODRL evaluator."""
    if required and not any(key in policy for key in ("permission", "prohibition")):
        raise invalid(f"{where} has neither permission nor prohibition")
    for key in _RULE_MEMBERS:
        if key not in policy:
            continue
        rules = policy[key]
        if not isinstance(rules, list) or not rules:
            raise invalid(f"{where}.{key} must be a non-empty array")
        for index, rule in enumerate(rules):
            at = f"{where}.{key}[{index}]"
            rule_obj = require_object(rule, at)
            if not isinstance(rule_obj.get("action"), str | dict):
                raise invalid(f"{at} lacks an action")
            if "target" in rule_obj:
                raise invalid(f"{at} has a target; only the policy may name it")
            if "constraint" in rule_obj and not isinstance(rule_obj["constraint"], list):
                raise invalid(f"{at}.constraint must be an array")


def _offer(value: JsonValue, *, where: str, in_dataset: bool) -> Offer:
    obj = require_object(value, where)
    check_optional_type(obj, "Offer", where=where)
    target = optional_str(obj, "target", where=where)
    if in_dataset and target is not None:
        # Catalog protocol: an offer in a Catalog or Dataset MUST NOT carry a target.
        raise invalid(f"{where} has a target inside a dataset")
    # An offer in a dataset MUST state its terms (schema: permission or prohibition). In
    # a contract request the prose lets the consumer name the offer by "offer.@id" alone,
    # while the schema also wants the rules; we follow the prose, and check any rules given.
    _check_rules(obj, where=where, required=in_dataset)
    return Offer(
        id=require_str(obj, "@id", where=where),
        target=target,
        assigner=optional_str(obj, "assigner", where=where),
        assignee=optional_str(obj, "assignee", where=where),
        policy=obj,
    )


def _agreement(value: JsonValue) -> Agreement:
    where = "agreement"
    obj = require_object(value, where)
    check_type(obj, "Agreement", where=where)
    timestamp = require_str(obj, "timestamp", where=where)
    # The schema lists timestamp's pattern but not as required; the prose says an
    # Agreement MUST contain it. We require it.
    if not XSD_DATETIME.fullmatch(timestamp):
        raise invalid(f"agreement.timestamp {timestamp!r} is not an XSD dateTime")
    _check_rules(obj, where=where, required=True)
    return Agreement(
        id=require_str(obj, "@id", where=where),
        target=require_str(obj, "target", where=where),
        assigner=require_str(obj, "assigner", where=where),
        assignee=require_str(obj, "assignee", where=where),
        timestamp=timestamp,
        policy=obj,
    )


def _data_address(value: JsonValue, *, where: str) -> DataAddress:
    obj = require_object(value, where)
    check_type(obj, "DataAddress", where=where)
    properties: list[EndpointProperty] = []
    if "endpointProperties" in obj:
        raw = obj["endpointProperties"]
        if not isinstance(raw, list) or not raw:
            raise invalid(f"{where}.endpointProperties must be a non-empty array")
        for index, item in enumerate(raw):
            at = f"{where}.endpointProperties[{index}]"
            prop = require_object(item, at)
            check_type(prop, "EndpointProperty", where=at)
            name = require_str(prop, "name", where=at)
            # An empty value is a legal string; only its type is checked.
            if not isinstance(prop.get("value"), str):
                raise invalid(f"{at}.value must be a string")
            properties.append(EndpointProperty(name=name, value=str(prop["value"])))
    return DataAddress(
        endpoint_type=require_str(obj, "endpointType", where=where),
        endpoint=optional_str(obj, "endpoint", where=where),
        endpoint_properties=tuple(properties),
    )


# -- catalog -----------------------------------------------------------------------------


def parse_catalog_request(doc: JsonValue) -> CatalogRequest:
    obj = _message(doc, "CatalogRequestMessage")
    filter_: tuple[JsonValue, ...] | None = None
    if "filter" in obj:
        raw = obj["filter"]
        if not isinstance(raw, list):
            raise invalid("CatalogRequestMessage.filter must be an array")
        filter_ = tuple(raw)
    return CatalogRequest(filter=filter_, extra=extra_members(obj, ("@context", "@type", "filter")))


def _data_service(value: JsonValue, *, where: str) -> DataService:
    obj = require_object(value, where)
    check_type(obj, "DataService", where=where)
    return DataService(
        id=require_str(obj, "@id", where=where),
        endpoint_url=require_str(obj, "endpointURL", where=where),
    )


def _dataset(value: JsonValue, *, where: str) -> Dataset:
    obj = require_object(value, where)
    check_optional_type(obj, "Dataset", where=where)
    dataset_id = require_str(obj, "@id", where=where)
    policies = obj.get("hasPolicy")
    if not isinstance(policies, list) or not policies:
        raise invalid(f"{where}.hasPolicy must be a non-empty array of offers")
    offers = tuple(
        _offer(p, where=f"{where}.hasPolicy[{i}]", in_dataset=True) for i, p in enumerate(policies)
    )
    raw_distributions = obj.get("distribution")
    if not isinstance(raw_distributions, list) or not raw_distributions:
        raise invalid(f"{where}.distribution must be a non-empty array")
    distributions: list[Distribution] = []
    for index, item in enumerate(raw_distributions):
        at = f"{where}.distribution[{index}]"
        dist = require_object(item, at)
        check_optional_type(dist, "Distribution", where=at)
        service = dist.get("accessService")
        if isinstance(service, dict):
            inline = _data_service(service, where=f"{at}.accessService")
            service_id, endpoint_url = inline.id, inline.endpoint_url
        else:
            service_id, endpoint_url = require_str(dist, "accessService", where=at), None
        distributions.append(
            Distribution(
                format=require_str(dist, "format", where=at),
                access_service=service_id,
                endpoint_url=endpoint_url,
            )
        )
    return Dataset(id=dataset_id, offers=offers, distributions=tuple(distributions), raw=obj)


def parse_dataset(doc: JsonValue) -> Dataset:
    """The answer of ``GET /catalog/datasets/:id`` (dataset-schema.json, RootDataset)."""
    obj = require_object(doc, "Dataset")
    check_context(obj, where="Dataset")
    # The schema does not require @type here; _dataset checks it when present.
    return _dataset(obj, where="Dataset")


def parse_catalog(doc: JsonValue) -> Catalog:
    """The answer of ``POST /catalog/request`` (catalog-schema.json, RootCatalog). Nested
    catalogs are left in ``raw``."""
    obj = _message(doc, "Catalog")
    if "hasPolicy" in obj:
        raise invalid("a Catalog has no hasPolicy; offers belong to its datasets")
    datasets: tuple[Dataset, ...] = ()
    if "dataset" in obj:
        raw = obj["dataset"]
        if not isinstance(raw, list) or not raw:
            # A catalog with no dataset for this requester omits the member (minItems 1).
            raise invalid("Catalog.dataset must be a non-empty array when present")
        datasets = tuple(_dataset(d, where=f"Catalog.dataset[{i}]") for i, d in enumerate(raw))
    services: tuple[DataService, ...] = ()
    if "service" in obj:
        raw = obj["service"]
        if not isinstance(raw, list) or not raw:
            raise invalid("Catalog.service must be a non-empty array when present")
        services = tuple(_data_service(s, where=f"Catalog.service[{i}]") for i, s in enumerate(raw))
    return Catalog(
        id=require_str(obj, "@id", where="Catalog"),
        participant_id=require_str(obj, "participantId", where="Catalog"),
        datasets=datasets,
        services=services,
        raw=obj,
    )


_ERROR_TYPES = ("CatalogError", "ContractNegotiationError", "TransferError")


def parse_dsp_error(doc: JsonValue) -> DspError:
    """Any of the three DSP error bodies. The negotiation and transfer errors require
    both process ids by their schemas; the catalog error has none."""
    obj = require_object(doc, "error")
    check_context(obj, where="error")
    type_ = obj.get("@type")
    if type_ not in _ERROR_TYPES:
        raise invalid(f"error @type {type_!r} is not one of {_ERROR_TYPES}")
    where = str(type_)
    needs_pids = type_ != "CatalogError"
    return DspError(
        type=where,
        code=optional_str(obj, "code", where=where),
        reason=optional_reason(obj, where=where),
        provider_pid=(
            require_str(obj, "providerPid", where=where)
            if needs_pids
            else optional_str(obj, "providerPid", where=where)
        ),
        consumer_pid=(
            require_str(obj, "consumerPid", where=where)
            if needs_pids
            else optional_str(obj, "consumerPid", where=where)
        ),
    )


# -- contract negotiation ----------------------------------------------------------------


def parse_contract_request(doc: JsonValue) -> ContractRequest:
    """``ContractRequestMessage``. The schema's ``oneOf`` wants exactly one of
    ``callbackAddress`` (initial request) and ``providerPid`` (counter-offer); we require
    the callback address when there is no provider id, and tolerate both together, which
    the TCK's message builder can produce and which carries no ambiguity."""
    obj = _message(doc, "ContractRequestMessage")
    where = "ContractRequestMessage"
    consumer_pid = require_str(obj, "consumerPid", where=where)
    provider_pid = optional_str(obj, "providerPid", where=where)
    if "offer" not in obj:
        raise invalid(f"{where} lacks the required member 'offer'")
    offer = _offer(obj["offer"], where=f"{where}.offer", in_dataset=False)
    callback = None
    if provider_pid is None or "callbackAddress" in obj:
        callback = require_url(obj, "callbackAddress", where=where)
    return ContractRequest(
        consumer_pid=consumer_pid,
        provider_pid=provider_pid,
        offer=offer,
        callback_address=callback,
        extra=extra_members(obj, (*_PIDS, "offer", "callbackAddress")),
    )


def parse_contract_agreement(doc: JsonValue) -> ContractAgreement:
    obj = _message(doc, "ContractAgreementMessage")
    where = "ContractAgreementMessage"
    provider_pid = require_str(obj, "providerPid", where=where)
    consumer_pid = require_str(obj, "consumerPid", where=where)
    if "agreement" not in obj:
        raise invalid(f"{where} lacks the required member 'agreement'")
    return ContractAgreement(
        provider_pid=provider_pid,
        consumer_pid=consumer_pid,
        agreement=_agreement(obj["agreement"]),
        extra=extra_members(obj, (*_PIDS, "agreement")),
    )


def parse_agreement_verification(doc: JsonValue) -> AgreementVerification:
    where = "ContractAgreementVerificationMessage"
    obj = _message(doc, where)
    return AgreementVerification(
        provider_pid=require_str(obj, "providerPid", where=where),
        consumer_pid=require_str(obj, "consumerPid", where=where),
        extra=extra_members(obj, _PIDS),
    )


def parse_negotiation_event(doc: JsonValue) -> NegotiationEvent:
    where = "ContractNegotiationEventMessage"
    obj = _message(doc, where)
    provider_pid = require_str(obj, "providerPid", where=where)
    consumer_pid = require_str(obj, "consumerPid", where=where)
    raw = require_str(obj, "eventType", where=where)
    try:
        event_type = NegotiationEventType(raw)
    except ValueError:
        raise invalid(f"{where}.eventType {raw!r} is not ACCEPTED or FINALIZED") from None
    return NegotiationEvent(
        provider_pid=provider_pid,
        consumer_pid=consumer_pid,
        event_type=event_type,
        extra=extra_members(obj, (*_PIDS, "eventType")),
    )


def parse_negotiation_termination(doc: JsonValue) -> NegotiationTermination:
    where = "ContractNegotiationTerminationMessage"
    obj = _message(doc, where)
    return NegotiationTermination(
        provider_pid=require_str(obj, "providerPid", where=where),
        consumer_pid=require_str(obj, "consumerPid", where=where),
        code=optional_str(obj, "code", where=where),
        reason=optional_reason(obj, where=where),
        extra=extra_members(obj, (*_PIDS, "code", "reason")),
    )


def parse_contract_negotiation(doc: JsonValue) -> ContractNegotiation:
    """The ``ContractNegotiation`` acknowledgement a consumer reads back."""
    where = "ContractNegotiation"
    obj = _message(doc, where)
    raw = require_str(obj, "state", where=where)
    try:
        state = NegotiationState(raw)
    except ValueError:
        raise invalid(f"{where}.state {raw!r} is not a negotiation state") from None
    return ContractNegotiation(
        provider_pid=require_str(obj, "providerPid", where=where),
        consumer_pid=require_str(obj, "consumerPid", where=where),
        state=state,
    )


# -- transfer process --------------------------------------------------------------------


_TRANSFER_REQUEST_MEMBERS = (
    "@context",
    "@type",
    "consumerPid",
    "agreementId",
    "format",
    "callbackAddress",
    "dataAddress",
)


def parse_transfer_request(doc: JsonValue) -> TransferRequest:
    where = "TransferRequestMessage"
    obj = _message(doc, where)
    data_address = None
    if "dataAddress" in obj:
        data_address = _data_address(obj["dataAddress"], where=f"{where}.dataAddress")
    return TransferRequest(
        consumer_pid=require_str(obj, "consumerPid", where=where),
        agreement_id=require_str(obj, "agreementId", where=where),
        format=require_str(obj, "format", where=where),
        callback_address=require_url(obj, "callbackAddress", where=where),
        data_address=data_address,
        extra=extra_members(obj, _TRANSFER_REQUEST_MEMBERS),
    )


def parse_transfer_start(doc: JsonValue) -> TransferStart:
    where = "TransferStartMessage"
    obj = _message(doc, where)
    provider_pid = require_str(obj, "providerPid", where=where)
    consumer_pid = require_str(obj, "consumerPid", where=where)
    data_address = None
    if "dataAddress" in obj:
        data_address = _data_address(obj["dataAddress"], where=f"{where}.dataAddress")
    return TransferStart(
        provider_pid=provider_pid,
        consumer_pid=consumer_pid,
        data_address=data_address,
        extra=extra_members(obj, (*_PIDS, "dataAddress")),
    )


def parse_transfer_suspension(doc: JsonValue) -> TransferSuspension:
    where = "TransferSuspensionMessage"
    obj = _message(doc, where)
    return TransferSuspension(
        provider_pid=require_str(obj, "providerPid", where=where),
        consumer_pid=require_str(obj, "consumerPid", where=where),
        code=optional_str(obj, "code", where=where),
        reason=optional_reason(obj, where=where),
        extra=extra_members(obj, (*_PIDS, "code", "reason")),
    )


def parse_transfer_completion(doc: JsonValue) -> TransferCompletion:
    where = "TransferCompletionMessage"
    obj = _message(doc, where)
    return TransferCompletion(
        provider_pid=require_str(obj, "providerPid", where=where),
        consumer_pid=require_str(obj, "consumerPid", where=where),
        extra=extra_members(obj, _PIDS),
    )


def parse_transfer_termination(doc: JsonValue) -> TransferTermination:
    where = "TransferTerminationMessage"
    obj = _message(doc, where)
    return TransferTermination(
        provider_pid=require_str(obj, "providerPid", where=where),
        consumer_pid=require_str(obj, "consumerPid", where=where),
        code=optional_str(obj, "code", where=where),
        reason=optional_reason(obj, where=where),
        extra=extra_members(obj, (*_PIDS, "code", "reason")),
    )


def parse_transfer_process(doc: JsonValue) -> TransferProcess:
    """The ``TransferProcess`` acknowledgement a consumer reads back."""
    where = "TransferProcess"
    obj = _message(doc, where)
    raw = require_str(obj, "state", where=where)
    try:
        state = TransferState(raw)
    except ValueError:
        raise invalid(f"{where}.state {raw!r} is not a transfer state") from None
    return TransferProcess(
        provider_pid=require_str(obj, "providerPid", where=where),
        consumer_pid=require_str(obj, "consumerPid", where=where),
        state=state,
    )
