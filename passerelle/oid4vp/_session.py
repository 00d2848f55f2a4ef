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
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

from .._errors import PasserelleError, Reason
from ._models import oid4vp_error

__all__ = ["TRANSITIONS", "PresentationEvent", "PresentationState", "advance"]


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
