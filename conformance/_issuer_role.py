"""The suite as an OpenID4VCI 1.0 credential issuer and authorization server, against a
wallet target.

A :class:`SuiteIssuer` is a small HTTP server the suite runs for the length of one
check (or one shared step), in a thread, on a free port: issuer and authorization
server metadata, a pre-authorized code token endpoint, a nonce endpoint, a credential
endpoint and a notification endpoint. It records everything the wallet sends, so a
check judges the wallet by what it did (its key proofs, its notification), never by
what it says. Credentials come from a callback the check gives (signed by an issuer
identity the wallet trusts); a batch is answered in the reverse order of its proofs,
so a wallet that pairs credentials with keys by position is caught. The batch the
metadata allows is odd (3): reversed, its middle credential stays in place, so such a
wallet still keeps one and the checks of its key proofs are judged apart from the
order.

Independent of ``services/issuer`` on purpose: the judge does not share the code of the
systems it judges; it uses the pure core only. Reachability is the wallet's, as for the
suite's verifier (:mod:`._verifier_role`): loopback and ``localhost`` by default,
``suite_issuer_host`` / ``suite_issuer_bind`` on the wallet target otherwise.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

from passerelle import JsonObject, PasserelleError, Reason
from passerelle.jose import PublicKey, decode_unverified_jws
from passerelle.oid4vci import (
    AUTHORIZATION_CODE_GRANT,
    PRE_AUTHORIZED_CODE_GRANT,
    AuthorizationCodeGrant,
    CredentialOffer,
    OfferGrants,
    PreAuthorizedCodeGrant,
    build_authorization_server_metadata,
    build_credential_issuer_metadata,
    build_sd_jwt_vc_configuration,
    credential_offer_value_link,
    credential_response,
    deferred_response,
    verify_jwt_proof,
)

from ._issuer_haip import HaipDemands
from ._serving import ServedRole, SuiteHandler

__all__ = ["ProofSeen", "SuiteIssuer", "pkce_problem"]

CONFIGURATION_ID = "suite-credential"
_ALGORITHMS = ("ES256", "ES384", "EdDSA", "Ed25519")
_PROOF_MAX_AGE = timedelta(minutes=5)
_SKEW = timedelta(seconds=60)


@dataclass(frozen=True, slots=True, kw_only=True)
class ProofSeen:
    """One key proof as it arrived, read without trusting it, and what the core's
    verification of it said (``problem`` None: it verified)."""

    header: JsonObject
    claims: JsonObject
    problem: str | None
    key: PublicKey | None
    reason: str | None = None
    wire_error: str | None = None


@dataclass(slots=True)
class _State:
    pre_authorized_code: str = field(default_factory=lambda: secrets.token_urlsafe(16))
    access_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    notification_id: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    nonces: list[str] = field(default_factory=list)
    """Every c_nonce handed out, in order."""
    spent: set[str] = field(default_factory=set)
    """Those a credential request already used: never accepted again."""
    token_requests: list[dict[str, str]] = field(default_factory=list)
    credential_requests: list[JsonObject] = field(default_factory=list)
    proofs: list[ProofSeen] = field(default_factory=list)
    issued: list[str] = field(default_factory=list)
    """In the order the response listed them (the reverse of the proofs)."""
    notifications: list[JsonObject] = field(default_factory=list)
    authorization_requests: list[dict[str, str]] = field(default_factory=list)
    """Pushed authorization requests (RFC 9126), as the wallet sent them."""
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    """Authorization codes handed out, with the pushed request each answers."""
    pkce_problems: list[str] = field(default_factory=list)
    """Why a token request's PKCE did not hold (RFC 7636 §4.6), one per refusal."""
    transaction_id: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    deferred_ready: list[str] = field(default_factory=list)
    """The credentials waiting behind the transaction_id, until fetched."""
    deferred_requests: list[JsonObject] = field(default_factory=list)
    deferrals: int = 0
    """Credential requests answered with the transaction_id."""


class _Handler(SuiteHandler["SuiteIssuer"]):
    def do_GET(self) -> None:
        owner = self.server.owner
        path = urlsplit(self.path).path
        if path == "/.well-known/openid-credential-issuer":
            self.send_json(200, owner.metadata())
        elif path == "/.well-known/oauth-authorization-server":
            self.send_json(200, owner.as_metadata())
        elif path == "/authorize":
            self.send_bytes(200, b"<!DOCTYPE html><title>login</title>", "text/html")
        else:
            self.send_json(404, {"error": "not_found"})

    def do_POST(self) -> None:
        owner = self.server.owner
        path = urlsplit(self.path).path
        raw = self.read_body()
        form = dict(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
        if owner.haip is not None and self._haip_refused(owner, path, raw):
            return
        if path == "/token":
            self.send_json(*owner.token(form))
            return
        if path == "/par":
            self.send_json(*owner.pushed_authorization(form))
            return
        if path == "/authorize":
            # The login a person would do: any persona, then back to the wallet.
            self.send_response(303)
            self.send_header("Location", owner.authorized(form.get("request_uri", "")))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if path == "/nonce":
            self.send_json(200, {"c_nonce": owner.new_nonce()})
            return
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self.send_json(400, {"error": "invalid_request"})
            return
        if not isinstance(body, dict):
            self.send_json(400, {"error": "invalid_request"})
        elif not owner.is_bearer(self.headers.get("Authorization", "")):
            self.send_json(401, {"error": "invalid_token"})
        elif path == "/credential":
            self.send_json(*owner.credential(body))
        elif path == "/deferred_credential":
            self.send_json(*owner.deferred_credential(body))
        elif path == "/notification":
            owner.record_notification(body)
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_json(404, {"error": "not_found"})

    def _haip_refused(self, owner: SuiteIssuer, path: str, raw: bytes) -> bool:
        """The HAIP layer's look at the request: recorded, and True when it answered
        (the DPoP nonce challenge)."""
        assert owner.haip is not None
        with owner._changed:
            if path == "/credential":
                owner.haip.observe_key_proofs(raw, list(owner.state.nonces), owner._clock())
            refusal = owner.haip.observe(
                path=path,
                url=f"{owner.url}{path}",
                issuer=owner.url,
                headers=self.headers,
                access_token=owner.state.access_token,
                now=owner._clock(),
            )
        if refusal is None:
            return False
        status, body, headers = refusal
        payload = json.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
        return True


class SuiteIssuer(ServedRole):
    """The suite's issuer and authorization server, listening while the ``with`` block
    runs. ``issue`` makes one credential for a holder key."""

    handler = _Handler
    thread_name = "conformance-suite-issuer"

    def __init__(
        self,
        *,
        vct: str,
        issue: Callable[[PublicKey], str],
        host: str = "localhost",
        bind: str = "127.0.0.1",
        tls: tuple[Path, Path] | None = None,
        batch_size: int = 3,
        authorization_code: bool = False,
        deferred: bool = False,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        haip: HaipDemands | None = None,
    ) -> None:
        super().__init__(host=host, bind=bind, tls=tls)
        self.vct = vct
        self.batch_size = batch_size
        self.authorization_code = authorization_code
        """Offer the authorization code grant (PAR, PKCE) instead of a pre-authorized code."""
        self.deferred = deferred
        """Answer the credential request with a transaction_id, the credentials after."""
        self._clock = clock
        self.haip = haip
        """HAIP 1.0 demands (wallet attestation, DPoP, key attestation), or None."""
        self._issue = issue
        self.state = _State()
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    @property
    def url(self) -> str:
        return self.server.url(self.host)

    # --- what is served --------------------------------------------------------------

    def offer_link(self) -> str:
        grants = (
            OfferGrants(authorization_code=AuthorizationCodeGrant(issuer_state=_token()))
            if self.authorization_code
            else OfferGrants(
                pre_authorized_code=PreAuthorizedCodeGrant(
                    pre_authorized_code=self.state.pre_authorized_code
                )
            )
        )
        offer = CredentialOffer(
            credential_issuer=self.url,
            credential_configuration_ids=(CONFIGURATION_ID,),
            grants=grants,
        )
        return credential_offer_value_link(offer)

    def metadata(self) -> JsonObject:
        configuration = build_sd_jwt_vc_configuration(
            vct=self.vct,
            scope="suite_credential",
            key_attestations_required=self.haip.key_attestations_required()
            if self.haip is not None
            else None,
        )
        return build_credential_issuer_metadata(
            credential_issuer=self.url,
            credential_endpoint=f"{self.url}/credential",
            nonce_endpoint=f"{self.url}/nonce",
            notification_endpoint=f"{self.url}/notification",
            deferred_credential_endpoint=f"{self.url}/deferred_credential"
            if self.deferred
            else None,
            credential_configurations={CONFIGURATION_ID: configuration},
            batch_size=self.batch_size,
        )

    def as_metadata(self) -> JsonObject:
        metadata = self._as_metadata()
        return self.haip.as_metadata(metadata) if self.haip is not None else metadata

    def _as_metadata(self) -> JsonObject:
        if not self.authorization_code:
            return build_authorization_server_metadata(
                issuer=self.url,
                token_endpoint=f"{self.url}/token",
                grant_types_supported=(PRE_AUTHORIZED_CODE_GRANT,),
            )
        return build_authorization_server_metadata(
            issuer=self.url,
            token_endpoint=f"{self.url}/token",
            authorization_endpoint=f"{self.url}/authorize",
            pushed_authorization_request_endpoint=f"{self.url}/par",
            require_pushed_authorization_requests=True,
            grant_types_supported=(AUTHORIZATION_CODE_GRANT,),
        )

    def pushed_authorization(self, form: dict[str, str]) -> tuple[int, JsonObject]:
        """RFC 9126 §2.2: every pushed request gets a request_uri. PKCE is judged from
        the record by the check, not refused here, so that a wallet using ``plain`` is
        seen doing it (the token endpoint still refuses what does not hold)."""
        request_uri = f"urn:ietf:params:oauth:request_uri:{_token()}"
        with self._changed:
            self.state.authorization_requests.append({**form, "request_uri": request_uri})
            self._changed.notify_all()
        return 201, {"request_uri": request_uri, "expires_in": 60}

    def authorized(self, request_uri: str) -> str:
        """Where the login sends the browser back: the wallet's redirect_uri with a
        fresh code and the wallet's state."""
        pushed = next(
            (r for r in self.state.authorization_requests if r["request_uri"] == request_uri),
            None,
        )
        if pushed is None or not pushed.get("redirect_uri"):
            return f"{self.url}/authorize?error=invalid_request_uri"
        code = _token()
        with self._changed:
            self.state.codes[code] = pushed
        query = {"code": code, **({"state": pushed["state"]} if "state" in pushed else {})}
        return f"{pushed['redirect_uri']}?{urlencode(query)}"

    def token(self, form: dict[str, str]) -> tuple[int, JsonObject]:
        with self._changed:
            self.state.token_requests.append(form)
        grant = form.get("grant_type")
        if grant == AUTHORIZATION_CODE_GRANT and self.authorization_code:
            return self._code_token(form)
        if grant != PRE_AUTHORIZED_CODE_GRANT or self.authorization_code:
            return 400, {"error": "unsupported_grant_type"}
        if form.get("pre-authorized_code") != self.state.pre_authorized_code:
            return 400, {"error": "invalid_grant"}
        return 200, {"access_token": self.state.access_token, "token_type": self._token_type}

    def _code_token(self, form: dict[str, str]) -> tuple[int, JsonObject]:
        with self._changed:
            pushed = self.state.codes.pop(form.get("code", ""), None)
        if pushed is None:
            return 400, {"error": "invalid_grant", "error_description": "unknown or used code"}
        if form.get("redirect_uri") != pushed.get("redirect_uri"):
            return 400, {"error": "invalid_grant", "error_description": "redirect_uri differs"}
        problem = pkce_problem(pushed, form.get("code_verifier"))
        if problem is not None:
            with self._changed:
                self.state.pkce_problems.append(problem)
                self._changed.notify_all()
            return 400, {"error": "invalid_grant", "error_description": problem}
        return 200, {"access_token": self.state.access_token, "token_type": self._token_type}

    @property
    def _token_type(self) -> str:
        # RFC 9449 §5: a DPoP-bound token is of token_type DPoP.
        return "DPoP" if self.haip is not None else "Bearer"

    def new_nonce(self) -> str:
        nonce = secrets.token_urlsafe(24)
        with self._changed:
            self.state.nonces.append(nonce)
        return nonce

    def is_bearer(self, authorization: str) -> bool:
        # The scheme is case-insensitive (RFC 7235 §2.1), the token is not.
        scheme, _, token = authorization.partition(" ")
        return (
            scheme.lower() == self._token_type.lower() and token.strip() == self.state.access_token
        )

    def credential(self, body: JsonObject) -> tuple[int, JsonObject]:
        proofs = body.get("proofs")
        jwts = proofs.get("jwt") if isinstance(proofs, dict) else None
        if not isinstance(jwts, list) or not jwts or not all(isinstance(p, str) for p in jwts):
            self._record_request(body, [])
            return 400, {
                "error": "invalid_proof",
                "error_description": "no proofs.jwt array of key proofs",
                "reason": str(Reason.OID4VCI_PROOF_MISSING),
            }
        seen = [self._read_proof(str(p)) for p in jwts]
        self._record_request(body, seen)
        refused = next((s for s in seen if s.problem is not None), None)
        if refused is not None:
            # The refusal names its reason, so that a partner's wallet can tell why.
            return 400, {
                "error": refused.wire_error or "invalid_proof",
                "error_description": refused.problem or "",
                "reason": refused.reason or "",
            }
        # The batch in the reverse order of its proofs: a wallet must pair each
        # credential with its key by the credential's cnf, not by position.
        credentials = [self._issue(s.key) for s in reversed(seen) if s.key is not None]
        with self._changed:
            # A nonce is spent once a request using it is answered: a replay is refused.
            self.state.spent.update(str(s.claims.get("nonce")) for s in seen)
            if self.deferred:
                self.state.deferred_ready.extend(credentials)
                self.state.deferrals += 1
                return 202, deferred_response(self.state.transaction_id, interval=1)
            self.state.issued.extend(credentials)
            self._changed.notify_all()
        return 200, credential_response(credentials, notification_id=self.state.notification_id)

    def deferred_credential(self, body: JsonObject) -> tuple[int, JsonObject]:
        """§9: the credentials behind the transaction_id, once; an unknown one refused."""
        with self._changed:
            self.state.deferred_requests.append(body)
            self._changed.notify_all()
            if body.get("transaction_id") != self.state.transaction_id:
                return 400, {"error": "invalid_transaction_id"}
            if not self.state.deferred_ready:
                return 400, {"error": "invalid_transaction_id", "error_description": "spent"}
            credentials, self.state.deferred_ready = self.state.deferred_ready, []
            self.state.issued.extend(credentials)
            self._changed.notify_all()
        return 200, credential_response(credentials, notification_id=self.state.notification_id)

    def _read_proof(self, proof: str) -> ProofSeen:
        try:
            unverified = decode_unverified_jws(proof, what="key proof")
            header, claims = dict(unverified.header), dict(unverified.payload_json())
        except PasserelleError as exc:
            return ProofSeen(
                header={},
                claims={},
                problem=f"{exc.reason}: {exc.detail}",
                key=None,
                reason=str(exc.reason),
                wire_error=exc.wire_error,
            )
        nonce = claims.get("nonce")
        live = nonce in self.state.nonces and nonce not in self.state.spent
        expected = nonce if isinstance(nonce, str) and live else "-"
        pushed = self.state.authorization_requests
        try:
            verified = verify_jwt_proof(
                proof,
                audience=self.url,
                expected_nonce=expected,
                algorithms=_ALGORITHMS,
                now=self._clock(),
                max_age=_PROOF_MAX_AGE,
                skew=_SKEW,
                # Appendix F.1: iss names the client of the code flow, none after an
                # anonymous pre-authorized code.
                client_id=pushed[-1].get("client_id") if pushed else None,
            )
        except PasserelleError as exc:
            return ProofSeen(
                header=header,
                claims=claims,
                problem=f"{exc.reason}: {exc.detail}",
                key=None,
                reason=str(exc.reason),
                wire_error=exc.wire_error,
            )
        return ProofSeen(header=header, claims=claims, problem=None, key=verified.holder_key)

    def _record_request(self, body: JsonObject, seen: list[ProofSeen]) -> None:
        with self._changed:
            self.state.credential_requests.append(body)
            self.state.proofs.extend(seen)
            self._changed.notify_all()

    def record_notification(self, body: JsonObject) -> None:
        with self._changed:
            self.state.notifications.append(body)
            self._changed.notify_all()

    def wait_for(self, what: Callable[[_State], bool], *, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._changed:
            while not what(self.state):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
            return True


def _token() -> str:
    return secrets.token_urlsafe(16)


def pkce_problem(pushed: dict[str, str], verifier: str | None) -> str | None:
    """What is wrong with a code flow's PKCE (RFC 7636), or None: the challenge pushed
    must be ``S256`` and the verifier must hash to it (§4.6)."""
    challenge, method = pushed.get("code_challenge"), pushed.get("code_challenge_method")
    if not challenge:
        return "the authorization request carried no code_challenge"
    if method != "S256":
        return f"code_challenge_method {method!r} is not S256"
    if not verifier:
        return "the token request carried no code_verifier"
    digest = hashlib.sha256(verifier.encode("ascii", "replace")).digest()
    computed = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    if not hmac.compare_digest(computed, challenge):
        return "BASE64URL(SHA256(code_verifier)) is not the code_challenge"
    return None
