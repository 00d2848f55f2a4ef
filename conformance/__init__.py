"""Passerelle's conformance suite: the judge.

It plays the counterpart of each role — a wallet against an issuer, honest and
adversarial wallets against a verifier, an issuer and a verifier against a wallet —
checks trust lists and schemas, and writes reports people and CI can use. Each check
names the requirement it enforces, word for word; see ``docs/requirements.md``.
"""

from ._context import CheckContext, Suite, Target
from ._model import (
    Check,
    CheckError,
    CheckFailed,
    CheckSkipped,
    CheckWarning,
    ErrorClass,
    Requirement,
    Result,
    Severity,
    Status,
)
from ._registry import CHECKS, PLANS, check, expect, expect_oauth_error, expect_rejected
from ._runner import Run, run_checks, select_checks
from .targets import Targets, TargetsError, load_targets

__all__ = [
    "CHECKS",
    "PLANS",
    "Check",
    "CheckContext",
    "CheckError",
    "CheckFailed",
    "CheckSkipped",
    "CheckWarning",
    "ErrorClass",
    "Requirement",
    "Result",
    "Run",
    "Severity",
    "Status",
    "Suite",
    "Target",
    "Targets",
    "TargetsError",
    "check",
    "expect",
    "expect_oauth_error",
    "expect_rejected",
    "load_targets",
    "run_checks",
    "select_checks",
]
