"""A relying service's view of trust: the lists fetched from the trust service, verified
once into a frozen :class:`~passerelle.trust.TrustSnapshot`, and noticed within seconds
when they change.

Used by the wallet and the verifiers alike. The highest sequence number seen per list
is kept, so a trust service that starts serving an older list is refused
(``trust.list_rollback``) rather than believed.

An outage of the trust service is ours, not the caller's: with lists already verified,
the last snapshot goes on serving (each decision still checks every list's
``NextUpdate``, so it fails closed with ``trust.list_stale`` once that passes); with
none, the answer is ``trust.unavailable``. While a cached snapshot serves, a failed
refresh is retried at most every :data:`RETRY`, so a dead trust service does not cost
every request a timeout. A list that arrives but does not verify is not an outage: it
fails as what it is, still blamed on the trust service (``Fault.DEPENDENCY``).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509

from passerelle import Fault, PasserelleError, Reason
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

__all__ = ["REFRESH", "RETRY", "REVALIDATE", "TrustClient"]

#: How often the published lists are asked whether they changed. A partner added with
#: ``passerelle trust build`` reaches every running service within this interval.
REVALIDATE = timedelta(seconds=2)
#: How long a snapshot is used without its lists being verified again, however the
#: publisher answers (its freshness is still checked at every decision).
REFRESH = timedelta(minutes=5)
#: How long a snapshot in hand serves, unasked, after the trust service could not be
#: reached.
RETRY = timedelta(seconds=30)


@dataclass(frozen=True, slots=True)
class _Published:
    text: str
    etag: str | None


class TrustClient:
    """The lists, verified into one snapshot, and kept current by a short freshness check.

    Every :data:`REVALIDATE` the client asks the trust service for each list with a
    conditional GET (``If-None-Match``, RFC 9110 §13.1.2): an unchanged list costs a 304
    and no verification; a new one (a rebuilt list, with a higher sequence number) is
    verified and replaces the snapshot at once. Polling was chosen over a push from the
    trust service or from ``passerelle trust build``: it works with any publisher that
    serves the lists over HTTP (a partner's or a real scheme operator's, which know
    nothing of who relies on them), needs no registration of listeners, and survives a
    restart of either side. What decides is the signed list itself (its signature, its
    sequence number never going back), never the HTTP answer.
    """

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
        revalidate: timedelta = REVALIDATE,
    ) -> None:
        self._fetcher = fetcher
        self._url = trust_url.rstrip("/")
        self._home = home
        self._eu_anchors = tuple(eu_operator_anchors)
        self._ca_anchors = tuple(ca_operator_anchors)
        self._recognitions = tuple(recognitions)
        self._clock = clock
        self._revalidate = revalidate
        self._lock = threading.Lock()
        self._snapshot: TrustSnapshot | None = None
        self._verified_at: datetime | None = None
        self._checked_at: datetime | None = None
        self._failed_at: datetime | None = None
        self._published: dict[str, _Published] = {}
        self._refused: tuple[dict[str, _Published], PasserelleError, datetime] | None = None
        """The documents last refused, why and when: the same documents are not verified
        again before RETRY (a forged list must not cost every request a full verification)."""
        self._last_seen: dict[str, int] = {}

    def _get(self, path: str) -> _Published:
        """The document at ``path``: the one held if the publisher says it is unchanged."""
        held = self._published.get(path)
        headers = {"If-None-Match": held.etag} if held is not None and held.etag else None
        try:
            # Lists are large by nature: each kind has its own cap (a 100,000-entity LoTE).
            cap = MAX_REGISTRY_SNAPSHOT_BYTES if path == _REGISTRY_PATH else MAX_LOTE_BYTES
            response = self._fetcher.request(
                "GET", f"{self._url}{path}", headers=headers, max_bytes=cap
            )
        except PasserelleError as exc:
            # Our own dependency is down or refused: say so, without its transport text.
            raise PasserelleError(
                Reason.TRUST_UNAVAILABLE, f"the trust service could not be reached for {path}"
            ) from exc
        if response.status_code == 304 and held is not None:
            return held
        if response.status_code != 200:
            raise PasserelleError(
                Reason.TRUST_UNAVAILABLE,
                f"the trust service answered {response.status_code} for {path}",
            )
        return _Published(text=response.text, etag=response.headers.get("etag"))

    def _verify(self, published: dict[str, _Published], now: datetime) -> TrustSnapshot:
        snapshot = load_trust_snapshot(
            home=self._home,
            eu_lists={name: published[_eu_path(name)].text for name in EU_LIST_TYPES},
            registry=published[_REGISTRY_PATH].text,
            recognitions=self._recognitions,
            eu_operator_anchors=self._eu_anchors,
            ca_operator_anchors=self._ca_anchors,
            now=now,
            last_seen=self._last_seen,
        )
        for lote, name in zip(snapshot.eu_lists, EU_LIST_TYPES, strict=True):
            self._last_seen[name] = lote.sequence_number
        if snapshot.ca_registry is not None:
            self._last_seen[REGISTRY_KEY] = snapshot.ca_registry.sequence_number
        return snapshot

    def snapshot(self) -> TrustSnapshot:
        """The current snapshot: asked again whether it changed when older than
        :data:`REVALIDATE`, verified again when a list changed or every :data:`REFRESH`;
        the one in hand while the trust service cannot be reached (module docstring)."""
        now = self._clock()
        with self._lock:
            held, checked, verified = self._snapshot, self._checked_at, self._verified_at
            if held is not None and checked is not None and now - checked < self._revalidate:
                return held
            failed = self._failed_at
            if held is not None and failed is not None and now - failed < RETRY:
                return held
            young = held is not None and verified is not None and now - verified < REFRESH
            try:
                published = {path: self._get(path) for path in _PATHS}
            except PasserelleError:
                if held is None:
                    raise
                # The publisher is unreachable: the verified snapshot in hand goes on
                # serving, whatever its age, for every decision checks each list's
                # NextUpdate (trust.list_stale once it has passed). Asked again after
                # RETRY, so that a dead trust service does not cost every request a wait.
                self._failed_at = now
                return held
            self._failed_at = None
            unchanged = all(self._published.get(path) == doc for path, doc in published.items())
            if held is not None and young and unchanged:
                self._checked_at = now
                return held
            if (
                self._refused is not None
                and self._refused[0] == published
                and now - self._refused[2] < RETRY
            ):
                refused = self._refused[1]
                raise PasserelleError(
                    refused.reason,
                    refused.detail,
                    fault=Fault.DEPENDENCY,
                    wire_error="temporarily_unavailable",
                )
            try:
                snapshot = self._verify(published, now)
            except PasserelleError as exc:
                # A forged, stale or rolled-back list fails closed under its own reason;
                # whose fault it is does not change: our trust service's, not our caller's.
                self._refused = (published, exc, now)
                raise PasserelleError(
                    exc.reason,
                    exc.detail,
                    fault=Fault.DEPENDENCY,
                    wire_error="temporarily_unavailable",
                ) from exc
            self._refused = None
            self._snapshot, self._published = snapshot, published
            self._verified_at = self._checked_at = now
            return snapshot


def _eu_path(name: str) -> str:
    return f"/eu/{name}.jwt"


_REGISTRY_PATH = "/ca/registry.jwt"
_PATHS = (*(_eu_path(name) for name in EU_LIST_TYPES), _REGISTRY_PATH)
