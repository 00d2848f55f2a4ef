"""A signed snapshot of the Canadian trust registry (our extension to TRQP v2).

TRQP answers one question at a time over HTTPS. A verifier that must decide offline,
or keep evidence of what the registry said, needs the whole registry as one signed
document with the same freshness and rollback rules as an EU list: a sequence number
that never goes back, and a next update after which the snapshot fails closed. It is
signed exactly as a LoTE is (:mod:`._jades`), by the registry operator.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from cryptography import x509

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject
from .._time import format_date_time, parse_date_time
from ..jose import Signer
from ._bulk import collector_paused
from ._jades import sign_jades_b, verify_jades_b
from ._trqp import Registry, parse_registry

__all__ = [
    "MAX_REGISTRY_SNAPSHOT_BYTES",
    "REGISTRY_SNAPSHOT_TYP",
    "VerifiedRegistry",
    "sign_registry_snapshot",
    "verify_registry_snapshot",
]

REGISTRY_SNAPSHOT_TYP = "trqp-registry+jwt"
MAX_REGISTRY_SNAPSHOT_BYTES = 64 << 20
"""A record is about 320 bytes signed: room for some 200,000 records."""


def sign_registry_snapshot(
    source: JsonObject,
    *,
    substitutions: Mapping[str, str],
    sequence_number: int,
    issued_at: datetime,
    next_update: datetime,
    signer: Signer,
    x5c: Sequence[str],
) -> str:
    """Sign the registry source with its placeholder values, after checking it parses."""
    parse_registry(source, substitutions=substitutions)
    if sequence_number < 1 or next_update <= issued_at:
        raise local_error(Reason.TRUST_LIST_MALFORMED, "sequence must be ≥ 1, next update later")
    payload: JsonObject = {
        "registry": source,
        "substitutions": dict(substitutions),
        "sequence_number": sequence_number,
        "issued_at": format_date_time(issued_at),
        "next_update": format_date_time(next_update),
    }
    return sign_jades_b(payload, signer=signer, x5c=x5c, now=issued_at, typ=REGISTRY_SNAPSHOT_TYP)


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedRegistry:
    registry: Registry
    sequence_number: int
    issued_at: datetime
    next_update: datetime
    signer: x509.Certificate


def _time(payload: JsonObject, name: str) -> datetime:
    return parse_date_time(payload.get(name), what=name, reason=Reason.TRUST_LIST_MALFORMED)


def verify_registry_snapshot(
    token: str,
    *,
    operator_anchors: Sequence[x509.Certificate],
    now: datetime,
    last_seen_sequence: int | None = None,
) -> VerifiedRegistry:
    """Verify signature and operator, then freshness (``trust.list_stale``) and
    sequence (``trust.list_rollback``), then parse the registry."""
    with collector_paused():
        return _verify(token, operator_anchors, now, last_seen_sequence)


def _verify(
    token: str,
    operator_anchors: Sequence[x509.Certificate],
    now: datetime,
    last_seen_sequence: int | None,
) -> VerifiedRegistry:
    signed = verify_jades_b(
        token,
        operator_anchors=operator_anchors,
        now=now,
        accepted_typ=frozenset({REGISTRY_SNAPSHOT_TYP}),
        what="registry snapshot",
        max_bytes=MAX_REGISTRY_SNAPSHOT_BYTES,
    )
    payload = signed.payload
    sequence = payload.get("sequence_number")
    if isinstance(sequence, bool) or not isinstance(sequence, int) or sequence < 1:
        raise PasserelleError(Reason.TRUST_LIST_MALFORMED, "sequence_number is not a positive int")
    next_update = _time(payload, "next_update")
    if now >= next_update:
        raise PasserelleError(
            Reason.TRUST_LIST_STALE,
            f"registry snapshot was due for update at {format_date_time(next_update)}",
        )
    if last_seen_sequence is not None and sequence < last_seen_sequence:
        raise PasserelleError(
            Reason.TRUST_LIST_ROLLBACK,
            f"registry sequence {sequence} is lower than {last_seen_sequence} seen before",
        )
    source, substitutions = payload.get("registry"), payload.get("substitutions", {})
    if not isinstance(source, dict) or not isinstance(substitutions, dict):
        raise PasserelleError(Reason.TRUST_LIST_MALFORMED, "registry snapshot payload is malformed")
    registry = parse_registry(
        source, substitutions={k: v for k, v in substitutions.items() if isinstance(v, str)}
    )
    return VerifiedRegistry(
        registry=registry,
        sequence_number=sequence,
        issued_at=_time(payload, "issued_at"),
        next_update=next_update,
        signer=signed.signer,
    )
