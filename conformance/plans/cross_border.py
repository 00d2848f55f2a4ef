"""Plan ``cross-border``: the issuer × verifier matrix across Canada and the EU.

Each check runs once per cell of the targets file's ``cross_border`` list: a credential
from one side's issuer, presented honestly to a verifier, with the outcome the trust
frameworks say it must have — accepted, or refused with a given reason code (a
Canadian conformity attestation outside the EU's recognised scope, say). The suite
obtains the credential as a wallet, asks for the cell's claims of its type, and keeps
the verifier's decision steps as the cell's trust trace for the interop matrix.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from passerelle import Reason

from .._context import CheckContext
from .._holder import obtain_shared
from .._mdoc import mdoc_holding_of, mdoc_query, present_mdoc
from .._model import CheckFailed, Requirement
from .._presenting import (
    Outcome,
    dcql_query_for,
    decision_trace,
    expect_accepted,
    holding_of,
    present,
    response_modes,
)
from .._registry import check, expect

PLAN = "cross-border"

_SD_JWT_VC = "https://datatracker.ietf.org/doc/html/draft-ietf-oauth-sd-jwt-vc"
_AUTHORIZATION = f"{_SD_JWT_VC}#section-7.7"

ACCEPTED = "accepted"
TRUST_STEPS = ("trust_list", "issuer_key", "home_framework", "authorized", "recognition")
"""The trust steps an accepted credential's trace must show passed (``recognition`` may
be skipped: an issuer of the verifier's own framework needs none)."""
_VOCABULARY = frozenset(r.value for r in Reason)


def _cell(ctx: CheckContext) -> Mapping[str, Any]:
    if ctx.cell is None:
        raise CheckFailed("a cross-border check ran without a matrix cell")
    return ctx.cell


def _cell_key(cell: Mapping[str, Any]) -> str:
    return (
        f"cross-border:{cell['issuer']}:{cell['configuration']}:{cell['persona']}"
        f"->{cell['verifier']}:{cell['claims']}"
    )


def _outcome(ctx: CheckContext, *, owner: bool = False) -> Outcome:
    """The cell's credential, obtained and presented once per run."""
    cell = _cell(ctx)
    verifier = ctx.target

    def run() -> Outcome:
        issued = obtain_shared(
            ctx, str(cell["issuer"]), str(cell["configuration"]), str(cell["persona"])
        )
        claims = [list(path) for path in cell["claims"]]
        if issued.format == "mso_mdoc":
            # An mdoc cell: a DeviceResponse answering an mso_mdoc query of its docType.
            mdoc = mdoc_holding_of(issued)
            return present_mdoc(
                ctx,
                verifier,
                mdoc,
                mdoc_query(mdoc.unverified().doc_type, claims),
                response_mode=response_modes(verifier)[0],
                prerequisite=not owner,
            ).outcome
        holding = holding_of(issued)
        query = dcql_query_for(ctx, str(cell["issuer"]), str(cell["configuration"]), claims)
        shown = present(
            ctx,
            verifier,
            holding,
            query,
            response_mode=response_modes(verifier)[0],
            prerequisite=not owner,
        )
        return shown.outcome

    outcome = ctx.shared(_cell_key(cell), run, prerequisite=not owner)
    ctx.record(
        outcome=ACCEPTED if outcome.accepted else outcome.reason,
        expected=str(cell["expect"]),
        trace=decision_trace(outcome),
        http_status=outcome.http_status,
    )
    return outcome


@check(
    "XB-01",
    "The cell ends with its expected outcome",
    plan=PLAN,
    # Every credential of the stack has a minimal cnf.jwk: each accepted cell shows it.
    catches=("verifier:require_cnf_kid",),
    requirement=Requirement(
        spec="draft-ietf-oauth-sd-jwt-vc",
        section="7.7",
        text="Credential acceptance decisions MUST be based on both the credential type and "
        "the verified authority of the issuer.",
        link=_AUTHORIZATION,
    ),
)
def _expected_outcome(ctx: CheckContext) -> None:
    cell = _cell(ctx)
    outcome = _outcome(ctx, owner=True)
    expected = str(cell["expect"])
    if expected == ACCEPTED:
        expect_accepted(outcome, f"{cell['issuer']} → {cell['verifier']}")
        return
    expect(
        outcome.http_status < 500,
        f"expected a refusal ({expected}), the verifier failed with HTTP {outcome.http_status}",
    )
    expect(not outcome.accepted, f"expected a refusal ({expected}), the verifier accepted")
    expect(
        outcome.reason == expected,
        f"refused with {outcome.reason!r}, expected {expected!r}",
    )


@check(
    "XB-02",
    "A refused cell names a reason code of the vocabulary; an accepted one shows every "
    "trust step passed",
    plan=PLAN,
    requirement=Requirement(
        spec="draft-ietf-oauth-sd-jwt-vc",
        section="7.7",
        text="Implementations MUST verify the issuer's authorization independently of the "
        "credential type or its extensions. This typically involves checking the issuer's "
        "identity, trust status, and any relevant accreditation or registry before accepting "
        "a credential.",
        link=_AUTHORIZATION,
    ),
)
def _trace(ctx: CheckContext) -> None:
    outcome = _outcome(ctx)
    trace = [s for s in decision_trace(outcome) if not s.get("finding")]
    if not outcome.accepted:
        expect(
            outcome.reason in _VOCABULARY,
            f"refused with {outcome.reason!r}, which is no reason code of the vocabulary",
        )
        return
    expect(trace, "accepted, but the result shows no decision steps")
    failed = [s for s in trace if s["outcome"] == "failed"]
    expect(not failed, f"accepted, yet steps failed: {[s['step'] for s in failed]}")
    seen = {str(s["step"]): str(s["outcome"]) for s in trace}
    missing = [step for step in TRUST_STEPS if step not in seen]
    expect(not missing, f"accepted without trust steps {missing} in its trace")
    unproven = [
        step
        for step in TRUST_STEPS
        if seen[step] != "passed" and not (step == "recognition" and seen[step] == "skipped")
    ]
    expect(not unproven, f"accepted, but trust steps {unproven} did not pass")
