"""What the connector's routers share, built once by the app factory.

The routers take it as a typed dependency (``ConnectorDep``); it lives on
``app.state.connector``. Everything in it is the service's own objects: the protocol
rules are in :mod:`.provider`, :mod:`.consumer` and the pure :mod:`passerelle.dsp`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, Request

from passerelle import RandomSource
from passerelle.dcp import credential_service_endpoint
from passerelle.services.fetch import Fetcher, is_loopback_url, stack_fetch_policy
from passerelle.services.pki import Pki
from passerelle.services.storage import Store
from passerelle.services.trust.build import load_recognitions
from passerelle.services.trust.client import TrustClient
from passerelle.services.trust.sources import trust_sources

from .consumer import Consumer
from .credential_service import CredentialService
from .identity import DidDocuments, Participant, Tokens
from .profile import DataspaceProfile
from .provider import Provider
from .quirks import ConnectorQuirk, behaviour_for
from .records import Processes

__all__ = ["ConnectorDep", "ConnectorState", "build_connector_state", "credential_service_path"]


@dataclass(frozen=True, slots=True)
class ConnectorState:
    profile: DataspaceProfile
    provider: Provider
    consumer: Consumer
    credential_service: CredentialService
    """The SME's DCP Credential Service."""
    tokens: Tokens
    sme: Participant
    fetcher: Fetcher
    quirks: frozenset[ConnectorQuirk]
    data_dir: Path
    allow_loopback: bool
    """Every host of the stack is this machine: DIDs may name loopback addresses."""
    allow_insecure_loopback: bool
    """The stack runs without TLS: loopback DIDs are fetched over plain http."""


async def _connector(request: Request) -> ConnectorState:
    # async: FastAPI runs a plain ``def`` dependency in the thread pool.
    state: ConnectorState = request.app.state.connector
    return state


ConnectorDep = Annotated[ConnectorState, Depends(_connector)]


def _participant(pki: Pki, entity: str) -> Participant:
    did = pki.did(entity)
    return Participant(did=did, kid=f"{did}#key-1", signer=pki.signer(entity))


@dataclass(frozen=True, slots=True)
class _Reach:
    """How the connector reaches others: one fetcher, did:web resolution, trust."""

    allow_loopback: bool
    allow_insecure_loopback: bool
    fetcher: Fetcher
    documents: DidDocuments
    trust: TrustClient

    @classmethod
    def of(cls, pki: Pki, profile: DataspaceProfile, clock: Callable[[], datetime]) -> _Reach:
        # The development relaxations (DESIGN §3), decided by the stack's own URLs: when
        # every host is this machine, DIDs may name loopback addresses (the did:web
        # documents of `passerelle up` do); only when the stack runs without TLS are they
        # fetched over plain http. The same two flags go to the fetch policy and to every
        # did:web helper.
        loopback = all(is_loopback_url(url) for url in pki.hosts.values())
        insecure = any(url.startswith("http://") for url in pki.hosts.values())
        fetcher = Fetcher(
            stack_fetch_policy(
                pki.hosts, ca_file=str(pki.tls_ca), allowed_hosts=profile.fetch_allowed_hosts
            )
        )
        documents = DidDocuments(
            fetcher, allow_loopback=loopback, allow_insecure_loopback=insecure, clock=clock
        )
        trust = TrustClient(
            fetcher,
            trust_url=pki.hosts["trust"],
            home=profile.home,
            eu_operator_anchors=[pki.anchor("eu-lote-operator")],
            ca_operator_anchors=[pki.anchor("ca-registry-operator")],
            recognitions=load_recognitions(trust_sources()),
            clock=clock,
        )
        return cls(loopback, insecure, fetcher, documents, trust)


def build_connector_state(
    *,
    profile: DataspaceProfile,
    pki: Pki,
    store: Store,
    data_dir: Path,
    quirks: frozenset[ConnectorQuirk],
    clock: Callable[[], datetime],
    random: RandomSource,
) -> ConnectorState:
    behaviour = behaviour_for(quirks)
    base = pki.hosts[profile.host_role]
    reach = _Reach.of(pki, profile, clock)
    loopback, insecure = reach.allow_loopback, reach.allow_insecure_loopback
    fetcher, documents, trust = reach.fetcher, reach.documents, reach.trust
    tokens = Tokens(
        store=store, documents=documents, behaviour=behaviour, random=random, clock=clock
    )
    sme = _participant(pki, profile.consumer.entity)
    provider = Provider(
        profile=profile,
        participant=_participant(pki, profile.provider.entity),
        base_url=base,
        store=store,
        fetcher=fetcher,
        documents=documents,
        tokens=tokens,
        trust=trust,
        behaviour=behaviour,
        random=random,
        clock=clock,
        allow_loopback=loopback,
        allow_insecure_loopback=insecure,
    )
    credential_service = CredentialService(
        holder=sme,
        shares=profile.consumer.shares,
        store=store,
        tokens=tokens,
        random=random,
        clock=clock,
    )
    consumer = Consumer(
        participant=sme,
        callback_address=f"{base}/callback",
        processes=Processes(
            store=store, prefix="consumer", role="consumer", behaviour=behaviour, clock=clock
        ),
        fetcher=fetcher,
        documents=documents,
        tokens=tokens,
        credential_service=credential_service,
        random=random,
        clock=clock,
        allow_insecure_loopback=insecure,
    )
    return ConnectorState(
        profile=profile,
        provider=provider,
        consumer=consumer,
        credential_service=credential_service,
        tokens=tokens,
        sme=sme,
        fetcher=fetcher,
        quirks=quirks,
        data_dir=data_dir,
        allow_loopback=loopback,
        allow_insecure_loopback=insecure,
    )


def credential_service_path(pki: Pki, profile: DataspaceProfile, *, insecure: bool) -> str:
    """Where the SME's Credential Service answers on this host: the path of the
    endpoint its DID document names."""
    document = pki.document(profile.consumer.entity)
    url = credential_service_endpoint(document, allow_insecure_loopback=insecure)
    return urlsplit(url).path.rstrip("/")
