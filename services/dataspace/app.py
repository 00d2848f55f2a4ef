"""The data-space connector service: one provider and one SME consumer per profile.

    GET  /health
    GET  /.well-known/dspace-version          DSP 2025-1 version metadata (unauthenticated)
    GET  /provider/did.json, /sme/did.json    the two participants' did:web documents
    POST <dsp>/catalog/request                the provider (``<dsp>`` is the profile's
    GET  <dsp>/catalog/datasets/{id}          dsp_path, /dsp by default); every request
    POST <dsp>/negotiations/request           carries a Self-Issued ID Token (DCP 1.0)
    GET  <dsp>/negotiations/{pid}
    POST <dsp>/negotiations/{pid}/request|events|agreement/verification|termination
    POST <dsp>/transfers/request
    GET  <dsp>/transfers/{pid}
    POST <dsp>/transfers/{pid}/start|completion|termination|suspension
    GET  /data/{pid}                          the pull transfer's data endpoint
    POST /callback/negotiations/{cpid}/agreement|events|termination   the consumer's
    GET  /callback/negotiations/{cpid}                                callbacks
    POST /callback/transfers/{cpid}/start|completion|termination
    POST /sme/cs/presentations/query          the SME's Credential Service (DCP 1.0)
    POST /api/consumer/catalog|negotiate|transfer|credentials|sts     the SME's own
    GET  /api/consumer/negotiations[/{cpid}], /transfers[/{cpid}], /credentials   API
    POST /api/consumer/negotiations/{cpid}/termination, /transfers/{cpid}/termination
    GET  /api/provider/negotiations, /transfers      the provider operator's view (traces)
    POST /api/provider/negotiations/{pid}/termination
    POST /api/provider/transfers/{pid}/completion|termination

The ``/api`` routes are development backchannels, unauthenticated like the wallet's:
the demo, the tests and the conformance suite drive the two parties through them.

The app is a set of routers, one per protocol surface (:mod:`.dsp_routes`: catalog,
negotiation, transfer, callbacks; :mod:`.dcp_routes`: Credential Service and did:web;
:mod:`.operator_api`; the metadata below), sharing one :class:`.state.ConnectorState`.
Routes only translate HTTP: the provider's and consumer's rules are in
:mod:`.provider` and :mod:`.consumer`, the state machines in :mod:`passerelle.dsp`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response

from passerelle import JsonObject, RandomSource
from passerelle.dcp import PROFILE as DCP_PROFILE
from passerelle.dsp import DSP_VERSION, NegotiationState, TransferState
from passerelle.services.pki import load_pki
from passerelle.services.runtime import SecretsRandom, utc_now
from passerelle.services.storage import open_store
from passerelle.services.web import (
    NO_STORE,
    backchannel_guard,
    health_body,
    install_edge,
    protect_backchannel,
)

from ._http import refused, safely
from .dcp_routes import credential_service_router, did_router
from .dsp_routes import (
    callbacks_router,
    catalog_router,
    data_router,
    negotiation_router,
    transfer_router,
)
from .operator_api import consumer_api_router, provider_api_router
from .profile import load_dataspace_profile
from .provider import CONFORMANCE_ATTESTATION_FILE, CONFORMANCE_ATTESTATION_PATH
from .quirks import ConnectorQuirk
from .records import DspRefusal
from .state import ConnectorDep, ConnectorState, build_connector_state, credential_service_path

__all__ = ["create_dataspace_app"]

VERSIONS: JsonObject = {
    "dsp": DSP_VERSION,
    "dcp": "1.0",
    "dcp_profile": DCP_PROFILE,
    "odrl": "2.2",
    "status": "W3C Bitstring Status List 1.0",
}

DSP_ERROR: JsonObject = {
    "description": "A Dataspace Protocol error message (CatalogError, ...)",
    "type": "object",
    "required": ["@type", "code"],
    "properties": {
        "@type": {"type": "string"},
        "code": {"type": "string"},
        "reason": {"type": "array"},
    },
}

metadata_router = APIRouter(tags=["metadata"])


@metadata_router.get("/health")
def health(request: Request, connector: ConnectorDep) -> JSONResponse:
    profile, provider = connector.profile, connector.provider
    body = health_body(service="dataspace", profile=profile.id, request=request, versions=VERSIONS)
    return JSONResponse(
        {
            **body,
            "provider": {
                "did": provider.did,
                "dsp": provider.base,
                "datasets": sorted(profile.provider.datasets),
            },
            "consumer": {"did": connector.consumer.did, "title": profile.consumer.title},
            "quirks": sorted(connector.quirks),
        }
    )


@metadata_router.get("/.well-known/dspace-version")
def dspace_version(connector: ConnectorDep) -> JSONResponse:
    return JSONResponse(connector.provider.version_metadata())


@metadata_router.get(CONFORMANCE_ATTESTATION_PATH)
def conformance_attestation(connector: ConnectorDep) -> Response:
    """The connector's conformance attestation, as its operator installed it (the
    file ``attestations/<target>.jwt`` of a ``passerelle conformance run``)."""
    path = connector.data_dir / connector.profile.id / CONFORMANCE_ATTESTATION_FILE
    try:
        token = path.read_text().strip()
    except OSError:
        return JSONResponse(
            {"error": "not_found", "reason": "conformance.attestation_missing"},
            status_code=404,
        )
    return Response(token, media_type="application/vc+jwt", headers=dict(NO_STORE))


def resume(connector: ConnectorState) -> None:
    """Follow-up work a restart interrupted: what was acknowledged goes on."""
    provider, consumer = connector.provider, connector.consumer
    for row in provider.processes.list(provider.processes.negotiations):
        if row.get("state") == NegotiationState.REQUESTED.value:
            safely(provider.decide_negotiation, str(row["providerPid"]))
        elif row.get("state") == NegotiationState.VERIFIED.value:
            safely(provider.finalize, str(row["providerPid"]))
        elif row.get("outbox"):
            safely(provider.redeliver, str(row["providerPid"]))
    for row in provider.processes.list(provider.processes.transfers):
        if row.get("state") == TransferState.REQUESTED.value:
            safely(provider.start_transfer, str(row["providerPid"]))
    for row in consumer.processes.list(consumer.processes.negotiations):
        if row.get("state") == NegotiationState.AGREED.value:
            safely(consumer.verify_agreement, str(row["consumerPid"]))
    for row in consumer.processes.list(consumer.processes.transfers):
        if row.get("state") == TransferState.STARTED.value:
            safely(consumer.pull, str(row["consumerPid"]))


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    connector: ConnectorState = app.state.connector
    # Not awaited: peers may still be starting; resume() fails closed per process.
    pending = asyncio.get_running_loop().run_in_executor(None, resume, connector)
    yield
    await asyncio.wait([pending], timeout=5)
    connector.fetcher.close()


def create_dataspace_app(
    *,
    profile_name: str,
    data_dir: Path,
    store_url: str | None = None,
    quirks: frozenset[ConnectorQuirk] = frozenset(),
    clock: Callable[[], datetime] = utc_now,
    random: RandomSource | None = None,
) -> FastAPI:
    profile = load_dataspace_profile(profile_name)
    pki = load_pki(data_dir, now=clock())
    store = open_store(store_url or f"sqlite://{data_dir / profile.id / 'store.db'}")
    connector = build_connector_state(
        profile=profile,
        pki=pki,
        store=store,
        data_dir=data_dir,
        quirks=quirks,
        clock=clock,
        random=random or SecretsRandom(),
    )
    app = FastAPI(title=f"Passerelle data-space connector ({profile.id})", lifespan=_lifespan)
    install_edge(
        app,
        service=f"dataspace:{profile.id}",
        other_errors={
            profile.provider.dsp_path + "/": DSP_ERROR,
            "/callback/": DSP_ERROR,
            "/data/": DSP_ERROR,
        },
    )
    protect_backchannel(
        app,
        backchannel_guard(hosts=pki.hosts, token_file=data_dir / profile.host_role / "api-token"),
        prefixes=("/api/",),
    )
    app.state.store = store
    app.state.connector = connector
    app.add_exception_handler(DspRefusal, refused)  # type: ignore[arg-type]
    insecure = connector.allow_insecure_loopback
    documents = [pki.document(profile.provider.entity), pki.document(profile.consumer.entity)]
    dsp = profile.provider.dsp_path
    app.include_router(metadata_router)
    app.include_router(
        did_router(
            documents, allow_loopback=connector.allow_loopback, allow_insecure_loopback=insecure
        )
    )
    for router in (catalog_router, negotiation_router, transfer_router):
        app.include_router(router, prefix=dsp)
    app.include_router(data_router)
    app.include_router(callbacks_router)
    app.include_router(
        credential_service_router,
        prefix=credential_service_path(pki, profile, insecure=insecure),
    )
    app.include_router(provider_api_router)
    app.include_router(consumer_api_router)
    return app
