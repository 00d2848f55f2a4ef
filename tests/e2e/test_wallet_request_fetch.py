"""What our wallet sends when it fetches a request object, seen by the server it asks.

OpenID4VP 1.0 §5.10: "The request MUST use the HTTP POST method with the https scheme,
and the content type application/x-www-form-urlencoded and the Accept header set to
application/oauth-authz-req+jwt." A verifier is entitled to refuse anything else, so
the wallet must be exact in what it sends.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import ClassVar
from urllib.parse import parse_qs, urlencode

import pytest

from tests.e2e.conftest import Stack


class _Recorder(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[tuple[str, dict[str, str], str]]] = []

    def _record(self, body: str) -> None:
        self.seen.append((self.command, {k.lower(): v for k, v in self.headers.items()}, body))
        # Not a request object: the wallet must refuse it after the fetch.
        self.send_response(200)
        self.send_header("Content-Type", "application/oauth-authz-req+jwt")
        self.send_header("Content-Length", "9")
        self.end_headers()
        self.wfile.write(b"not.a.jwt")

    def do_GET(self) -> None:
        self._record("")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self._record(self.rfile.read(length).decode())

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def recorder() -> Iterator[tuple[str, list[tuple[str, dict[str, str], str]]]]:
    _Recorder.seen = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/request", _Recorder.seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("method", ["post", "get"])
def test_request_uri_fetch_names_the_request_object_media_type(
    stack: Stack, recorder: tuple[str, list[tuple[str, dict[str, str], str]]], method: str
) -> None:
    url, seen = recorder
    params = {"client_id": "x509_hash:Uvo3HtuIxuhC92rShpgqcT3YXwrqRxWEviRiA0OZszk"}
    params["request_uri"] = url
    if method == "post":
        params["request_uri_method"] = "post"
    outcome = stack.present("openid4vp://?" + urlencode(params))
    assert outcome["accepted"] is False
    assert outcome["stage"] == "request"
    assert len(seen) == 1
    command, headers, body = seen[0]
    assert command == method.upper()
    assert headers["accept"] == "application/oauth-authz-req+jwt"
    if method == "post":
        assert headers["content-type"] == "application/x-www-form-urlencoded"
        assert parse_qs(body)["wallet_nonce"][0]
