"""The consumer role of the connector: the SME's side of DSP 2025-1.

The SME finds a provider by its DID alone: the DID document's ``DataService`` entry
names the provider's version metadata (DSP 2025-1 §"Discovery of Service Endpoints"),
which gives the 2025-1 base path. Every request carries a Self-Issued ID Token whose
``token`` claim is a fresh access token to the SME's own Credential Service, granted
to that provider only.

The provider answers through the callback address (``<base>/callback``): the agreement,
the FINALIZED event, the transfer start with its ``dataAddress``. Each callback is
authenticated as the provider the SME talked to, moved through the same state tables,
and followed up after the 200: the SME verifies the agreement against the offer it
asked for before it sends its verification, and pulls the data as soon as the transfer
starts, then completes it.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from passerelle import JsonObject, JsonValue, PasserelleError, RandomSource, Reason
from passerelle._json import parse_json_object
from passerelle.dcp import SelfIssuedToken
from passerelle.dsp import (
    DSP_VERSION,
    VERSION_METADATA_PATH,
    NegotiationState,
    TransferState,
    agreement_verification_message,
    catalog_request_message,
    contract_request_message,
    dsp_error,
    negotiation_termination_message,
    parse_catalog,
    parse_contract_agreement,
    parse_contract_negotiation,
    parse_dataset,
    parse_negotiation_event,
    parse_negotiation_termination,
    parse_transfer_completion,
    parse_transfer_process,
    parse_transfer_start,
    parse_transfer_termination,
    parse_version_metadata,
    transfer_completion_message,
    transfer_request_message,
    transfer_termination_message,
)
from passerelle.sd_jwt_vc import is_insecure_loopback
from passerelle.services.fetch import Fetcher

from .credential_service import CredentialService
from .identity import DidDocuments, Participant, Tokens
from .records import DspRefusal, Kind, Processes, Row, peer_failure, send_message

__all__ = ["Consumer", "public_row"]

DATA_SERVICE_TYPE = "DataService"
# The agreement must carry the offer's terms unchanged (DSP 2025-1: the consumer
# verifies the agreement before it sends ContractAgreementVerificationMessage).
_TERMS = ("profile", "permission", "prohibition", "obligation")
_SECRETS = ("data_token",)

REDELIVERY_DELAYS: tuple[float, ...] = (0.5, 1, 2, 4, 8, 15, 30, 30, 30, 30, 30)
"""Waits between attempts to deliver a message to a peer that cannot be reached: about
three minutes in all, enough for a provider's restart, bounded all the same."""


def public_row(row: Row) -> JsonObject:
    """A row as the SME's own API shows it: without the data token."""
    return {k: v for k, v in row.items() if k not in _SECRETS}


def _new_pid(random: RandomSource) -> str:
    return f"urn:uuid:{uuid.UUID(bytes=random.token_bytes(16), version=4)}"


class Consumer:
    def __init__(
        self,
        *,
        participant: Participant,
        callback_address: str,
        processes: Processes,
        fetcher: Fetcher,
        documents: DidDocuments,
        tokens: Tokens,
        credential_service: CredentialService,
        random: RandomSource,
        clock: Callable[[], datetime],
        allow_insecure_loopback: bool,
    ) -> None:
        self.participant = participant
        self.did = participant.did
        self.callback_address = callback_address
        self.processes = processes
        self._fetcher = fetcher
        self._documents = documents
        self._tokens = tokens
        self._cs = credential_service
        self._random = random
        self._clock = clock
        # Plain http to a provider only on the laptop stack without TLS.
        self._allow_insecure_loopback = allow_insecure_loopback
        self._lock = threading.Lock()
        self._bases: dict[str, str] = {}

    # --- finding a provider ----------------------------------------------------------------

    def provider_base(self, provider: str) -> str:
        """The DSP 2025-1 ``<base>`` of the connector ``provider`` (a DID)."""
        with self._lock:
            if provider in self._bases:
                return self._bases[provider]
        document = self._documents.get(provider)
        services = document.get("service")
        endpoints = [
            s.get("serviceEndpoint")
            for s in (services if isinstance(services, list) else [])
            if isinstance(s, dict) and s.get("type") == DATA_SERVICE_TYPE
        ]
        metadata_url = endpoints[0] if len(endpoints) == 1 else None
        if not isinstance(metadata_url, str) or not metadata_url.endswith(VERSION_METADATA_PATH):
            raise PasserelleError(
                Reason.DSP_MESSAGE_INVALID,
                f"{provider} names no single {DATA_SERVICE_TYPE} with version metadata",
            )
        insecure_ok = self._allow_insecure_loopback and is_insecure_loopback(metadata_url)
        if not (metadata_url.startswith("https://") or insecure_ok):
            raise PasserelleError(Reason.DSP_MESSAGE_INVALID, f"{metadata_url} is not https")
        versions = parse_version_metadata(self._fetcher.get_json(metadata_url))
        chosen = next((v for v in versions if v.version == DSP_VERSION), None)
        if chosen is None:
            # "If the Connector cannot identify a matching version, it MUST terminate."
            raise PasserelleError(
                Reason.DSP_MESSAGE_INVALID, f"{provider} does not speak DSP {DSP_VERSION}"
            )
        base = metadata_url.removesuffix(VERSION_METADATA_PATH) + chosen.path.rstrip("/")
        with self._lock:
            self._bases[provider] = base
        return base

    def _call(
        self, provider: str, path: str, message: JsonObject | None = None, *, method: str = "POST"
    ) -> tuple[int, JsonValue]:
        url = self.provider_base(provider) + path
        return send_message(
            self._fetcher,
            self._tokens,
            sender=self.participant,
            audience=provider,
            access_token=self._cs.grant(provider),
            url=url,
            message=message,
            method=method,
        )

    # --- what the SME asks for ---------------------------------------------------------------

    def catalog(self, provider: str) -> JsonObject:
        status, body = self._call(provider, "/catalog/request", catalog_request_message())
        if status != 200:
            raise peer_failure(f"{provider} catalog", status, body)
        parse_catalog(body)
        return cast("JsonObject", body)

    def dataset(self, provider: str, dataset_id: str) -> JsonObject:
        status, body = self._call(provider, f"/catalog/datasets/{dataset_id}", method="GET")
        if status != 200:
            raise peer_failure(f"{provider} dataset {dataset_id}", status, body)
        parse_dataset(body)
        return cast("JsonObject", body)

    def negotiate(self, provider: str, dataset_id: str, offer: JsonObject | str) -> Row:
        """Send a ContractRequestMessage for ``offer`` (an offer, or the ``@id`` of one
        in the provider's dataset) on ``dataset_id``; the row, REQUESTED or TERMINATED."""
        if isinstance(offer, str):
            policies = self.dataset(provider, dataset_id).get("hasPolicy")
            found = [
                p
                for p in (policies if isinstance(policies, list) else [])
                if isinstance(p, dict) and p.get("@id") == offer
            ]
            if not found:
                raise PasserelleError(
                    Reason.DSP_OFFER_UNKNOWN, f"{dataset_id} has no offer {offer!r}"
                )
            offer = found[0]
        if not isinstance(offer.get("@id"), str) or not offer["@id"]:
            # Checked here, as input: the message builder would call it our own fault.
            raise PasserelleError(Reason.INPUT_MALFORMED, "the offer has no string @id")
        requested: JsonObject = {**offer, "target": dataset_id}
        consumer_pid = _new_pid(self._random)
        message = contract_request_message(
            consumer_pid=consumer_pid, offer=requested, callback_address=self.callback_address
        )
        collection = self.processes.negotiations
        state = self.processes.next_state(collection, None, "ContractRequestMessage", "consumer")
        # Recorded before it is sent: the provider's agreement may arrive before its 201.
        self.processes.create(
            collection,
            consumer_pid,
            {
                "consumerPid": consumer_pid,
                "providerPid": None,
                "state": state,
                "provider": provider,
                "dataset": dataset_id,
                "offer": requested,
            },
        )
        try:
            status, body = self._call(provider, "/negotiations/request", message)
            if status != 201:
                raise peer_failure(f"{provider} negotiation request", status, body)
            acknowledged = parse_contract_negotiation(body)
        except PasserelleError as exc:
            self._refused(collection, consumer_pid, exc)
            return self._row(collection, consumer_pid)
        self._learn_provider_pid(collection, consumer_pid, acknowledged.provider_pid)
        return self._row(collection, consumer_pid)

    def transfer(self, negotiation_pid: str) -> Row:
        """Ask for a pull transfer under the agreement of a FINALIZED negotiation."""
        negotiation = self._row(self.processes.negotiations, negotiation_pid)
        agreement = negotiation.get("agreement")
        if negotiation.get("state") != NegotiationState.FINALIZED.value or not isinstance(
            agreement, dict
        ):
            raise PasserelleError(
                Reason.DSP_AGREEMENT_UNKNOWN,
                f"negotiation {negotiation_pid} is {negotiation.get('state')}, not FINALIZED",
            )
        provider = str(negotiation["provider"])
        consumer_pid = _new_pid(self._random)
        message = transfer_request_message(
            consumer_pid=consumer_pid,
            agreement_id=str(agreement["@id"]),
            callback_address=self.callback_address,
        )
        collection = self.processes.transfers
        state = self.processes.next_state(collection, None, "TransferRequestMessage", "consumer")
        self.processes.create(
            collection,
            consumer_pid,
            {
                "consumerPid": consumer_pid,
                "providerPid": None,
                "state": state,
                "provider": provider,
                "negotiation": negotiation_pid,
                "agreementId": agreement["@id"],
                "dataset": negotiation["dataset"],
            },
        )
        try:
            status, body = self._call(provider, "/transfers/request", message)
            if status != 201:
                raise peer_failure(f"{provider} transfer request", status, body)
            acknowledged = parse_transfer_process(body)
        except PasserelleError as exc:
            self._refused(collection, consumer_pid, exc)
            return self._row(collection, consumer_pid)
        self._learn_provider_pid(collection, consumer_pid, acknowledged.provider_pid)
        return self._row(collection, consumer_pid)

    def _row(self, collection: str, pid: str) -> Row:
        row = self.processes.get(collection, pid)
        if row is None:
            unknown = (
                Reason.DSP_NEGOTIATION_UNKNOWN
                if collection == self.processes.negotiations
                else Reason.DSP_TRANSFER_UNKNOWN
            )
            raise dsp_error(unknown, f"no process {pid}")
        return row

    def negotiation(self, pid: str) -> Row:
        return self._row(self.processes.negotiations, pid)

    def transfer_row(self, pid: str) -> Row:
        return self._row(self.processes.transfers, pid)

    def _refused(self, collection: str, pid: str, error: PasserelleError) -> None:
        """The provider refused the initial request: there is no process on its side, so
        ours ends TERMINATED with its reason, and nothing is sent."""
        self.processes.update(
            collection,
            pid,
            state=(
                NegotiationState.TERMINATED.value
                if collection == self.processes.negotiations
                else TransferState.TERMINATED.value
            ),
            code=str(error.reason),
            reason=[error.detail],
        )
        self.processes.note(collection, pid, "refused", reason=str(error.reason))

    def _learn_provider_pid(self, collection: str, pid: str, provider_pid: str) -> None:
        row = self._row(collection, pid)
        if row.get("providerPid") in (None, provider_pid):
            self.processes.update(collection, pid, providerPid=provider_pid)

    # --- callbacks from the provider --------------------------------------------------------

    def _caller(self, authorization: str | None, kind: Kind, pid: str) -> SelfIssuedToken:
        try:
            return self._tokens.verify(authorization, audience=self.did)
        except PasserelleError as exc:
            raise DspRefusal(exc, kind=kind, status=401, consumer_pid=pid) from exc

    def _own(self, caller: SelfIssuedToken, collection: str, pid: str, kind: Kind) -> Row:
        row = self.processes.get(collection, pid)
        if row is None or row.get("provider") != caller.iss:
            unknown = (
                Reason.DSP_NEGOTIATION_UNKNOWN
                if kind == "negotiation"
                else Reason.DSP_TRANSFER_UNKNOWN
            )
            raise DspRefusal(dsp_error(unknown, f"no {kind} {pid}"), kind=kind, consumer_pid=pid)
        return row

    def _provider_message(
        self,
        authorization: str | None,
        pid: str,
        body: JsonObject,
        parse: Callable[[JsonValue], Any],
        *,
        transfer: bool = False,
        from_message: Callable[[Any], JsonObject] | None = None,
    ) -> Row:
        """Authenticate the provider, parse its message, and move our process by it;
        ``from_message`` gives what to record of the message (it may refuse it)."""
        kind: Kind = "transfer" if transfer else "negotiation"
        collection = self.processes.transfers if transfer else self.processes.negotiations
        caller = self._caller(authorization, kind, pid)
        row = self._own(caller, collection, pid, kind)
        try:
            message = parse(body)
            changes: JsonObject = from_message(message) if from_message is not None else {}

            def check(current: Row) -> None:
                known = current.get("providerPid")
                if message.consumer_pid != pid or known not in (None, message.provider_pid):
                    raise dsp_error(
                        Reason.DSP_MESSAGE_INVALID,
                        f"the message's process ids do not name {kind} {pid}",
                    )

            return self.processes.move(
                collection,
                pid,
                message.kind,
                sender="provider",
                check=check,
                providerPid=message.provider_pid,
                **changes,
            )
        except PasserelleError as exc:
            raise DspRefusal(
                exc,
                kind=kind,
                provider_pid=row.get("providerPid"),
                consumer_pid=pid,
            ) from exc

    def on_agreement(self, authorization: str | None, pid: str, body: JsonObject) -> Row:
        return self._provider_message(
            authorization,
            pid,
            body,
            parse_contract_agreement,
            from_message=lambda m: {"agreement": m.agreement.policy},
        )

    def _agreement_problem(self, row: Row) -> str | None:
        agreement = row.get("agreement")
        offer = row.get("offer")
        if not isinstance(agreement, dict) or not isinstance(offer, dict):
            return "no agreement to verify"
        if agreement.get("target") != row.get("dataset"):
            return f"the agreement is for {agreement.get('target')!r}, not {row.get('dataset')!r}"
        if agreement.get("assignee") != self.did or agreement.get("assigner") != row.get(
            "provider"
        ):
            return "the agreement names other parties"
        changed = [k for k in _TERMS if agreement.get(k) != offer.get(k)]
        if changed:
            return f"the agreement changes the offer's {', '.join(changed)}"
        return None

    def verify_agreement(self, pid: str) -> None:
        """After AGREED: check the agreement, then VERIFIED and the verification message
        (or terminate, saying why)."""
        row = self.processes.get(self.processes.negotiations, pid)
        if row is None or row.get("state") != NegotiationState.AGREED.value:
            return
        provider, provider_pid = str(row["provider"]), str(row["providerPid"])
        problem = self._agreement_problem(row)
        if problem is not None:
            self._terminate(
                self.processes.negotiations,
                pid,
                PasserelleError(Reason.DSP_AGREEMENT_UNKNOWN, problem),
            )
            return
        # Recorded before it is sent: the FINALIZED event may arrive before the 200.
        self.processes.move(
            self.processes.negotiations,
            pid,
            "ContractAgreementVerificationMessage",
            sender="consumer",
        )
        message = agreement_verification_message(provider_pid=provider_pid, consumer_pid=pid)
        path = f"/negotiations/{provider_pid}/agreement/verification"
        # A provider that cannot be reached may be restarting: what it acknowledged it
        # still has, so the verification is sent again, a bounded number of times. A
        # provider that answers and refuses is not asked twice.
        for delay in (*REDELIVERY_DELAYS, None):
            try:
                status, body = self._call(provider, path, message)
            except PasserelleError as exc:
                if delay is None:
                    self.processes.note(
                        self.processes.negotiations,
                        pid,
                        "verification not delivered",
                        reason=str(exc.reason),
                    )
                    return
                time.sleep(delay)
                continue
            if status != 200:
                refusal = peer_failure("agreement verification", status, body)
                self.processes.note(
                    self.processes.negotiations,
                    pid,
                    "verification not accepted",
                    reason=str(refusal.reason),
                )
            return

    def terminate(self, collection: str, pid: str, *, code: str, reason: str) -> Row:
        """The SME ends a negotiation or transfer of its own will, telling the provider."""
        self._row(collection, pid)
        try:
            known = Reason(code)
        except ValueError:
            known = Reason.DSP_POLICY_DENIED
        self._terminate(collection, pid, PasserelleError(known, reason or "terminated by the SME"))
        return self._row(collection, pid)

    def _terminate(self, collection: str, pid: str, error: PasserelleError) -> None:
        negotiation = collection == self.processes.negotiations
        row = self.processes.move(
            collection,
            pid,
            "ContractNegotiationTerminationMessage"
            if negotiation
            else "TransferTerminationMessage",
            sender="consumer",
            code=str(error.reason),
            reason=[error.detail],
        )
        provider_pid = row.get("providerPid")
        if not isinstance(provider_pid, str):
            return
        build = negotiation_termination_message if negotiation else transfer_termination_message
        message = build(
            provider_pid=provider_pid,
            consumer_pid=pid,
            code=str(error.reason),
            reason=[error.detail],
        )
        path = "negotiations" if negotiation else "transfers"
        try:
            self._call(str(row["provider"]), f"/{path}/{provider_pid}/termination", message)
        except PasserelleError as exc:
            self.processes.note(
                collection, pid, "termination not delivered", reason=str(exc.reason)
            )

    def on_negotiation_event(self, authorization: str | None, pid: str, body: JsonObject) -> Row:
        return self._provider_message(authorization, pid, body, parse_negotiation_event)

    def on_negotiation_termination(
        self, authorization: str | None, pid: str, body: JsonObject
    ) -> Row:
        return self._provider_message(
            authorization,
            pid,
            body,
            parse_negotiation_termination,
            from_message=lambda m: {"code": m.code, "reason": list(m.reason)},
        )

    def negotiation_for_provider(self, authorization: str | None, pid: str) -> Row:
        caller = self._caller(authorization, "negotiation", pid)
        return self._own(caller, self.processes.negotiations, pid, "negotiation")

    def on_transfer_start(self, authorization: str | None, pid: str, body: JsonObject) -> Row:
        def address(message: Any) -> JsonObject:
            data = message.data_address
            token = data.property("authorization") if data is not None else None
            if data is None or not data.endpoint or not token:
                # A pull transfer cannot start without somewhere and something to pull with.
                raise dsp_error(
                    Reason.DSP_MESSAGE_INVALID,
                    "a pull transfer's start needs a dataAddress with an endpoint and a token",
                )
            return {"endpoint": data.endpoint, "data_token": token}

        return self._provider_message(
            authorization, pid, body, parse_transfer_start, transfer=True, from_message=address
        )

    def pull(self, pid: str) -> None:
        """After STARTED: fetch the data with the token, then COMPLETED and the
        completion message (or terminate, saying why)."""
        row = self.processes.get(self.processes.transfers, pid)
        if row is None or row.get("state") != TransferState.STARTED.value:
            return
        try:
            response = self._fetcher.request(
                "GET",
                str(row["endpoint"]),
                headers={"Authorization": f"Bearer {row['data_token']}"},
            )
            if response.status_code != 200:
                body: JsonValue = None
                with contextlib.suppress(PasserelleError):
                    body = parse_json_object(response.content, what="data endpoint")
                raise peer_failure("data endpoint", response.status_code, body)
            data = parse_json_object(response.content, what="the dataset")
        except PasserelleError as exc:
            self._terminate(self.processes.transfers, pid, exc)
            return
        provider_pid = str(row["providerPid"])
        self.processes.move(
            self.processes.transfers,
            pid,
            "TransferCompletionMessage",
            sender="consumer",
            data=data,
            received_at=self._clock().isoformat(),
        )
        message = transfer_completion_message(provider_pid=provider_pid, consumer_pid=pid)
        try:
            status, body = self._call(
                str(row["provider"]), f"/transfers/{provider_pid}/completion", message
            )
            if status != 200:
                raise peer_failure("transfer completion", status, body)
        except PasserelleError as exc:
            self.processes.note(
                self.processes.transfers, pid, "completion not accepted", reason=str(exc.reason)
            )

    def on_transfer_completion(self, authorization: str | None, pid: str, body: JsonObject) -> Row:
        return self._provider_message(
            authorization, pid, body, parse_transfer_completion, transfer=True
        )

    def on_transfer_termination(self, authorization: str | None, pid: str, body: JsonObject) -> Row:
        return self._provider_message(
            authorization,
            pid,
            body,
            parse_transfer_termination,
            transfer=True,
            from_message=lambda m: {"code": m.code, "reason": list(m.reason), "data_token": None},
        )
