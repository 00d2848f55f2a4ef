"""The verifier's service state: everything a route needs, built once per app and
handed to each route by a typed FastAPI dependency (:data:`VerifierDep`), so a test can
override one dependency instead of building another app."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated

from fastapi import Depends, FastAPI, Request

from passerelle import JsonObject, RandomSource
from passerelle.catalog import CompiledSchema, Crosswalk, parse_crosswalk
from passerelle.decision import DecisionPolicy
from passerelle.services.catalog import Catalog, load_catalog
from passerelle.services.fetch import Fetcher, stack_fetch_policy
from passerelle.services.pki import Pki, load_pki, verifier_client_id
from passerelle.services.runtime import SecretsRandom
from passerelle.services.storage import Store, open_store
from passerelle.services.trust.build import load_recognitions
from passerelle.services.trust.client import TrustClient
from passerelle.services.trust.sources import trust_sources
from passerelle.status_list import StatusListCache

from .profile import VerifierProfile, load_verifier_profile
from .quirks import VerifierBehaviour, VerifierQuirk, behaviour_for

__all__ = ["VerifierDep", "VerifierState", "build_state", "install_state", "verifier_state"]


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifierState:
    """One verifier: its profile, store, clock, randomness, trust client and quirks,
    its PKI (the access certificate signs request objects) and the catalog constants
    its decisions use. Response encryption keys are per transaction, in the store."""

    profile: VerifierProfile
    quirks: frozenset[VerifierQuirk]
    behaviour: VerifierBehaviour
    pki: Pki
    base: str
    client_id: str
    store: Store
    clock: Callable[[], datetime]
    random: RandomSource
    fetcher: Fetcher
    trust: TrustClient
    policy: DecisionPolicy
    status_cache: StatusListCache
    catalog: Catalog
    schemas: Mapping[str, JsonObject | CompiledSchema]
    type_metadata: Mapping[str, bytes]
    crosswalks: Mapping[tuple[str, str], Crosswalk]
    """The catalog's crosswalks, parsed once (a decision maps claims with them)."""

    @property
    def access(self) -> str:
        """The access certificate the request object is signed with (HAIP)."""
        return self.profile.access_certificate


def build_state(
    *,
    profile_name: str,
    data_dir: Path,
    store_url: str | None,
    clock: Callable[[], datetime],
    random: RandomSource | None,
    quirks: frozenset[VerifierQuirk],
) -> VerifierState:
    profile = load_verifier_profile(profile_name)
    behaviour = behaviour_for(quirks)
    pki = load_pki(data_dir, now=clock())
    # On an IP literal an x509_san_dns profile falls back to x509_hash (see the helper).
    client_id = verifier_client_id(
        pki,
        prefix=profile.client_id_prefix,
        role=profile.host_role,
        access_certificate=profile.access_certificate,
    )
    profile = replace(profile, client_id_prefix=client_id.split(":", 1)[0])  # as in use
    loopback = any(url.startswith("http://") for url in pki.hosts.values())
    fetcher = Fetcher(
        stack_fetch_policy(
            pki.hosts, ca_file=str(pki.tls_ca), allowed_hosts=profile.fetch_allowed_hosts
        )
    )
    catalog = load_catalog()
    return VerifierState(
        profile=profile,
        quirks=quirks,
        behaviour=behaviour,
        pki=pki,
        base=pki.hosts[profile.host_role],
        client_id=client_id,
        store=open_store(store_url or f"sqlite://{data_dir / profile.id / 'store.db'}"),
        clock=clock,
        random=random or SecretsRandom(),
        fetcher=fetcher,
        trust=TrustClient(
            fetcher,
            trust_url=pki.hosts["trust"],
            home=profile.home,
            eu_operator_anchors=[pki.anchor("eu-lote-operator")],
            ca_operator_anchors=[pki.anchor("ca-registry-operator")],
            recognitions=load_recognitions(trust_sources()),
            clock=clock,
        ),
        policy=DecisionPolicy(
            algorithms=profile.algorithms,
            skew=profile.skew,
            require_status=profile.require_status and behaviour.check_status,
            allow_insecure_loopback=loopback,
        ),
        status_cache=StatusListCache(max_ttl=timedelta(minutes=10)),
        catalog=catalog,
        schemas={
            **{t.vct: t.validator for t in catalog.types.values()},
            # mdocs are judged by docType against the schema of their elements.
            **{m.doctype: m.validator for m in catalog.mdoc_types.values()},
        },
        type_metadata={t.vct: t.type_metadata for t in catalog.types.values()},
        crosswalks={pair: parse_crosswalk(doc) for pair, doc in catalog.crosswalks.items()},
    )


def install_state(app: FastAPI, state: VerifierState) -> None:
    app.state.verifier = state


async def verifier_state(request: Request) -> VerifierState:
    # async: FastAPI runs a plain ``def`` dependency in the thread pool, a hop per
    # request for reading one attribute.
    state = request.app.state.verifier
    assert isinstance(state, VerifierState)  # set by create_verifier_app
    return state


VerifierDep = Annotated[VerifierState, Depends(verifier_state)]
