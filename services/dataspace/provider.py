"""The provider role of the connector: a DSP 2025-1 catalog, contract negotiation on the
short path and pull transfers, every request authenticated with DCP 1.0.

Who may see or use a dataset is decided here in one place, :meth:`Provider.prove`:

1. the consumer's Self-Issued ID Token is verified (its ``did:web``, our DID as
   audience, a ``jti`` never seen) — a failure is ``dcp.*`` and HTTP 401;
2. the consumer's Credential Service is found in its DID document and queried by scope,
   with our own Self-Issued ID Token carrying the consumer's access token;
3. the ``vp+jwt`` and its ``vc+jwt`` credentials are verified (``verify_dcp_presentations``);
4. each credential's issuer is put to the shared trust evaluator (DESIGN §6) with its
   ``did:web`` document; the framework that trusts it (``ca``, ``eu``) is the issuer's
   jurisdiction — never a claim;
5. each trusted credential's Bitstring Status List entries are checked;
6. the facts (proven types, trusted jurisdictions) go to the ODRL evaluator with the
   dataset's offer.

Negotiations and transfers are rows in the store moved through the core's tables
(:class:`~.records.Processes`). Work that needs the consumer's presentation (deciding a
negotiation, starting a transfer) runs after the 201 acknowledgement, as the binding
expects: the outcome reaches the consumer through its callback address.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from types import MappingProxyType
from typing import Any, cast
from urllib.parse import unquote, urlsplit

from passerelle import JsonObject, JsonValue, PasserelleError, RandomSource, Reason
from passerelle._json import parse_json_object
from passerelle.conformity import verify_conformance_attestation
from passerelle.dcp import (
    ASSERTION_METHOD,
    AUTHENTICATION,
    DCP_ALGORITHMS,
    SelfIssuedToken,
    VerifiedDcpCredential,
    credential_service_endpoint,
    did_of_key_id,
    parse_presentation_response,
    presentation_query,
    scope_for_type,
    verify_dcp_presentations,
)
from passerelle.dsp import (
    DCP_AUTH,
    HTTP_PULL_FORMAT,
    NegotiationEventType,
    NegotiationState,
    TransferState,
    catalog,
    contract_agreement_message,
    contract_negotiation,
    data_address,
    data_service,
    dataset,
    dsp_error,
    negotiation_event_message,
    negotiation_termination_message,
    parse_agreement_verification,
    parse_catalog_request,
    parse_contract_request,
    parse_negotiation_event,
    parse_negotiation_termination,
    parse_transfer_completion,
    parse_transfer_request,
    parse_transfer_start,
    parse_transfer_suspension,
    parse_transfer_termination,
    transfer_completion_message,
    transfer_process,
    transfer_start_message,
    transfer_termination_message,
    version_metadata,
)
from passerelle.jose import decode_unverified_jws
from passerelle.odrl import OdrlDecision, OdrlFacts, Policy, evaluate_policy, parse_policy
from passerelle.services.decision_inputs import fetch_status_list
from passerelle.services.fetch import Fetcher
from passerelle.services.storage import Store
from passerelle.services.trust.client import TrustClient
from passerelle.status_list import check_bitstring_status
from passerelle.trust import Framework, IssuerIdentity, evaluate_trust
from passerelle.vc import verify_vc_jose

from .identity import SKEW, DidDocuments, Participant, Tokens, random_token, token_key
from .profile import Dataset, DataspaceProfile
from .quirks import ConnectorBehaviour
from .records import DspRefusal, Kind, Processes, Row, peer_failure, send_message

__all__ = ["Proof", "Provider"]

BASE_TYPE = "VerifiableCredential"
USE = "use"


@dataclass(frozen=True, slots=True, kw_only=True)
class Proof:
    """What a consumer proved: the facts the policy is decided on, and how each
    credential fared (for the trace)."""

    consumer: str
    facts: OdrlFacts
    credentials: tuple[JsonObject, ...]

    def as_dict(self) -> JsonObject:
        return {
            "consumer": self.consumer,
            "credential_types": list[JsonValue](sorted(self.facts.credential_types)),
            "issuer_jurisdictions": list[JsonValue](sorted(self.facts.issuer_jurisdictions)),
            "credentials": list(self.credentials),
        }


def _refuse(
    error: PasserelleError,
    kind: Kind,
    *,
    status: int | None = None,
    provider_pid: str | None = None,
    consumer_pid: str | None = None,
) -> DspRefusal:
    return DspRefusal(
        error,
        kind=kind,
        status=status,
        provider_pid=provider_pid,
        consumer_pid=consumer_pid,
    )


CONFORMANCE_ATTESTATION_TYPE = "ConformanceAttestation"
"""The DID document service type under which a participant publishes its connector's
conformance attestation (our name: DCP defines none)."""
CONFORMANCE_ATTESTATION_PATH = "/sme/conformance-attestation"
CONFORMANCE_ATTESTATION_FILE = "conformance-attestation.jwt"


class Provider:
    def __init__(
        self,
        *,
        profile: DataspaceProfile,
        participant: Participant,
        base_url: str,
        store: Store,
        fetcher: Fetcher,
        documents: DidDocuments,
        tokens: Tokens,
        trust: TrustClient,
        behaviour: ConnectorBehaviour,
        random: RandomSource,
        clock: Callable[[], datetime],
        allow_loopback: bool,
        allow_insecure_loopback: bool,
    ) -> None:
        self.profile = profile
        self.participant = participant
        self.did = participant.did
        self.root = base_url
        self.base = base_url + profile.provider.dsp_path
        self._store = store
        self._fetcher = fetcher
        self._documents = documents
        self._tokens = tokens
        self._trust = trust
        self._behaviour = behaviour
        self._random = random
        self._clock = clock
        # The development relaxations of passerelle.dcp: loopback DIDs; over plain http.
        self._allow_loopback = allow_loopback
        self._allow_insecure_loopback = allow_insecure_loopback
        self.processes = Processes(
            store=store, prefix="provider", role="provider", behaviour=behaviour, clock=clock
        )
        self.service_id = f"{self.did}#dsp"
        # Offers as this provider makes them: the dataset as target, our DID as assigner.
        self.offers: Mapping[str, JsonObject] = MappingProxyType(
            {
                d.id: {**d.offer, "target": d.id, "assigner": self.did}
                for d in profile.provider.datasets.values()
            }
        )
        self._policies: Mapping[str, Policy] = MappingProxyType(
            {key: parse_policy(offer) for key, offer in self.offers.items()}
        )

    # --- discovery -----------------------------------------------------------------------

    def version_metadata(self) -> JsonObject:
        return version_metadata(
            self.profile.provider.dsp_path,
            service_id=self.service_id,
            identifier_type="did:web",
            auth=DCP_AUTH,
        )

    # --- DCP: who the consumer is and what it proved ----------------------------------

    def authenticate(
        self,
        authorization: str | None,
        kind: Kind,
        *,
        provider_pid: str | None = None,
        consumer_pid: str | None = None,
    ) -> SelfIssuedToken:
        try:
            return self._tokens.verify(authorization, audience=self.did)
        except PasserelleError as exc:
            raise _refuse(
                exc, kind, status=401, provider_pid=provider_pid, consumer_pid=consumer_pid
            ) from exc

    def _relationship(self, holder: str) -> Callable[[str], str]:
        # The holder signs presentations (authentication); issuers sign credentials.
        return lambda did: AUTHENTICATION if did == holder else ASSERTION_METHOD

    def _query(self, consumer: str, access_token: str) -> list[str]:
        endpoint = credential_service_endpoint(
            self._documents.get(consumer), allow_insecure_loopback=self._allow_insecure_loopback
        )
        scopes = [scope_for_type(t) for t in self.profile.provider.credential_types]
        status, body = send_message(
            self._fetcher,
            self._tokens,
            sender=self.participant,
            audience=consumer,
            access_token=access_token,
            url=f"{endpoint}/presentations/query",
            message=presentation_query(scopes),
        )
        if status != 200:
            reason = body.get("reason") if isinstance(body, dict) else None
            raise PasserelleError(
                Reason.DCP_PRESENTATION_INVALID,
                f"the Credential Service answered {status}"
                + (f" ({reason})" if isinstance(reason, str) else ""),
            )
        return parse_presentation_response(body)

    def _check_status(self, credential: VerifiedDcpCredential, now: datetime) -> None:
        """Every Bitstring Status List entry of a trusted credential, against a list
        signed by that same issuer. Fetched afresh each time: a revocation must be seen
        at once, and the list is one small request on the lists' own host."""
        resolve = self._documents.resolver(lambda _: ASSERTION_METHOD)
        for entry in credential.status:
            url = entry.get("statusListCredential")
            if not isinstance(url, str):
                raise PasserelleError(Reason.STATUS_LIST_INVALID, "a status entry names no list")
            token = fetch_status_list(self._fetcher, url).strip()
            kid = decode_unverified_jws(token).header.get("kid")
            if not isinstance(kid, str) or did_of_key_id(kid) != credential.issuer:
                raise PasserelleError(
                    Reason.STATUS_LIST_INVALID,
                    f"the status list {url} is not signed by the issuer {credential.issuer}",
                )
            listed = verify_vc_jose(
                token, issuer_key=resolve(kid), algorithms=DCP_ALGORITHMS, now=now, skew=SKEW
            )
            if listed.issuer != credential.issuer:
                raise PasserelleError(
                    Reason.STATUS_LIST_INVALID, f"the status list {url} has another issuer"
                )
            check_bitstring_status(entry, listed.credential, now=now)

    def prove(self, consumer: str, access_token: str) -> Proof:
        """Query, verify and judge the consumer's credentials (module docstring, 2–5)."""
        now = self._clock()
        presentations = self._query(consumer, access_token)
        verified = verify_dcp_presentations(
            presentations,
            holder_did=consumer,
            audience=self.did,
            resolve_key=self._documents.resolver(self._relationship(consumer)),
            now=now,
            required_types=self.profile.provider.required_credentials,
            skew=SKEW,
        )
        snapshot = self._trust.snapshot()
        types: set[str] = set()
        jurisdictions: set[str] = set()
        summaries: list[JsonObject] = []
        failures: dict[str, PasserelleError] = {}
        for credential in (c for p in verified for c in p.credentials):
            document = self._documents.get(credential.issuer)
            status: str | None = None  # checked once, for the first trusted type
            for credential_type in (t for t in credential.types if t != BASE_TYPE):
                decision = evaluate_trust(
                    issuer=IssuerIdentity(iss=credential.issuer, kid=credential.kid),
                    credential_type=credential_type,
                    snapshot=snapshot,
                    now=now,
                    did_documents={credential.issuer: document},
                    allow_loopback=self._allow_loopback,
                    allow_insecure_loopback=self._allow_insecure_loopback,
                )
                summary: JsonObject = {
                    "type": credential_type,
                    "issuer": credential.issuer,
                    "valid_until": None
                    if credential.valid_until is None
                    else credential.valid_until.isoformat(),
                    "trust": decision.as_dict(),
                }
                summaries.append(summary)
                if not decision.trusted or decision.framework is None:
                    # An untrusted issuer contributes no fact; a required type left
                    # unproven is refused below, with this reason.
                    try:
                        decision.raise_for_failure()
                    except PasserelleError as exc:
                        failures.setdefault(credential_type, exc)
                    summary["status"] = "not checked (issuer not trusted)"
                    continue
                # Status only once trust holds (DESIGN §6: a list is fetched only for a
                # credential that earned it), and once per credential.
                if status is None:
                    if self._behaviour.check_status:
                        self._check_status(credential, now)
                        status = "valid"
                    else:
                        status = "not checked"
                summary["status"] = status
                types.add(credential_type)
                jurisdictions.add(str(decision.framework))
        for required in self.profile.provider.required_credentials:
            if required not in types:
                raise failures.get(required) or PasserelleError(
                    Reason.DCP_CREDENTIAL_MISSING, f"no trusted {required}"
                )
        return Proof(
            consumer=consumer,
            facts=OdrlFacts(
                credential_types=frozenset(types),
                issuer_jurisdictions=frozenset(jurisdictions),
                now=now,
            ),
            credentials=tuple(summaries),
        )

    def check_conformance(self, proof: Proof, dataset: Dataset) -> JsonObject | None:
        """A consumer from a framework the dataset names must show a current conformance
        attestation of its connector: published at the ``ConformanceAttestation`` service
        of its DID document, signed by a laboratory the lists trust, about the connector
        that hosts the consumer's DID, assessed within ``max_age``, with no unexpected
        result. None when the dataset asks for none of this consumer."""
        requirement = dataset.conformance
        jurisdictions = {Framework(j) for j in proof.facts.issuer_jurisdictions}
        if requirement is None or not jurisdictions & requirement.required_from:
            return None
        consumer = proof.consumer
        endpoint = _service_endpoint(self._documents.get(consumer), CONFORMANCE_ATTESTATION_TYPE)
        if endpoint is None:
            raise PasserelleError(
                Reason.CONFORMANCE_ATTESTATION_MISSING,
                f"{consumer} names no {CONFORMANCE_ATTESTATION_TYPE} service",
            )
        response = self._fetcher.request("GET", endpoint)
        if response.status_code != 200:
            raise PasserelleError(
                Reason.CONFORMANCE_ATTESTATION_MISSING,
                f"{consumer}'s conformance attestation: {endpoint} answered {response.status_code}",
            )
        now = self._clock()
        verified = verify_conformance_attestation(
            response.text.strip(),
            trust=self._trust.snapshot(),
            now=now,
            skew=SKEW,
            max_age=requirement.max_age,
        )
        summary = verified.summary
        if not same_deployment(summary.subject, consumer):
            raise PasserelleError(
                Reason.CONFORMANCE_SUBJECT_MISMATCH,
                f"the attestation is about {summary.subject}, not the connector of {consumer}",
            )
        if not summary.conformant:
            raise PasserelleError(
                Reason.CONFORMANCE_NOT_CONFORMANT,
                f"the attestation lists unexpected results: {', '.join(summary.unexpected)}",
            )
        return {
            "subject": summary.subject,
            "assessed_at": summary.assessed_at.isoformat(),
            "plans": list(summary.plans),
            "signer": verified.signer,
        }

    def decide(
        self, dataset_id: str, proof: Proof, *, policy: Policy | None = None
    ) -> OdrlDecision:
        """The ODRL decision on using ``dataset_id`` (or under ``policy``, an agreement)."""
        chosen = policy if policy is not None else self._policies[dataset_id]
        decision = evaluate_policy(chosen, action=USE, facts=proof.facts)
        if self._behaviour.enforce_policy:
            return decision
        # The ignore_policy quirk: whatever the policy says.
        return OdrlDecision(permitted=True, reason=None, trace=decision.trace)

    # --- catalog -------------------------------------------------------------------------

    def _dataset_json(self, item: Dataset) -> JsonObject:
        offer = {k: v for k, v in self.offers[item.id].items() if k != "target"}
        return dataset(
            id=item.id,
            offers=[offer],
            access_service=self.service_id,
            title=item.title,
            description=item.description,
        )

    def _visible(self, proof: Proof) -> list[Dataset]:
        return [
            d for d in self.profile.provider.datasets.values() if self.decide(d.id, proof).permitted
        ]

    def _proof_for_request(self, caller: SelfIssuedToken, kind: Kind) -> Proof:
        try:
            return self.prove(caller.iss, caller.access_token)
        except PasserelleError as exc:
            # Authenticated, but what it proved does not entitle it: 403, whatever the step.
            raise _refuse(exc, kind, status=403) from exc

    def catalog(self, authorization: str | None, body: JsonObject) -> JsonObject:
        caller = self.authenticate(authorization, "catalog")
        try:
            request = parse_catalog_request(body)
        except PasserelleError as exc:
            raise _refuse(exc, "catalog") from exc
        if request.filter:
            # "If the filter is not supported by the implementation, it MUST return 400."
            raise _refuse(
                dsp_error(Reason.DSP_MESSAGE_INVALID, "filters are not supported"), "catalog"
            )
        proof = self._proof_for_request(caller, "catalog")
        return catalog(
            id=f"{self.did}#catalog",
            participant_id=self.did,
            services=[data_service(id=self.service_id, endpoint_url=self.base)],
            datasets=[self._dataset_json(d) for d in self._visible(proof)],
        )

    def dataset(self, authorization: str | None, dataset_id: str) -> JsonObject:
        caller = self.authenticate(authorization, "catalog")
        item = self.profile.provider.datasets.get(dataset_id)
        proof = self._proof_for_request(caller, "catalog")
        # A dataset the consumer may not see is as unknown to it as one that does not exist.
        if item is None or not self.decide(item.id, proof).permitted:
            raise _refuse(
                dsp_error(Reason.DSP_DATASET_UNKNOWN, f"no dataset {dataset_id}"), "catalog"
            )
        return self._dataset_json(item)

    # --- contract negotiation ------------------------------------------------------------

    def _own_negotiation(self, caller: SelfIssuedToken, pid: str) -> Row:
        row = self.processes.get(self.processes.negotiations, pid)
        # DSP: "If the client is not authorized, ... MUST return 404": another party's
        # negotiation does not exist for this caller.
        if row is None or row.get("consumer") != caller.iss:
            raise _refuse(
                dsp_error(Reason.DSP_NEGOTIATION_UNKNOWN, f"no negotiation {pid}"),
                "negotiation",
                provider_pid=pid,
            )
        return row

    def request_negotiation(self, authorization: str | None, body: JsonObject) -> JsonObject:
        """``POST /negotiations/request``: REQUESTED, decided in :meth:`decide_negotiation`."""
        caller = self.authenticate(authorization, "negotiation")
        try:
            request = parse_contract_request(body)
        except PasserelleError as exc:
            raise _refuse(exc, "negotiation") from exc
        consumer_pid = request.consumer_pid
        if request.provider_pid is not None:
            raise _refuse(
                dsp_error(
                    Reason.DSP_MESSAGE_INVALID,
                    "an initial request has no providerPid; counter-offers go to "
                    "/negotiations/{providerPid}/request",
                ),
                "negotiation",
                consumer_pid=consumer_pid,
            )
        target = request.offer.target
        item = self.profile.provider.datasets.get(target or "")
        if item is None:
            raise _refuse(
                dsp_error(Reason.DSP_DATASET_UNKNOWN, f"no dataset {target!r}"),
                "negotiation",
                consumer_pid=consumer_pid,
            )
        if request.offer.id != item.offer_id:
            raise _refuse(
                dsp_error(
                    Reason.DSP_OFFER_UNKNOWN, f"{request.offer.id!r} is not an offer of {target}"
                ),
                "negotiation",
                consumer_pid=consumer_pid,
            )
        provider_pid = f"urn:uuid:{uuid.UUID(bytes=self._random.token_bytes(16), version=4)}"
        state = self.processes.next_state(
            self.processes.negotiations, None, request.kind, "consumer"
        )
        self.processes.create(
            self.processes.negotiations,
            provider_pid,
            {
                "providerPid": provider_pid,
                "consumerPid": consumer_pid,
                "state": state,
                "consumer": caller.iss,
                "callback": request.callback_address,
                "dataset": item.id,
                "offer": self.offers[item.id],
                # Kept only until the decision: the consumer's permission to read its
                # credentials, which the decision needs after we have answered.
                "access_token": caller.access_token,
            },
        )
        return contract_negotiation(
            provider_pid=provider_pid,
            consumer_pid=consumer_pid,
            state=NegotiationState(state),
        )

    def _callback(self, row: Row, path: str) -> str:
        return f"{str(row['callback']).rstrip('/')}/{path}"

    def _send(self, row: Row, path: str, message: JsonObject) -> None:
        """Send a message to the consumer's callback; a refusal or an unreachable
        consumer is a :class:`PasserelleError`."""
        url = self._callback(row, path)
        status, body = send_message(
            self._fetcher,
            self._tokens,
            sender=self.participant,
            audience=str(row["consumer"]),
            access_token=random_token(self._random, 16),  # the consumer has nothing to read
            url=url,
            message=message,
        )
        if status >= 300:
            raise peer_failure(url, status, body)

    def _terminate_negotiation(
        self, pid: str, error: PasserelleError, *, decision: JsonObject | None = None
    ) -> None:
        """Terminate on our side, then tell the consumer (best effort: it may be gone)."""
        row = self.processes.move(
            self.processes.negotiations,
            pid,
            "ContractNegotiationTerminationMessage",
            sender="provider",
            code=str(error.reason),
            reason=[error.detail],
            access_token=None,
            decision=decision,
        )
        message = negotiation_termination_message(
            provider_pid=pid,
            consumer_pid=str(row["consumerPid"]),
            code=str(error.reason),
            reason=[error.detail],
        )
        try:
            self._send(row, f"negotiations/{row['consumerPid']}/termination", message)
        except PasserelleError as exc:
            self.processes.note(
                self.processes.negotiations,
                pid,
                "termination not delivered",
                reason=str(exc.reason),
            )

    def decide_negotiation(self, pid: str) -> None:
        """After the 201: prove, decide, and send the agreement or the termination."""
        row = self.processes.get(self.processes.negotiations, pid)
        if row is None or row.get("state") != NegotiationState.REQUESTED.value:
            return
        dataset_id = str(row["dataset"])
        try:
            proof = self.prove(str(row["consumer"]), str(row["access_token"]))
            conformance = self.check_conformance(proof, self.profile.provider.datasets[dataset_id])
        except PasserelleError as exc:
            self._terminate_negotiation(pid, exc)
            return
        decision = self.decide(dataset_id, proof)
        trace: JsonObject = {"proof": proof.as_dict(), "policy": decision.as_dict()}
        if conformance is not None:
            trace["conformance"] = conformance
        if not decision.permitted:
            assert decision.reason is not None
            self._terminate_negotiation(
                pid,
                PasserelleError(
                    decision.reason, f"the offer's policy does not permit use of {dataset_id}"
                ),
                decision=trace,
            )
            return
        now = self._clock()
        agreement_id = f"urn:uuid:{uuid.UUID(bytes=self._random.token_bytes(16), version=4)}"
        message = contract_agreement_message(
            provider_pid=pid,
            consumer_pid=str(row["consumerPid"]),
            agreement_id=agreement_id,
            target=dataset_id,
            assigner=self.did,
            assignee=str(row["consumer"]),
            timestamp=now,
            offer=self.offers[dataset_id],
        )
        agreement = cast("JsonObject", message["agreement"])
        # Persisted before it is sent: the consumer's verification may come back before
        # our request returns.
        path = f"negotiations/{row['consumerPid']}/agreement"
        row = self.processes.move(
            self.processes.negotiations,
            pid,
            "ContractAgreementMessage",
            sender="provider",
            agreement=agreement,
            decision=trace,
            access_token=None,
            outbox={"path": path, "message": message},
        )
        self._store.put(
            "provider_agreements",
            agreement_id,
            {"providerPid": pid, "consumer": row["consumer"], "dataset": dataset_id},
        )
        try:
            self._send(row, path, message)
        except PasserelleError as exc:
            self._terminate_negotiation(pid, exc)
            return
        self.processes.update(self.processes.negotiations, pid, outbox=None)

    def get_negotiation(self, authorization: str | None, pid: str) -> JsonObject:
        caller = self.authenticate(authorization, "negotiation", provider_pid=pid)
        row = self._own_negotiation(caller, pid)
        return contract_negotiation(
            provider_pid=pid,
            consumer_pid=str(row["consumerPid"]),
            state=NegotiationState(str(row["state"])),
        )

    def _pids_match(
        self, pid: str, provider_pid: str, consumer_pid: str, kind: Kind
    ) -> Callable[[Row], None]:
        def check(row: Row) -> None:
            if provider_pid != pid or consumer_pid != row.get("consumerPid"):
                raise dsp_error(
                    Reason.DSP_MESSAGE_INVALID,
                    f"the message's process ids do not name {kind} {pid}",
                )

        return check

    def _consumer_message(
        self,
        authorization: str | None,
        pid: str,
        body: JsonObject,
        parse: Callable[[JsonValue], Any],
        *,
        transfer: bool = False,
    ) -> tuple[Row, Any]:
        """Authenticate, find the caller's own process and parse its message."""
        kind: Kind = "transfer" if transfer else "negotiation"
        caller = self.authenticate(authorization, kind, provider_pid=pid)
        row = self._own_transfer(caller, pid) if transfer else self._own_negotiation(caller, pid)
        try:
            message = parse(body)
        except PasserelleError as exc:
            raise _refuse(exc, kind, provider_pid=pid, consumer_pid=row.get("consumerPid")) from exc
        return row, message

    def _apply(
        self,
        collection: str,
        pid: str,
        row: Row,
        message: Any,
        kind: Kind,
        **changes: JsonValue,
    ) -> Row:
        try:
            return self.processes.move(
                collection,
                pid,
                message.kind,
                sender="consumer",
                check=self._pids_match(pid, message.provider_pid, message.consumer_pid, kind),
                **changes,
            )
        except PasserelleError as exc:
            raise _refuse(exc, kind, provider_pid=pid, consumer_pid=row.get("consumerPid")) from exc

    def verify_agreement(self, authorization: str | None, pid: str, body: JsonObject) -> Row:
        row, message = self._consumer_message(
            authorization, pid, body, parse_agreement_verification
        )
        return self._apply(self.processes.negotiations, pid, row, message, "negotiation")

    def finalize(self, pid: str) -> None:
        """After VERIFIED: FINALIZED on our side, then the event to the consumer."""
        row = self.processes.get(self.processes.negotiations, pid)
        if row is None or row.get("state") != NegotiationState.VERIFIED.value:
            return
        message = negotiation_event_message(
            provider_pid=pid,
            consumer_pid=str(row["consumerPid"]),
            event_type=NegotiationEventType.FINALIZED,
        )
        path = f"negotiations/{row['consumerPid']}/events"
        row = self.processes.move(
            self.processes.negotiations,
            pid,
            message_kind(message),
            sender="provider",
            outbox={"path": path, "message": message},
        )
        try:
            self._send(row, path, message)
        except PasserelleError as exc:
            self.processes.note(
                self.processes.negotiations, pid, "FINALIZED not delivered", reason=str(exc.reason)
            )
            return
        self.processes.update(self.processes.negotiations, pid, outbox=None)

    def redeliver(self, pid: str) -> None:
        """Send again the message a restart interrupted: it was recorded with the state
        it announces (an outbox), before it was sent. A consumer that already had it
        refuses the copy, which is as good as an acknowledgement; one that cannot be
        reached keeps it for the next restart."""
        row = self.processes.get(self.processes.negotiations, pid)
        outbox = row.get("outbox") if row is not None else None
        if row is None or not isinstance(outbox, dict):
            return
        message = outbox.get("message")
        if not isinstance(message, dict):
            return
        try:
            self._send(row, str(outbox.get("path")), message)
        except PasserelleError as exc:
            self.processes.note(
                self.processes.negotiations, pid, "redelivery refused", reason=str(exc.reason)
            )
            if str(exc.reason).startswith("dsp."):
                self.processes.update(self.processes.negotiations, pid, outbox=None)
            return
        self.processes.update(self.processes.negotiations, pid, outbox=None)

    def consumer_terminates_negotiation(
        self, authorization: str | None, pid: str, body: JsonObject
    ) -> Row:
        row, message = self._consumer_message(
            authorization, pid, body, parse_negotiation_termination
        )
        return self._apply(
            self.processes.negotiations,
            pid,
            row,
            message,
            "negotiation",
            code=message.code,
            reason=list(message.reason),
            access_token=None,
        )

    def consumer_counter_request(
        self, authorization: str | None, pid: str, body: JsonObject
    ) -> Row:
        """A counter-offer: off the short path, so the table refuses it (400)."""
        row, message = self._consumer_message(authorization, pid, body, parse_contract_request)
        return self._apply(self.processes.negotiations, pid, row, message, "negotiation")

    def consumer_event(self, authorization: str | None, pid: str, body: JsonObject) -> Row:
        """The consumer's ACCEPTED event answers a provider offer we never make (400)."""
        row, message = self._consumer_message(authorization, pid, body, parse_negotiation_event)
        return self._apply(self.processes.negotiations, pid, row, message, "negotiation")

    # --- transfer process ----------------------------------------------------------------

    def _own_transfer(self, caller: SelfIssuedToken, pid: str) -> Row:
        row = self.processes.get(self.processes.transfers, pid)
        if row is None or row.get("consumer") != caller.iss:
            raise _refuse(
                dsp_error(Reason.DSP_TRANSFER_UNKNOWN, f"no transfer {pid}"),
                "transfer",
                provider_pid=pid,
            )
        return row

    def request_transfer(self, authorization: str | None, body: JsonObject) -> JsonObject:
        """``POST /transfers/request``: REQUESTED, started in :meth:`start_transfer`."""
        caller = self.authenticate(authorization, "transfer")
        try:
            request = parse_transfer_request(body)
        except PasserelleError as exc:
            raise _refuse(exc, "transfer") from exc
        consumer_pid = request.consumer_pid
        if request.format != HTTP_PULL_FORMAT:
            raise _refuse(
                dsp_error(
                    Reason.DSP_MESSAGE_INVALID,
                    f"format {request.format!r} is not offered; only {HTTP_PULL_FORMAT}",
                ),
                "transfer",
                consumer_pid=consumer_pid,
            )
        agreement = self._store.get("provider_agreements", request.agreement_id, now=self._clock())
        negotiation = (
            self.processes.get(self.processes.negotiations, str(agreement.get("providerPid")))
            if isinstance(agreement, dict)
            else None
        )
        if (
            not isinstance(agreement, dict)
            or agreement.get("consumer") != caller.iss
            or negotiation is None
            or negotiation.get("state") != NegotiationState.FINALIZED.value
        ):
            raise _refuse(
                dsp_error(
                    Reason.DSP_AGREEMENT_UNKNOWN,
                    f"no finalized agreement {request.agreement_id} with {caller.iss}",
                ),
                "transfer",
                consumer_pid=consumer_pid,
            )
        provider_pid = f"urn:uuid:{uuid.UUID(bytes=self._random.token_bytes(16), version=4)}"
        state = self.processes.next_state(self.processes.transfers, None, request.kind, "consumer")
        self.processes.create(
            self.processes.transfers,
            provider_pid,
            {
                "providerPid": provider_pid,
                "consumerPid": consumer_pid,
                "state": state,
                "consumer": caller.iss,
                "callback": request.callback_address,
                "agreementId": request.agreement_id,
                "dataset": agreement["dataset"],
                "access_token": caller.access_token,
            },
        )
        return transfer_process(
            provider_pid=provider_pid, consumer_pid=consumer_pid, state=TransferState(state)
        )

    def _revoke_data_token(self, row: Row) -> None:
        if self._behaviour.revoke_data_token_on_completion and row.get("token_key"):
            self._store.delete("data_tokens", str(row["token_key"]))

    def _terminate_transfer(self, pid: str, error: PasserelleError) -> None:
        row = self.processes.move(
            self.processes.transfers,
            pid,
            "TransferTerminationMessage",
            sender="provider",
            code=str(error.reason),
            reason=[error.detail],
            access_token=None,
        )
        self._revoke_data_token(row)
        message = transfer_termination_message(
            provider_pid=pid,
            consumer_pid=str(row["consumerPid"]),
            code=str(error.reason),
            reason=[error.detail],
        )
        try:
            self._send(row, f"transfers/{row['consumerPid']}/termination", message)
        except PasserelleError as exc:
            self.processes.note(
                self.processes.transfers, pid, "termination not delivered", reason=str(exc.reason)
            )

    def start_transfer(self, pid: str) -> None:
        """After the 201: the consumer must still prove what the agreement asks (a
        credential may have been revoked since); then a short-lived data token."""
        row = self.processes.get(self.processes.transfers, pid)
        if row is None or row.get("state") != TransferState.REQUESTED.value:
            return
        agreement_policy = None
        negotiation_id = self._store.get(
            "provider_agreements", str(row["agreementId"]), now=self._clock()
        )
        if isinstance(negotiation_id, dict):
            negotiation = self.processes.get(
                self.processes.negotiations, str(negotiation_id.get("providerPid"))
            )
            if negotiation is not None and isinstance(negotiation.get("agreement"), dict):
                agreement_policy = parse_policy(cast("JsonObject", negotiation["agreement"]))
        try:
            proof = self.prove(str(row["consumer"]), str(row["access_token"]))
            decision = self.decide(str(row["dataset"]), proof, policy=agreement_policy)
            if not decision.permitted:
                assert decision.reason is not None
                raise PasserelleError(decision.reason, "the agreement's policy no longer holds")
        except PasserelleError as exc:
            self._terminate_transfer(pid, exc)
            return
        now = self._clock()
        token = random_token(self._random)
        key = token_key(token)
        self._store.put(
            "data_tokens",
            key,
            {"providerPid": pid, "dataset": row["dataset"]},
            expires_at=now + self._behaviour.data_token_lifetime,
        )
        address = data_address(
            endpoint=f"{self.root}/data/{pid}",
            properties={"authorization": token, "authType": "bearer"},
        )
        message = transfer_start_message(
            provider_pid=pid, consumer_pid=str(row["consumerPid"]), data_address=address
        )
        row = self.processes.move(
            self.processes.transfers,
            pid,
            "TransferStartMessage",
            sender="provider",
            token_key=key,
            token_expires_at=(now + self._behaviour.data_token_lifetime).isoformat(),
            access_token=None,
        )
        try:
            self._send(row, f"transfers/{row['consumerPid']}/start", message)
        except PasserelleError as exc:
            self._terminate_transfer(pid, exc)

    def get_transfer(self, authorization: str | None, pid: str) -> JsonObject:
        caller = self.authenticate(authorization, "transfer", provider_pid=pid)
        row = self._own_transfer(caller, pid)
        return transfer_process(
            provider_pid=pid,
            consumer_pid=str(row["consumerPid"]),
            state=TransferState(str(row["state"])),
        )

    def consumer_completes(self, authorization: str | None, pid: str, body: JsonObject) -> Row:
        row, message = self._consumer_message(
            authorization, pid, body, parse_transfer_completion, transfer=True
        )
        moved = self._apply(self.processes.transfers, pid, row, message, "transfer")
        self._revoke_data_token(moved)
        return moved

    def consumer_terminates_transfer(
        self, authorization: str | None, pid: str, body: JsonObject
    ) -> Row:
        row, message = self._consumer_message(
            authorization, pid, body, parse_transfer_termination, transfer=True
        )
        moved = self._apply(
            self.processes.transfers,
            pid,
            row,
            message,
            "transfer",
            code=message.code,
            reason=list(message.reason),
            access_token=None,
        )
        self._revoke_data_token(moved)
        return moved

    def consumer_starts(self, authorization: str | None, pid: str, body: JsonObject) -> Row:
        """Only a suspended transfer may be (re)started by the consumer: never here (400)."""
        row, message = self._consumer_message(
            authorization, pid, body, parse_transfer_start, transfer=True
        )
        return self._apply(self.processes.transfers, pid, row, message, "transfer")

    def consumer_suspends(self, authorization: str | None, pid: str, body: JsonObject) -> Row:
        """Suspension is off the short path (400)."""
        row, message = self._consumer_message(
            authorization, pid, body, parse_transfer_suspension, transfer=True
        )
        return self._apply(self.processes.transfers, pid, row, message, "transfer")

    # --- the operator's own moves (the conformance suite drives the TCK cases with them) --

    def operator_terminates_negotiation(self, pid: str, *, code: str, reason: str) -> Row:
        """The provider ends a negotiation of its own will (DSP: "MAY be sent at any
        state"), e.g. for TCK CN:02-07."""
        if self.processes.get(self.processes.negotiations, pid) is None:
            raise dsp_error(Reason.DSP_NEGOTIATION_UNKNOWN, f"no negotiation {pid}")
        self._terminate_negotiation(pid, _operator_error(code, reason))
        return self._row(self.processes.negotiations, pid)

    def operator_completes_transfer(self, pid: str) -> Row:
        """The provider completes a started transfer (TCK TP:01-02) and tells the consumer."""
        if self.processes.get(self.processes.transfers, pid) is None:
            raise dsp_error(Reason.DSP_TRANSFER_UNKNOWN, f"no transfer {pid}")
        row = self.processes.move(
            self.processes.transfers, pid, "TransferCompletionMessage", sender="provider"
        )
        self._revoke_data_token(row)
        message = transfer_completion_message(
            provider_pid=pid, consumer_pid=str(row["consumerPid"])
        )
        try:
            self._send(row, f"transfers/{row['consumerPid']}/completion", message)
        except PasserelleError as exc:
            self.processes.note(
                self.processes.transfers, pid, "completion not delivered", reason=str(exc.reason)
            )
        return self._row(self.processes.transfers, pid)

    def operator_terminates_transfer(self, pid: str, *, code: str, reason: str) -> Row:
        """The provider terminates a transfer (TCK TP:01-01, TP:01-05)."""
        if self.processes.get(self.processes.transfers, pid) is None:
            raise dsp_error(Reason.DSP_TRANSFER_UNKNOWN, f"no transfer {pid}")
        self._terminate_transfer(pid, _operator_error(code, reason))
        return self._row(self.processes.transfers, pid)

    def _row(self, collection: str, pid: str) -> Row:
        row = self.processes.get(collection, pid)
        assert row is not None
        return row

    # --- the data endpoint ---------------------------------------------------------------

    def data(self, authorization: str | None, pid: str) -> JsonObject:
        """The dataset, to the bearer of the live data token of transfer ``pid``."""
        scheme, _, token = (authorization or "").partition(" ")
        row = (
            self._store.get("data_tokens", token_key(token.strip()), now=self._clock())
            if scheme.lower() == "bearer" and token.strip()
            else None
        )
        if not isinstance(row, dict) or row.get("providerPid") != pid:
            raise _refuse(
                dsp_error(
                    Reason.DSP_DATA_TOKEN_INVALID,
                    "the data token is missing, unknown, expired or revoked",
                ),
                "transfer",
                provider_pid=pid,
            )
        item = self.profile.provider.datasets[str(row["dataset"])]
        return parse_json_object(item.data_file.read_bytes(), what=item.data_file.name)


def _operator_error(code: str, reason: str) -> PasserelleError:
    """What the operator gives as the termination's ``code`` and ``reason``."""
    try:
        known = Reason(code)
    except ValueError:
        known = Reason.DSP_POLICY_DENIED
    return PasserelleError(known, reason or f"terminated by the provider ({code})")


def _service_endpoint(document: JsonObject, service_type: str) -> str | None:
    services = document.get("service")
    for service in services if isinstance(services, list) else []:
        if isinstance(service, dict) and service.get("type") == service_type:
            endpoint = service.get("serviceEndpoint")
            return endpoint if isinstance(endpoint, str) else None
    return None


def _host_of(identifier: str) -> str | None:
    """``host[:port]`` of a URL or a ``did:web``; None for anything else."""
    if identifier.startswith("did:web:"):
        return unquote(identifier.removeprefix("did:web:").split(":", 1)[0]).lower()
    parts = urlsplit(identifier)
    return parts.netloc.lower() if parts.scheme in ("http", "https") and parts.netloc else None


def same_deployment(subject: str, did: str) -> bool:
    """Whether an attestation about ``subject`` (a connector's URL or DID) covers the
    participant ``did``: the same identifier, or a did:web the same host serves (a
    connector hosts its provider and its SME side by side)."""
    if subject == did:
        return True
    host = _host_of(did)
    return host is not None and host == _host_of(subject)


def message_kind(message: Mapping[str, JsonValue]) -> str:
    """The state-table key of a message we built (``@type``, with the event type)."""
    kind = str(message["@type"])
    if kind == "ContractNegotiationEventMessage":
        return f"{kind}:{message['eventType']}"
    return kind
