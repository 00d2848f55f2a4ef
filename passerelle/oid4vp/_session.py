"""The Verifier's presentation transaction as one transition table.

::

    CREATED --fetch_request--> REQUEST_FETCHED          (request_uri, GET or POST)
    REQUEST_FETCHED --fetch_request--> REQUEST_FETCHED  (fetched again: a retry, a reload)
    CREATED --receive_response--> RESPONSE_RECEIVED     (request by value)
    REQUEST_FETCHED --receive_response--> RESPONSE_RECEIVED
    RESPONSE_RECEIVED --accept--> VERIFIED
    RESPONSE_RECEIVED --reject--> FAILED
    CREATED | REQUEST_FETCHED --expire--> EXPIRED

A ``request_uri`` is served until the transaction is answered: OpenID4VP 1.0 does not
make it single-use, and a wallet may fetch it again (the OpenID Foundation verifier plan
tests exactly that). Once a response arrived, a fetch finds no transition. A response on
a transaction that already has one is a replay (``oid4vp.response_replayed``); any
event on an expired transaction is ``oid4vp.transaction_expired``. All of them are
``invalid_request`` on the wire.

A transaction as the verifier keeps it is a JSON record (:func:`new_transaction`) that
only :func:`moved`, :func:`with_event` and :func:`concluded` change: pure functions of
the record and ``now``, so the service's store applies each step atomically and the
lifecycle is tested without HTTP.
"""

from __future__ import annotations

import enum
import hmac
import re
from collections.abc import Mapping
from datetime import datetime

from .._errors import PasserelleError, Reason
from .._json import JsonObject, JsonValue
from ._models import oid4vp_error

__all__ = [
    "TRANSITIONS",
    "PresentationEvent",
    "PresentationState",
    "advance",
    "concluded",
    "moved",
    "new_transaction",
    "public_view",
    "result_view",
    "state_of",
    "with_event",
]


class PresentationState(enum.Enum):
    CREATED = "created"
    REQUEST_FETCHED = "request_fetched"
    RESPONSE_RECEIVED = "response_received"
    VERIFIED = "verified"
    FAILED = "failed"
    EXPIRED = "expired"


class PresentationEvent(enum.Enum):
    FETCH_REQUEST = "fetch_request"
    RECEIVE_RESPONSE = "receive_response"
    ACCEPT = "accept"
    REJECT = "reject"
    EXPIRE = "expire"


_S = PresentationState
_E = PresentationEvent

TRANSITIONS: Mapping[tuple[PresentationState, PresentationEvent], PresentationState] = {
    (_S.CREATED, _E.FETCH_REQUEST): _S.REQUEST_FETCHED,
    (_S.REQUEST_FETCHED, _E.FETCH_REQUEST): _S.REQUEST_FETCHED,
    (_S.CREATED, _E.RECEIVE_RESPONSE): _S.RESPONSE_RECEIVED,
    (_S.REQUEST_FETCHED, _E.RECEIVE_RESPONSE): _S.RESPONSE_RECEIVED,
    (_S.RESPONSE_RECEIVED, _E.ACCEPT): _S.VERIFIED,
    (_S.RESPONSE_RECEIVED, _E.REJECT): _S.FAILED,
    (_S.CREATED, _E.EXPIRE): _S.EXPIRED,
    (_S.REQUEST_FETCHED, _E.EXPIRE): _S.EXPIRED,
}

_ANSWERED = frozenset({_S.RESPONSE_RECEIVED, _S.VERIFIED, _S.FAILED})


def advance(state: PresentationState, event: PresentationEvent) -> PresentationState:
    """The state after ``event``, or raise the reason the event is refused."""
    following = TRANSITIONS.get((state, event))
    if following is not None:
        return following
    error: PasserelleError
    if state is _S.EXPIRED:
        error = oid4vp_error(Reason.OID4VP_TRANSACTION_EXPIRED, "the transaction has expired")
    elif event is _E.RECEIVE_RESPONSE and state in _ANSWERED:
        error = oid4vp_error(
            Reason.OID4VP_RESPONSE_REPLAYED, "the transaction already received a response"
        )
    else:
        error = oid4vp_error(
            Reason.OID4VP_SESSION_TRANSITION_INVALID,
            f"event {event.value} is not allowed in state {state.value}",
        )
    raise error


# What only the verifier may read: the response decryption key, the values the wallet
# must echo (OpenID4VP §14.1: the nonce is not shown to whoever polls a result), and the
# response code only the redirect carries (§13.3 step 8: the frontend must present it).
_PRIVATE_FIELDS = frozenset({"encryption_key", "nonce", "state_param", "response_code"})


def new_transaction(
    *,
    request_id: str,
    nonce: str,
    state_param: str,
    dcql_query: JsonObject,
    policy: str | None,
    response_mode: str,
    request_uri_method: str | None,
    now: datetime,
    encryption_key: JsonObject | None = None,
) -> JsonObject:
    """A transaction just created, its first event recorded."""
    row: JsonObject = {
        "request_id": request_id,
        "state": PresentationState.CREATED.value,
        "nonce": nonce,
        "state_param": state_param,
        "dcql_query": dcql_query,
        "policy": policy,
        "response_mode": response_mode,
        "request_uri_method": request_uri_method,
        "created_at": now.isoformat(),
        "events": [],
    }
    if encryption_key is not None:
        row["encryption_key"] = encryption_key
    return with_event(row, "created", now=now, policy=policy, response_mode=response_mode)


def state_of(row: Mapping[str, JsonValue]) -> PresentationState:
    return PresentationState(row["state"])


def moved(row: JsonObject, event: PresentationEvent) -> JsonObject:
    """The record after ``event``; raises (see :func:`advance`) when the table forbids it."""
    return {**row, "state": advance(state_of(row), event).value}


def with_event(row: JsonObject, what: str, *, now: datetime, **details: JsonValue) -> JsonObject:
    """The record with one more entry in its event log (the transaction page shows it)."""
    events = row.get("events")
    logged = list(events) if isinstance(events, list) else []
    return {**row, "events": [*logged, {"at": now.isoformat(), "event": what, **details}]}


def concluded(
    row: JsonObject, *, accepted: bool, result: JsonObject, receive: bool = False
) -> JsonObject:
    """The answered transaction with its decision: verified or failed, never both.

    With ``receive`` the response is received and decided in this one step: the
    verifier checks the table before deciding, and settles in a single atomic write,
    so of two responses decided at once only the first settles (the second finds the
    transaction answered: ``oid4vp.response_replayed``)."""
    if receive:
        row = moved(row, PresentationEvent.RECEIVE_RESPONSE)
    ending = PresentationEvent.ACCEPT if accepted else PresentationEvent.REJECT
    return {**moved(row, ending), "result": result}


_ABSOLUTE_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:[^\s#]+")


def is_absolute_uri(value: str) -> bool:
    """Whether ``value`` is an absolute URI as §8.2 asks of a redirect_uri ("an absolute
    URI as defined by [RFC3986] Section 4.3"): a scheme, a hier-part, no fragment. Any
    scheme: an app's own (``rp-app:/done``) is as absolute as ``https:``."""
    return _ABSOLUTE_URI.fullmatch(value) is not None


def public_view(row: Mapping[str, JsonValue]) -> JsonObject:
    """The record as whoever created the transaction reads it."""
    return {k: v for k, v in row.items() if k not in _PRIVATE_FIELDS}


def _before_the_decision(view: JsonObject) -> JsonObject:
    """The view as it stood when the response arrived: no result, no state that says
    how it ended, no check or redirect event (each tells the outcome just as well)."""
    events = view.get("events")
    kept: list[JsonValue] = []
    for event in events if isinstance(events, list) else []:
        kept.append(event)
        if isinstance(event, dict) and event.get("event") == "response_received":
            break
    withheld = {k: v for k, v in view.items() if k != "result"}
    return {**withheld, "state": PresentationState.RESPONSE_RECEIVED.value, "events": kept}


def result_view(row: Mapping[str, JsonValue], *, response_code: str | None) -> JsonObject:
    """The record as the Verifier's frontend reads it (OpenID4VP §13.3 step 8).

    Once a ``redirect_uri`` with a Response Code went to the Wallet, the result is only
    released to whoever presents that code: "the Verifier's Response URI MUST require
    the frontend to pass the respective Response Code when fetching the Authorization
    Response" (§14.2). Without it the result is withheld (HAIP 1.0 §5.1: "Verifiers MUST
    reject presentations if Wallets do not follow the redirect back"); with another
    code, ``oid4vp.response_code_mismatch``.
    """
    view = public_view(row)
    expected = row.get("response_code")
    if not isinstance(expected, str):
        return view
    if response_code is None:
        return {**_before_the_decision(view), "awaiting_response_code": True}
    if not hmac.compare_digest(response_code.encode(), expected.encode()):
        raise oid4vp_error(
            Reason.OID4VP_RESPONSE_CODE_MISMATCH, "not the response code of this transaction"
        )
    return view
