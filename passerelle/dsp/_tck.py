"""The Eclipse DSP TCK cases (eclipse-dataspacetck/dsp-tck v1.0.1, for DSP 2025-1), as
data: id, title, the message sequence of the case's diagram, and whether Passerelle's
short path covers it — or why not, in words the conformance report prints as the skip.

``connector_role`` is the role of the connector under test; ids without ``_C`` test a
provider, ``CN_C``/``TP_C`` a consumer. ``steps`` are (sender, message kind) in order;
when ``expect_error`` is true the last step MUST be refused with a 4xx. A case is
covered when every accepted step is on the short path (and the refused one is refused);
the unit tests replay each case through the state tables to keep this table honest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from ._common import Role
from ._states import (
    AGREEMENT_VERIFICATION,
    CONTRACT_AGREEMENT,
    CONTRACT_OFFER,
    CONTRACT_REQUEST,
    EVENT_ACCEPTED,
    EVENT_FINALIZED,
    NEGOTIATION_TERMINATION,
    TRANSFER_COMPLETION,
    TRANSFER_REQUEST,
    TRANSFER_START,
    TRANSFER_SUSPENSION,
    TRANSFER_TERMINATION,
)

__all__ = ["TCK_CASES", "TCK_VERSION", "TckCase", "TckStep"]

TCK_VERSION = "eclipse-dataspacetck/dsp-tck v1.0.1"

Protocol = Literal["metadata", "catalog", "negotiation", "transfer"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TckStep:
    sender: Role
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class TckCase:
    id: str
    title: str
    protocol: Protocol
    connector_role: Role
    steps: tuple[TckStep, ...] = ()
    expect_error: bool = False
    skip_reason: str | None = None
    """Why Passerelle's short path does not cover this case; ``None`` when it does."""

    @property
    def covered(self) -> bool:
        return self.skip_reason is None


_CODES = {
    "REQ": CONTRACT_REQUEST,
    "OFFER": CONTRACT_OFFER,
    "AGREE": CONTRACT_AGREEMENT,
    "VERIFY": AGREEMENT_VERIFICATION,
    "ACCEPTED": EVENT_ACCEPTED,
    "FINALIZED": EVENT_FINALIZED,
    "TERM": NEGOTIATION_TERMINATION,
    "T-REQ": TRANSFER_REQUEST,
    "START": TRANSFER_START,
    "SUSPEND": TRANSFER_SUSPENSION,
    "COMPLETE": TRANSFER_COMPLETION,
    "T-TERM": TRANSFER_TERMINATION,
}

# Worded about the case, not about any connector: a target that implements these states
# still gets the case skipped, because the suite drives only the short path.
OFFERED = (
    "needs the OFFERED state (a provider's ContractOfferMessage), which the suite's "
    "short path (DSP 2025-1) does not drive"
)
ACCEPTED = (
    "needs the OFFERED and ACCEPTED states (provider offer, consumer ACCEPTED event), "
    "which the suite's short path does not drive"
)
COUNTER = (
    "needs a provider offer and a consumer counter-offer (ContractRequestMessage on an "
    "existing negotiation), which the suite's short path does not drive"
)
SUSPEND = "needs transfer suspension and resumption, which the suite's short path does not drive"


def _case(
    case_id: str,
    title: str,
    flow: str,
    *,
    error: bool = False,
    skip: str | None = None,
) -> TckCase:
    """``flow`` is "C:REQ P:AGREE ..." — sender initial, colon, message code."""
    steps = []
    for token in flow.split():
        who, code = token.split(":")
        sender: Role = "consumer" if who == "C" else "provider"
        steps.append(TckStep(sender=sender, message=_CODES[code]))
    protocol: Protocol = "negotiation" if case_id.startswith("CN") else "transfer"
    role: Role = "consumer" if "_C:" in case_id else "provider"
    return TckCase(
        id=case_id,
        title=title,
        protocol=protocol,
        connector_role=role,
        steps=tuple(steps),
        expect_error=error,
        skip_reason=skip,
    )


_V = "Verify contract request, "
_T = "Verify transfer request, "

TCK_CASES: tuple[TckCase, ...] = (
    TckCase(
        id="MET:01-01",
        title="Verify metadata request",
        protocol="metadata",
        connector_role="provider",
    ),
    TckCase(
        id="CAT:01-01",
        title="Verify catalog request",
        protocol="catalog",
        connector_role="provider",
    ),
    TckCase(
        id="CAT:01-02",
        title="Verify dataset request",
        protocol="catalog",
        connector_role="provider",
    ),
    TckCase(
        id="CAT:01-03",
        title="Verify dataset request not found",
        protocol="catalog",
        connector_role="provider",
        expect_error=True,
    ),
    # -- contract negotiation, provider under test --------------------------------------
    _case(
        "CN:01-01", _V + "offer received, consumer terminated", "C:REQ P:OFFER C:TERM", skip=OFFERED
    ),
    _case(
        "CN:01-02",
        _V + "offer received, consumer counter-offer, provider terminated",
        "C:REQ P:OFFER C:REQ P:TERM",
        skip=COUNTER,
    ),
    _case(
        "CN:01-03",
        _V + "offer received, consumer accepted, provider agreement, consumer verified, "
        "provider finalized",
        "C:REQ P:OFFER C:ACCEPTED P:AGREE C:VERIFY P:FINALIZED",
        skip=ACCEPTED,
    ),
    _case(
        "CN:01-04",
        _V + "provider agreement, consumer verified, provider finalized",
        "C:REQ P:AGREE C:VERIFY P:FINALIZED",
    ),
    _case("CN:02-01", _V + "provider terminated", "C:REQ P:TERM"),
    _case("CN:02-02", _V + "consumer terminated", "C:REQ C:TERM"),
    _case("CN:02-03", _V + "provider agreement, consumer terminated", "C:REQ P:AGREE C:TERM"),
    _case(
        "CN:02-04", _V + "offer received, consumer terminated", "C:REQ P:OFFER C:TERM", skip=OFFERED
    ),
    _case(
        "CN:02-05", _V + "offer received, provider terminated", "C:REQ P:OFFER P:TERM", skip=OFFERED
    ),
    _case(
        "CN:02-06",
        _V + "offer received, consumer accepted, provider terminated",
        "C:REQ P:OFFER C:ACCEPTED P:TERM",
        skip=ACCEPTED,
    ),
    _case(
        "CN:02-07",
        _V + "provider agreement, consumer verified, provider terminated",
        "C:REQ P:AGREE C:VERIFY P:TERM",
    ),
    _case(
        "CN:03-01",
        _V + "provider agreement, consumer verified, provider finalized, invalid consumer "
        "terminated",
        "C:REQ P:AGREE C:VERIFY P:FINALIZED C:TERM",
        error=True,
    ),
    _case(
        "CN:03-02",
        _V + "offer received, invalid consumer verified",
        "C:REQ P:OFFER C:VERIFY",
        error=True,
        skip=OFFERED,
    ),
    _case(
        "CN:03-03",
        _V + "offer received, consumer accepted, illegal consumer verified",
        "C:REQ P:OFFER C:ACCEPTED C:VERIFY",
        error=True,
        skip=ACCEPTED,
    ),
    _case(
        "CN:03-04",
        _V + "offer received, consumer counter-offer (x2), provider terminated",
        "C:REQ P:OFFER C:REQ C:REQ",
        error=True,
        skip=COUNTER,
    ),
    # -- contract negotiation, consumer under test --------------------------------------
    _case(
        "CN_C:01-01",
        _V + "offer received, consumer accepted, provider agreed, consumer verified, "
        "provider finalized",
        "C:REQ P:OFFER C:ACCEPTED P:AGREE C:VERIFY P:FINALIZED",
        skip=ACCEPTED,
    ),
    _case(
        "CN_C:01-02",
        _V + "offer received, consumer counter-offer, provider terminated",
        "C:REQ P:OFFER C:REQ P:TERM",
        skip=COUNTER,
    ),
    _case(
        "CN_C:01-03",
        _V + "offer received, consumer terminated",
        "C:REQ P:OFFER C:TERM",
        skip=OFFERED,
    ),
    _case(
        "CN_C:01-04",
        _V + "provider agreement, consumer verified, provider finalized",
        "C:REQ P:AGREE C:VERIFY P:FINALIZED",
    ),
    _case("CN_C:02-01", _V + "provider terminated", "C:REQ P:TERM"),
    _case("CN_C:02-02", _V + "consumer terminated", "C:REQ C:TERM"),
    _case("CN_C:02-03", _V + "provider agreement, consumer terminated", "C:REQ P:AGREE C:TERM"),
    _case(
        "CN_C:02-04",
        _V + "offer received, provider terminated",
        "C:REQ P:OFFER P:TERM",
        skip=OFFERED,
    ),
    _case(
        "CN_C:02-05",
        _V + "offer received, consumer accepted, provider terminated",
        "C:REQ P:OFFER C:ACCEPTED P:TERM",
        skip=ACCEPTED,
    ),
    _case(
        "CN_C:02-06",
        _V + "provider agreement, consumer verified, provider terminated",
        "C:REQ P:AGREE C:VERIFY P:TERM",
    ),
    _case("CN_C:03-01", _V + "invalid provider finalized", "C:REQ P:FINALIZED", error=True),
    _case(
        "CN_C:03-02",
        _V + "offer received, invalid provider agreed",
        "C:REQ P:OFFER P:AGREE",
        error=True,
        skip=OFFERED,
    ),
    _case(
        "CN_C:03-03",
        _V + "offer received, invalid provider finalized",
        "C:REQ P:OFFER P:FINALIZED",
        error=True,
        skip=OFFERED,
    ),
    _case(
        "CN_C:03-04",
        _V + "offer received, consumer accepted, invalid provider finalized",
        "C:REQ P:OFFER C:ACCEPTED P:FINALIZED",
        error=True,
        skip=ACCEPTED,
    ),
    _case(
        "CN_C:03-05",
        _V + "offer received, consumer accepted, invalid provider offer",
        "C:REQ P:OFFER C:ACCEPTED P:OFFER",
        error=True,
        skip=ACCEPTED,
    ),
    _case(
        "CN_C:03-06",
        _V + "offer received, consumer accepted, provider agreed, invalid provider finalized",
        "C:REQ P:OFFER C:ACCEPTED P:AGREE P:FINALIZED",
        error=True,
        skip=ACCEPTED,
    ),
    # -- transfer process, provider under test ------------------------------------------
    _case("TP:01-01", _T + "provider started, provider terminated", "C:T-REQ P:START P:T-TERM"),
    _case("TP:01-02", _T + "provider started, provider completed", "C:T-REQ P:START P:COMPLETE"),
    _case(
        "TP:01-03",
        _T + "provider started, provider suspended, provider terminated",
        "C:T-REQ P:START P:SUSPEND P:T-TERM",
        skip=SUSPEND,
    ),
    _case(
        "TP:01-04",
        _T + "provider started, provider suspended, provider started, provider completed",
        "C:T-REQ P:START P:SUSPEND P:START P:COMPLETE",
        skip=SUSPEND,
    ),
    _case("TP:01-05", _T + "provider terminated", "C:T-REQ P:T-TERM"),
    _case("TP:02-01", _T + "provider started, consumer terminated", "C:T-REQ P:START C:T-TERM"),
    _case("TP:02-02", _T + "provider started, consumer completed", "C:T-REQ P:START C:COMPLETE"),
    _case(
        "TP:02-03",
        _T + "provider started, consumer suspended, consumer terminated",
        "C:T-REQ P:START C:SUSPEND C:T-TERM",
        skip=SUSPEND,
    ),
    _case(
        "TP:02-04",
        _T + "provider started, consumer suspended, consumer started, consumer completed",
        "C:T-REQ P:START C:SUSPEND C:START C:COMPLETE",
        skip=SUSPEND,
    ),
    _case("TP:02-05", _T + "consumer terminated", "C:T-REQ C:T-TERM"),
    _case("TP:03-01", _T + "consumer completed", "C:T-REQ C:COMPLETE", error=True),
    # Covered: a suspension is refused in every state, and REQUESTED must refuse it anyway.
    _case("TP:03-02", _T + "consumer suspended", "C:T-REQ C:SUSPEND", error=True),
    _case(
        "TP:03-03",
        _T + "provider started, consumer suspended, consumer completed",
        "C:T-REQ P:START C:SUSPEND C:COMPLETE",
        error=True,
        skip=SUSPEND,
    ),
    _case(
        "TP:03-04",
        _T + "provider started, consumer terminated, consumer started",
        "C:T-REQ P:START C:T-TERM C:START",
        error=True,
    ),
    _case(
        "TP:03-05",
        _T + "provider started, consumer terminated, consumer suspended",
        "C:T-REQ P:START C:T-TERM C:SUSPEND",
        error=True,
    ),
    _case(
        "TP:03-06",
        _T + "provider started, consumer terminated, consumer completed",
        "C:T-REQ P:START C:T-TERM C:COMPLETE",
        error=True,
    ),
    # -- transfer process, consumer under test ------------------------------------------
    _case("TP_C:01-01", _T + "provider started, provider terminated", "C:T-REQ P:START P:T-TERM"),
    _case("TP_C:01-02", _T + "provider started, provider completed", "C:T-REQ P:START P:COMPLETE"),
    _case(
        "TP_C:01-03",
        _T + "provider started, provider suspended, provider terminated",
        "C:T-REQ P:START P:SUSPEND P:T-TERM",
        skip=SUSPEND,
    ),
    _case(
        "TP_C:01-04",
        _T + "provider started, provider suspended, provider started, provider completed",
        "C:T-REQ P:START P:SUSPEND P:START P:COMPLETE",
        skip=SUSPEND,
    ),
    _case("TP_C:01-05", _T + "provider terminated", "C:T-REQ P:T-TERM"),
    _case("TP_C:02-01", _T + "provider started, consumer terminated", "C:T-REQ P:START C:T-TERM"),
    _case("TP_C:02-02", _T + "provider started, consumer completed", "C:T-REQ P:START C:COMPLETE"),
    _case(
        "TP_C:02-03",
        _T + "provider started, consumer suspended, consumer terminated",
        "C:T-REQ P:START C:SUSPEND C:T-TERM",
        skip=SUSPEND,
    ),
    _case(
        "TP_C:02-04",
        _T + "provider started, consumer suspended, consumer started, consumer completed",
        "C:T-REQ P:START C:SUSPEND C:START C:COMPLETE",
        skip=SUSPEND,
    ),
    _case("TP_C:02-05", _T + "consumer terminated", "C:T-REQ C:T-TERM"),
    _case("TP_C:03-01", _T + "provider completed", "C:T-REQ P:COMPLETE", error=True),
    _case("TP_C:03-02", _T + "provider suspended", "C:T-REQ P:SUSPEND", error=True),
    _case(
        "TP_C:03-03",
        _T + "provider started, provider suspended, provider completed",
        "C:T-REQ P:START P:SUSPEND P:COMPLETE",
        error=True,
        skip=SUSPEND,
    ),
    _case(
        "TP_C:03-04",
        _T + "provider started, provider terminated, provider started",
        "C:T-REQ P:START P:T-TERM P:START",
        error=True,
    ),
    _case(
        "TP_C:03-05",
        _T + "provider started, provider terminated, provider suspended",
        "C:T-REQ P:START P:T-TERM P:SUSPEND",
        error=True,
    ),
    _case(
        "TP_C:03-06",
        _T + "provider started, provider terminated, provider completed",
        "C:T-REQ P:START P:T-TERM P:COMPLETE",
        error=True,
    ),
)
