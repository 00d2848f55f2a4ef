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


# --- a verifier whose 200 is not JSON -----------------------------------------------------


def _minimal_verifier(stack: Stack, answer: bytes, content_type: str) -> Iterator[str]:
    """A verifier nobody here wrote, in thirty lines: an access certificate under the
    dev WRPAC CA, a signed request by reference (``x509_hash``), a response_uri that
    answers 200 with ``answer``. Yields the launch link."""
    import base64
    import hashlib
    import os
    from datetime import timedelta

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from passerelle.jose import KeySigner
    from passerelle.oid4vp import AuthorizationRequest, ResponseMode, create_request_object
    from passerelle.services.pki import load_pki
    from passerelle.services.runtime import utc_now
    from passerelle.x509 import LeafUsage, build_leaf_certificate, build_name

    pki = load_pki(stack.data_dir)
    key = ec.generate_private_key(ec.SECP256R1())
    now = utc_now()
    cert = build_leaf_certificate(
        subject=build_name(common_name="plain-text verifier"),
        public_key=key.public_key(),
        issuer_cert=pki.certificate("eu-wrpac-provider-ca"),
        issuer_key=pki.private_key("eu-wrpac-provider-ca"),
        not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=1),
        serial=int.from_bytes(os.urandom(8), "big") >> 1,
        usage=LeafUsage.ACCESS,
    )
    der = cert.public_bytes(serialization.Encoding.DER)
    client_id = (
        "x509_hash:" + base64.urlsafe_b64encode(hashlib.sha256(der).digest()).rstrip(b"=").decode()
    )
    posted: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            request = AuthorizationRequest(
                client_id=client_id,
                response_mode=ResponseMode.DIRECT_POST,
                response_uri=f"{base}/response",
                nonce="n-plain-text-verifier",
                state="st-1",
                dcql_query={
                    "credentials": [
                        {
                            "id": "pid",
                            "format": "dc+sd-jwt",
                            "meta": {"vct_values": ["urn:eudi:pid:1"]},
                            "claims": [{"path": ["given_name"]}],
                        }
                    ]
                },
            )
            token = create_request_object(
                request,
                signer=KeySigner(key),
                now=utc_now(),
                x5c=[base64.b64encode(der).decode()],
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/oauth-authz-req+jwt")
            self.send_header("Content-Length", str(len(token)))
            self.end_headers()
            self.wfile.write(token)

        def do_POST(self) -> None:
            posted.append(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode())
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    base = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "openid4vp://?" + urlencode(
            {"client_id": client_id, "request_uri": f"{base}/request"}
        )
    finally:
        server.shutdown()
        server.server_close()
    assert len(posted) == 1
    assert "vp_token" in parse_qs(posted[0])


@pytest.mark.parametrize(
    ("answer", "content_type"),
    [(b"thank you", "text/plain"), (b"[1, 2]", "application/json"), (b"", "application/json")],
    ids=["text", "json-array", "empty"],
)
def test_a_verifier_200_that_is_not_a_json_object_is_still_an_accepted_presentation(
    stack: Stack, answer: bytes, content_type: str
) -> None:
    """OpenID4VP 1.0 §8.2 says the verifier answers 200 with a JSON object; one that
    answers 200 with anything else has still accepted the presentation. The wallet says
    so (no redirect), and never fails with a 500."""
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "jan-thart")
    for link in _minimal_verifier(stack, answer, content_type):
        outcome = stack.present(link)
        assert outcome["accepted"] is True, outcome
        assert outcome["verifier_status"] == 200
        assert "redirect_uri" not in outcome
