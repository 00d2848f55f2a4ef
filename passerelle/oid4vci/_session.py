"""The issuance session as one transition table (STYLE: "Stateful flows are tables").

Pre-authorized flow::

    OFFERED --redeem_pre_authorized_code--> TOKEN_ISSUED

Authorization code flow (issuer-initiated from an offer, or wallet-initiated)::

    OFFERED --start_authorization--> AUTHORIZATION_PENDING
    AUTHORIZATION_PENDING --issue_code--> CODE_ISSUED --redeem_code--> TOKEN_ISSUED

Then, for both::

    TOKEN_ISSUED --issue_credential--> CREDENTIAL_ISSUED --notify--> NOTIFIED
    TOKEN_ISSUED --defer--> DEFERRED --defer--> DEFERRED
    DEFERRED --issue_deferred_credential--> CREDENTIAL_ISSUED

A code is redeemed once: there is no second way out of OFFERED or CODE_ISSUED, so a
replayed code finds no transition. Repeated credential requests with the same token
are allowed (§13.3 "Multiple Accesses to the Credential Endpoint"), and notifications
are idempotent (§11). A missing transition raises an error naming state and event,
with the wire code that event's endpoint answers with.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Iterable, Mapping

from .._errors import PasserelleError, Reason
from ._models import TokenRequest
from ._token import check_pre_authorized_code

__all__ = [
    "TRANSITIONS",
    "IssuanceEvent",
    "IssuanceState",
    "PreAuthorizedGrant",
    "advance",
    "attempt_pre_authorized_code",
    "batch_proof_nonce",
]


class IssuanceState(enum.Enum):
    OFFERED = "offered"
    AUTHORIZATION_PENDING = "authorization_pending"
    CODE_ISSUED = "code_issued"
    TOKEN_ISSUED = "token_issued"  # noqa: S105 (a state name, not a secret)
    DEFERRED = "deferred"
    CREDENTIAL_ISSUED = "credential_issued"
    NOTIFIED = "notified"


class IssuanceEvent(enum.Enum):
    REDEEM_PRE_AUTHORIZED_CODE = "redeem_pre_authorized_code"
    START_AUTHORIZATION = "start_authorization"
    ISSUE_CODE = "issue_code"
    REDEEM_CODE = "redeem_code"
    ISSUE_CREDENTIAL = "issue_credential"
    DEFER = "defer"
    ISSUE_DEFERRED_CREDENTIAL = "issue_deferred_credential"
    NOTIFY = "notify"


_S = IssuanceState
_E = IssuanceEvent

TRANSITIONS: Mapping[tuple[IssuanceState, IssuanceEvent], IssuanceState] = {
    (_S.OFFERED, _E.REDEEM_PRE_AUTHORIZED_CODE): _S.TOKEN_ISSUED,
    (_S.OFFERED, _E.START_AUTHORIZATION): _S.AUTHORIZATION_PENDING,
    (_S.AUTHORIZATION_PENDING, _E.ISSUE_CODE): _S.CODE_ISSUED,
    (_S.CODE_ISSUED, _E.REDEEM_CODE): _S.TOKEN_ISSUED,
    (_S.TOKEN_ISSUED, _E.ISSUE_CREDENTIAL): _S.CREDENTIAL_ISSUED,
    (_S.TOKEN_ISSUED, _E.DEFER): _S.DEFERRED,
    (_S.DEFERRED, _E.DEFER): _S.DEFERRED,
    (_S.DEFERRED, _E.ISSUE_DEFERRED_CREDENTIAL): _S.CREDENTIAL_ISSUED,
    (_S.CREDENTIAL_ISSUED, _E.ISSUE_CREDENTIAL): _S.CREDENTIAL_ISSUED,
    (_S.CREDENTIAL_ISSUED, _E.NOTIFY): _S.NOTIFIED,
    (_S.NOTIFIED, _E.NOTIFY): _S.NOTIFIED,
    (_S.NOTIFIED, _E.ISSUE_CREDENTIAL): _S.NOTIFIED,
}

# The error code of the endpoint each event belongs to, for an event out of turn.
_WIRE_FOR_EVENT: Mapping[IssuanceEvent, str] = {
    _E.REDEEM_PRE_AUTHORIZED_CODE: "invalid_grant",
    _E.REDEEM_CODE: "invalid_grant",
    _E.START_AUTHORIZATION: "invalid_request",
    _E.ISSUE_CODE: "access_denied",
    _E.ISSUE_CREDENTIAL: "invalid_token",
    _E.DEFER: "invalid_token",
    _E.ISSUE_DEFERRED_CREDENTIAL: "invalid_transaction_id",
    _E.NOTIFY: "invalid_notification_id",
}


def advance(state: IssuanceState, event: IssuanceEvent) -> IssuanceState:
    """The state after ``event``, or raise ``oid4vci.session_transition_invalid``."""
    following = TRANSITIONS.get((state, event))
    if following is None:
        raise PasserelleError(
            Reason.OID4VCI_SESSION_TRANSITION_INVALID,
            f"event {event.value} is not allowed in state {state.value}",
            wire_error=_WIRE_FOR_EVENT[event],
        )
    return following


def batch_proof_nonce(nonces: Iterable[str | None]) -> str | None:
    """The one ``c_nonce`` the key proofs of a request carry, or None.

    The issuer hands out one ``c_nonce`` and spends it on the request that carries it
    (§7), so every proof of a batch must carry that one value. Proofs that disagree, or
    carry none, name no nonce the issuer could accept: the caller then expects a value
    no proof carries, and the proof check reports which proof is wrong.
    """
    claimed = set(nonces)
    return next(iter(claimed)) if len(claimed) == 1 else None


@dataclasses.dataclass(frozen=True, slots=True)
class PreAuthorizedGrant:
    """A pre-authorized code as the issuer keeps it: its place in the table, the
    ``tx_code`` its offer announced (None if none) and the wrong ones sent so far."""

    state: IssuanceState
    tx_code: str | None
    tx_code_failures: int = 0


def attempt_pre_authorized_code(
    grant: PreAuthorizedGrant,
    request: TokenRequest,
    *,
    max_failures: int,
    check_tx_code: bool = True,
) -> tuple[PreAuthorizedGrant, PasserelleError | None]:
    """One Token Request redeeming ``grant``: the grant to keep, and the refusal if any.

    A wrong ``tx_code`` does not burn the offer (the person may have mistyped it) but
    counts; after ``max_failures`` wrong codes the grant is dead, even for the right
    code. §6.3 answers a wrong code with ``invalid_grant`` and sets no limit; a
    six-digit code with no limit is guessed in minutes. A missing or unexpected code is
    ``invalid_request`` and no attempt. ``check_tx_code=False`` accepts whatever code is
    sent (an issuer broken on purpose, for the conformance self-test).
    """
    if grant.tx_code_failures >= max_failures:
        exhausted = PasserelleError(
            Reason.OID4VCI_TX_CODE_ATTEMPTS_EXHAUSTED,
            f"{max_failures} wrong tx_codes: this offer is no longer redeemable",
            wire_error="invalid_grant",
        )
        return grant, exhausted
    try:
        following = advance(grant.state, IssuanceEvent.REDEEM_PRE_AUTHORIZED_CODE)
        expected = grant.tx_code if check_tx_code else request.tx_code
        check_pre_authorized_code(request, expected_tx_code=expected)
    except PasserelleError as exc:
        if exc.reason is Reason.OID4VCI_TX_CODE_MISMATCH:
            return dataclasses.replace(grant, tx_code_failures=grant.tx_code_failures + 1), exc
        return grant, exc
    return dataclasses.replace(grant, state=following), None
