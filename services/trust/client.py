"""A relying service's view of trust: the lists fetched from the trust service, verified
once into a frozen :class:`~passerelle.trust.TrustSnapshot`, refreshed when due.

Used by the wallet and the verifiers alike. The highest sequence number seen per list
is kept, so a trust service that starts serving an older list is refused
(``trust.list_rollback``) rather than believed.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from cryptography import x509

from passerelle import PasserelleError, Reason
from passerelle.trust import (
    EU_LIST_TYPES,
    MAX_LOTE_BYTES,
    MAX_REGISTRY_SNAPSHOT_BYTES,
    REGISTRY_KEY,
    Framework,
    RecognitionAgreement,
    TrustSnapshot,
    load_trust_snapshot,
)

from ..fetch import Fetcher

__all__ = ["TrustClient"]

REFRESH = timedelta(minutes=5)


class TrustClient:
    def __init__(
        self,
        fetcher: Fetcher,
        *,
        trust_url: str,
        home: Framework | None,
        eu_operator_anchors: Sequence[x509.Certificate],
        ca_operator_anchors: Sequence[x509.Certificate],
        recognitions: Sequence[RecognitionAgreement],
        clock: Callable[[], datetime],
    ) -> None:
        self._fetcher = fetcher
        self._url = trust_url.rstrip("/")
        self._home = home
        self._eu_anchors = tuple(eu_operator_anchors)
        self._ca_anchors = tuple(ca_operator_anchors)
        self._recognitions = tuple(recognitions)
        self._clock = clock
        self._lock = threading.Lock()
        self._snapshot: TrustSnapshot | None = None
        self._fetched_at: datetime | None = None
        self._last_seen: dict[str, int] = {}

    def _text(self, path: str, *, max_bytes: int) -> str:
        response = self._fetcher.request("GET", f"{self._url}{path}", max_bytes=max_bytes)
        if response.status_code != 200:
            raise PasserelleError(
                Reason.TRUST_LIST_MALFORMED,
                f"trust service answered {response.status_code} for {path}",
            )
        return response.text

    def snapshot(self) -> TrustSnapshot:
        """The current snapshot, fetched again when older than the refresh interval."""
        now = self._clock()
        with self._lock:
            if (
                self._snapshot is not None
                and self._fetched_at is not None
                and now - self._fetched_at < REFRESH
            ):
                return self._snapshot
            lists = {
                name: self._text(f"/eu/{name}.jwt", max_bytes=MAX_LOTE_BYTES)
                for name in EU_LIST_TYPES
            }
            snapshot = load_trust_snapshot(
                home=self._home,
                eu_lists=lists,
                registry=self._text("/ca/registry.jwt", max_bytes=MAX_REGISTRY_SNAPSHOT_BYTES),
                recognitions=self._recognitions,
                eu_operator_anchors=self._eu_anchors,
                ca_operator_anchors=self._ca_anchors,
                now=now,
                last_seen=self._last_seen,
            )
            for lote, name in zip(snapshot.eu_lists, lists, strict=True):
                self._last_seen[name] = lote.sequence_number
            if snapshot.ca_registry is not None:
                self._last_seen[REGISTRY_KEY] = snapshot.ca_registry.sequence_number
            self._snapshot, self._fetched_at = snapshot, now
            return snapshot
