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
import ssl
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socket import socket
from typing import Any
from urllib.parse import urlsplit

__all__ = ["DocumentHost", "Fetch"]


@dataclass(frozen=True, slots=True)
class Fetch:
    """One request that reached the host."""

    method: str
    path: str
    found: bool


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, bind: tuple[str, int], owner: DocumentHost) -> None:
        super().__init__(bind, _Handler)
        self.owner = owner
        self.tls: ssl.SSLContext | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        if self.tls is not None:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 5.0

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        found = self.server.owner.lookup(path)
        self.server.owner.record(Fetch(method="GET", path=path, found=found is not None))
        body, content_type = found or (b'{"error":"not_found"}', "application/json")
        self.send_response(200 if found is not None else 404)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class DocumentHost:
    """Serves published documents while the ``with`` block runs."""

    def __init__(
        self, *, host: str = "localhost", bind: str = "127.0.0.1", tls: tuple[Path, Path] | None
    ) -> None:
        self.host = host
        self._bind = bind
        self._tls = tls
        self._lock = threading.Lock()
        self._documents: dict[str, tuple[bytes, str]] = {}
        self._fetches: list[Fetch] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> DocumentHost:
        server = _Server((self._bind, 0), self)
        if self._tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(self._tls[0]), str(self._tls[1]))
            server.tls = context
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="conformance-document-host",
            daemon=True,
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = self._thread = None

    @property
    def base_url(self) -> str:
        assert self._server is not None, "use DocumentHost in a with block"
        sock: socket = self._server.socket
        scheme = "https" if self._tls is not None else "http"
        return f"{scheme}://{self.host}:{int(sock.getsockname()[1])}"

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
