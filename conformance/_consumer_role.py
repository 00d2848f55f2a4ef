"""The suite as a data-space consumer (DSP 2025-1 + DCP 1.0) against a provider connector.

A :class:`SuiteConsumer` is a participant of its own: a small HTTP server the suite runs
in a thread, on a free loopback port, for the length of one conformance run. It serves

- its DID document at ``/.well-known/did.json`` — the consumer is
  ``did:web:localhost%3A<port>`` (a port only as ``%3A``; DCP's ``did:web`` rules allow a
  loopback host over plain ``http`` on the development stack, and over ``https`` with
  the development TLS certificate when the stack runs with ``--tls``), with one P-256 key
  listed under ``authentication`` (presentations) and ``capabilityInvocation``
  (Self-Issued ID Tokens), and one ``CredentialService`` entry;
- its Credential Service, ``POST /cs/presentations/query`` (DCP 1.0 Resolution API):
  what it answers is chosen per access token by the check that granted it
  (:class:`Answer`) — the honest presentation, or one wrong in exactly one way (no
  presentation, a credential missing, someone else's credential, ...), optionally held
  back (``gate``) so that the provider stays in REQUESTED while the check speaks;
- its DSP callback address, ``/callback/negotiations/<consumerPid>/<message>`` and
  ``/callback/transfers/<consumerPid>/<message>``: every message the provider sends is
  recorded (:class:`Callback`) and acknowledged with 200.

It mints its own Self-Issued ID Tokens (:meth:`SuiteConsumer.token`), honest or with one
:class:`TokenDeviation`. This module is the one place where the suite breaks the DCP
rules on purpose; it uses the pure core only, never the connector's code.

For the TCK cases where the connector is the consumer, the same server also plays a
provider, ``did:web:localhost%3A<port>:provider`` (document at ``/provider/did.json``,
with a ``DataService`` entry naming ``/.well-known/dspace-version``): its DSP endpoints
under ``/dsp`` acknowledge whatever the connector's consumer sends (201 with a fresh
``providerPid`` for a request, 200 for the rest) and record it (:class:`Inbound`); the
check then speaks to the consumer's callback address itself, as the provider, with
:meth:`SuiteConsumer.provider_token`. Its data endpoint ``/data/<providerPid>`` can be
held (:meth:`SuiteConsumer.hold_data`) so that a pull transfer stays STARTED.

Reachability: the provider must reach this server. The local stack does, on loopback. A
partner's connector on another machine needs it reachable under a DNS name: set
``suite_consumer_host`` (the advertised name, in the DID) and ``suite_consumer_bind`` (the
listening address) on the connector target, and route or tunnel that name to the suite.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import JsonObject, JsonValue, PasserelleError
from passerelle.dcp import (
    CREDENTIAL_SERVICE_TYPE,
    DCP_CONTEXT,
    PRESENTATION_RESPONSE_MESSAGE,
    create_dcp_presentation,
    parse_presentation_query,
)
from passerelle.dsp import (
    NegotiationState,
    TransferState,
    contract_negotiation,
    transfer_process,
    version_metadata,
)
from passerelle.jose import KeySigner, decode_unverified_jws, epoch, public_jwk, sign_jws

from ._serving import ServedRole, SuiteHandler

__all__ = [
    "SAMPLE_DATA",
    "Answer",
    "Callback",
    "Inbound",
    "Query",
    "SuiteConsumer",
    "TokenDeviation",
]

_DID_CONTEXT: list[JsonValue] = [
    "https://www.w3.org/ns/did/v1",
    "https://w3id.org/dspace-dcp/v1.0/dcp.jsonld",
]
TOKEN_LIFETIME = timedelta(minutes=2)
PRESENTATION_LIFETIME = timedelta(minutes=5)
DSP_PATH = "/dsp"
SAMPLE_DATA: JsonObject = {"rows": [{"supplier": "Passerelle conformance suite"}]}
"""What the suite's provider serves at its data endpoint."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Answer:
    """What the suite's Credential Service answers to a query made with one access token."""

    credentials: tuple[str, ...] = ()
    """The ``vc+jwt`` credentials of the presentation."""
    presentation: bool = True
    """False: a ``PresentationResponseMessage`` with an empty ``presentation`` array."""
    refuse: bool = False
    """Answer 401, as a Credential Service does to a token it does not honour."""
    gate: threading.Event | None = None
    """Hold the answer until the event is set (at most ``hold_seconds``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TokenDeviation:
    """One way a Self-Issued ID Token departs from an honest one; the default is honest."""

    omit: frozenset[str] = frozenset()
    """Claims left out (``token``, say)."""
    sub: str | None = None
    """Another ``sub`` than the consumer's DID (``iss`` stays the consumer's)."""
    issued_ago: timedelta = timedelta(0)
    lifetime: timedelta = TOKEN_LIFETIME
    not_before_in: timedelta | None = None
    """``nbf`` this far ahead of ``iat``."""
    foreign_key: bool = False
    """Signed by a key the consumer's DID document does not list (same ``kid``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Query:
    """One ``POST /presentations/query`` as received."""

    access_token: str | None
    caller: str | None
    """The ``iss`` of the caller's Self-Issued ID Token (read without verification)."""
    audience: JsonValue
    scopes: tuple[str, ...]
    problem: str | None
    status: int

    def summary(self) -> dict[str, Any]:
        return {
            "caller": self.caller,
            "aud": self.audience,
            "scopes": list(self.scopes),
            "problem": self.problem,
            "status": self.status,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Callback:
    """One DSP message the provider sent to the consumer's callback address."""

    process: str
    """``negotiations`` or ``transfers``."""
    consumer_pid: str
    message: str
    """The last path segment: ``agreement``, ``events``, ``termination``, ``start``, ..."""
    body: JsonValue
    authorized: bool
    """It carried ``Authorization: Bearer`` with a JWT."""

    @property
    def type(self) -> str | None:
        value = self.body.get("@type") if isinstance(self.body, dict) else None
        return value if isinstance(value, str) else None

    def summary(self) -> dict[str, Any]:
        body = self.body if isinstance(self.body, dict) else {}
        return {
            "path": f"{self.process}/{self.consumer_pid}/{self.message}",
            "@type": body.get("@type"),
            "eventType": body.get("eventType"),
            "code": body.get("code"),
            "authorized": self.authorized,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Inbound:
    """One DSP message the connector's consumer sent to the suite's provider."""

    process: str
    """``negotiations`` or ``transfers``."""
    provider_pid: str
    message: str
    """``request`` (the initial one), or the last path segment: ``verification``,
    ``termination``, ``completion``, ``suspension``, ``start``, ``events``."""
    body: JsonValue
    caller: str | None
    """The ``iss`` of the consumer's Self-Issued ID Token (read without verification)."""

    @property
    def consumer_pid(self) -> str | None:
        value = self.body.get("consumerPid") if isinstance(self.body, dict) else None
        return value if isinstance(value, str) else None

    def summary(self) -> dict[str, Any]:
        body = self.body if isinstance(self.body, dict) else {}
        return {
            "path": f"{self.process}/{self.provider_pid}/{self.message}",
            "@type": body.get("@type"),
            "consumerPid": body.get("consumerPid"),
            "providerPid": body.get("providerPid"),
            "code": body.get("code"),
            "caller": self.caller,
        }


@dataclass(slots=True)
class _Grant:
    answer: Answer
    queries: list[Query] = field(default_factory=list)


class _Handler(SuiteHandler["SuiteConsumer"]):
    timeout = 10.0

    def do_GET(self) -> None:
        owner = self.server.owner
        path = urlsplit(self.path).path
        if path == "/.well-known/did.json":
            self.send_json(200, owner.document, "application/did+json")
        elif path == "/provider/did.json":
            self.send_json(200, owner.provider_document, "application/did+json")
        elif path == "/.well-known/dspace-version":
            self.send_json(200, version_metadata(DSP_PATH, service_id=f"{owner.provider_did}#dsp"))
        elif path.startswith("/data/"):
            owner.serve_data(path.removeprefix("/data/"))
            self.send_json(200, SAMPLE_DATA)
        else:
            self.send_json(404, {"error": "not_found"})

    def do_POST(self) -> None:
        owner = self.server.owner
        body = self.read_body()
        parts = urlsplit(self.path).path.strip("/").split("/")
        authorization = self.headers.get("Authorization")
        if parts == ["cs", "presentations", "query"]:
            status, answer = owner.answer_query(authorization, body)
            headers = "application/json"
            self.send_json(status, answer, headers)
            return
        if len(parts) == 4 and parts[0] == "callback" and parts[1] in ("negotiations", "transfers"):
            try:
                parsed: JsonValue = json.loads(body) if body else None
            except ValueError:
                parsed = None
            scheme, _, token = (authorization or "").partition(" ")
            owner.record_callback(
                Callback(
                    process=parts[1],
                    consumer_pid=parts[2],
                    message=parts[3],
                    body=parsed,
                    authorized=scheme.lower() == "bearer" and token.count(".") == 2,
                )
            )
            self.send_json(200, {})
            return
        if len(parts) >= 3 and "/" + parts[0] == DSP_PATH:
            status, answer = owner.as_provider(parts[1], parts[2:], body, authorization)
            self.send_json(status, answer)
            return
        self.send_json(404, {"error": "not_found"})


class SuiteConsumer(ServedRole):
    """The suite's consumer, listening from :meth:`start` to :meth:`close`."""

    handler = _Handler
    thread_name = "conformance-suite-consumer"

    def __init__(
        self,
        *,
        host: str = "localhost",
        bind: str = "127.0.0.1",
        tls: tuple[Path, Path] | None = None,
        hold_seconds: float = 3.0,
    ) -> None:
        super().__init__(host=host, bind=bind, tls=tls)
        self._hold = hold_seconds
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.signer = KeySigner(self._key)
        self._provider_key = ec.generate_private_key(ec.SECP256R1())
        self.provider_signer = KeySigner(self._provider_key)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._grants: dict[str, _Grant] = {}
        self._callbacks: dict[str, list[Callback]] = {}
        self._inbound: list[Inbound] = []
        self._processes: set[str] = set()
        self._data_gates: dict[str, threading.Event] = {}
        self.document: JsonObject = {}
        self.provider_document: JsonObject = {}

    # --- lifetime ------------------------------------------------------------------------

    def _ready(self) -> None:
        self.document = self._make_document(
            self.did, self._key, CREDENTIAL_SERVICE_TYPE, f"{self.url}/cs"
        )
        self.provider_document = self._make_document(
            self.provider_did,
            self._provider_key,
            "DataService",
            f"{self.url}/.well-known/dspace-version",
        )

    def close(self) -> None:
        with self._changed:
            # Nothing may stay held once the suite is gone.
            for grant in self._grants.values():
                if grant.answer.gate is not None:
                    grant.answer.gate.set()
            for gate in self._data_gates.values():
                gate.set()
        super().close()

    # --- identity ------------------------------------------------------------------------

    @property
    def url(self) -> str:
        return self.server.url(self.host)

    @property
    def did(self) -> str:
        return f"did:web:{self.host}%3A{self.port}"

    @property
    def kid(self) -> str:
        return f"{self.did}#key-1"

    @property
    def callback_address(self) -> str:
        return f"{self.url}/callback"

    @property
    def provider_did(self) -> str:
        return f"{self.did}:provider"

    @property
    def provider_kid(self) -> str:
        return f"{self.provider_did}#key-1"

    @staticmethod
    def _make_document(
        did: str, key: ec.EllipticCurvePrivateKey, service: str, endpoint: str
    ) -> JsonObject:
        method = f"{did}#key-1"
        return {
            "@context": list(_DID_CONTEXT),
            "id": did,
            "verificationMethod": [
                {
                    "id": method,
                    "type": "JsonWebKey2020",
                    "controller": did,
                    "publicKeyJwk": public_jwk(key),
                }
            ],
            "authentication": [method],
            "capabilityInvocation": [method],
            "service": [
                {
                    "id": f"{did}#{service[0].lower()}{service[1:]}",
                    "type": service,
                    "serviceEndpoint": endpoint,
                }
            ],
        }

    # --- tokens --------------------------------------------------------------------------

    def grant(self, answer: Answer) -> str:
        """A fresh access token; a query made with it is answered with ``answer``."""
        token = secrets.token_urlsafe(24)
        with self._lock:
            self._grants[token] = _Grant(answer=answer)
        return token

    def token(
        self,
        *,
        audience: str,
        access_token: str | None,
        now: datetime,
        deviation: TokenDeviation | None = None,
    ) -> str:
        """A Self-Issued ID Token of the consumer for ``audience`` (the verifier's DID)
        carrying ``access_token`` in ``token``; honest unless ``deviation`` says otherwise."""
        d = deviation or TokenDeviation()
        issued = now - d.issued_ago
        claims: JsonObject = {
            "iss": self.did,
            "sub": d.sub or self.did,
            "aud": audience,
            "jti": secrets.token_urlsafe(16),
            "iat": epoch(issued),
            "exp": epoch(issued + d.lifetime),
        }
        if d.not_before_in is not None:
            claims["nbf"] = epoch(issued + d.not_before_in)
        if access_token is not None:
            claims["token"] = access_token
        for name in d.omit:
            claims.pop(name, None)
        signer = (
            KeySigner(ec.generate_private_key(ec.SECP256R1())) if d.foreign_key else self.signer
        )
        return sign_jws({"typ": "JWT", "kid": self.kid}, claims, signer)

    def presentation(self, credentials: Sequence[str], *, audience: str, now: datetime) -> str:
        """A ``vp+jwt`` of ``credentials``, signed with the consumer's key."""
        return create_dcp_presentation(
            list(credentials),
            holder_did=self.did,
            signer=self.signer,
            kid=self.kid,
            audience=audience,
            now=now,
            lifetime=PRESENTATION_LIFETIME,
        )

    # --- the Credential Service ------------------------------------------------------------

    def answer_query(self, authorization: str | None, body: bytes) -> tuple[int, JsonValue]:
        scheme, _, token = (authorization or "").partition(" ")
        claims: JsonObject = {}
        problem: str | None = None
        if scheme.lower() != "bearer" or not token:
            problem = "no Bearer Self-Issued ID Token"
        else:
            with contextlib.suppress(PasserelleError):
                claims = decode_unverified_jws(token.strip()).payload_json()
            if not claims:
                problem = "the Bearer token is not a JWT"
        access = claims.get("token")
        access_token = access if isinstance(access, str) else None
        scopes: tuple[str, ...] = ()
        try:
            scopes = tuple(parse_presentation_query(body))
        except PasserelleError as exc:
            problem = problem or f"query: {exc.detail}"
        caller = claims.get("iss")
        if claims and not isinstance(caller, str):
            problem = problem or "the caller's token names no iss"
        with self._lock:
            grant = self._grants.get(access_token or "")
        answer = grant.answer if grant is not None else None
        if grant is None:
            problem = problem or "the access token was never granted by the suite"
        if answer is not None and answer.gate is not None:
            answer.gate.wait(self._hold)
        status, response = 200, self._response(answer, caller, problem)
        if answer is None or answer.refuse or problem is not None:
            status = 400 if problem is not None and problem.startswith("query:") else 401
            response = {"error": "invalid_token", "error_description": problem or "refused"}
        record = Query(
            access_token=access_token,
            caller=caller if isinstance(caller, str) else None,
            audience=claims.get("aud"),
            scopes=scopes,
            problem=problem,
            status=status,
        )
        with self._changed:
            if grant is not None:
                grant.queries.append(record)
            self._changed.notify_all()
        return status, response

    def _response(self, answer: Answer | None, caller: JsonValue, problem: str | None) -> JsonValue:
        if answer is None or problem is not None or answer.refuse:
            return None
        presentations: list[JsonValue] = []
        if answer.presentation:
            audience = caller if isinstance(caller, str) else ""
            presentations.append(
                self.presentation(answer.credentials, audience=audience, now=datetime.now(UTC))
            )
        return {
            "@context": [DCP_CONTEXT],
            "type": PRESENTATION_RESPONSE_MESSAGE,
            "presentation": presentations,
        }

    def queries(self, access_token: str) -> list[Query]:
        with self._lock:
            grant = self._grants.get(access_token)
            return list(grant.queries) if grant is not None else []

    # --- the callback address ------------------------------------------------------------

    def record_callback(self, callback: Callback) -> None:
        with self._changed:
            self._callbacks.setdefault(callback.consumer_pid, []).append(callback)
            self._changed.notify_all()

    def callbacks(self, consumer_pid: str) -> list[Callback]:
        with self._lock:
            return list(self._callbacks.get(consumer_pid, ()))

    def wait_for(
        self, consumer_pid: str, messages: Sequence[str], *, timeout: float
    ) -> Callback | None:
        """The first callback for ``consumer_pid`` whose path segment is one of
        ``messages``, waiting up to ``timeout`` for it."""
        wanted = set(messages)
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for callback in self._callbacks.get(consumer_pid, ()):
                    if callback.message in wanted:
                        return callback
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)

    # --- the provider facet (consumer-side TCK cases) --------------------------------------

    def provider_token(self, *, audience: str, now: datetime) -> str:
        """An honest Self-Issued ID Token of the suite's provider for ``audience`` (the
        consumer's DID), with an access token the consumer has no use for."""
        issued = epoch(now)
        claims: JsonObject = {
            "iss": self.provider_did,
            "sub": self.provider_did,
            "aud": audience,
            "jti": secrets.token_urlsafe(16),
            "iat": issued,
            "exp": issued + int(TOKEN_LIFETIME.total_seconds()),
            "token": secrets.token_urlsafe(16),
        }
        return sign_jws({"typ": "JWT", "kid": self.provider_kid}, claims, self.provider_signer)

    def as_provider(
        self, process: str, rest: Sequence[str], body: bytes, authorization: str | None
    ) -> tuple[int, JsonValue]:
        """Acknowledge a DSP message of the connector's consumer, and record it."""
        if process not in ("negotiations", "transfers"):
            return 404, {"error": "not_found"}
        try:
            parsed: JsonValue = json.loads(body) if body else None
        except ValueError:
            return 400, {"error": "not JSON"}
        caller: str | None = None
        scheme, _, token = (authorization or "").partition(" ")
        if scheme.lower() == "bearer":
            with contextlib.suppress(PasserelleError):
                iss = decode_unverified_jws(token.strip()).payload_json().get("iss")
                caller = iss if isinstance(iss, str) else None
        consumer_pid = parsed.get("consumerPid") if isinstance(parsed, dict) else None
        answer: JsonValue = {}
        status = 200
        if list(rest) == ["request"]:
            if not isinstance(consumer_pid, str):
                return 400, {"error": "no consumerPid"}
            provider_pid = f"urn:uuid:{uuid.uuid4()}"
            status = 201
            if process == "negotiations":
                answer = contract_negotiation(
                    provider_pid=provider_pid,
                    consumer_pid=consumer_pid,
                    state=NegotiationState.REQUESTED,
                )
            else:
                answer = transfer_process(
                    provider_pid=provider_pid,
                    consumer_pid=consumer_pid,
                    state=TransferState.REQUESTED,
                )
            message = "request"
        else:
            provider_pid, message = rest[0], rest[-1]
            with self._lock:
                if provider_pid not in self._processes:
                    return 404, {"error": "not_found"}
        with self._changed:
            self._processes.add(provider_pid)
            self._inbound.append(
                Inbound(
                    process=process,
                    provider_pid=provider_pid,
                    message=message,
                    body=parsed,
                    caller=caller,
                )
            )
            self._changed.notify_all()
        return status, answer

    def wait_inbound(
        self,
        process: str,
        message: str,
        *,
        timeout: float,
        consumer_pid: str | None = None,
        provider_pid: str | None = None,
    ) -> Inbound | None:
        """The first message of the connector's consumer matching all that is given."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for inbound in self._inbound:
                    if (
                        inbound.process == process
                        and inbound.message == message
                        and consumer_pid in (None, inbound.consumer_pid)
                        and provider_pid in (None, inbound.provider_pid)
                    ):
                        return inbound
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self._changed.wait(left)

    def inbound(self, provider_pid: str) -> list[Inbound]:
        with self._lock:
            return [i for i in self._inbound if i.provider_pid == provider_pid]

    def hold_data(self, provider_pid: str) -> threading.Event:
        """Hold every pull of ``provider_pid``'s data until the event is set (at most
        ``hold_seconds``): the transfer stays STARTED meanwhile."""
        gate = threading.Event()
        with self._lock:
            self._data_gates[provider_pid] = gate
        return gate

    def serve_data(self, provider_pid: str) -> None:
        with self._lock:
            gate = self._data_gates.get(provider_pid)
        if gate is not None:
            gate.wait(self._hold)
