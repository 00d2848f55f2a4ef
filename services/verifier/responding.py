"""The response endpoint's work (OpenID4VP 1.0 §8.2): read the response, check the
transaction may receive it, decide, then settle the transaction (received, decided,
traced) in one atomic write, and answer the wallet. It runs in the thread pool: deciding
is CPU work and the store blocks."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import Response

from passerelle import JsonObject, PasserelleError, Reason
from passerelle.decision import decision_trace, refusal_of
from passerelle.jose import load_private_jwk
from passerelle.oid4vp import (
    AuthorizationError,
    AuthorizationResponse,
    PresentationEvent,
    PresentationState,
    ResponseMode,
    advance,
    concluded,
    decrypt_response,
    parse_authorization_response,
    state_of,
    with_event,
)
from passerelle.services.web import oauth_error

from . import transactions
from .deciding import decide
from .state import VerifierState
from .transactions import Row

__all__ = ["answer", "response_kid"]


def response_kid(rid: str) -> str:
    """The ``kid`` of a transaction's response encryption key (request and response)."""
    return f"enc-{rid[:8]}"


def _decrypter(state: VerifierState, row: Row, rid: str) -> Callable[[str], JsonObject] | None:
    if ResponseMode(row["response_mode"]) is not ResponseMode.DIRECT_POST_JWT:
        return None
    key = load_private_jwk(row["encryption_key"])
    assert isinstance(key, ec.EllipticCurvePrivateKey)  # generated as P-256 on creation
    # Every enc the request listed, whichever the wallet chose (HAIP 1.0 §5).
    allowed = state.behaviour.accepted_enc(state.profile.response_enc)

    def decrypt(jwe: str) -> JsonObject:
        return decrypt_response(
            jwe, private_key=key, expected_kid=response_kid(rid), allowed_enc=allowed
        )

    return decrypt


def _response_code(state: VerifierState, row: Row) -> str | None:
    """A fresh Response Code when the answer redirects (OpenID4VP §8.2: "The Verifier
    MUST include a fresh, cryptographically random value in the URL"; 128 bits, as it
    RECOMMENDS); None when it does not."""
    target = row.get("redirect_uri")
    redirects = state.behaviour.redirects(
        same_device=bool(row.get("same_device")),
        required=state.profile.same_device_redirect == "required",
        has_target=isinstance(target, str),
    )
    return state.behaviour.response_code(state.random) if redirects else None


def _acknowledged(state: VerifierState, row: Row, code: str | None) -> Response:
    target = row.get("redirect_uri")
    if code is None or not isinstance(target, str):
        return state.behaviour.acknowledgement()
    return state.behaviour.acknowledgement(transactions.redirect_with_code(target, code))


def _receives(state: VerifierState, tid: str, row: Row) -> bool:
    """Whether the settling write must also receive the response. A response to a
    transaction already answered is refused here, before any work (a replay)."""
    try:
        advance(state_of(row), PresentationEvent.RECEIVE_RESPONSE)
        return True
    except PasserelleError as exc:
        transactions.log(state, tid, "response_refused", reason=str(exc.reason))
        if state.behaviour.single_response:
            raise
        transactions.forced(state, tid, PresentationState.RESPONSE_RECEIVED)
        transactions.log(state, tid, "response_received")
        return False


def _finish(
    state: VerifierState,
    tid: str,
    receive: bool,
    result: JsonObject,
    accepted: bool,
    events: tuple[tuple[str, JsonObject], ...] = (),
    code: str | None = None,
) -> None:
    """One atomic write: received (unless the quirk did it), decided, logged. It is
    what settles a race: of two responses decided at once, the second fails it."""
    now = state.clock()
    logged: tuple[tuple[str, JsonObject], ...] = (("response_received", {}),) if receive else ()

    def change(row: Row) -> JsonObject:
        row = concluded(row, accepted=accepted, result=result, receive=receive)
        # The code itself stays private (public_view); the log says a redirect went out.
        redirected: tuple[tuple[str, JsonObject], ...] = (
            (("redirect_issued", {}),) if code is not None else ()
        )
        if code is not None:
            row = {**row, "response_code": code}
        for what, details in (*logged, *events, *redirected):
            row = with_event(row, what, now=now, **details)
        return row

    try:
        transactions.apply(state, tid, change)
    except PasserelleError as exc:
        transactions.log(state, tid, "response_refused", reason=str(exc.reason))
        raise


def _decided(
    state: VerifierState, tid: str, row: Row, parsed: AuthorizationResponse, receive: bool
) -> Response:
    try:
        decision = decide(state, row, parsed)
    except PasserelleError as exc:
        # Trust lists unreachable, a fetch refused...: the transaction still ends.
        failure: JsonObject = {"accepted": False, "reason": str(exc.reason), "detail": exc.detail}
        _finish(state, tid, receive, failure, False)
        return oauth_error(exc)
    except Exception:
        failure = {"accepted": False, "reason": "server_error", "detail": "see the service log"}
        _finish(state, tid, receive, failure, False)
        raise
    result = state.behaviour.reported(decision.as_dict())
    trace = tuple(("check", entry) for entry in decision_trace(decision))
    refusal = refusal_of(decision)
    code = _response_code(state, row) if refusal is None else None
    _finish(state, tid, receive, result, decision.accepted, trace, code)
    return _acknowledged(state, row, code) if refusal is None else oauth_error(refusal)


def answer(state: VerifierState, rid: str, form: Mapping[str, str]) -> Response:
    """What the response_uri answers to the form a wallet posted."""
    tid = transactions.transaction_of(state, rid)
    row = transactions.find(state, tid)
    if row is None:
        raise transactions.unknown_transaction("unknown transaction")
    # Read (decrypt, check state) before the transaction moves: a forged or garbled
    # post must not consume the transaction an honest wallet is about to answer.
    try:
        parsed = parse_authorization_response(
            dict(form),
            response_mode=ResponseMode(row["response_mode"]),
            expected_state=str(row["state_param"]),
            decrypt=_decrypter(state, row, rid),
        )
    except PasserelleError as exc:
        transactions.log(state, tid, "response_refused", reason=str(exc.reason))
        return oauth_error(exc)
    # An outage of our trust service is answered before the transaction moves, so
    # the wallet may post again once it is back (temporarily_unavailable, 503).
    try:
        state.trust.snapshot()
    except PasserelleError as exc:
        transactions.log(state, tid, "response_deferred", reason=str(exc.reason))
        return oauth_error(exc)
    receive = _receives(state, tid, row)
    if isinstance(parsed, AuthorizationError):
        result: JsonObject = {
            "accepted": False,
            "reason": str(Reason.OID4VP_WALLET_ERROR),
            "detail": parsed.error,
        }
        code = _response_code(state, row)
        error: tuple[tuple[str, JsonObject], ...] = (("wallet_error", {"error": parsed.error}),)
        _finish(state, tid, receive, result, False, error, code)
        # §8.2: "The Response URI MAY return the redirect_uri parameter in response to
        # successful Authorization Responses or for Error Responses."
        return _acknowledged(state, row, code)
    return _decided(state, tid, row, parsed, receive)
