"""The operators' backchannels (development, unauthenticated like the wallet's /api):
the demo, the tests and the conformance suite drive the two parties through them.

    GET  /api/provider/negotiations, /transfers      the provider operator's view (traces)
    POST /api/provider/negotiations/{pid}/termination
    POST /api/provider/transfers/{pid}/completion|termination
    POST /api/consumer/catalog|negotiate|transfer|credentials|sts     the SME's own
    GET  /api/consumer/negotiations[/{cpid}], /transfers[/{cpid}], /credentials   API
    POST /api/consumer/negotiations/{cpid}/termination, /transfers/{cpid}/termination
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from passerelle import JsonObject

from ._http import api
from .consumer import public_row
from .state import ConnectorDep

__all__ = ["consumer_api_router", "provider_api_router"]


class ProviderBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    provider: str


class NegotiateBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    provider: str
    dataset: str
    offer: str | dict[str, Any]
    """The offer as the catalog gives it, or its ``@id`` in the provider's dataset."""


class TransferBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    negotiation: str
    """The consumerPid of a FINALIZED negotiation."""


class CredentialBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    credential: str


class TerminationBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    code: str = "dsp.policy_denied"
    """A reason code of ours, or any code (then sent as ``dsp.policy_denied``)."""
    reason: str = ""


class StsBody(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")
    audience: Annotated[str, Field(min_length=1)]


# A process id in an /api path: what the store could hold (1 to 512 characters, no NUL).
# Anything else is a malformed request (400), not an unknown process.
Pid = Annotated[str, PathParam(min_length=1, max_length=512, pattern=r"^[^\x00]+$")]

provider_api_router = APIRouter(prefix="/api/provider", tags=["provider operator"])
consumer_api_router = APIRouter(prefix="/api/consumer", tags=["consumer operator"])


# --- the provider's operator -------------------------------------------------------------


@provider_api_router.get("/negotiations")
def provider_negotiations(connector: ConnectorDep) -> JSONResponse:
    """The provider's negotiations with their decision traces (what was proved, how
    each issuer was trusted, each ODRL constraint), for the demo and for people."""
    processes = connector.provider.processes
    return api(
        lambda: [
            {k: v for k, v in r.items() if k != "access_token"}
            for r in processes.list(processes.negotiations)
        ]
    )


@provider_api_router.get("/transfers")
def provider_transfers(connector: ConnectorDep) -> JSONResponse:
    processes = connector.provider.processes
    return api(
        lambda: [
            {k: v for k, v in r.items() if k not in ("access_token", "token_key")}
            for r in processes.list(processes.transfers)
        ]
    )


@provider_api_router.post("/negotiations/{pid}/termination")
def provider_terminates_negotiation(
    pid: Pid, body: TerminationBody, connector: ConnectorDep
) -> JSONResponse:
    provider = connector.provider
    return api(
        lambda: provider.operator_terminates_negotiation(pid, code=body.code, reason=body.reason)
    )


@provider_api_router.post("/transfers/{pid}/completion")
def provider_completes_transfer(pid: Pid, connector: ConnectorDep) -> JSONResponse:
    return api(lambda: connector.provider.operator_completes_transfer(pid))


@provider_api_router.post("/transfers/{pid}/termination")
def provider_terminates_transfer(
    pid: Pid, body: TerminationBody, connector: ConnectorDep
) -> JSONResponse:
    provider = connector.provider
    return api(
        lambda: provider.operator_terminates_transfer(pid, code=body.code, reason=body.reason)
    )


# --- the SME's own API -------------------------------------------------------------------


@consumer_api_router.post("/negotiations/{pid}/termination")
def consumer_terminates_negotiation(
    pid: Pid, body: TerminationBody, connector: ConnectorDep
) -> JSONResponse:
    consumer = connector.consumer
    return api(
        lambda: public_row(
            consumer.terminate(
                consumer.processes.negotiations, pid, code=body.code, reason=body.reason
            )
        )
    )


@consumer_api_router.post("/transfers/{pid}/termination")
def consumer_terminates_transfer(
    pid: Pid, body: TerminationBody, connector: ConnectorDep
) -> JSONResponse:
    consumer = connector.consumer
    return api(
        lambda: public_row(
            consumer.terminate(
                consumer.processes.transfers, pid, code=body.code, reason=body.reason
            )
        )
    )


@consumer_api_router.post("/credentials")
def add_credential(body: CredentialBody, connector: ConnectorDep) -> JSONResponse:
    def work() -> JsonObject:
        stored = connector.credential_service.add(body.credential)
        return {"id": stored.id, "types": list(stored.types), "issuer": stored.issuer}

    return api(work, 201)


@consumer_api_router.get("/credentials")
def list_credentials(connector: ConnectorDep) -> JSONResponse:
    return api(
        lambda: [
            {"id": c.id, "types": list(c.types), "issuer": c.issuer}
            for c in connector.credential_service.credentials()
        ]
    )


@consumer_api_router.post("/sts")
def secure_token_service(body: StsBody, connector: ConnectorDep) -> JSONResponse:
    """A Self-Issued ID Token of the SME for ``audience``, carrying a fresh access
    token (DCP 1.0 §"Obtaining Self-Issued ID Tokens": our Secure Token Service)."""
    return api(
        lambda: {
            "token": connector.tokens.mint(
                connector.sme,
                audience=body.audience,
                access_token=connector.credential_service.grant(body.audience),
            ),
            "token_type": "Bearer",
        }
    )


@consumer_api_router.post("/catalog")
def consumer_catalog(body: ProviderBody, connector: ConnectorDep) -> JSONResponse:
    return api(lambda: connector.consumer.catalog(body.provider))


@consumer_api_router.post("/negotiate")
def consumer_negotiate(body: NegotiateBody, connector: ConnectorDep) -> JSONResponse:
    consumer = connector.consumer
    return api(lambda: public_row(consumer.negotiate(body.provider, body.dataset, body.offer)), 201)


@consumer_api_router.get("/negotiations")
def consumer_negotiations(connector: ConnectorDep) -> JSONResponse:
    processes = connector.consumer.processes
    return api(lambda: [public_row(r) for r in processes.list(processes.negotiations)])


@consumer_api_router.get("/negotiations/{pid}")
def consumer_negotiation(pid: Pid, connector: ConnectorDep) -> JSONResponse:
    return api(lambda: public_row(connector.consumer.negotiation(pid)))


@consumer_api_router.post("/transfer")
def consumer_transfer(body: TransferBody, connector: ConnectorDep) -> JSONResponse:
    return api(lambda: public_row(connector.consumer.transfer(body.negotiation)), 201)


@consumer_api_router.get("/transfers")
def consumer_transfers(connector: ConnectorDep) -> JSONResponse:
    processes = connector.consumer.processes
    return api(lambda: [public_row(r) for r in processes.list(processes.transfers)])


@consumer_api_router.get("/transfers/{pid}")
def consumer_transfer_row(pid: Pid, connector: ConnectorDep) -> JSONResponse:
    return api(lambda: public_row(connector.consumer.transfer_row(pid)))
