"""The suite as an OpenID4VP 1.0 verifier, honest or adversarial, against a wallet target.

A :class:`SuiteVerifier` is a small HTTP server the suite runs for the length of one
check (or one shared step), in a thread, on a free port. It serves Request Objects at
``request_uri`` (GET, and POST with a ``wallet_nonce``), takes Authorization Responses
at ``response_uri`` (``direct_post``, and ``direct_post.jwt`` decrypted with a key made
for that one request) and records everything that arrived. A check then judges the
wallet by what it fetched, what it sent, and what its backchannel says it decided.

Requests are honest unless a :class:`Deviation` (or a dishonest
:class:`VerifierIdentity`) says otherwise, and then wrong in exactly one way: this
module is the one place where the suite breaks the OpenID4VP rules on purpose.
Independent of ``services/verifier`` on purpose: the judge does not share the code of
the systems it judges; it uses the pure core only.

Reachability. The wallet must reach this server. On one machine (the local stack) it
listens on loopback and advertises ``http://localhost:<port>``: the access certificate
of the suite's verifier identity names ``localhost`` in its SAN, and under
``x509_san_dns`` the response_uri host must be that name (OpenID4VP §5.9.3). When the
wallet itself is served over HTTPS (a stack started with ``--tls``, whose wallet then
refuses plain HTTP), the suite serves HTTPS with the development TLS certificate.
A partner's wallet on another machine needs the suite reachable under a DNS name its
verifier access certificate carries: set ``suite_verifier_host`` (the advertised name)
and ``suite_verifier_bind`` (the listening address) on the wallet target, and route or
tunnel that name to the suite. A wallet that cannot reach the suite fails the happy
paths with "nothing arrived", and every negative check depending on them is skipped.
"""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import JsonObject, JsonValue, PasserelleError
from passerelle.jose import KeySigner, Signer, decode_unverified_jws, epoch, sign_jws
from passerelle.oid4vp import (
    REQUEST_OBJECT_TYP,
    STATIC_AUDIENCE,
    SUPPORTED_RESPONSE_ENC,
    AuthorizationRequest,
    ClientMetadata,
    RequestUriMethod,
    ResponseMode,
    authorization_request_url,
    create_request_object,
    decrypt_response,
    encryption_jwk,
    request_to_claims,
)
from passerelle.services.pki import Pki
from passerelle.x509 import (
    LeafUsage,
    build_ca_certificate,
    build_leaf_certificate,
    build_name,
    draw_serial_number,
    encode_x5c,
    x509_hash,
)

from ._serving import ServedRole, SuiteHandler

__all__ = [
    "RESPONSE_ENC",
    "Arrival",
    "Deviation",
    "PendingRequest",
    "SuiteVerifier",
    "VerifierIdentity",
    "foreign_key_identity",
    "pki_identity",
    "reissued_identity",
    "untrusted_identity",
]

#: The one ``enc`` the suite offers for encrypted responses (HAIP's).
RESPONSE_ENC = "A128GCM"
_ALGS: list[JsonValue] = ["ES256", "ES384", "EdDSA", "Ed25519"]
_FORMATS: JsonObject = {
    "dc+sd-jwt": {"sd-jwt_alg_values": _ALGS, "kb-jwt_alg_values": _ALGS},
    "jwt_vc_json": {"alg_values": _ALGS},
    # OpenID4VP 1.0 Appendix B.2.2: COSE algorithm identifiers (-7: ES256, -9: ESP256).
    "mso_mdoc": {"issuerauth_alg_values": [-7, -9], "deviceauth_alg_values": [-7, -9]},
}
_CERT_VALIDITY = timedelta(days=1)


class _Random:
    """:class:`passerelle.RandomSource` over the operating system's CSPRNG."""

    def token_bytes(self, n: int, /) -> bytes:
        return secrets.token_bytes(n)


# --- who signs --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VerifierIdentity:
    """A signing key and the ``x5c`` (leaf first) that should vouch for it."""

    signer: Signer
    x5c: tuple[str, ...]
    leaf: x509.Certificate

    def x509_san_dns(self, host: str) -> str:
        return f"x509_san_dns:{host}"

    @property
    def x509_hash(self) -> str:
        return f"x509_hash:{x509_hash(self.leaf)}"


def pki_identity(pki: Pki, name: str) -> VerifierIdentity:
    """An honest identity: a verifier access certificate of the development PKI."""
    return VerifierIdentity(
        signer=pki.signer(name), x5c=tuple(pki.x5c(name)), leaf=pki.certificate(name)
    )


def foreign_key_identity(identity: VerifierIdentity) -> VerifierIdentity:
    """The same ``x5c``, but a signature by another key: the leaf does not vouch for it."""
    return replace(identity, signer=KeySigner(ec.generate_private_key(ec.SECP256R1())))


def _leaf(
    *,
    issuer_cert: x509.Certificate,
    issuer_key: ec.EllipticCurvePrivateKey,
    dns_names: Sequence[str],
    now: datetime,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = build_leaf_certificate(
        subject=build_name(
            common_name="Passerelle conformance suite verifier",
            organization="Passerelle conformance suite",
        ),
        public_key=key.public_key(),
        issuer_cert=issuer_cert,
        issuer_key=issuer_key,
        not_before=now - timedelta(minutes=5),
        not_after=now + _CERT_VALIDITY,
        serial=draw_serial_number(_Random()),
        usage=LeafUsage.ACCESS,
        dns_names=dns_names,
    )
    return key, cert


def untrusted_identity(*, dns_names: Sequence[str], now: datetime) -> VerifierIdentity:
    """A well-formed access certificate under a CA the suite just made: on no list, so
    no wallet should trust it. Everything else about the request stays honest."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = build_ca_certificate(
        subject=build_name(
            common_name="Untrusted Relying-Party Access CA (conformance suite)",
            organization="Passerelle conformance suite",
        ),
        key=ca_key,
        not_before=now - timedelta(minutes=5),
        not_after=now + _CERT_VALIDITY,
        serial=draw_serial_number(_Random()),
        path_length=0,
    )
    key, leaf = _leaf(issuer_cert=ca, issuer_key=ca_key, dns_names=dns_names, now=now)
    return VerifierIdentity(signer=KeySigner(key), x5c=tuple(encode_x5c([leaf])), leaf=leaf)


def reissued_identity(
    pki: Pki, name: str, *, dns_names: Sequence[str], now: datetime
) -> VerifierIdentity:
    """A fresh access certificate from the CA that issued ``name``'s (so it chains to the
    same listed provider), with other SAN names: only the client_id binding is wrong."""
    chain = pki.chain(name)
    issuer_cert = chain[1] if len(chain) > 1 else pki.anchor(name)
    issuer = next(
        (e for e in pki.entities.values() if e.certificate == issuer_cert),
        None,
    )
    if issuer is None:
        raise LookupError(f"the PKI holds no key for the CA that issued {name}")
    key, leaf = _leaf(issuer_cert=issuer_cert, issuer_key=issuer.key, dns_names=dns_names, now=now)
    return VerifierIdentity(
        signer=KeySigner(key), x5c=tuple(encode_x5c([leaf, *chain[1:]])), leaf=leaf
    )


# --- what is asked ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Deviation:
    """One way a Request Object departs from an honest one; the default is honest."""

    response_uri_host: str | None = None
    """Another host for response_uri (still this server, reached by another name)."""
    typ: str | None = None
    omit: frozenset[str] = frozenset()
    """Request Object claims left out (e.g. ``nonce``)."""
    response_mode: str | None = None
    aud: str | None = None
    issued_ago: timedelta = timedelta(0)
    lifetime: timedelta = timedelta(minutes=5)
    extra_claims: Mapping[str, Any] = field(default_factory=dict)
    """Request Object claims added (``redirect_uri``, ``transaction_data``, ...)."""
    url_client_id: str | None = None
    """A ``client_id`` for the request URL other than the Request Object's."""
    extra_jwks: tuple[JsonObject, ...] = ()
    """Keys put before the usable encryption key in ``client_metadata.jwks``."""
    enc_values: tuple[str, ...] | None = None
    """``encrypted_response_enc_values_supported`` other than the honest one."""

    @property
    def is_honest(self) -> bool:
        return self == Deviation()


@dataclass(frozen=True, slots=True, kw_only=True)
class Arrival:
    """One POST to a response_uri, as received."""

    content_type: str
    form: Mapping[str, str]
    encrypted: bool
    """It came as ``response=<JWE>`` (``direct_post.jwt``)."""
    jwe_header: JsonObject | None = None
    params: JsonObject | None = None
    """The Authorization Response parameters: the form, or the decrypted JWE payload."""
    problem: str | None = None
    """Why ``params`` could not be read (a JWE that does not decrypt, ...)."""

    @property
    def is_error_response(self) -> bool:
        source = self.params if self.params is not None else self.form
        return "error" in source and "vp_token" not in source

    @property
    def carries_presentation(self) -> bool:
        """Anything but an error response counts: an unreadable JWE may hold one."""
        return not self.is_error_response

    def summary(self) -> dict[str, Any]:
        def cut(value: object) -> object:
            text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            return text if len(text) <= 300 else text[:300] + f"… ({len(text)} chars)"

        return {
            "content_type": self.content_type,
            "encrypted": self.encrypted,
            "jwe_header": self.jwe_header,
            "params": {k: cut(v) for k, v in (self.params or {}).items()},
            "form_keys": sorted(self.form),
            "problem": self.problem,
        }


@dataclass(slots=True, kw_only=True)
class PendingRequest:
    """One Authorization Request the suite made, and everything the wallet did with it."""

    rid: str
    client_id: str
    nonce: str
    state: str
    response_mode: str
    response_uri: str
    request_uri: str
    link: str
    dcql_query: JsonObject
    identity: VerifierIdentity
    deviation: Deviation
    now: datetime
    encryption_key: ec.EllipticCurvePrivateKey | None = None
    encryption_kid: str | None = None
    fetches: list[dict[str, Any]] = field(default_factory=list)
    arrivals: list[Arrival] = field(default_factory=list)

    def request_object(self, wallet_nonce: str | None) -> str:
        metadata = ClientMetadata(vp_formats_supported=_FORMATS)
        if self.encryption_key is not None and self.encryption_kid is not None:
            usable = encryption_jwk(self.encryption_key.public_key(), kid=self.encryption_kid)
            metadata = ClientMetadata(
                jwks={"keys": [*self.deviation.extra_jwks, usable]},
                encrypted_response_enc_values_supported=self.deviation.enc_values
                or (RESPONSE_ENC,),
                vp_formats_supported=_FORMATS,
            )
        request = AuthorizationRequest(
            client_id=self.client_id,
            response_mode=(
                ResponseMode.DIRECT_POST_JWT
                if self.response_mode == ResponseMode.DIRECT_POST_JWT.value
                else ResponseMode.DIRECT_POST
            ),
            response_uri=self.response_uri,
            nonce=self.nonce,
            state=self.state,
            dcql_query=self.dcql_query,
            client_metadata=metadata,
        )
        if self.deviation.is_honest:
            return create_request_object(
                request,
                signer=self.identity.signer,
                now=self.now,
                x5c=list(self.identity.x5c),
                wallet_nonce=wallet_nonce,
            )
        d = self.deviation
        claims = request_to_claims(request)
        issued = epoch(self.now - d.issued_ago)
        claims.update(
            {
                "aud": d.aud or STATIC_AUDIENCE,
                "iat": issued,
                "exp": issued + int(d.lifetime.total_seconds()),
            }
        )
        if d.response_mode is not None:
            claims["response_mode"] = d.response_mode
        if wallet_nonce is not None:
            claims["wallet_nonce"] = wallet_nonce
        claims.update(d.extra_claims)
        for name in d.omit:
            claims.pop(name, None)
        header = {"typ": d.typ or REQUEST_OBJECT_TYP, "x5c": list(self.identity.x5c)}
        return sign_jws(header, claims, self.identity.signer)

    def evidence(self) -> dict[str, Any]:
        served = [f.get("request_object") for f in self.fetches]
        decoded: dict[str, Any] | None = None
        if served and isinstance(served[-1], str):
            with contextlib.suppress(PasserelleError):
                jws = decode_unverified_jws(served[-1])
                header = {k: v for k, v in jws.header.items() if k != "x5c"}
                decoded = {"header": header, "payload": jws.payload_json()}
        return {
            "link": self.link,
            "client_id": self.client_id,
            "response_mode": self.response_mode,
            "response_uri": self.response_uri,
            "request_fetches": [
                {k: v for k, v in f.items() if k != "request_object"} for f in self.fetches
            ],
            "request_object": decoded,
            "arrivals": [a.summary() for a in self.arrivals],
        }


# --- the server -------------------------------------------------------------------------


def _b64_json(part: str) -> JsonObject | None:
    try:
        raw = base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
        value = json.loads(raw)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


class _Handler(SuiteHandler["SuiteVerifier"]):
    def _route(self) -> tuple[str, PendingRequest | None]:
        parts = urlsplit(self.path).path.strip("/").split("/")
        if len(parts) != 2:
            return "", None
        return parts[0], self.server.owner.pending(parts[1])

    def _not_found(self) -> None:
        self.send_bytes(404, b'{"error":"invalid_request"}', "application/json")

    def do_GET(self) -> None:
        kind, pending = self._route()
        if kind != "request" or pending is None:
            self._not_found()
            return
        self._serve_request(pending, method="GET", wallet_nonce=None)

    def do_POST(self) -> None:
        kind, pending = self._route()
        body = self.read_body()
        if pending is None:
            self._not_found()
            return
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        if kind == "request":
            self._serve_request(pending, method="POST", wallet_nonce=form.get("wallet_nonce"))
        elif kind == "response":
            content_type = self.headers.get("Content-Type", "")
            self.server.owner.record_arrival(pending, _read_arrival(pending, form, content_type))
            self.send_bytes(200, b"{}", "application/json")
        else:
            self._not_found()

    def _serve_request(
        self, pending: PendingRequest, *, method: str, wallet_nonce: str | None
    ) -> None:
        token = pending.request_object(wallet_nonce)
        self.server.owner.record_fetch(
            pending,
            {"method": method, "wallet_nonce": wallet_nonce is not None, "request_object": token},
        )
        self.send_bytes(200, token.encode("ascii"), "application/oauth-authz-req+jwt")


def _read_arrival(pending: PendingRequest, form: dict[str, str], content_type: str) -> Arrival:
    if "response" not in form:
        return Arrival(content_type=content_type, form=form, encrypted=False, params=dict(form))
    jwe = form["response"]
    header = _b64_json(jwe.split(".", 1)[0])
    if pending.encryption_key is None:
        return Arrival(
            content_type=content_type,
            form=form,
            encrypted=True,
            jwe_header=header,
            problem="an encrypted response, but the request offered no encryption key",
        )
    try:
        params = decrypt_response(
            jwe,
            private_key=pending.encryption_key,
            # The kid is judged by the check, from the header kept here.
            expected_kid=None,
            allowed_enc=SUPPORTED_RESPONSE_ENC,
        )
    except PasserelleError as exc:
        return Arrival(
            content_type=content_type,
            form=form,
            encrypted=True,
            jwe_header=header,
            problem=f"{exc.reason}: {exc.detail}",
        )
    return Arrival(
        content_type=content_type, form=form, encrypted=True, jwe_header=header, params=params
    )


class SuiteVerifier(ServedRole):
    """The suite's verifier, listening while the ``with`` block runs."""

    handler = _Handler
    thread_name = "conformance-suite-verifier"

    def __init__(
        self,
        *,
        host: str = "localhost",
        bind: str = "127.0.0.1",
        tls: tuple[Path, Path] | None = None,
    ) -> None:
        super().__init__(host=host, bind=bind, tls=tls)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._pending: dict[str, PendingRequest] = {}

    def url(self, host: str | None = None) -> str:
        return self.server.url(host or self.host)

    def create_request(
        self,
        *,
        identity: VerifierIdentity,
        client_id: str,
        dcql_query: JsonObject,
        now: datetime,
        response_mode: ResponseMode = ResponseMode.DIRECT_POST,
        deviation: Deviation | None = None,
        scheme: str = "openid4vp",
        request_uri_method: RequestUriMethod | None = None,
    ) -> PendingRequest:
        """A request the wallet can be sent to, by reference: ``link`` is what a QR code
        would hold. The Request Object is signed when fetched (to echo a wallet_nonce)."""
        rid = secrets.token_urlsafe(12)
        d = deviation or Deviation()
        key: ec.EllipticCurvePrivateKey | None = None
        if response_mode is ResponseMode.DIRECT_POST_JWT:
            key = ec.generate_private_key(ec.SECP256R1())
        request_uri = f"{self.url()}/request/{rid}"
        pending = PendingRequest(
            rid=rid,
            client_id=client_id,
            nonce=secrets.token_urlsafe(16),
            state=secrets.token_urlsafe(16),
            response_mode=d.response_mode or response_mode.value,
            response_uri=f"{self.url(d.response_uri_host)}/response/{rid}",
            request_uri=request_uri,
            link=authorization_request_url(
                scheme=scheme,
                client_id=d.url_client_id or client_id,
                request_uri=request_uri,
                request_uri_method=request_uri_method,
            ),
            dcql_query=dcql_query,
            identity=identity,
            deviation=d,
            now=now,
            encryption_key=key,
            encryption_kid=f"suite-enc-{rid[:8]}" if key is not None else None,
        )
        with self._lock:
            self._pending[rid] = pending
        return pending

    def pending(self, rid: str) -> PendingRequest | None:
        with self._lock:
            return self._pending.get(rid)

    def record_fetch(self, pending: PendingRequest, fetch: dict[str, Any]) -> None:
        with self._changed:
            pending.fetches.append(fetch)
            self._changed.notify_all()

    def record_arrival(self, pending: PendingRequest, arrival: Arrival) -> None:
        with self._changed:
            pending.arrivals.append(arrival)
            self._changed.notify_all()

    def wait_for_arrival(self, pending: PendingRequest, *, timeout: float) -> list[Arrival]:
        """What arrived at the response_uri, waiting up to ``timeout`` for the first."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while not pending.arrivals:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(left)
            return list(pending.arrivals)
