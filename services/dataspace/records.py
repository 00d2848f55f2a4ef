"""What both connector roles share: negotiation and transfer rows moved through the
core's state tables atomically, the error bodies of the DSP HTTPS bindings, and
sending a DSP message to a peer with our Self-Issued ID Token.

A row is a JSON object in the store; a transition is one :meth:`Store.update`, so two
messages racing for the same process cannot both move it, and a restart loses nothing
that was acknowledged.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any, Literal, cast

from fastapi.responses import JSONResponse

from passerelle import Fault, JsonObject, JsonValue, PasserelleError, Reason
from passerelle._json import parse_json_object
from passerelle.dsp import (
    NegotiationState,
    Role,
    TransferState,
    catalog_error,
    http_status,
    negotiation_error,
    next_negotiation_state,
    next_transfer_state,
    transfer_error,
)
from passerelle.services.fetch import Fetcher
from passerelle.services.storage import Store
from passerelle.services.web import NO_STORE, bounded

from .identity import Participant, Tokens
from .quirks import ConnectorBehaviour, forced_negotiation_state, forced_transfer_state

__all__ = [
    "DspRefusal",
    "Kind",
    "Processes",
    "Row",
    "dsp_response",
    "peer_failure",
    "read_json",
    "send_message",
]

Row = dict[str, Any]
Kind = Literal["catalog", "negotiation", "transfer"]


class DspRefusal(Exception):
    """A DSP request refused: the error body's type and process ids, and its status
    (by default from the reason's family, see :func:`dsp_response`)."""

    def __init__(
        self,
        error: PasserelleError,
        *,
        kind: Kind,
        status: int | None = None,
        provider_pid: str | None = None,
        consumer_pid: str | None = None,
    ) -> None:
        super().__init__(str(error))
        self.error = error
        self.kind: Kind = kind
        self.status = status
        self.provider_pid = provider_pid
        self.consumer_pid = consumer_pid


def _status_for(error: PasserelleError) -> int:
    if error.fault is Fault.DEPENDENCY:
        return 503  # the trust service or a status list is down: ours, not the peer's
    family = str(error.reason).split(".", 1)[0]
    if family in ("dsp", "input"):
        return http_status(error)
    if family in ("dcp", "did"):
        return 401  # the Self-Issued ID Token (or what it leads to) did not hold
    if error.fault is Fault.LOCAL:
        return 500
    return 403  # credentials, trust, status, policy: authenticated but not entitled


def dsp_response(refusal: DspRefusal) -> JSONResponse:
    """The binding's error response: ``CatalogError``, ``ContractNegotiationError`` or
    ``TransferError`` with ``code`` = our reason code and ``reason`` = the sentence."""
    error = refusal.error
    status = refusal.status or _status_for(error)
    code, reason = str(error.reason), [bounded(error.detail)]
    if refusal.kind == "catalog":
        body = catalog_error(code=code, reason=reason)
    elif refusal.kind == "negotiation":
        body = negotiation_error(
            provider_pid=refusal.provider_pid,
            consumer_pid=refusal.consumer_pid,
            code=code,
            reason=reason,
        )
    else:
        body = transfer_error(
            provider_pid=refusal.provider_pid,
            consumer_pid=refusal.consumer_pid,
            code=code,
            reason=reason,
        )
    headers = dict(NO_STORE)
    if status == 401:
        # RFC 6750 §3: a bearer-token challenge on every 401.
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"'
    return JSONResponse(body, status_code=status, headers=headers)


def read_json(body: bytes) -> JsonObject:
    """A request body as a JSON object, or ``dsp.message_invalid``."""
    try:
        return parse_json_object(body, what="DSP message")
    except PasserelleError as exc:
        raise PasserelleError(Reason.DSP_MESSAGE_INVALID, exc.detail, wire_error="400") from exc


def _event(row: Row, at: datetime, what: str, **details: JsonValue) -> list[JsonValue]:
    return [*row.get("events", []), {"at": at.isoformat(), "event": what, **details}]


class Processes:
    """Negotiation and transfer rows of one role (provider or consumer) in the store."""

    def __init__(
        self,
        *,
        store: Store,
        prefix: str,
        role: Role,
        behaviour: ConnectorBehaviour,
        clock: Callable[[], datetime],
    ) -> None:
        self._store = store
        self.negotiations = f"{prefix}_negotiations"
        self.transfers = f"{prefix}_transfers"
        self.role = role
        self._behaviour = behaviour
        self._clock = clock

    def get(self, collection: str, pid: str) -> Row | None:
        value = self._store.get(collection, pid, now=self._clock())
        return cast("Row", value) if isinstance(value, dict) else None

    def create(self, collection: str, pid: str, row: Row) -> Row:
        now = self._clock()
        row = {**row, "created_at": now.isoformat(), "events": _event(row, now, row["state"])}
        if not self._store.insert(collection, pid, row, now=now):
            raise PasserelleError(Reason.DSP_MESSAGE_INVALID, f"process {pid} exists already")
        return row

    def next_state(self, collection: str, state: str | None, message: str, sender: Role) -> str:
        """The state after ``message`` from ``sender``, by the core's table (or the quirk)."""
        try:
            if collection == self.negotiations:
                before = None if state is None else NegotiationState(state)
                return next_negotiation_state(before, message, role=sender).value
            transfer = None if state is None else TransferState(state)
            return next_transfer_state(transfer, message, role=sender).value
        except PasserelleError:
            if self._behaviour.enforce_transitions:
                raise
            # The allow_invalid_transition quirk: the message moves it anyway.
            if collection == self.negotiations:
                return forced_negotiation_state(message, sender).value
            return forced_transfer_state(message, sender).value

    def move(
        self,
        collection: str,
        pid: str,
        message: str,
        *,
        sender: Role,
        check: Callable[[Row], None] | None = None,
        **changes: JsonValue,
    ) -> Row:
        """Advance ``pid`` by ``message`` sent by ``sender`` in one atomic update and
        return the new row; an unknown process is ``dsp.*_unknown`` (404), a move the
        table forbids ``dsp.invalid_transition`` (400). ``check`` may refuse the move
        (it runs inside the update: quick, no I/O)."""
        moved: Row = {}
        unknown = (
            Reason.DSP_NEGOTIATION_UNKNOWN
            if collection == self.negotiations
            else Reason.DSP_TRANSFER_UNKNOWN
        )

        def change(value: JsonValue) -> JsonValue:
            if not isinstance(value, dict):
                raise PasserelleError(unknown, f"no process {pid}", wire_error="404")
            row = cast("Row", value)
            if check is not None:
                check(row)
            state = self.next_state(collection, row.get("state"), message, sender)
            now = self._clock()
            updated = {
                **row,
                **changes,
                "state": state,
                "events": _event(row, now, state, message=message, sender=sender),
            }
            moved.clear()
            moved.update(updated)
            return updated

        self._store.update(collection, pid, change, now=self._clock())
        return moved

    def note(self, collection: str, pid: str, what: str, **details: JsonValue) -> None:
        """Append an event (a failed callback, say) without moving the state."""

        def change(value: JsonValue) -> JsonValue:
            if not isinstance(value, dict):
                return value
            return {**value, "events": _event(cast("Row", value), self._clock(), what, **details)}

        self._store.update(collection, pid, change, now=self._clock())

    def update(self, collection: str, pid: str, **changes: JsonValue) -> None:
        def change(value: JsonValue) -> JsonValue:
            return {**value, **changes} if isinstance(value, dict) else value

        self._store.update(collection, pid, change, now=self._clock())

    def list(self, collection: str) -> list[Row]:
        rows = self._store.list(collection, now=self._clock(), limit=1000)
        return [cast("Row", v) for _, v in rows if isinstance(v, dict)]


def send_message(
    fetcher: Fetcher,
    tokens: Tokens,
    *,
    sender: Participant,
    audience: str,
    access_token: str,
    url: str,
    message: Mapping[str, JsonValue] | None = None,
    method: str = "POST",
) -> tuple[int, JsonValue]:
    """Send a DSP message (or a GET) with our Self-Issued ID Token for ``audience``;
    the status and the JSON body (``None`` when there is none)."""
    token = tokens.mint(sender, audience=audience, access_token=access_token)
    response = fetcher.request(
        method,
        url,
        json=dict(message) if message is not None else None,
        headers={"Authorization": f"Bearer {token}"},
    )
    body: JsonValue = None
    if response.content:
        try:
            body = parse_json_object(response.content, what=url)
        except PasserelleError:
            body = None
    return response.status_code, body


def peer_failure(url: str, status: int, body: JsonValue) -> PasserelleError:
    """A peer's error answer as our error, keeping its ``code`` when it is one of ours."""
    code = body.get("code") if isinstance(body, dict) else None
    reason_text = body.get("reason") if isinstance(body, dict) else None
    detail = f"{url} answered {status}"
    if reason_text:
        detail += f": {reason_text}"
    try:
        reason = Reason(str(code))
    except ValueError:
        reason = Reason.DSP_MESSAGE_INVALID
    return PasserelleError(reason, detail)
