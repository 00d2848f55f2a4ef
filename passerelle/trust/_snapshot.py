"""From signed documents to a :class:`TrustSnapshot`: every list verified once, here.

A verifier calls this when it (re)loads its lists, then evaluates any number of
credentials against the frozen result. ``last_seen`` carries the highest sequence
number seen per list, so that a replayed older list is refused (``trust.list_rollback``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from cryptography import x509

from .._errors import PasserelleError, Reason
from .._json import JsonObject
from ._evaluate import TrustSnapshot
from ._lote import (
    LOTE_TYPE_PID_PROVIDERS,
    LOTE_TYPE_PUB_EAA_PROVIDERS,
    LOTE_TYPE_WRPAC_PROVIDERS,
    VerifiedLote,
    verify_lote,
)
from ._recognition import Framework, RecognitionAgreement
from ._registry_snapshot import verify_registry_snapshot

__all__ = ["EU_LIST_TYPES", "REGISTRY_KEY", "load_trust_snapshot"]

REGISTRY_KEY = "ca-registry"
EU_LIST_TYPES: Mapping[str, str] = {
    "pid-providers": LOTE_TYPE_PID_PROVIDERS,
    "pubeaa-providers": LOTE_TYPE_PUB_EAA_PROVIDERS,
    "wrpac-providers": LOTE_TYPE_WRPAC_PROVIDERS,
}
"""The EU lists a verifier loads, by the name it loads them under."""


def load_trust_snapshot(
    *,
    home: Framework | None,
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
    lotes: list[VerifiedLote] = []
    for name, token in eu_lists.items():
        expected = EU_LIST_TYPES.get(name)
        if expected is None:
            raise PasserelleError(Reason.TRUST_LIST_MALFORMED, f"no EU list is called {name!r}")
        lote = verify_lote(
            token,
            operator_anchors=eu_operator_anchors,
            now=now,
            last_seen_sequence=seen.get(name),
            schema=lote_schema,
        )
        # A validly signed list of another type must not stand in for this one.
        if lote.list_type != expected:
            raise PasserelleError(
                Reason.TRUST_LIST_MALFORMED, f"{name} holds a {lote.list_type}, not a {expected}"
            )
        lotes.append(lote)
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
