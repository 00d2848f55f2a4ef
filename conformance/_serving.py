"""The one way the suite listens: a small HTTP(S) server in a thread, on a free port.

Every role the suite plays against a target (its verifier, its issuer, its consumer,
the host of the documents it publishes) is a :class:`ServedRole`: a
:class:`SuiteServer` listens for it from :meth:`~ServedRole.start` (or the start of a
``with`` block) to :meth:`~ServedRole.close`, with a :class:`SuiteHandler` subclass
for its routes. The handler reaches the role as ``self.server.owner``.
"""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from socket import socket
from typing import Any, ClassVar, Generic, Self, TypeVar

from passerelle import JsonValue

__all__ = ["MAX_BODY", "ServedRole", "SuiteHandler", "SuiteServer"]

MAX_BODY = 1 << 20
"""The most of a request body a handler reads."""

OwnerT = TypeVar("OwnerT")


class SuiteServer(ThreadingHTTPServer, Generic[OwnerT]):
    """Listens on ``bind`` at a free port, over TLS when ``tls`` (certificate, key) is
    given, from :meth:`start` to :meth:`stop`."""

    daemon_threads = True
    # Stopping must be bounded: never wait for a target that holds a connection open.
    block_on_close = False

    def __init__(
        self,
        handler: type[SuiteHandler[OwnerT]],
        owner: OwnerT,
        *,
        bind: str,
        tls: tuple[Path, Path] | None,
    ) -> None:
        super().__init__((bind, 0), handler)
        self.owner = owner
        self.tls: ssl.SSLContext | None = None
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(str(tls[0]), str(tls[1]))
            self.tls = context
        self._thread: threading.Thread | None = None

    def finish_request(self, request: Any, client_address: Any) -> None:
        # The TLS handshake runs in the request's own thread, never in the accept loop.
        if self.tls is not None:
            try:
                request = self.tls.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def start(self, name: str) -> SuiteServer[OwnerT]:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name=name, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            # shutdown() waits for serve_forever, so only a started server is shut down.
            self.shutdown()
            self._thread.join(timeout=5)
        self.server_close()
        self._thread = None

    @property
    def port(self) -> int:
        sock: socket = self.socket
        return int(sock.getsockname()[1])

    def url(self, host: str) -> str:
        """The base URL under which the server is reached as ``host``."""
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://{host}:{self.port}"


class SuiteHandler(BaseHTTPRequestHandler, Generic[OwnerT]):
    """Routes of one role; what is common to all of them."""

    server: SuiteServer[OwnerT]
    timeout = 5.0

    def log_message(self, format: str, *args: Any) -> None:
        return  # the suite records what matters itself

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(max(length, 0), MAX_BODY))

    def send_bytes(
        self, status: int, body: bytes, content_type: str, *, no_store: bool = True
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if no_store:
            self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def send_json(
        self, status: int, body: JsonValue, content_type: str = "application/json"
    ) -> None:
        self.send_bytes(status, json.dumps(body).encode("utf-8"), content_type)


class ServedRole:
    """A role the suite plays, listening while it runs. Subclasses name their
    ``handler`` and ``thread_name``; ``host`` is the name the target reaches it under,
    ``bind`` the listening address."""

    handler: ClassVar[type[SuiteHandler[Any]]]
    thread_name: ClassVar[str]

    def __init__(self, *, host: str, bind: str, tls: tuple[Path, Path] | None) -> None:
        self.host = host
        self._bind = bind
        self._tls = tls
        self._server: SuiteServer[Any] | None = None

    def _ready(self) -> None:
        """Runs once the port is known, before the first request can arrive."""

    def start(self) -> Self:
        self._server = SuiteServer(self.handler, self, bind=self._bind, tls=self._tls)
        self._ready()
        self._server.start(self.thread_name)
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.stop()
        self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def server(self) -> SuiteServer[Any]:
        assert self._server is not None, f"start the {type(self).__name__} first"
        return self._server

    @property
    def port(self) -> int:
        return self.server.port
