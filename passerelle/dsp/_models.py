"""Dataspace Protocol 2025-1 messages as frozen models.

Field names are the spec's members in snake_case (``consumerPid`` -> ``consumer_pid``).
Policies (offers, agreements) keep the JSON exactly as sent in ``policy``, for the ODRL
evaluator, beside the few members the protocol itself reads. Members a model does not
name are kept in ``extra``: the 2025-1 schemas do not forbid additional members, and
peers send some (the TCK puts an ``@id`` on every message).

``kind`` is the key of the state tables in ``_states`` (the ``@type``, and for the
negotiation event ``@type:eventType``).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import ClassVar

from .._json import JsonObject, JsonValue
from ._states import NegotiationState, TransferState

__all__ = [
    "Agreement",
    "AgreementVerification",
    "Catalog",
    "CatalogRequest",
    "ContractAgreement",
    "ContractNegotiation",
    "ContractRequest",
    "DataAddress",
    "DataService",
    "Dataset",
    "Distribution",
    "DspError",
    "EndpointProperty",
    "NegotiationEvent",
    "NegotiationEventType",
    "NegotiationTermination",
    "Offer",
    "TransferCompletion",
    "TransferProcess",
    "TransferRequest",
    "TransferStart",
    "TransferSuspension",
    "TransferTermination",
]

_EMPTY: Mapping[str, JsonValue] = {}


# -- catalog -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CatalogRequest:
    """``CatalogRequestMessage``. ``filter`` is implementation-specific; an endpoint that
    does not support a given filter MUST answer 400."""

    kind: ClassVar[str] = "CatalogRequestMessage"
    filter: tuple[JsonValue, ...] | None = None
    extra: Mapping[str, JsonValue] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True, kw_only=True)
class Offer:
    """An ODRL offer: in a dataset's ``hasPolicy`` (no ``target``) or in a contract
    request (``target`` is the dataset)."""

    id: str
    target: str | None = None
    assigner: str | None = None
    assignee: str | None = None
    policy: JsonObject


@dataclass(frozen=True, slots=True, kw_only=True)
class DataService:
    id: str
    endpoint_url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Distribution:
    format: str
    access_service: str
    """The ``@id`` of the data service, whether it was given inline or by reference."""
    endpoint_url: str | None = None
    """Only when the data service was given inline."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataset:
    id: str
    offers: tuple[Offer, ...]
    distributions: tuple[Distribution, ...]
    raw: JsonObject


@dataclass(frozen=True, slots=True, kw_only=True)
class Catalog:
    id: str
    participant_id: str
    datasets: tuple[Dataset, ...]
    services: tuple[DataService, ...]
    raw: JsonObject


@dataclass(frozen=True, slots=True, kw_only=True)
class DspError:
    """``CatalogError``, ``ContractNegotiationError`` or ``TransferError``."""

    type: str
    code: str | None = None
    reason: tuple[JsonValue, ...] = ()
    provider_pid: str | None = None
    consumer_pid: str | None = None


# -- contract negotiation ----------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractRequest:
    """``ContractRequestMessage``: without ``providerPid`` it creates a negotiation and
    carries the consumer's ``callbackAddress``; with it, it is a counter-offer."""

    kind: ClassVar[str] = "ContractRequestMessage"
    consumer_pid: str
    provider_pid: str | None = None
    offer: Offer
    callback_address: str | None = None
    extra: Mapping[str, JsonValue] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True, kw_only=True)
class Agreement:
    id: str
    target: str
    assigner: str
    assignee: str
    timestamp: str
    """XSD dateTime, as sent."""
    policy: JsonObject


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractAgreement:
    """``ContractAgreementMessage``, provider to consumer."""

    kind: ClassVar[str] = "ContractAgreementMessage"
    provider_pid: str
    consumer_pid: str
    agreement: Agreement
    extra: Mapping[str, JsonValue] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True, kw_only=True)
class AgreementVerification:
    """``ContractAgreementVerificationMessage``, consumer to provider."""

    kind: ClassVar[str] = "ContractAgreementVerificationMessage"
    provider_pid: str
    consumer_pid: str
    extra: Mapping[str, JsonValue] = field(default_factory=lambda: _EMPTY)


class NegotiationEventType(enum.StrEnum):
    ACCEPTED = "ACCEPTED"  # consumer to provider, after OFFERED (not on our path)
    FINALIZED = "FINALIZED"  # provider to consumer, after VERIFIED


@dataclass(frozen=True, slots=True, kw_only=True)
class NegotiationEvent:
    """``ContractNegotiationEventMessage``."""

    provider_pid: str
    consumer_pid: str
    event_type: NegotiationEventType
    extra: Mapping[str, JsonValue] = field(default_factory=lambda: _EMPTY)

    @property
    def kind(self) -> str:
        return f"ContractNegotiationEventMessage:{self.event_type.value}"


@dataclass(frozen=True, slots=True, kw_only=True)
class NegotiationTermination:
    """``ContractNegotiationTerminationMessage``, either party."""

    kind: ClassVar[str] = "ContractNegotiationTerminationMessage"
    provider_pid: str
    consumer_pid: str
    code: str | None = None
    reason: tuple[JsonValue, ...] = ()
    extra: Mapping[str, JsonValue] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True, kw_only=True)
class ContractNegotiation:
    """The ``ContractNegotiation`` acknowledgement (201 on creation, 200 on GET)."""

    provider_pid: str
    consumer_pid: str
    state: NegotiationState


# -- transfer process --------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class EndpointProperty:
    name: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class DataAddress:
    """Where and how to reach the data: for a pull transfer, the provider's endpoint
    and (in ``endpointProperties``) e.g. ``authorization`` and ``authType``."""

    endpoint_type: str
    endpoint: str | None = None
    endpoint_properties: tuple[EndpointProperty, ...] = ()

    def property(self, name: str) -> str | None:
        """The value of the first endpoint property called ``name``, if any."""
        for prop in self.endpoint_properties:
            if prop.name == name:
                return prop.value
        return None


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferRequest:
    """``TransferRequestMessage``, consumer to provider. ``data_address`` is only for
    push formats, which Passerelle does not offer."""

    kind: ClassVar[str] = "TransferRequestMessage"
    consumer_pid: str
    agreement_id: str
    format: str
    callback_address: str
    data_address: DataAddress | None = None
    extra: Mapping[str, JsonValue] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferStart:
    """``TransferStartMessage``: for a pull transfer the provider MUST give a
    ``dataAddress``; whether one is needed is the receiver's check, not the schema's."""

    kind: ClassVar[str] = "TransferStartMessage"
    provider_pid: str
    consumer_pid: str
    data_address: DataAddress | None = None
    extra: Mapping[str, JsonValue] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferSuspension:
    kind: ClassVar[str] = "TransferSuspensionMessage"
    provider_pid: str
    consumer_pid: str
    code: str | None = None
    reason: tuple[JsonValue, ...] = ()
    extra: Mapping[str, JsonValue] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferCompletion:
    kind: ClassVar[str] = "TransferCompletionMessage"
    provider_pid: str
    consumer_pid: str
    extra: Mapping[str, JsonValue] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferTermination:
    kind: ClassVar[str] = "TransferTerminationMessage"
    provider_pid: str
    consumer_pid: str
    code: str | None = None
    reason: tuple[JsonValue, ...] = ()
    extra: Mapping[str, JsonValue] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True, kw_only=True)
class TransferProcess:
    """The ``TransferProcess`` acknowledgement (201 on creation, 200 on GET)."""

    provider_pid: str
    consumer_pid: str
    state: TransferState
