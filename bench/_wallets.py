"""The load: a separate process playing many wallets, so that the wallet's own work is
never counted as the service's.

    python -m bench._wallets issue   ISSUER_URL  COUNT CONCURRENCY OUT.json
    python -m bench._wallets present VERIFIER_URL CREDENTIALS.json COUNT CONCURRENCY

``issue`` runs the OpenID4VCI pre-authorized code flow (offer, token, nonce, credential
with a key proof) COUNT times and writes the credentials with their holder keys (keys
generated in this run, written only to the bench's temporary directory). ``present``
runs COUNT OpenID4VP transactions (create, fetch the request object, answer by
``direct_post`` with a fresh KB-JWT for the verifier's nonce) over those credentials.
Each prints one JSON line: the count, the wall time and every latency.

The bench wallet reads the request object without verifying its signature: it talks to
the local verifier the bench started, and its own checks are not what is measured.

The load process shares the machine with the service it measures, so it is kept
light, lest its own CPU be measured as the service's slowness: HTTP/1.1 over a plain
socket (httpx, and even ``http.client``, cost more CPU per request than the verifier
spends serving it), and the disclosures of each credential chosen once, as a wallet
keeps them ready, so a transaction costs the wallet its KB-JWT. Each presentation is
another wallet: the relying party's backend creates the transaction over a keep-alive
connection per thread, and the wallet fetches the request object and posts its answer
over a connection of its own, which with several workers goes to whichever accepts it
first.
"""

from __future__ import annotations

import json
import socket
import string
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus, urlencode, urlsplit

from cryptography.hazmat.primitives.asymmetric import ec

from passerelle.jose import (
    KeySigner,
    decode_unverified_jws,
    load_private_jwk,
    private_jwk,
    public_jwk,
    sign_jws,
)
from passerelle.sd_jwt import KeyBindingInput, create_kb_jwt, present_sd_jwt

PRE = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
CONFIGURATION = "eu-pid-sd-jwt"
PERSONA = "jan-thart"
POLICY = "age-and-name"
SHOWN = [("given_name",), ("family_name",), ("age_equal_or_over", "18")]

_local = threading.local()


class Answer:
    """A response, read whole."""

    def __init__(self, status: int, body: bytes) -> None:
        self.status_code = status
        self.content = body

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")

    def json(self) -> Any:
        return json.loads(self.content)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise RuntimeError(f"HTTP {self.status_code}: {self.text[:500]}")


class _Closed(Exception):
    """The server closed the connection before answering (an idle keep-alive one)."""


class Client:
    """One wallet's keep-alive connection to one origin, speaking just the HTTP/1.1
    this bench's services answer (a Content-Length on every response) over a plain
    socket: loopback, no TLS. ``http.client`` parses headers through the email package
    and cost more CPU than the verifier's own request handling."""

    def __init__(self, origin: str) -> None:
        parts = urlsplit(origin)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"the bench wallets speak plain HTTP to loopback, not {origin!r}")
        self._host, self._port = parts.hostname, parts.port or 80
        self._netloc = parts.netloc
        self._sock: socket.socket | None = None
        self._buffer = b""

    def close(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None
            self._buffer = b""

    def get(self, url: str) -> Answer:
        return self._exchange("GET", url, None, {})

    def post(
        self,
        url: str,
        *,
        json: Any = None,
        data: dict[str, str] | bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = dict(headers or {})
        body = b""
        if isinstance(data, bytes):  # already form-encoded
            body = data
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        elif json is not None:
            body = _dumps(json).encode()
            sent["Content-Type"] = "application/json"
        elif data is not None:
            body = urlencode(data).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
        return self._exchange("POST", url, body, sent)

    def _exchange(
        self, method: str, url: str, body: bytes | None, headers: dict[str, str]
    ) -> Answer:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self._netloc}"]
        lines += [f"{k}: {v}" for k, v in headers.items()]
        if body is not None:
            lines.append(f"Content-Length: {len(body)}")
        request = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")
        for attempt in (1, 2):
            if self._sock is None:
                self._sock = socket.create_connection((self._host, self._port), timeout=120)
                self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            try:
                self._sock.sendall(request)
                return self._response()
            except (_Closed, BrokenPipeError, ConnectionResetError):
                # The server closed an idle keep-alive connection: open another, once.
                self.close()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def _recv(self) -> bytes:
        assert self._sock is not None
        chunk = self._sock.recv(65536)
        if not chunk:
            raise _Closed
        return chunk

    def _response(self) -> Answer:
        buffer = self._buffer
        while (end := buffer.find(b"\r\n\r\n")) < 0:
            buffer += self._recv()
        head, buffer = buffer[:end].decode("latin-1"), buffer[end + 4 :]
        status_line, *fields = head.split("\r\n")
        length, close = 0, False
        for field in fields:
            name, _, value = field.partition(":")
            name, value = name.strip().lower(), value.strip()
            if name == "content-length":
                length = int(value)
            elif name == "transfer-encoding":
                raise RuntimeError(f"the bench wallets read no {value} body")
            elif name == "connection" and value.lower() == "close":
                close = True
        while len(buffer) < length:
            buffer += self._recv()
        answer = Answer(int(status_line.split()[1]), buffer[:length])
        self._buffer = buffer[length:]
        if close:
            self.close()
        return answer


_dumps = json.dumps
# What form encoding leaves as it is (RFC 3986 unreserved): all of an SD-JWT's text.
_UNRESERVED = (string.ascii_letters + string.digits + "_.-~").encode()


def answer_form(presentation: str, state: str) -> bytes:
    """``urlencode({"vp_token": json.dumps({"pid": [presentation]}), "state": state})``,
    byte for byte. The standard library quotes the 4 kB token one byte at a time in
    Python (a quarter of a millisecond, the wallets' largest cost after signing); an
    SD-JWT is unreserved characters only, so only the JSON around it needs quoting."""
    if presentation.encode().rstrip(_UNRESERVED):  # anything to quote: the slow way
        return urlencode({"vp_token": _dumps({"pid": [presentation]}), "state": state}).encode()
    head, tail = _dumps({"pid": [""]}).split('""')
    before, after = quote_plus(head + '"'), quote_plus('"' + tail)
    return f"vp_token={before}{presentation}{after}&state={quote_plus(state)}".encode()


def _client(origin: str) -> Client:
    # One keep-alive connection per wallet thread, as a real wallet app would hold.
    client: Client | None = getattr(_local, "client", None)
    if client is None:
        client = Client(origin)
        _local.client = client
    return client


def _issue_one(issuer: str, credential_issuer: str) -> dict[str, Any]:
    client = _client(issuer)
    made = client.post(
        f"{issuer}/offers",
        json={
            "credential_configuration_ids": [CONFIGURATION],
            "persona": PERSONA,
            "tx_code": False,
        },
    )
    made.raise_for_status()
    code = made.json()["credential_offer"]["grants"][PRE]["pre-authorized_code"]
    token = client.post(f"{issuer}/token", data={"grant_type": PRE, "pre-authorized_code": code})
    token.raise_for_status()
    bearer = token.json()["access_token"]
    nonce = client.post(f"{issuer}/nonce").json()["c_nonce"]
    holder = ec.generate_private_key(ec.SECP256R1())
    proof = sign_jws(
        {"typ": "openid4vci-proof+jwt", "alg": "ES256", "jwk": public_jwk(holder.public_key())},
        {"aud": credential_issuer, "iat": int(time.time()), "nonce": nonce},
        KeySigner(holder),
    )
    answer = client.post(
        f"{issuer}/credential",
        json={"credential_configuration_id": CONFIGURATION, "proofs": {"jwt": [proof]}},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    answer.raise_for_status()
    return {
        "credential": answer.json()["credentials"][0]["credential"],
        "holder": private_jwk(holder),
    }


@dataclass(frozen=True, slots=True)
class Held:
    """A credential as a wallet keeps it ready: the disclosures this bench's verifier
    asks for chosen once (the same every time), so that each transaction costs the
    wallet what it must, a KB-JWT for the verifier's nonce. The result is byte for byte
    ``present_sd_jwt(credential, disclose=SHOWN, key_binding=...)``."""

    shown: str
    hash_alg: str
    holder: Any

    @classmethod
    def of(cls, credential: str, holder: Any) -> Held:
        shown = present_sd_jwt(credential, disclose=SHOWN)
        payload = decode_unverified_jws(shown.split("~", 1)[0]).payload_json()
        return cls(shown=shown, hash_alg=str(payload.get("_sd_alg", "sha-256")), holder=holder)

    def presented(self, *, nonce: str, audience: str) -> str:
        binding = KeyBindingInput(
            signer=KeySigner(self.holder), nonce=nonce, audience=audience, now=datetime.now(UTC)
        )
        return self.shown + create_kb_jwt(self.shown, binding=binding, hash_alg=self.hash_alg)


def _present_one(verifier: str, held: Held) -> None:
    # The relying party's backend creates the transaction over the keep-alive connection
    # it holds; the wallet is another device each time, on a connection of its own (so
    # that with several workers each presentation goes to whichever accepts it first).
    made = _client(verifier).post(
        f"{verifier}/transactions", json={"policy": POLICY, "response_mode": "direct_post"}
    )
    made.raise_for_status()
    wallet = Client(verifier)
    try:
        request = wallet.get(made.json()["request_uri"])
        request.raise_for_status()
        claims = decode_unverified_jws(request.text).payload_json()
        presentation = held.presented(nonce=str(claims["nonce"]), audience=str(claims["client_id"]))
        answer = wallet.post(
            str(claims["response_uri"]), data=answer_form(presentation, str(claims["state"]))
        )
    finally:
        wallet.close()
    if answer.status_code != 200:
        raise RuntimeError(f"the verifier refused a presentation: {answer.text[:500]}")


def _run(count: int, concurrency: int, one: Any) -> tuple[float, list[float]]:
    def timed(i: int) -> float:
        started = time.perf_counter()
        one(i)
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(timed, range(count)))
    return time.perf_counter() - started, latencies


def main(argv: list[str]) -> int:
    mode = argv[0]
    if mode == "issue":
        issuer, count, concurrency, out = argv[1], int(argv[2]), int(argv[3]), Path(argv[4])
        metadata = Client(issuer).get(f"{issuer}/.well-known/openid-credential-issuer")
        credential_issuer = metadata.json()["credential_issuer"]
        issued: list[dict[str, Any]] = [{}] * count

        def issue(i: int) -> None:
            issued[i] = _issue_one(issuer, credential_issuer)

        wall, latencies = _run(count, concurrency, issue)
        out.write_text(json.dumps(issued))
    elif mode == "present":
        verifier, source = argv[1], Path(argv[2])
        count, concurrency = int(argv[3]), int(argv[4])
        wallets = [
            Held.of(w["credential"], load_private_jwk(w["holder"]))
            for w in json.loads(source.read_text())
        ]

        def present(i: int) -> None:
            _present_one(verifier, wallets[i % len(wallets)])

        wall, latencies = _run(count, concurrency, present)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps({"count": count, "wall_s": wall, "latencies_s": latencies}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
