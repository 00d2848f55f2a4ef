"""How a check ends when it does not pass, and why a check could not judge.

Kept below everything else in the suite (it imports nothing of it), so the check
context, the console and the adapters can raise these without importing
:mod:`._model`, which names the context in the type of a check.
"""

from __future__ import annotations

import enum
from typing import Any

__all__ = [
    "CheckError",
    "CheckFailed",
    "CheckSkipped",
    "CheckWarning",
    "CounterpartAtFault",
    "ErrorClass",
]


class ErrorClass(enum.StrEnum):
    """Why a check could not judge: kept apart so an unreachable endpoint is never
    reported as non-conformance."""

    NON_CONFORMANCE = "non-conformance"
    """The target answered, understandably, and wrongly: the only class of a failure."""
    NETWORK = "network"
    TIMEOUT = "timeout"
    UNPARSEABLE = "protocol-unparseable"
    SUITE = "suite"
    """The suite itself broke (a bug here, not in the target)."""


class CheckFailed(Exception):
    """The target did something the requirement forbids (non-conformance)."""

    def __init__(self, message: str, **evidence: Any) -> None:
        super().__init__(message)
        self.message = message
        self.evidence = evidence


class CheckWarning(Exception):
    """Allowed, but not what the requirement recommends."""

    def __init__(self, message: str, **evidence: Any) -> None:
        super().__init__(message)
        self.message = message
        self.evidence = evidence


class CheckSkipped(Exception):
    """The check does not apply, or cannot be run against this target; always says why."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.message = why


class CounterpartAtFault(CheckSkipped):
    """The target cannot be judged because another target the check relies on is at
    fault (an issuer's credential that no verifier should accept): the result is
    skipped and names that other target, so blame never lands on the wrong party."""

    def __init__(self, party: str, why: str) -> None:
        super().__init__(f"not judged: {party} is at fault: {why}")
        self.party = party


class CheckError(Exception):
    """The suite could not reach or understand the target."""

    def __init__(self, error_class: ErrorClass, message: str) -> None:
        super().__init__(message)
        self.error_class = error_class
        self.message = message
