"""Why a finding of a decision is only a finding, in words: one note for the verifier's
page, the conformance report and the command line."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["finding_note"]


def finding_note(finding: Mapping[str, Any]) -> str:
    """The note beside a check that ran (or could not run) after the refusing step, from
    its ``as_dict()`` form: what it depended on, or on what footing it was evaluated."""
    if finding.get("status") == "not_run":
        return f"not run: depends on {finding.get('depends_on') or 'a failed step'}"
    notes = []
    if finding.get("untrusted_key"):
        notes.append("checked with a key that is not trusted")
    if finding.get("unverified"):
        notes.append("evaluated on unverified data")
    return "; ".join(notes)
