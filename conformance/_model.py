"""What a check is, what it enforces, and what it found.

A check never prints a verdict of its own: it returns normally (passed) or raises one
of the outcomes below, and the runner turns that into a :class:`Result`. Anything else
escaping a check is the suite's own bug, reported as an error of class ``suite``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ._outcomes import (
    CheckError,
    CheckFailed,
    CheckSkipped,
    CheckWarning,
    CounterpartAtFault,
    ErrorClass,
)

if TYPE_CHECKING:
    from ._context import CheckContext

__all__ = [
    "Check",
    "CheckError",
    "CheckFailed",
    "CheckSkipped",
    "CheckWarning",
    "CounterpartAtFault",
    "ErrorClass",
    "Requirement",
    "Result",
    "Severity",
    "Status",
]


class Severity(enum.StrEnum):
    REQUIRED = "required"
    RECOMMENDED = "recommended"


class Status(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"
    SKIPPED = "skipped"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Requirement:
    """One normative sentence: where it is and what it says, word for word."""

    spec: str
    section: str
    text: str
    link: str

    @property
    def key(self) -> str:
        return f"{self.spec} {self.section}"

    @property
    def level(self) -> str:
        """The strongest requirement keyword of the text: RFC 2119 capitals, or the
        lower-case verbal forms of ETSI drafting rules (``shall``, ``should``)."""
        padded = f" {self.text} "
        for word in ("MUST NOT", "MUST", "REQUIRED", "SHALL NOT", "SHALL"):
            if word in self.text:
                return word
        for word in ("shall not", "shall"):
            if f" {word} " in padded:
                return word.upper()
        for word in ("SHOULD NOT", "SHOULD", "RECOMMENDED"):
            if word in self.text:
                return word
        for word in ("should not", "should"):
            if f" {word} " in padded:
                return word.upper()
        return "MAY"


@dataclass(frozen=True, slots=True)
class Check:
    id: str
    """Stable: reports, expected-failure files and partners' CI refer to it."""
    title: str
    plan: str
    role: str
    """The role of the system under test (issuer, wallet, verifier, trust-list, ...)."""
    requirement: Requirement
    severity: Severity
    run: Callable[[CheckContext], None]
    catches: tuple[str, ...] = ()
    """Quirks (``role:quirk``) of the mock services this check must catch."""
    profiles: frozenset[str] | None = None
    """Target profiles it applies to; None for all."""
    oidf: tuple[str, ...] = ()
    """The OpenID Foundation conformance-suite test modules this check corresponds to
    (empty: the check has no OIDF counterpart)."""


@dataclass(slots=True)
class Result:
    check: Check
    subject: str
    """What was tested: a target name, or ``issuer→verifier`` for a matrix cell."""
    status: Status
    message: str = ""
    error_class: ErrorClass | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    exchanges: list[dict[str, Any]] = field(default_factory=list)
    retried: bool = False
    duration_ms: int = 0
    expected_failure: bool = False

    @property
    def unexpected(self) -> bool:
        """A required check that failed or errored and was not expected to, or an
        expected failure that did not happen."""
        if self.check.severity is not Severity.REQUIRED:
            return False
        if self.expected_failure:
            return self.status is Status.PASSED
        return self.status in (Status.FAILED, Status.ERROR)
