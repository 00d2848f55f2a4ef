"""Deliberate faults of the trust service, for the conformance suite's self-test, in one place.

Each quirk breaks exactly one requirement. The trust service never branches on a quirk name:
it reads a :class:`TrustBehaviour`, and this module is the only one that turns quirks into one.
No quirks give the behaviour the specifications require.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from dataclasses import dataclass
from datetime import timedelta

__all__ = ["TrustBehaviour", "TrustQuirk", "behaviour_for"]


class TrustQuirk(enum.StrEnum):
    STALE_LISTS = "stale_lists"
    """The EU lists are re-signed by the operator with a ``NextUpdate`` already passed
    (ETSI TS 119 602 clause 6.3.15: a relying party must not use them)."""
    WRONG_SIGNER = "wrong_signer"
    """The EU lists are signed by a key whose certificate does not chain to the scheme
    operator's anchor (same subject, different CA)."""
    SEQUENCE_REGRESSION = "sequence_regression"
    """Each fetch of an EU list carries a lower ``LoTESequenceNumber`` than the fetch
    before it (clause 6.3.2: never lower than the list in force)."""
    TRQP_UNKNOWN_AS_UNAUTHORIZED = "trqp_unknown_as_unauthorized"
    """An entity the registry does not know gets 200 ``authorized: false`` instead of
    the 404 Problem Details the TRQP HTTPS binding requires."""
    TRQP_PLAIN_JSON_ERRORS = "trqp_plain_json_errors"
    """TRQP errors are sent as ``application/json``, not ``application/problem+json``
    (RFC 9457 §3)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustBehaviour:
    lists_overdue_by: timedelta | None = None
    """When set, EU lists are re-issued by the operator with their ``NextUpdate`` this
    long ago (issue and signing time moved back with it, the validity period kept)."""
    sign_lists_with_operator_key: bool = True
    """False: EU lists are signed by a stand-in key under a CA nobody trusts."""
    monotonic_sequence: bool = True
    """False: every fetch of an EU list is re-signed one sequence number lower."""
    unknown_entity_is_404: bool = True
    """False: an unknown entity is answered 200 with ``authorized``/``recognized`` false."""
    problem_media_type: str = "application/problem+json"
    """The media type of TRQP error answers."""

    @property
    def rewrites_lists(self) -> bool:
        """Whether the EU lists served differ from the ones ``trust build`` wrote."""
        return (
            self.lists_overdue_by is not None
            or not self.sign_lists_with_operator_key
            or not self.monotonic_sequence
        )


_OVERDUE_BY = timedelta(days=1)


def behaviour_for(quirks: Collection[TrustQuirk]) -> TrustBehaviour:
    q = set(quirks)
    return TrustBehaviour(
        lists_overdue_by=_OVERDUE_BY if TrustQuirk.STALE_LISTS in q else None,
        sign_lists_with_operator_key=TrustQuirk.WRONG_SIGNER not in q,
        monotonic_sequence=TrustQuirk.SEQUENCE_REGRESSION not in q,
        unknown_entity_is_404=TrustQuirk.TRQP_UNKNOWN_AS_UNAUTHORIZED not in q,
        problem_media_type=(
            "application/json"
            if TrustQuirk.TRQP_PLAIN_JSON_ERRORS in q
            else "application/problem+json"
        ),
    )
