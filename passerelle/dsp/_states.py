"""The contract negotiation and transfer process state machines, as tables.

A key is ``(state, message, sender)``: the state before, the message kind, and the
party that *sent* it — the ``C``/``P`` marks of the spec's diagrams. Both sides apply
the same table: a provider advances on a consumer's message it acknowledged, and on its
own message once the consumer acknowledged it. ``None`` is "no process yet".

Message kinds are the ``@type`` of the message, except that the negotiation event is
split by its ``eventType`` (``ContractNegotiationEventMessage:FINALIZED``), as the
diagram labels it. Every parsed message model has a ``kind`` property giving it.

Two tables per protocol:

- ``NEGOTIATION_TRANSITIONS`` / ``TRANSFER_TRANSITIONS``: the whole 2025-1 machine.
- ``SHORT_PATH_NEGOTIATION_TRANSITIONS`` / ``SHORT_PATH_TRANSFER_TRANSITIONS``: the
  subset Passerelle implements, and what :func:`next_negotiation_state` and
  :func:`next_transfer_state` enforce::

      negotiation:  (none) -C request-> REQUESTED -P agreement-> AGREED
                    AGREED -C verification-> VERIFIED -P FINALIZED-> FINALIZED
      transfer:     (none) -C request-> REQUESTED -P start-> STARTED
                    STARTED -C/P completion-> COMPLETED

  plus termination by either party from every non-terminal state. ``OFFERED`` and
  ``ACCEPTED`` (provider offers, counter-offers, the consumer's ``ACCEPTED`` event) and
  ``SUSPENDED`` exist in the enums because peers report them, but our provider never
  enters them and our consumer refuses a provider's offer or suspension as an invalid
  transition (the binding's 400), after which it may terminate.

Termination: the negotiation text says the termination message "MAY be sent at any
state" by either party, while the 2025-1 diagram draws only some of those arrows
(``AGREED -> TERMINATED`` for the consumer, ``VERIFIED -> TERMINATED`` for the provider).
We follow the text (and the brief of issue 9); every TCK termination case is on both
readings. Terminal states accept nothing: the TCK's CN:03-01 expects an error for a
termination after FINALIZED, TP:03-04..06 for any message after TERMINATED.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final, TypeAlias, get_args

from .._errors import PasserelleError, Reason, local_error
from ._common import Role, dsp_error

__all__ = [
    "NEGOTIATION_MESSAGES",
    "NEGOTIATION_TRANSITIONS",
    "SHORT_PATH_NEGOTIATION_TRANSITIONS",
    "SHORT_PATH_TRANSFER_TRANSITIONS",
    "TRANSFER_MESSAGES",
    "TRANSFER_TRANSITIONS",
    "NegotiationState",
    "TransferState",
    "next_negotiation_state",
    "next_transfer_state",
]


class NegotiationState(enum.StrEnum):
    """Contract negotiation states; the values are the wire values of ``state``."""

    REQUESTED = "REQUESTED"
    OFFERED = "OFFERED"  # never entered by Passerelle (no provider offers)
    ACCEPTED = "ACCEPTED"  # never entered by Passerelle (follows OFFERED only)
    AGREED = "AGREED"
    VERIFIED = "VERIFIED"
    FINALIZED = "FINALIZED"
    TERMINATED = "TERMINATED"

    @property
    def is_terminal(self) -> bool:
        return self in (NegotiationState.FINALIZED, NegotiationState.TERMINATED)


class TransferState(enum.StrEnum):
    """Transfer process states; the values are the wire values of ``state``."""

    REQUESTED = "REQUESTED"
    STARTED = "STARTED"
    SUSPENDED = "SUSPENDED"  # never entered by Passerelle
    COMPLETED = "COMPLETED"
    TERMINATED = "TERMINATED"

    @property
    def is_terminal(self) -> bool:
        return self in (TransferState.COMPLETED, TransferState.TERMINATED)


CONTRACT_REQUEST = "ContractRequestMessage"
CONTRACT_OFFER = "ContractOfferMessage"
CONTRACT_AGREEMENT = "ContractAgreementMessage"
AGREEMENT_VERIFICATION = "ContractAgreementVerificationMessage"
EVENT_ACCEPTED = "ContractNegotiationEventMessage:ACCEPTED"
EVENT_FINALIZED = "ContractNegotiationEventMessage:FINALIZED"
NEGOTIATION_TERMINATION = "ContractNegotiationTerminationMessage"

TRANSFER_REQUEST = "TransferRequestMessage"
TRANSFER_START = "TransferStartMessage"
TRANSFER_SUSPENSION = "TransferSuspensionMessage"
TRANSFER_COMPLETION = "TransferCompletionMessage"
TRANSFER_TERMINATION = "TransferTerminationMessage"

NEGOTIATION_MESSAGES: Final = frozenset(
    {
        CONTRACT_REQUEST,
        CONTRACT_OFFER,
        CONTRACT_AGREEMENT,
        AGREEMENT_VERIFICATION,
        EVENT_ACCEPTED,
        EVENT_FINALIZED,
        NEGOTIATION_TERMINATION,
    }
)
TRANSFER_MESSAGES: Final = frozenset(
    {
        TRANSFER_REQUEST,
        TRANSFER_START,
        TRANSFER_SUSPENSION,
        TRANSFER_COMPLETION,
        TRANSFER_TERMINATION,
    }
)

_ROLES: tuple[Role, ...] = get_args(Role)
_N = NegotiationState
_T = TransferState

NegotiationKey: TypeAlias = tuple[NegotiationState | None, str, Role]
TransferKey: TypeAlias = tuple[TransferState | None, str, Role]


def _negotiation_table() -> dict[NegotiationKey, NegotiationState]:
    table: dict[NegotiationKey, NegotiationState] = {
        (None, CONTRACT_REQUEST, "consumer"): _N.REQUESTED,
        (None, CONTRACT_OFFER, "provider"): _N.OFFERED,
        (_N.REQUESTED, CONTRACT_OFFER, "provider"): _N.OFFERED,
        (_N.REQUESTED, CONTRACT_AGREEMENT, "provider"): _N.AGREED,
        (_N.OFFERED, CONTRACT_REQUEST, "consumer"): _N.REQUESTED,
        (_N.OFFERED, EVENT_ACCEPTED, "consumer"): _N.ACCEPTED,
        (_N.ACCEPTED, CONTRACT_AGREEMENT, "provider"): _N.AGREED,
        (_N.AGREED, AGREEMENT_VERIFICATION, "consumer"): _N.VERIFIED,
        (_N.VERIFIED, EVENT_FINALIZED, "provider"): _N.FINALIZED,
    }
    for state in NegotiationState:
        if not state.is_terminal:
            for role in _ROLES:
                table[(state, NEGOTIATION_TERMINATION, role)] = _N.TERMINATED
    return table


def _transfer_table() -> dict[TransferKey, TransferState]:
    table: dict[TransferKey, TransferState] = {
        (None, TRANSFER_REQUEST, "consumer"): _T.REQUESTED,
        (_T.REQUESTED, TRANSFER_START, "provider"): _T.STARTED,
    }
    for role in _ROLES:
        table[(_T.STARTED, TRANSFER_COMPLETION, role)] = _T.COMPLETED
        table[(_T.STARTED, TRANSFER_SUSPENSION, role)] = _T.SUSPENDED
        # A consumer may resume a suspended transfer too: SUSPENDED -> STARTED is "P/C".
        table[(_T.SUSPENDED, TRANSFER_START, role)] = _T.STARTED
        for state in TransferState:
            if not state.is_terminal:
                table[(state, TRANSFER_TERMINATION, role)] = _T.TERMINATED
    return table


NEGOTIATION_TRANSITIONS: Mapping[NegotiationKey, NegotiationState] = _negotiation_table()
TRANSFER_TRANSITIONS: Mapping[TransferKey, TransferState] = _transfer_table()

_NOT_ON_SHORT_PATH = {_N.OFFERED, _N.ACCEPTED}
SHORT_PATH_NEGOTIATION_TRANSITIONS: Mapping[NegotiationKey, NegotiationState] = {
    key: after
    for key, after in NEGOTIATION_TRANSITIONS.items()
    if key[0] not in _NOT_ON_SHORT_PATH and after not in _NOT_ON_SHORT_PATH
}
SHORT_PATH_TRANSFER_TRANSITIONS: Mapping[TransferKey, TransferState] = {
    key: after
    for key, after in TRANSFER_TRANSITIONS.items()
    if key[0] is not _T.SUSPENDED and after is not _T.SUSPENDED
}


def _check_role(role: str) -> None:
    if role not in _ROLES:
        raise local_error(Reason.DSP_INVALID_TRANSITION, f"role {role!r} is not one of {_ROLES}")


def _refuse(state: enum.StrEnum | None, message: str, role: Role, full: bool) -> PasserelleError:
    where = "before any process exists" if state is None else f"in state {state.value}"
    why = "is not on Passerelle's short path" if full else "is not allowed"
    return dsp_error(Reason.DSP_INVALID_TRANSITION, f"{message} from the {role} {why} {where}")


def next_negotiation_state(
    state: NegotiationState | None, message: str, *, role: Role
) -> NegotiationState:
    """The negotiation state after ``message`` sent by ``role``, on the short path, or
    raise ``dsp.invalid_transition`` (HTTP 400). ``state`` is ``None`` for a request
    that would create the negotiation."""
    _check_role(role)
    if message not in NEGOTIATION_MESSAGES:
        raise local_error(Reason.DSP_INVALID_TRANSITION, f"{message!r} is no negotiation message")
    key: NegotiationKey = (state, message, role)
    following = SHORT_PATH_NEGOTIATION_TRANSITIONS.get(key)
    if following is None:
        raise _refuse(state, message, role, key in NEGOTIATION_TRANSITIONS)
    return following


def next_transfer_state(state: TransferState | None, message: str, *, role: Role) -> TransferState:
    """The transfer state after ``message`` sent by ``role``, on the short path (no
    suspension), or raise ``dsp.invalid_transition`` (HTTP 400)."""
    _check_role(role)
    if message not in TRANSFER_MESSAGES:
        raise local_error(Reason.DSP_INVALID_TRANSITION, f"{message!r} is no transfer message")
    key: TransferKey = (state, message, role)
    following = SHORT_PATH_TRANSFER_TRANSITIONS.get(key)
    if following is None:
        raise _refuse(state, message, role, key in TRANSFER_TRANSITIONS)
    return following
