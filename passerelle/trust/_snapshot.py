"""From signed documents to a :class:`TrustSnapshot`: every list verified once, here.

A verifier calls this when it (re)loads its lists, then evaluates any number of
credentials against the frozen result. ``last_seen`` carries the highest sequence
number seen per list, so that a replayed older list is refused (``trust.list_rollback``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from cryptography import x509

from .._json import JsonObject
from ._evaluate import TrustSnapshot
from ._lote import VerifiedLote, verify_lote
from ._recognition import Framework, RecognitionAgreement
from ._registry_snapshot import verify_registry_snapshot

__all__ = ["load_trust_snapshot"]

REGISTRY_KEY = "ca-registry"


def load_trust_snapshot(
    *,
    home: Framework,
    eu_lists: Mapping[str, str],
    registry: str | None,
    recognitions: Sequence[RecognitionAgreement],
    eu_operator_anchors: Sequence[x509.Certificate],
    ca_operator_anchors: Sequence[x509.Certificate],
    now: datetime,
    last_seen: Mapping[str, int] | None = None,
    lote_schema: JsonObject | None = None,
) -> TrustSnapshot:
    """Verify each EU list (by name) and the registry snapshot, or raise ``trust.*``."""
    seen = last_seen or {}
    lotes: list[VerifiedLote] = [
        verify_lote(
            token,
            operator_anchors=eu_operator_anchors,
            now=now,
            last_seen_sequence=seen.get(name),
            schema=lote_schema,
        )
        for name, token in eu_lists.items()
    ]
    verified_registry = (
        None
        if registry is None
        else verify_registry_snapshot(
            registry,
            operator_anchors=ca_operator_anchors,
            now=now,
            last_seen_sequence=seen.get(REGISTRY_KEY),
        )
    )
    return TrustSnapshot(
        home=home,
        eu_lists=tuple(lotes),
        ca_registry=verified_registry,
        recognitions=tuple(recognitions),
    )
