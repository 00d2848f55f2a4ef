"""Deliberate faults of the data-space connector, for the conformance suite's self-test,
in one place.

Each quirk breaks exactly one requirement. The connector never branches on a quirk
name: it asks :class:`ConnectorBehaviour` which audience to expect, whether to spend a
``jti``, whether to consult status lists, whether an invalid state transition stands,
whether the offer's policy decides, and how long a data token lives.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

from passerelle import PasserelleError, Reason
from passerelle._errors import local_error
from passerelle.dsp import (
    NEGOTIATION_TRANSITIONS,
    TRANSFER_TRANSITIONS,
    NegotiationState,
    Role,
    TransferState,
)
from passerelle.jose import decode_unverified_jws

__all__ = [
    "ConnectorBehaviour",
    "ConnectorQuirk",
    "behaviour_for",
    "forced_negotiation_state",
    "forced_transfer_state",
]

DATA_TOKEN_LIFETIME = timedelta(minutes=5)
LONG_DATA_TOKEN_LIFETIME = timedelta(days=30)


class ConnectorQuirk(enum.StrEnum):
    ACCEPT_REPLAYED_JTI = "accept_replayed_jti"
    """A self-issued ID token is accepted again with a ``jti`` already seen
    (DCP 1.0 §Validating Self-Issued ID Tokens, step 6)."""
    SKIP_TOKEN_AUDIENCE = "skip_token_audience"  # noqa: S105 (a quirk name)
    """A self-issued ID token is accepted whatever its ``aud``, instead of only when it
    names this connector's DID (DCP 1.0 §Validating Self-Issued ID Tokens, step 2)."""
    SKIP_PRESENTATION_STATUS = "skip_presentation_status"
    """Bitstring Status Lists are never consulted: revoked credentials pass
    (DCP 1.0 §Presentation Validation, step 6)."""
    ALLOW_INVALID_TRANSITION = "allow_invalid_transition"
    """A message the state machine forbids moves the negotiation or transfer anyway,
    instead of a 400 (DSP 2025-1 HTTPS bindings, State Transition Errors)."""
    IGNORE_POLICY = "ignore_policy"
    """Offers' ODRL policies are not evaluated: every dataset is listed to, and agreed
    with, any authenticated participant (DSP 2025-1 §Contract Negotiation)."""
    LONG_LIVED_DATA_TOKEN = "long_lived_data_token"  # noqa: S105 (a quirk name)
    """The pull transfer's data token lives thirty days and outlives the transfer's
    completion, instead of expiring within minutes and being revoked on completion."""


def _claimed_audience(token: str) -> str | None:
    """The ``aud`` a token claims, read WITHOUT verification (quirks only)."""
    try:
        aud = decode_unverified_jws(token).payload_json().get("aud")
    except PasserelleError:
        return None
    if isinstance(aud, list) and aud and isinstance(aud[0], str):
        return aud[0]
    return aud if isinstance(aud, str) else None


def forced_negotiation_state(message: str, sender: Role) -> NegotiationState:
    """Where ``message`` would lead from some state, whatever the state now is: how the
    ``allow_invalid_transition`` quirk moves a negotiation the table would not move."""
    for (_, kind, role), after in NEGOTIATION_TRANSITIONS.items():
        if kind == message and role == sender:
            return after
    raise local_error(Reason.DSP_INVALID_TRANSITION, f"{message} from the {sender} leads nowhere")


def forced_transfer_state(message: str, sender: Role) -> TransferState:
    """The transfer counterpart of :func:`forced_negotiation_state`."""
    for (_, kind, role), after in TRANSFER_TRANSITIONS.items():
        if kind == message and role == sender:
            return after
    raise local_error(Reason.DSP_INVALID_TRANSITION, f"{message} from the {sender} leads nowhere")


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectorBehaviour:
    check_audience: bool = True
    single_use_jti: bool = True
    check_status: bool = True
    enforce_transitions: bool = True
    enforce_policy: bool = True
    data_token_lifetime: timedelta = DATA_TOKEN_LIFETIME
    revoke_data_token_on_completion: bool = True

    def expected_audience(self, token: str, *, own_did: str) -> str:
        """The ``aud`` a self-issued ID token must carry to be accepted here."""
        if self.check_audience:
            return own_did
        return _claimed_audience(token) or own_did


def behaviour_for(quirks: Collection[ConnectorQuirk]) -> ConnectorBehaviour:
    q = set(quirks)
    long_lived = ConnectorQuirk.LONG_LIVED_DATA_TOKEN in q
    return ConnectorBehaviour(
        check_audience=ConnectorQuirk.SKIP_TOKEN_AUDIENCE not in q,
        single_use_jti=ConnectorQuirk.ACCEPT_REPLAYED_JTI not in q,
        check_status=ConnectorQuirk.SKIP_PRESENTATION_STATUS not in q,
        enforce_transitions=ConnectorQuirk.ALLOW_INVALID_TRANSITION not in q,
        enforce_policy=ConnectorQuirk.IGNORE_POLICY not in q,
        data_token_lifetime=LONG_DATA_TOKEN_LIFETIME if long_lived else DATA_TOKEN_LIFETIME,
        revoke_data_token_on_completion=not long_lived,
    )
