"""Documents the suite serves to a target while one check runs: status lists today.

A :class:`DocumentHost` is a small HTTP server in a thread, on a free port, for the
length of a ``with`` block. Each document sits at a path of random characters that no
target can have seen before: a verifier asked about it has nothing cached, so what it
decides depends on what it fetches now, never on the history of the stack. Every fetch
is recorded, so a check can say whether the target looked at all.

Reachability is the verifier target's: on one machine the host listens on loopback
and is advertised as ``localhost`` (the development TLS certificate names it, for a
target served over HTTPS). A partner's verifier on another machine needs the suite
reachable under a name it can resolve: set ``suite_host`` (the advertised name) and
``suite_bind`` (the listening address) on the target.
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ._serving import ServedRole, SuiteHandler

__all__ = ["DocumentHost", "Fetch"]


@dataclass(frozen=True, slots=True)
class Fetch:
    """One request that reached the host."""

    method: str
    path: str
    found: bool


class _Handler(SuiteHandler["DocumentHost"]):
    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        found = self.server.owner.lookup(path)
        self.server.owner.record(Fetch(method="GET", path=path, found=found is not None))
        body, content_type = found or (b'{"error":"not_found"}', "application/json")
        self.send_bytes(200 if found is not None else 404, body, content_type, no_store=False)


class DocumentHost(ServedRole):
    """Serves published documents while the ``with`` block runs."""

    handler = _Handler
    thread_name = "conformance-document-host"

    def __init__(
        self, *, host: str = "localhost", bind: str = "127.0.0.1", tls: tuple[Path, Path] | None
    ) -> None:
        super().__init__(host=host, bind=bind, tls=tls)
        self._lock = threading.Lock()
        self._documents: dict[str, tuple[bytes, str]] = {}
        self._fetches: list[Fetch] = []

    @property
    def base_url(self) -> str:
        return self.server.url(self.host)

    def fresh_url(self, kind: str) -> str:
        """A URL under which nothing was ever served, to publish at."""
        return f"{self.base_url}/{kind}/{secrets.token_urlsafe(16)}"

    def publish(self, url: str, body: bytes, content_type: str) -> None:
        with self._lock:
            self._documents[urlsplit(url).path] = (body, content_type)

    def lookup(self, path: str) -> tuple[bytes, str] | None:
        with self._lock:
            return self._documents.get(path)

    def record(self, fetch: Fetch) -> None:
        with self._lock:
            self._fetches.append(fetch)

    def fetches(self, url: str) -> int:
        """How many times the document at ``url`` was asked for."""
        path = urlsplit(url).path
        with self._lock:
            return sum(1 for f in self._fetches if f.path == path)
