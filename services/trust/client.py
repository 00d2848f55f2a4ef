"""A relying service's view of trust: the lists fetched from the trust service, verified
once into a frozen :class:`~passerelle.trust.TrustSnapshot`, refreshed when due.

Used by the wallet and the verifiers alike. The highest sequence number seen per list
is kept, so a trust service that starts serving an older list is refused
(``trust.list_rollback``) rather than believed.

An outage of the trust service is ours, not the caller's: with lists already verified,
the last snapshot goes on serving (each decision still checks every list's
``NextUpdate``, so it fails closed with ``trust.list_stale`` once that passes); with
none, the answer is ``trust.unavailable``. While a cached snapshot serves, a failed
refresh is retried at most every :data:`RETRY`, so a dead trust service does not cost
every request a timeout.
A list that arrives but does not verify is not an outage: it fails as what it is.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta

from cryptography import x509

from passerelle import Fault, PasserelleError, Reason
from passerelle.trust import (
    EU_LIST_TYPES,
    REGISTRY_KEY,
    Framework,
    RecognitionAgreement,
    TrustSnapshot,
    load_trust_snapshot,
)

from ..fetch import Fetcher

__all__ = ["TrustClient"]

REFRESH = timedelta(minutes=5)
RETRY = timedelta(seconds=30)


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
        self._failed_at: datetime | None = None
        self._last_seen: dict[str, int] = {}

    def _text(self, path: str) -> str:
        try:
            response = self._fetcher.request("GET", f"{self._url}{path}")
        except PasserelleError as exc:
            # Our own dependency is down or refused: say so, without its transport text.
            raise PasserelleError(
                Reason.TRUST_UNAVAILABLE, f"the trust service could not be reached for {path}"
            ) from exc
        if response.status_code != 200:
            raise PasserelleError(
                Reason.TRUST_UNAVAILABLE,
                f"the trust service answered {response.status_code} for {path}",
            )
        return response.text

    def snapshot(self) -> TrustSnapshot:
        """The current snapshot, fetched again when older than the refresh interval;
        the cached one while the trust service is unreachable (module docstring)."""
        now = self._clock()
        with self._lock:
            if (
                self._snapshot is not None
                and self._fetched_at is not None
                and now - self._fetched_at < REFRESH
            ):
                return self._snapshot
            cached, failed_at = self._snapshot, self._failed_at
            if cached is not None and failed_at is not None and now - failed_at < RETRY:
                return cached
            try:
                return self._refresh(now)
            except PasserelleError as exc:
                if exc.reason is not Reason.TRUST_UNAVAILABLE or cached is None:
                    raise
                self._failed_at = now
                return cached

    def _refresh(self, now: datetime) -> TrustSnapshot:
        lists = {name: self._text(f"/eu/{name}.jwt") for name in EU_LIST_TYPES}
        try:
            snapshot = load_trust_snapshot(
                home=self._home,
                eu_lists=lists,
                registry=self._text("/ca/registry.jwt"),
                recognitions=self._recognitions,
                eu_operator_anchors=self._eu_anchors,
                ca_operator_anchors=self._ca_anchors,
                now=now,
                last_seen=self._last_seen,
            )
        except PasserelleError as exc:
            if exc.reason is Reason.TRUST_UNAVAILABLE:
                raise
            # A forged, stale or rolled-back list fails closed under its own reason; whose
            # fault it is does not change: our trust service's, not our caller's.
            raise PasserelleError(
                exc.reason, exc.detail, fault=Fault.DEPENDENCY, wire_error="temporarily_unavailable"
            ) from exc
        for lote, name in zip(snapshot.eu_lists, lists, strict=True):
            self._last_seen[name] = lote.sequence_number
        if snapshot.ca_registry is not None:
            self._last_seen[REGISTRY_KEY] = snapshot.ca_registry.sequence_number
        self._snapshot, self._fetched_at = snapshot, now
        self._failed_at = None
        return snapshot
