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

Routes only translate HTTP: the provider's and consumer's rules are in
:mod:`.provider` and :mod:`.consumer`. Anything that makes a request to another
service runs in the thread pool, never on the event loop (a connector calls itself:
the provider fetches the SME's DID document from the same host, say).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import BackgroundTasks, FastAPI, Header, Request
from fastapi import Path as PathParam
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from passerelle import Fault, JsonObject, PasserelleError, RandomSource, Reason
from passerelle.dcp import (
    PROFILE as DCP_PROFILE,
)
from passerelle.dcp import (
    credential_service_endpoint,
    did_web_to_url,
    is_presentation_definition_query,
)
from passerelle.dsp import (
    DSP_VERSION,
    NegotiationState,
    TransferState,
    contract_negotiation,
    dsp_error,
    http_status,
)
from passerelle.services.fetch import Fetcher, is_loopback_url, stack_fetch_policy
from passerelle.services.pki import load_pki
from passerelle.services.runtime import SecretsRandom, utc_now
from passerelle.services.storage import open_store
from passerelle.services.trust.build import load_recognitions
from passerelle.services.trust.client import TrustClient
from passerelle.services.trust.sources import trust_sources
from passerelle.services.web import (
    NO_STORE,
    backchannel_guard,
    bounded,
    health_body,
    install_edge,
    protect_backchannel,
)

from .consumer import Consumer, public_row
from .credential_service import CredentialService
from .identity import DidDocuments, Participant, Tokens
from .profile import load_dataspace_profile
from .provider import CONFORMANCE_ATTESTATION_FILE, CONFORMANCE_ATTESTATION_PATH, Provider
from .quirks import ConnectorQuirk, behaviour_for
from .records import DspRefusal, Kind, Processes, dsp_response, read_json

__all__ = ["create_dataspace_app"]

log = logging.getLogger("passerelle.dataspace")

VERSIONS: JsonObject = {
    "dsp": DSP_VERSION,
    "dcp": "1.0",
    "dcp_profile": DCP_PROFILE,
    "odrl": "2.2",
    "status": "W3C Bitstring Status List 1.0",
}


# Module level: with postponed annotations FastAPI resolves them in the module's globals.
Auth = Annotated[str | None, Header()]
# A process id in an /api path: what the store could hold (1 to 512 characters, no NUL).
# Anything else is a malformed request (400), not an unknown process.
Pid = Annotated[str, PathParam(min_length=1, max_length=512, pattern=r"^[^\x00]+$")]


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


def _path_of(url: str) -> str:
    return urlsplit(url).path.rstrip("/")


def _safely(work: Callable[[str], None], pid: str) -> None:
    """Run follow-up work after a response; a failure is logged, never lost silently.

    A process the peer terminated or completed while this work was pending is no
    failure: the state machine refuses the late move, and that is the whole story.
    """
    try:
        work(pid)
    except PasserelleError as exc:
        if exc.reason is Reason.DSP_INVALID_TRANSITION:
            log.info("data-space follow-up %s(%s) overtaken: %s", work.__name__, pid, exc.detail)
            return
        log.exception("data-space follow-up %s(%s) failed", work.__name__, pid)
    except Exception:
        log.exception("data-space follow-up %s(%s) failed", work.__name__, pid)


def _api_error(exc: PasserelleError) -> JSONResponse:
    status = http_status(exc) if str(exc.reason).startswith("dsp.") else 400
    if exc.fault is Fault.LOCAL:
        status = 500
    elif exc.fault is Fault.DEPENDENCY:
        status = 503
    return JSONResponse(
        {
            "error": "request_failed",
            "reason": str(exc.reason),
            "error_description": bounded(exc.detail),
            "detail": bounded(exc.detail),  # the name this API used first
        },
        status_code=status,
        headers=dict(NO_STORE),
    )


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


def _did_document_route(document: JsonObject) -> Callable[[], JSONResponse]:
    # A closure, not a default argument: FastAPI reads every parameter of a route as a
    # request parameter (a JSON-object default made /openapi.json fail).
    def serve() -> JSONResponse:
        return JSONResponse(document, media_type="application/did+json")

    return serve


def create_dataspace_app(
    *,
    profile_name: str,
    data_dir: Path,
    store_url: str | None = None,
    quirks: frozenset[ConnectorQuirk] = frozenset(),
    clock: Callable[[], datetime] = utc_now,
    random: RandomSource | None = None,
) -> FastAPI:
    rng = random or SecretsRandom()
    profile = load_dataspace_profile(profile_name)
    behaviour = behaviour_for(quirks)
    pki = load_pki(data_dir, now=clock())
    base = pki.hosts[profile.host_role]
    store = open_store(store_url or f"sqlite://{data_dir / profile.id / 'store.db'}")
    # The development relaxations (DESIGN §3), decided by the stack's own URLs: when
    # every host is this machine, DIDs may name loopback addresses (the did:web documents
    # of `passerelle up` do); only when the stack runs without TLS are they fetched over
    # plain http. The same two flags go to the fetch policy and to every did:web helper.
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
    tokens = Tokens(store=store, documents=documents, behaviour=behaviour, random=rng, clock=clock)
    trust = TrustClient(
        fetcher,
        trust_url=pki.hosts["trust"],
        home=profile.home,
        eu_operator_anchors=[pki.anchor("eu-lote-operator")],
        ca_operator_anchors=[pki.anchor("ca-registry-operator")],
        recognitions=load_recognitions(trust_sources()),
        clock=clock,
    )

    def participant(entity: str) -> Participant:
        did = pki.did(entity)
        return Participant(did=did, kid=f"{did}#key-1", signer=pki.signer(entity))

    provider_id = participant(profile.provider.entity)
    sme_id = participant(profile.consumer.entity)
    provider = Provider(
        profile=profile,
        participant=provider_id,
        base_url=base,
        store=store,
        fetcher=fetcher,
        documents=documents,
        tokens=tokens,
        trust=trust,
        behaviour=behaviour,
        random=rng,
        clock=clock,
        allow_loopback=loopback,
        allow_insecure_loopback=insecure,
    )
    credential_service = CredentialService(
        holder=sme_id,
        shares=profile.consumer.shares,
        store=store,
        tokens=tokens,
        random=rng,
        clock=clock,
    )
    consumer = Consumer(
        participant=sme_id,
        callback_address=f"{base}/callback",
        processes=Processes(
            store=store, prefix="consumer", role="consumer", behaviour=behaviour, clock=clock
        ),
        fetcher=fetcher,
        documents=documents,
        tokens=tokens,
        credential_service=credential_service,
        random=rng,
        clock=clock,
        allow_insecure_loopback=insecure,
    )
    provider_document = pki.document(profile.provider.entity)
    sme_document = pki.document(profile.consumer.entity)
    cs_path = _path_of(credential_service_endpoint(sme_document, allow_insecure_loopback=insecure))
    dsp = profile.provider.dsp_path

    def resume() -> None:
        """Follow-up work a restart interrupted: what was acknowledged goes on."""
        for row in provider.processes.list(provider.processes.negotiations):
            if row.get("state") == NegotiationState.REQUESTED.value:
                _safely(provider.decide_negotiation, str(row["providerPid"]))
            elif row.get("state") == NegotiationState.VERIFIED.value:
                _safely(provider.finalize, str(row["providerPid"]))
            elif row.get("outbox"):
                _safely(provider.redeliver, str(row["providerPid"]))
        for row in provider.processes.list(provider.processes.transfers):
            if row.get("state") == TransferState.REQUESTED.value:
                _safely(provider.start_transfer, str(row["providerPid"]))
        for row in consumer.processes.list(consumer.processes.negotiations):
            if row.get("state") == NegotiationState.AGREED.value:
                _safely(consumer.verify_agreement, str(row["consumerPid"]))
        for row in consumer.processes.list(consumer.processes.transfers):
            if row.get("state") == TransferState.STARTED.value:
                _safely(consumer.pull, str(row["consumerPid"]))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Not awaited: peers may still be starting; resume() fails closed per process.
        pending = asyncio.get_running_loop().run_in_executor(None, resume)
        yield
        await asyncio.wait([pending], timeout=5)
        fetcher.close()

    app = FastAPI(title=f"Passerelle data-space connector ({profile.id})", lifespan=lifespan)
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

    @app.exception_handler(DspRefusal)
    async def _refused(_: Request, exc: DspRefusal) -> JSONResponse:
        return dsp_response(exc)

    async def body_of(request: Request, kind: Kind) -> JsonObject:
        try:
            return read_json(await request.body())
        except PasserelleError as exc:
            raise DspRefusal(exc, kind=kind) from exc

    def ok(body: JsonObject, status: int = 200) -> JSONResponse:
        return JSONResponse(body, status_code=status, headers=dict(NO_STORE))

    # --- metadata ------------------------------------------------------------------------

    @app.get("/health")
    def health(request: Request) -> JSONResponse:
        body = health_body(
            service="dataspace", profile=profile.id, request=request, versions=VERSIONS
        )
        return JSONResponse(
            {
                **body,
                "provider": {
                    "did": provider.did,
                    "dsp": provider.base,
                    "datasets": sorted(profile.provider.datasets),
                },
                "consumer": {"did": consumer.did, "title": profile.consumer.title},
                "quirks": sorted(quirks),
            }
        )

    @app.get("/.well-known/dspace-version")
    def dspace_version() -> JSONResponse:
        return JSONResponse(provider.version_metadata())

    for document in (provider_document, sme_document):
        url = did_web_to_url(
            str(document["id"]), allow_loopback=loopback, allow_insecure_loopback=insecure
        )
        path = _path_of(url)

        app.add_api_route(path, _did_document_route(document), methods=["GET"], name=f"did:{path}")

    @app.get(CONFORMANCE_ATTESTATION_PATH)
    def conformance_attestation() -> Response:
        """The connector's conformance attestation, as its operator installed it (the
        file ``attestations/<target>.jwt`` of a ``passerelle conformance run``)."""
        try:
            token = (data_dir / profile.id / CONFORMANCE_ATTESTATION_FILE).read_text().strip()
        except OSError:
            return JSONResponse(
                {"error": "not_found", "reason": "conformance.attestation_missing"},
                status_code=404,
            )
        return Response(token, media_type="application/vc+jwt", headers=dict(NO_STORE))

    # --- the provider --------------------------------------------------------------------

    @app.post(f"{dsp}/catalog/request")
    async def catalog_request(request: Request, authorization: Auth = None) -> JSONResponse:
        body = await body_of(request, "catalog")
        return ok(await run_in_threadpool(provider.catalog, authorization, body))

    @app.get(f"{dsp}/catalog/datasets/{{dataset_id}}")
    async def catalog_dataset(dataset_id: str, authorization: Auth = None) -> JSONResponse:
        return ok(await run_in_threadpool(provider.dataset, authorization, dataset_id))

    @app.post(f"{dsp}/negotiations/request")
    async def negotiation_request(
        request: Request, background: BackgroundTasks, authorization: Auth = None
    ) -> JSONResponse:
        body = await body_of(request, "negotiation")
        answer = await run_in_threadpool(provider.request_negotiation, authorization, body)
        background.add_task(_safely, provider.decide_negotiation, str(answer["providerPid"]))
        return ok(answer, 201)

    @app.get(f"{dsp}/negotiations/{{pid}}")
    async def negotiation(pid: str, authorization: Auth = None) -> JSONResponse:
        return ok(await run_in_threadpool(provider.get_negotiation, authorization, pid))

    @app.post(f"{dsp}/negotiations/{{pid}}/agreement/verification")
    async def agreement_verification(
        pid: str, request: Request, background: BackgroundTasks, authorization: Auth = None
    ) -> JSONResponse:
        body = await body_of(request, "negotiation")
        await run_in_threadpool(provider.verify_agreement, authorization, pid, body)
        background.add_task(_safely, provider.finalize, pid)
        return ok({})

    def negotiation_message(
        work: Callable[[str | None, str, JsonObject], object],
    ) -> Callable[..., Any]:
        async def route(pid: str, request: Request, authorization: Auth = None) -> JSONResponse:
            body = await body_of(request, "negotiation")
            await run_in_threadpool(work, authorization, pid, body)
            return ok({})

        return route

    app.add_api_route(
        f"{dsp}/negotiations/{{pid}}/termination",
        negotiation_message(provider.consumer_terminates_negotiation),
        methods=["POST"],
    )
    app.add_api_route(
        f"{dsp}/negotiations/{{pid}}/request",
        negotiation_message(provider.consumer_counter_request),
        methods=["POST"],
    )
    app.add_api_route(
        f"{dsp}/negotiations/{{pid}}/events",
        negotiation_message(provider.consumer_event),
        methods=["POST"],
    )

    @app.post(f"{dsp}/transfers/request")
    async def transfer_request(
        request: Request, background: BackgroundTasks, authorization: Auth = None
    ) -> JSONResponse:
        body = await body_of(request, "transfer")
        answer = await run_in_threadpool(provider.request_transfer, authorization, body)
        background.add_task(_safely, provider.start_transfer, str(answer["providerPid"]))
        return ok(answer, 201)

    @app.get(f"{dsp}/transfers/{{pid}}")
    async def transfer(pid: str, authorization: Auth = None) -> JSONResponse:
        return ok(await run_in_threadpool(provider.get_transfer, authorization, pid))

    def transfer_message(
        work: Callable[[str | None, str, JsonObject], object],
    ) -> Callable[..., Any]:
        async def route(pid: str, request: Request, authorization: Auth = None) -> JSONResponse:
            body = await body_of(request, "transfer")
            await run_in_threadpool(work, authorization, pid, body)
            return ok({})

        return route

    for name, work in (
        ("completion", provider.consumer_completes),
        ("termination", provider.consumer_terminates_transfer),
        ("start", provider.consumer_starts),
        ("suspension", provider.consumer_suspends),
    ):
        app.add_api_route(
            f"{dsp}/transfers/{{pid}}/{name}", transfer_message(work), methods=["POST"]
        )

    @app.get("/data/{pid}")
    async def data(pid: str, authorization: Auth = None) -> JSONResponse:
        return ok(await run_in_threadpool(provider.data, authorization, pid))

    # --- the consumer's callbacks ------------------------------------------------------

    @app.post("/callback/negotiations/{pid}/agreement")
    async def on_agreement(
        pid: str, request: Request, background: BackgroundTasks, authorization: Auth = None
    ) -> JSONResponse:
        body = await body_of(request, "negotiation")
        await run_in_threadpool(consumer.on_agreement, authorization, pid, body)
        background.add_task(_safely, consumer.verify_agreement, pid)
        return ok({})

    app.add_api_route(
        "/callback/negotiations/{pid}/events",
        negotiation_message(consumer.on_negotiation_event),
        methods=["POST"],
    )
    app.add_api_route(
        "/callback/negotiations/{pid}/termination",
        negotiation_message(consumer.on_negotiation_termination),
        methods=["POST"],
    )

    @app.get("/callback/negotiations/{pid}")
    async def negotiation_for_provider(pid: str, authorization: Auth = None) -> JSONResponse:
        row = await run_in_threadpool(consumer.negotiation_for_provider, authorization, pid)
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

    @app.post("/callback/transfers/{pid}/start")
    async def on_transfer_start(
        pid: str, request: Request, background: BackgroundTasks, authorization: Auth = None
    ) -> JSONResponse:
        body = await body_of(request, "transfer")
        await run_in_threadpool(consumer.on_transfer_start, authorization, pid, body)
        background.add_task(_safely, consumer.pull, pid)
        return ok({})

    app.add_api_route(
        "/callback/transfers/{pid}/completion",
        transfer_message(consumer.on_transfer_completion),
        methods=["POST"],
    )
    app.add_api_route(
        "/callback/transfers/{pid}/termination",
        transfer_message(consumer.on_transfer_termination),
        methods=["POST"],
    )

    # --- the SME's Credential Service --------------------------------------------------

    @app.post(f"{cs_path}/presentations/query")
    async def presentations_query(request: Request, authorization: Auth = None) -> JSONResponse:
        try:
            body = read_json(await request.body())
            if is_presentation_definition_query(body):
                # DCP 1.0: presentationDefinition unsupported → 501 Not Implemented.
                return JSONResponse(
                    {"error": "not_implemented", "reason": "dcp.scope_invalid"},
                    status_code=501,
                )
            answer = await run_in_threadpool(credential_service.query, authorization, body)
        except PasserelleError as exc:
            family = str(exc.reason).split(".", 1)[0]
            status = 400 if exc.reason == "dcp.scope_invalid" or family in ("dsp", "input") else 401
            if exc.fault is Fault.LOCAL:
                status = 500
            headers = dict(NO_STORE)
            if status == 401:
                headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
            return JSONResponse(
                {
                    "error": exc.wire_error or "invalid_request",
                    "reason": str(exc.reason),
                    "error_description": exc.detail,
                },
                status_code=status,
                headers=headers,
            )
        return ok(answer)

    def api(work: Callable[[], JsonObject | list[JsonObject]], status: int = 200) -> JSONResponse:
        try:
            return JSONResponse(work(), status_code=status, headers=dict(NO_STORE))
        except PasserelleError as exc:
            return _api_error(exc)

    # --- the operators' backchannels (development, like the wallet's /api) ----------

    @app.get("/api/provider/negotiations")
    def provider_negotiations() -> JSONResponse:
        """The provider's negotiations with their decision traces (what was proved, how
        each issuer was trusted, each ODRL constraint), for the demo and for people."""
        return api(
            lambda: [
                {k: v for k, v in r.items() if k != "access_token"}
                for r in provider.processes.list(provider.processes.negotiations)
            ]
        )

    @app.get("/api/provider/transfers")
    def provider_transfers() -> JSONResponse:
        return api(
            lambda: [
                {k: v for k, v in r.items() if k not in ("access_token", "token_key")}
                for r in provider.processes.list(provider.processes.transfers)
            ]
        )

    @app.post("/api/provider/negotiations/{pid}/termination")
    def provider_terminates_negotiation(pid: Pid, body: TerminationBody) -> JSONResponse:
        return api(
            lambda: provider.operator_terminates_negotiation(
                pid, code=body.code, reason=body.reason
            )
        )

    @app.post("/api/provider/transfers/{pid}/completion")
    def provider_completes_transfer(pid: Pid) -> JSONResponse:
        return api(lambda: provider.operator_completes_transfer(pid))

    @app.post("/api/provider/transfers/{pid}/termination")
    def provider_terminates_transfer(pid: Pid, body: TerminationBody) -> JSONResponse:
        return api(
            lambda: provider.operator_terminates_transfer(pid, code=body.code, reason=body.reason)
        )

    @app.post("/api/consumer/negotiations/{pid}/termination")
    def consumer_terminates_negotiation(pid: Pid, body: TerminationBody) -> JSONResponse:
        return api(
            lambda: public_row(
                consumer.terminate(
                    consumer.processes.negotiations, pid, code=body.code, reason=body.reason
                )
            )
        )

    @app.post("/api/consumer/transfers/{pid}/termination")
    def consumer_terminates_transfer(pid: Pid, body: TerminationBody) -> JSONResponse:
        return api(
            lambda: public_row(
                consumer.terminate(
                    consumer.processes.transfers, pid, code=body.code, reason=body.reason
                )
            )
        )

    @app.post("/api/consumer/credentials")
    def add_credential(body: CredentialBody) -> JSONResponse:
        def work() -> JsonObject:
            stored = credential_service.add(body.credential)
            return {"id": stored.id, "types": list(stored.types), "issuer": stored.issuer}

        return api(work, 201)

    @app.get("/api/consumer/credentials")
    def list_credentials() -> JSONResponse:
        return api(
            lambda: [
                {"id": c.id, "types": list(c.types), "issuer": c.issuer}
                for c in credential_service.credentials()
            ]
        )

    @app.post("/api/consumer/sts")
    def secure_token_service(body: StsBody) -> JSONResponse:
        """A Self-Issued ID Token of the SME for ``audience``, carrying a fresh access
        token (DCP 1.0 §"Obtaining Self-Issued ID Tokens": our Secure Token Service)."""
        return api(
            lambda: {
                "token": tokens.mint(
                    sme_id,
                    audience=body.audience,
                    access_token=credential_service.grant(body.audience),
                ),
                "token_type": "Bearer",
            }
        )

    @app.post("/api/consumer/catalog")
    def consumer_catalog(body: ProviderBody) -> JSONResponse:
        return api(lambda: consumer.catalog(body.provider))

    @app.post("/api/consumer/negotiate")
    def consumer_negotiate(body: NegotiateBody) -> JSONResponse:
        return api(
            lambda: public_row(consumer.negotiate(body.provider, body.dataset, body.offer)), 201
        )

    @app.get("/api/consumer/negotiations")
    def consumer_negotiations() -> JSONResponse:
        return api(
            lambda: [
                public_row(r) for r in consumer.processes.list(consumer.processes.negotiations)
            ]
        )

    @app.get("/api/consumer/negotiations/{pid}")
    def consumer_negotiation(pid: Pid) -> JSONResponse:
        return api(lambda: public_row(consumer.negotiation(pid)))

    @app.post("/api/consumer/transfer")
    def consumer_transfer(body: TransferBody) -> JSONResponse:
        return api(lambda: public_row(consumer.transfer(body.negotiation)), 201)

    @app.get("/api/consumer/transfers")
    def consumer_transfers() -> JSONResponse:
        return api(
            lambda: [public_row(r) for r in consumer.processes.list(consumer.processes.transfers)]
        )

    @app.get("/api/consumer/transfers/{pid}")
    def consumer_transfer_row(pid: Pid) -> JSONResponse:
        return api(lambda: public_row(consumer.transfer_row(pid)))

    return app
