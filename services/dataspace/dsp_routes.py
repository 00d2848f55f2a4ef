"""The Dataspace Protocol 2025-1 surfaces: the provider's catalog, negotiation and
transfer routers (mounted under the profile's ``dsp_path``), the pull transfer's data
endpoint, and the consumer's callbacks.

Routes only translate HTTP: the rules are in :mod:`.provider` and :mod:`.consumer`,
the state machines in :mod:`passerelle.dsp`. Anything that makes a request to another
service runs in the thread pool, never on the event loop (a connector calls itself:
the provider fetches the SME's DID document from the same host, say).
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request
from fastapi.responses import JSONResponse

from passerelle import Reason
from passerelle.dsp import NegotiationState, contract_negotiation, dsp_error
from passerelle.services.web import off_loop

from ._http import Auth, body_of, message_route, ok, safely
from .records import DspRefusal
from .state import ConnectorDep

__all__ = [
    "callbacks_router",
    "catalog_router",
    "data_router",
    "negotiation_router",
    "transfer_router",
]

catalog_router = APIRouter(tags=["dsp catalog"])
negotiation_router = APIRouter(tags=["dsp negotiation"])
transfer_router = APIRouter(tags=["dsp transfer"])
data_router = APIRouter(tags=["dsp transfer"])
callbacks_router = APIRouter(prefix="/callback", tags=["dsp consumer callbacks"])


# --- catalog ---------------------------------------------------------------------------


@catalog_router.post("/catalog/request")
async def catalog_request(
    request: Request, connector: ConnectorDep, authorization: Auth = None
) -> JSONResponse:
    body = await body_of(request, "catalog")
    return ok(await off_loop(connector.provider.catalog, authorization, body))


@catalog_router.get("/catalog/datasets/{dataset_id}")
async def catalog_dataset(
    dataset_id: str, connector: ConnectorDep, authorization: Auth = None
) -> JSONResponse:
    return ok(await off_loop(connector.provider.dataset, authorization, dataset_id))


# --- negotiation (provider) ------------------------------------------------------------


@negotiation_router.post("/negotiations/request")
async def negotiation_request(
    request: Request,
    background: BackgroundTasks,
    connector: ConnectorDep,
    authorization: Auth = None,
) -> JSONResponse:
    provider = connector.provider
    body = await body_of(request, "negotiation")
    answer = await off_loop(provider.request_negotiation, authorization, body)
    background.add_task(safely, provider.decide_negotiation, str(answer["providerPid"]))
    return ok(answer, 201)


@negotiation_router.get("/negotiations/{pid}")
async def negotiation(
    pid: str, connector: ConnectorDep, authorization: Auth = None
) -> JSONResponse:
    return ok(await off_loop(connector.provider.get_negotiation, authorization, pid))


@negotiation_router.post("/negotiations/{pid}/agreement/verification")
async def agreement_verification(
    pid: str,
    request: Request,
    background: BackgroundTasks,
    connector: ConnectorDep,
    authorization: Auth = None,
) -> JSONResponse:
    body = await body_of(request, "negotiation")
    await off_loop(connector.provider.verify_agreement, authorization, pid, body)
    background.add_task(safely, connector.provider.finalize, pid)
    return ok({})


for _name, _pick in (
    ("termination", lambda c: c.provider.consumer_terminates_negotiation),
    ("request", lambda c: c.provider.consumer_counter_request),
    ("events", lambda c: c.provider.consumer_event),
):
    negotiation_router.add_api_route(
        f"/negotiations/{{pid}}/{_name}", message_route("negotiation", _pick), methods=["POST"]
    )


# --- transfer (provider) ---------------------------------------------------------------


@transfer_router.post("/transfers/request")
async def transfer_request(
    request: Request,
    background: BackgroundTasks,
    connector: ConnectorDep,
    authorization: Auth = None,
) -> JSONResponse:
    provider = connector.provider
    body = await body_of(request, "transfer")
    answer = await off_loop(provider.request_transfer, authorization, body)
    background.add_task(safely, provider.start_transfer, str(answer["providerPid"]))
    return ok(answer, 201)


@transfer_router.get("/transfers/{pid}")
async def transfer(pid: str, connector: ConnectorDep, authorization: Auth = None) -> JSONResponse:
    return ok(await off_loop(connector.provider.get_transfer, authorization, pid))


for _name, _pick in (
    ("completion", lambda c: c.provider.consumer_completes),
    ("termination", lambda c: c.provider.consumer_terminates_transfer),
    ("start", lambda c: c.provider.consumer_starts),
    ("suspension", lambda c: c.provider.consumer_suspends),
):
    transfer_router.add_api_route(
        f"/transfers/{{pid}}/{_name}", message_route("transfer", _pick), methods=["POST"]
    )


@data_router.get("/data/{pid}")
async def data(pid: str, connector: ConnectorDep, authorization: Auth = None) -> JSONResponse:
    return ok(await off_loop(connector.provider.data, authorization, pid))


# --- the consumer's callbacks ----------------------------------------------------------


@callbacks_router.post("/negotiations/{pid}/agreement")
async def on_agreement(
    pid: str,
    request: Request,
    background: BackgroundTasks,
    connector: ConnectorDep,
    authorization: Auth = None,
) -> JSONResponse:
    body = await body_of(request, "negotiation")
    await off_loop(connector.consumer.on_agreement, authorization, pid, body)
    background.add_task(safely, connector.consumer.verify_agreement, pid)
    return ok({})


for _name, _pick in (
    ("events", lambda c: c.consumer.on_negotiation_event),
    ("termination", lambda c: c.consumer.on_negotiation_termination),
):
    callbacks_router.add_api_route(
        f"/negotiations/{{pid}}/{_name}", message_route("negotiation", _pick), methods=["POST"]
    )


@callbacks_router.get("/negotiations/{pid}")
async def negotiation_for_provider(
    pid: str, connector: ConnectorDep, authorization: Auth = None
) -> JSONResponse:
    row = await off_loop(connector.consumer.negotiation_for_provider, authorization, pid)
    if not isinstance(row.get("providerPid"), str):
        # Not yet acknowledged by this very provider: nothing it could ask about.
        raise DspRefusal(
            dsp_error(Reason.DSP_NEGOTIATION_UNKNOWN, f"no negotiation {pid}"),
            kind="negotiation",
            consumer_pid=pid,
        )
    return ok(
        contract_negotiation(
            provider_pid=str(row["providerPid"]),
            consumer_pid=pid,
            state=NegotiationState(str(row["state"])),
        )
    )


@callbacks_router.post("/transfers/{pid}/start")
async def on_transfer_start(
    pid: str,
    request: Request,
    background: BackgroundTasks,
    connector: ConnectorDep,
    authorization: Auth = None,
) -> JSONResponse:
    body = await body_of(request, "transfer")
    await off_loop(connector.consumer.on_transfer_start, authorization, pid, body)
    background.add_task(safely, connector.consumer.pull, pid)
    return ok({})


for _name, _pick in (
    ("completion", lambda c: c.consumer.on_transfer_completion),
    ("termination", lambda c: c.consumer.on_transfer_termination),
):
    callbacks_router.add_api_route(
        f"/transfers/{{pid}}/{_name}", message_route("transfer", _pick), methods=["POST"]
    )
