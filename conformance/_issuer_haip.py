"""The HAIP 1.0 layer of the suite's issuer (:mod:`._issuer_role`): what the suite, as
a HAIP issuer and authorization server, demands of a wallet and records for the checks
to judge.

It advertises ``attest_jwt_client_auth`` (wallet attestation, draft-ietf-oauth-
attestation-based-client-auth, which HAIP 1.0 §4.4 cites), DPoP (RFC 9449) and
``key_attestations_required`` (OpenID4VCI 1.0 Appendix D), challenges the first token
request with ``use_dpop_nonce`` (§8), and verifies what arrives with the pure core
(:func:`passerelle.oauth.verify_client_attestation`,
:func:`passerelle.oauth.verify_dpop_proof`,
:func:`passerelle.oid4vci.verify_key_attestation`), never with code of its own.

What it verifies it records, and answers on: a fault is judged by the check that owns
it, and the flow's later steps are still seen (a refusal at the token endpoint would
hide the wallet's key attestation from its check). Only the nonce challenge is a
refusal, since the wallet's answer to it is what is judged.
"""

from __future__ import annotations

import json
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email.message import Message

from cryptography import x509

from passerelle import JsonObject, PasserelleError
from passerelle.jose import decode_unverified_jws, jwk_thumbprint, load_public_jwk
from passerelle.oauth import (
    ATTESTATION_HEADER,
    ATTESTATION_POP_HEADER,
    AUTH_METHOD,
    DPOP_HEADER,
    DPOP_NONCE_HEADER,
    read_client_attestation_headers,
    read_dpop_header,
    verify_client_attestation,
    verify_dpop_proof,
)
from passerelle.oid4vci import KeyAttestationPolicy, verify_key_attestation

from ._model import Requirement

__all__ = [
    "ATTESTATION_POP_AUDIENCE",
    "AttestationSeen",
    "DpopSeen",
    "HaipDemands",
    "KeyAttestationSeen",
    "attestation_requirement",
]


def attestation_requirement(section: str, text: str) -> Requirement:
    """A requirement of the attestation-based client authentication draft HAIP 1.0 cites."""
    return Requirement(
        spec="OAuth 2.0 Attestation-Based Client Authentication (draft -07)",
        section=section,
        text=text,
        link="https://www.ietf.org/archive/id/draft-ietf-oauth-attestation-based-client-auth-07"
        f".html#section-{section}",
    )


#: The attestation PoP's audience and key (-07 §5.2), as the wallet plan judges a
#: wallet's PoP and the issuer plan an issuer's check of it: one requirement.
ATTESTATION_POP_AUDIENCE = attestation_requirement(
    "5.2",
    "aud: … The [RFC8414] issuer identifier URL of the authorization server MUST "
    "be used as a value for an 'aud' element … The public key used to verify the JWT "
    "MUST be the key located in the 'cnf' claim of the corresponding Client Attestation "
    "JWT.",
)

_ALGORITHMS = ("ES256", "ES384", "EdDSA", "Ed25519")
_MAX_AGE = timedelta(minutes=5)
_SKEW = timedelta(seconds=60)
#: The endpoints that take a wallet attestation (HAIP 1.0 §4.4: at PAR and token).
_ATTESTED = ("/par", "/token")
#: Resource endpoints: a DPoP-bound access token and ``ath`` (RFC 9449 §7).
_PROTECTED = ("/credential", "/deferred_credential", "/notification")


@dataclass(frozen=True, slots=True, kw_only=True)
class AttestationSeen:
    """The wallet attestation and PoP of one request, and what the core said of them."""

    endpoint: str
    pop_claims: JsonObject
    problem: str | None
    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class DpopSeen:
    """One DPoP proof (or its absence) and what the core's §4.3 checks said."""

    endpoint: str
    claims: JsonObject
    problem: str | None
    reason: str | None = None
    challenged: bool = False
    """Answered with ``use_dpop_nonce`` (the proof itself may be fine)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyAttestationSeen:
    """The ``key_attestation`` of one key proof's header, verified and matched to the
    proof's key."""

    problem: str | None
    reason: str | None = None


class _Replay:
    """The suite's memory of single-use ``jti`` values, for one issuance."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, str]] = set()
        self._lock = threading.Lock()

    def register(self, *, scope: str, jti: str, expires_at: datetime) -> bool:
        with self._lock:
            if (scope, jti) in self._seen:
                return False
            self._seen.add((scope, jti))
            return True


def _problem(exc: PasserelleError) -> tuple[str, str]:
    return f"{exc.reason}: {exc.detail}", str(exc.reason)


@dataclass(slots=True, kw_only=True)
class HaipDemands:
    """The suite issuer's HAIP demands and records. ``anchors`` are the wallet-provider
    CA certificates the suite trusts (those of the list of wallet providers)."""

    anchors: tuple[x509.Certificate, ...]
    attestations: list[AttestationSeen] = field(default_factory=list)
    dpop: list[DpopSeen] = field(default_factory=list)
    key_attestations: list[KeyAttestationSeen] = field(default_factory=list)
    nonces: list[str] = field(default_factory=list)
    """DPoP nonces handed out (RFC 9449 §8)."""
    _replay: _Replay = field(default_factory=_Replay)

    # --- what is advertised ---------------------------------------------------------------

    def as_metadata(self, metadata: JsonObject) -> JsonObject:
        return {
            **metadata,
            "token_endpoint_auth_methods_supported": [AUTH_METHOD],
            "client_attestation_signing_alg_values_supported": ["ES256"],
            "client_attestation_pop_signing_alg_values_supported": ["ES256"],
            "dpop_signing_alg_values_supported": ["ES256"],
        }

    @staticmethod
    def key_attestations_required() -> JsonObject:
        # Appendix D.2 values any attested key meets: the suite demands an attestation,
        # not a level of resistance.
        return {}

    # --- what arrives ---------------------------------------------------------------------

    def observe(
        self,
        *,
        path: str,
        url: str,
        issuer: str,
        headers: Message,
        access_token: str,
        now: datetime,
    ) -> tuple[int, JsonObject, dict[str, str]] | None:
        """Judge one request's attestation and DPoP proof; the ``use_dpop_nonce``
        refusal of a first token request, or None to answer it as usual."""
        if path in _ATTESTED:
            self._attestation(path, issuer, headers, now)
        if path not in _ATTESTED and path not in _PROTECTED:
            return None
        proof_values = headers.get_all(DPOP_HEADER) or []
        if path == "/par" and not proof_values:
            return None  # RFC 9449 §10.1: a DPoP proof at PAR is the client's choice
        challenge = path == "/token" and not self.nonces
        seen = self._dpop(
            path,
            url,
            proof_values,
            access_token if path in _PROTECTED else None,
            # Until a nonce is handed out, none is demanded (the first token request).
            None if path != "/token" or challenge else tuple(self.nonces),
            now,
        )
        if not challenge:
            self.dpop.append(seen)
            return None
        nonce = secrets.token_urlsafe(24)
        self.nonces.append(nonce)
        self.dpop.append(
            DpopSeen(
                endpoint=path,
                claims=seen.claims,
                problem=seen.problem,
                reason=seen.reason,
                challenged=True,
            )
        )
        body: JsonObject = {
            "error": "use_dpop_nonce",
            "error_description": "Authorization server requires nonce in DPoP proof",
        }
        return 400, body, {DPOP_NONCE_HEADER: nonce}

    def _attestation(self, path: str, issuer: str, headers: Message, now: datetime) -> None:
        attestation = headers.get_all(ATTESTATION_HEADER) or []
        pop = headers.get_all(ATTESTATION_POP_HEADER) or []
        pop_claims: JsonObject = {}
        try:
            pair = read_client_attestation_headers(list(attestation), list(pop))
            if pair is None:
                self.attestations.append(
                    AttestationSeen(
                        endpoint=path,
                        pop_claims={},
                        problem=f"no {ATTESTATION_HEADER} and {ATTESTATION_POP_HEADER} headers",
                        reason="client_attestation.missing",
                    )
                )
                return
            pop_claims = dict(decode_unverified_jws(pair[1], what="PoP").payload_json())
            verify_client_attestation(
                pair[0],
                pair[1],
                authorization_server=issuer,
                client_id=None,
                anchors=self.anchors,
                algorithms=_ALGORITHMS,
                now=now,
                skew=_SKEW,
                max_pop_age=_MAX_AGE,
                replay=self._replay,
            )
        except PasserelleError as exc:
            problem, reason = _problem(exc)
            self.attestations.append(
                AttestationSeen(
                    endpoint=path, pop_claims=pop_claims, problem=problem, reason=reason
                )
            )
            return
        self.attestations.append(
            AttestationSeen(endpoint=path, pop_claims=pop_claims, problem=None)
        )

    def _dpop(
        self,
        path: str,
        url: str,
        values: Sequence[str],
        access_token: str | None,
        accepted_nonces: Sequence[str] | None,
        now: datetime,
    ) -> DpopSeen:
        claims: JsonObject = {}
        try:
            proof = read_dpop_header(list(values))
            if proof is None:
                return DpopSeen(
                    endpoint=path,
                    claims={},
                    problem="no DPoP proof",
                    reason="dpop.proof_missing",
                )
            claims = dict(decode_unverified_jws(proof, what="DPoP proof").payload_json())
            verify_dpop_proof(
                proof,
                method="POST",
                url=url,
                algorithms=_ALGORITHMS,
                now=now,
                skew=_SKEW,
                max_age=_MAX_AGE,
                replay=self._replay,
                accepted_nonces=accepted_nonces,
                access_token=access_token,
            )
        except PasserelleError as exc:
            problem, reason = _problem(exc)
            return DpopSeen(endpoint=path, claims=claims, problem=problem, reason=reason)
        return DpopSeen(endpoint=path, claims=claims, problem=None)

    def observe_key_proofs(self, body: bytes, c_nonces: Sequence[str], now: datetime) -> None:
        """Judge the ``key_attestation`` of each ``jwt`` key proof (OpenID4VCI 1.0 F.1,
        Appendix D) against the wallet-provider anchors."""
        try:
            parsed = json.loads(body or b"{}")
        except ValueError:
            return
        proofs = parsed.get("proofs") if isinstance(parsed, dict) else None
        jwts = proofs.get("jwt") if isinstance(proofs, Mapping) else None
        if not isinstance(jwts, list):
            return
        policy = KeyAttestationPolicy(anchors=self.anchors, required=True)
        for proof in jwts:
            self.key_attestations.append(self._key_attestation(proof, policy, c_nonces, now))

    @staticmethod
    def _key_attestation(
        proof: object, policy: KeyAttestationPolicy, c_nonces: Sequence[str], now: datetime
    ) -> KeyAttestationSeen:
        try:
            header = decode_unverified_jws(str(proof), what="key proof").header
            token = header.get("key_attestation")
            if not isinstance(token, str):
                return KeyAttestationSeen(
                    problem="the key proof's header carries no key_attestation",
                    reason="key_attestation.missing",
                )
            nonce = decode_unverified_jws(token, what="key attestation").payload_json().get("nonce")
            # F.1: the c_nonce the suite gave, when it gave one.
            expected = nonce if isinstance(nonce, str) and nonce in c_nonces else None
            if expected is None and c_nonces:
                expected = c_nonces[-1]
            verified = verify_key_attestation(
                token,
                policy=policy,
                algorithms=_ALGORITHMS,
                now=now,
                skew=_SKEW,
                expected_nonce=expected,
                require_exp=True,
            )
            jwk = header.get("jwk")
            key = load_public_jwk(jwk) if isinstance(jwk, dict) else None
        except PasserelleError as exc:
            problem, reason = _problem(exc)
            return KeyAttestationSeen(problem=problem, reason=reason)
        if key is None or not verified.attests(key):
            thumbprint = jwk_thumbprint(key) if key is not None else None
            return KeyAttestationSeen(
                problem=f"the proof key {thumbprint} is not among the attested_keys",
                reason="key_attestation.key_not_attested",
            )
        return KeyAttestationSeen(problem=None)
