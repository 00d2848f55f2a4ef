"""The check registry: plans import their modules, each check registers itself once.

A check is declared next to its code with :func:`check`; nothing else lists checks, so
``passerelle conformance list``, the reports and ``docs/requirements.md`` cannot drift
from what runs.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import httpx

from ._context import CheckContext
from ._model import Check, CheckFailed, Requirement, Severity

__all__ = [
    "CHECKS",
    "PLANS",
    "Plan",
    "check",
    "expect",
    "expect_oauth_error",
    "expect_rejected",
]


@dataclass(frozen=True, slots=True)
class Plan:
    name: str
    role: str
    """The role of the targets it tests."""
    description: str
    per: str = "target"
    """``target``: each check runs once per target of the role; ``cell``: once per
    cross-border matrix cell of the targets file."""


PLANS: dict[str, Plan] = {
    p.name: p
    for p in (
        Plan("issuer", "issuer", "The suite plays a wallet against a credential issuer."),
        Plan(
            "verifier",
            "verifier",
            "The suite plays wallets, honest and adversarial, against a verifier.",
        ),
        Plan(
            "wallet",
            "wallet",
            "The suite plays issuer and verifier and drives the wallet's backchannel.",
        ),
        Plan(
            "trust-list",
            "trust-list",
            "Lists of trusted entities (ETSI TS 119 602) and the TRQP trust registry.",
        ),
        Plan(
            "schema",
            "issuer",
            "Credentials against the shared schemas and type metadata; crosswalk coverage.",
        ),
        Plan(
            "dataspace",
            "connector",
            "The suite plays a data-space consumer (DSP 2025-1 + DCP 1.0) against a "
            "provider connector; checks named after the DSP and DCP TCK cases.",
        ),
        Plan(
            "cross-border",
            "verifier",
            "The issuer × verifier matrix across Canada and the EU, with trust traces.",
            per="cell",
        ),
    )
}

CHECKS: dict[str, Check] = {}


def check(
    id: str,
    title: str,
    *,
    plan: str,
    requirement: Requirement,
    severity: Severity = Severity.REQUIRED,
    catches: Iterable[str] = (),
    profiles: Iterable[str] | None = None,
    oidf: str | Iterable[str] = (),
) -> Callable[[Callable[[CheckContext], None]], Callable[[CheckContext], None]]:
    """Register the decorated function as check ``id`` of ``plan``."""

    def register(run: Callable[[CheckContext], None]) -> Callable[[CheckContext], None]:
        if id in CHECKS:
            raise ValueError(f"check id {id} registered twice")
        if plan not in PLANS:
            raise ValueError(f"check {id}: unknown plan {plan!r}")
        CHECKS[id] = Check(
            id=id,
            title=title,
            plan=plan,
            role=PLANS[plan].role,
            requirement=requirement,
            severity=severity,
            run=run,
            catches=tuple(catches),
            profiles=frozenset(profiles) if profiles is not None else None,
            oidf=(oidf,) if isinstance(oidf, str) else tuple(oidf),
        )
        return run

    return register


def expect(condition: object, message: str, **evidence: Any) -> None:
    """Fail the check with ``message`` unless ``condition`` holds."""
    if not condition:
        raise CheckFailed(message, **evidence)


def expect_rejected(response: httpx.Response, what: str) -> None:
    """The target refused with a client error (4xx): never a 2xx, 3xx or 5xx."""
    expect(
        400 <= response.status_code < 500,
        f"{what}: expected a 4xx rejection, got HTTP {response.status_code}",
        status=response.status_code,
    )


def expect_oauth_error(response: httpx.Response, status: int | Iterable[int], error: str) -> None:
    """An OAuth-style error answer: the HTTP status and the ``error`` code the spec names."""
    allowed = {status} if isinstance(status, int) else set(status)
    expect(
        response.status_code in allowed,
        f"expected HTTP {sorted(allowed)} with error {error!r}, got HTTP {response.status_code}",
        status=response.status_code,
    )
    try:
        body = response.json()
    except ValueError:
        body = None
    got = body.get("error") if isinstance(body, dict) else None
    expect(got == error, f"expected error {error!r}, got {got!r}", error=got)
