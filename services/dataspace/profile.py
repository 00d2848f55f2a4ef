"""Connector profiles: one data-space connector service, configured per jurisdiction by
a data file (the provider's DID entity, its datasets and their ODRL offers, the
credential types it asks consumers for; the SME consumer it hosts and what that SME
shares). No code branches on the jurisdiction: everything that differs is here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from types import MappingProxyType

from passerelle import JsonObject, PasserelleError, Reason
from passerelle.odrl import parse_policy
from passerelle.services.trust.sources import load_source
from passerelle.trust import Framework

__all__ = [
    "DATA_DIR",
    "PROFILES_DIR",
    "ROLE_PROFILES",
    "ConsumerProfile",
    "Dataset",
    "DataspaceProfile",
    "ProviderProfile",
    "load_dataspace_profile",
]

PROFILES_DIR = Path(__file__).parent / "profiles"
DATA_DIR = Path(__file__).parent / "data"

ROLE_PROFILES: Mapping[str, str] = MappingProxyType(
    {"ca-dataspace": "ca-provider", "eu-dataspace": "eu-provider"}
)
"""The launcher's role name → the profile its connector runs."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConformanceRequirement:
    """A consumer whose credentials come from issuers of ``required_from`` (trust
    frameworks) must show a conformance attestation of its connector, assessed within
    ``max_age``, with no unexpected result."""

    required_from: frozenset[Framework]
    max_age: timedelta


@dataclass(frozen=True, slots=True, kw_only=True)
class Dataset:
    id: str
    title: str
    description: str
    data_file: Path
    offer: JsonObject
    """The ODRL Offer as the profile writes it, without ``target`` and ``assigner``
    (the catalog adds them: the dataset id and the provider's DID)."""
    conformance: ConformanceRequirement | None = None
    """Whose connectors must show a current conformance attestation before they may
    negotiate for this dataset."""

    @property
    def offer_id(self) -> str:
        return str(self.offer["@id"])


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderProfile:
    entity: str
    """The PKI entity whose did:web key signs the provider's tokens."""
    title: str
    dsp_path: str
    credential_types: tuple[str, ...]
    """Asked of every consumer's Credential Service (one DCP scope each)."""
    required_credentials: tuple[str, ...]
    """Types without which a consumer is not even shown the catalog (trusted, valid)."""
    datasets: Mapping[str, Dataset]


@dataclass(frozen=True, slots=True, kw_only=True)
class ConsumerProfile:
    entity: str
    title: str
    shares: tuple[str, ...]
    """Credential types the SME's Credential Service presents to a provider."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DataspaceProfile:
    id: str
    home: Framework
    host_role: str
    provider: ProviderProfile
    consumer: ConsumerProfile
    fetch_allowed_hosts: tuple[str, ...] | None = None
    """Partner mode: the only hosts fetched besides the stack's own (None: any public)."""


def _strings(value: object, what: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"{what} must be a list of strings")
    return tuple(str(v) for v in value)


def _dataset(entry: object, index: int) -> Dataset:
    if not isinstance(entry, dict):
        raise ValueError(f"datasets[{index}] must be a mapping")
    offer = entry.get("offer")
    if not isinstance(offer, dict) or not isinstance(offer.get("@id"), str):
        raise ValueError(f"datasets[{index}] needs an offer with an @id")
    dataset_id = entry.get("id")
    if not isinstance(dataset_id, str) or not dataset_id:
        raise ValueError(f"datasets[{index}] needs an id")
    data_file = DATA_DIR / str(entry.get("data"))
    if not data_file.is_file():
        raise ValueError(f"datasets[{index}]: no data file {data_file.name}")
    # A profile whose offer the evaluator could not read must not load: a policy that
    # fails to parse at negotiation time would refuse every consumer for the wrong reason.
    parse_policy({**offer, "target": dataset_id})
    return Dataset(
        id=dataset_id,
        title=str(entry.get("title", dataset_id)),
        description=str(entry.get("description", "")),
        data_file=data_file,
        offer=offer,
        conformance=_conformance(entry.get("conformance"), index),
    )


def _conformance(value: object, index: int) -> ConformanceRequirement | None:
    if value is None:
        return None
    where = f"datasets[{index}].conformance"
    if not isinstance(value, dict):
        raise ValueError(f"{where} must be a mapping")
    days = value.get("max_age_days")
    if not isinstance(days, int) or isinstance(days, bool) or days <= 0:
        raise ValueError(f"{where}.max_age_days must be a positive integer")
    try:
        frameworks = frozenset(
            Framework(f) for f in _strings(value.get("required_from"), f"{where}.required_from")
        )
    except ValueError as exc:
        raise ValueError(f"{where}.required_from: {exc}") from exc
    return ConformanceRequirement(required_from=frameworks, max_age=timedelta(days=days))


def load_dataspace_profile(name: str) -> DataspaceProfile:
    """The profile ``name`` (``ca-provider``, ``eu-provider``); ``input.malformed``
    naming the problem when the file is not a valid profile."""
    doc = load_source(PROFILES_DIR / f"{name}.yaml")
    try:
        provider = doc.get("provider")
        consumer = doc.get("consumer")
        if not isinstance(provider, dict) or not isinstance(consumer, dict):
            raise ValueError("provider and consumer must be mappings")
        raw_datasets = provider.get("datasets")
        if not isinstance(raw_datasets, list) or not raw_datasets:
            raise ValueError("provider.datasets must be a non-empty list")
        datasets = [_dataset(entry, i) for i, entry in enumerate(raw_datasets)]
        if len({d.id for d in datasets}) != len(datasets):
            raise ValueError("dataset ids must be unique")
        if len({d.offer_id for d in datasets}) != len(datasets):
            raise ValueError("offer ids must be unique")
        dsp_path = str(provider.get("dsp_path", "/dsp"))
        if not dsp_path.startswith("/") or dsp_path.endswith("/"):
            raise ValueError("provider.dsp_path must start with / and not end with one")
        return DataspaceProfile(
            id=str(doc.get("id", name)),
            home=Framework(str(doc.get("home"))),
            host_role=str(doc.get("host_role")),
            provider=ProviderProfile(
                entity=str(provider.get("entity")),
                title=str(provider.get("title", "")),
                dsp_path=dsp_path,
                credential_types=_strings(
                    provider.get("credential_types"), "provider.credential_types"
                ),
                required_credentials=_strings(
                    provider.get("required_credentials", []), "provider.required_credentials"
                ),
                datasets=MappingProxyType({d.id: d for d in datasets}),
            ),
            consumer=ConsumerProfile(
                entity=str(consumer.get("entity")),
                title=str(consumer.get("title", "")),
                shares=_strings(consumer.get("shares"), "consumer.shares"),
            ),
            fetch_allowed_hosts=None
            if doc.get("fetch_allowed_hosts") is None
            else _strings(doc.get("fetch_allowed_hosts"), "fetch_allowed_hosts"),
        )
    except (ValueError, PasserelleError) as exc:
        detail = exc.detail if isinstance(exc, PasserelleError) else str(exc)
        raise PasserelleError(
            Reason.INPUT_MALFORMED, f"data-space profile {name}: {detail}"
        ) from exc
