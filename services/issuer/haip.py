"""HAIP 1.0 at the issuer: wallet attestation, DPoP, key attestation and encrypted
credential responses, switched on per grant by the profile's ``haip`` data.

The core decides (``passerelle.oauth``, ``passerelle.oid4vci``); this module finds the
inputs: the request's headers, the store's nonces and single-use ``jti`` registry
(durable, shared by every worker), and the wallet-provider anchors of the EU list of
wallet providers the trust build publishes. What a refusal looks like on the wire
(``DPoP-Nonce``, ``WWW-Authenticate: DPoP``) is :func:`refusal`'s business.

- Client authentication (draft-ietf-oauth-attestation-based-client-auth -07, the
  version OpenID4VCI 1.0 pins; HAIP 1.0 §4.4): for the grants the profile lists, PAR
  and the token request carry ``OAuth-Client-Attestation`` and
  ``OAuth-Client-Attestation-PoP``; anything else is ``invalid_client``.
- DPoP (RFC 9449): for those grants the token request carries a proof, the access
  token is bound to its key (``cnf.jkt``) and the credential endpoints take it only
  with the ``DPoP`` scheme and a fresh proof; ``jti`` values are single-use in the
  store, and server nonces come in ``DPoP-Nonce``.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import Request
from fastapi.responses import JSONResponse

from passerelle import Fault, JsonObject, PasserelleError, RandomSource, Reason
from passerelle._json import parse_json_object
from passerelle.jose import (
    decode_unverified_jws,
    jwk_thumbprint,
    load_private_jwk,
    numeric_date,
    private_jwk,
    public_jwk,
)
from passerelle.oauth import (
    ATTESTATION_HEADER,
    ATTESTATION_POP_HEADER,
    AUTH_METHOD,
    DPOP_HEADER,
    AccessTokenCredentials,
    JtiReplayRegistry,
    TokenScheme,
    VerifiedClientAttestation,
    VerifiedDpopProof,
    client_attestation_metadata,
    dpop_error_response,
    make_dpop_nonce,
    parse_authorization_header,
    read_client_attestation_headers,
    read_dpop_header,
    verify_client_attestation,
    verify_dpop_proof,
    verify_protected_request,
)
from passerelle.oid4vci import (
    CredentialResponseEncryption,
    KeyAttestationPolicy,
    build_credential_response_encryption_metadata,
    decrypt_credential_request,
    parse_credential_response_encryption,
)
from passerelle.services.storage import Store, StoreReplayRegistry
from passerelle.services.web import oauth_error
from passerelle.trust import SVC_TYPE_WALLET_ISSUANCE, verify_lote

from .profile import HaipSettings
from .quirks import IssuerBehaviour, unverified_claims

__all__ = [
    "DPOP_MAX_AGE",
    "SKEW",
    "HaipGuard",
    "WalletProviders",
    "authenticate_client",
    "haip_metadata",
    "nonce_headers",
    "read_credential_body",
    "refusal",
    "request_encryption_key",
    "resource_grant",
    "response_encryption",
    "token_proof",
]

SKEW = timedelta(seconds=30)
DPOP_MAX_AGE = timedelta(minutes=5)
POP_MAX_AGE = timedelta(minutes=5)
DPOP_NONCE_LIFETIME = timedelta(minutes=5)
ATTESTATION_ALGS = ("ES256",)
_NONCES = "dpop_nonces"
#: How often the list file is looked at again for a rebuilt list.
_RELOAD = timedelta(seconds=2)


class WalletProviders:
    """The wallet-provider CA certificates of the EU list of wallet providers
    (ETSI TS 119 602 Annex E), read from the trust build's output and verified with the
    EU list operator's anchor. A rebuilt list is picked up within seconds."""

    def __init__(
        self,
        *,
        path: Path,
        operator_anchors: tuple[x509.Certificate, ...],
        clock: Callable[[], datetime],
    ) -> None:
        self._path = path
        self._operator = operator_anchors
        self._clock = clock
        self._lock = threading.Lock()
        self._held: tuple[float, tuple[x509.Certificate, ...]] | None = None
        self._checked: datetime | None = None

    def anchors(self) -> tuple[x509.Certificate, ...]:
        now = self._clock()
        with self._lock:
            if self._held is not None and self._checked and now - self._checked < _RELOAD:
                return self._held[1]
            try:
                mtime = self._path.stat().st_mtime
            except OSError as exc:
                raise PasserelleError(
                    Reason.TRUST_UNAVAILABLE,
                    "no EU list of wallet providers is published (run `passerelle trust build`)",
                    fault=Fault.DEPENDENCY,
                    wire_error="temporarily_unavailable",
                ) from exc
            if self._held is None or self._held[0] != mtime:
                try:
                    text = self._path.read_text()
                    lote = verify_lote(text, operator_anchors=self._operator, now=now)
                except (OSError, PasserelleError) as exc:
                    # A stale or broken list is our dependency's fault, never the wallet's.
                    raise PasserelleError(
                        getattr(exc, "reason", Reason.TRUST_UNAVAILABLE),
                        f"the EU list of wallet providers is unusable: "
                        f"{getattr(exc, 'detail', exc)}",
                        fault=Fault.DEPENDENCY,
                        wire_error="temporarily_unavailable",
                    ) from exc
                anchors = lote.certificates_for(service_type=SVC_TYPE_WALLET_ISSUANCE)
                self._held = (mtime, anchors)
            self._checked = now
            return self._held[1]


@dataclass(frozen=True, slots=True, kw_only=True)
class HaipGuard:
    """What the HAIP checks of one issuer need, built once with its state."""

    settings: HaipSettings
    issuer: str
    store: Store
    random: RandomSource
    clock: Callable[[], datetime]
    replay: StoreReplayRegistry
    """Single use of client attestation PoPs."""
    dpop_replay: JtiReplayRegistry
    """Single use of DPoP proofs (the store's registry, but for a quirk)."""
    providers: WalletProviders
    behaviour: IssuerBehaviour
    request_key: ec.EllipticCurvePrivateKey | None = None
    """The issuer's ECDH-ES key for encrypted Credential Requests (§8.2, §10)."""

    def key_attestation_policy(
        self, proofs: Sequence[str], *, attestation_proofs: bool = False
    ) -> KeyAttestationPolicy | None:
        """The Appendix D policy for these key proofs: None when the profile judges no
        key attestations, or none is required and none came (the list of wallet
        providers is read only when there is something to judge by it).
        ``attestation_proofs``: the proofs are key attestations themselves (F.3)."""
        if self.settings.key_attestations is None:
            return None
        if (
            not attestation_proofs
            and not self.settings.key_attestations_required
            and not any(_has_key_attestation(p) for p in proofs)
        ):
            return None
        return KeyAttestationPolicy.from_metadata(
            self.key_attestation_metadata(), anchors=self.providers.anchors()
        )

    def key_attestation_metadata(self) -> JsonObject:
        if not self.settings.key_attestations_required:
            return {}
        return {"key_attestations_required": dict(self.settings.key_attestations or {})}


def _has_key_attestation(proof: str) -> bool:
    try:
        return "key_attestation" in decode_unverified_jws(proof).header
    except PasserelleError:
        return False  # the proof check reports it


_KEYS = "haip_keys"


def request_encryption_key(store: Store, *, now: datetime) -> ec.EllipticCurvePrivateKey:
    """The key wallets encrypt Credential Requests to: made once and kept in the store,
    so every worker and every restart decrypts with the same one."""
    row = store.get(_KEYS, "credential_request", now=now)
    if not isinstance(row, dict):
        fresh = private_jwk(ec.generate_private_key(ec.SECP256R1()))
        store.insert(_KEYS, "credential_request", {"jwk": fresh}, now=now)
        row = store.get(_KEYS, "credential_request", now=now)
    jwk = row.get("jwk") if isinstance(row, dict) else None
    key = load_private_jwk(jwk) if isinstance(jwk, dict) else None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise PasserelleError(
            Reason.INPUT_MALFORMED,
            "the stored request encryption key is unusable",
            fault=Fault.LOCAL,
        )
    return key


def _request_jwk(key: ec.EllipticCurvePrivateKey) -> JsonObject:
    public = public_jwk(key.public_key())
    return {**public, "kid": jwk_thumbprint(public), "use": "enc", "alg": "ECDH-ES"}


def haip_metadata(
    settings: HaipSettings, request_key: ec.EllipticCurvePrivateKey | None = None
) -> tuple[JsonObject, JsonObject]:
    """What HAIP adds to the credential issuer metadata and to the authorization
    server metadata."""
    issuer: JsonObject = {}
    encryption = settings.credential_response_encryption
    if encryption is not None and request_key is not None:
        # §8.2: "Credential Request encryption MUST be used if the
        # credential_response_encryption parameter is included", so the key to do it with
        # is published beside the response encryption it protects.
        issuer["credential_request_encryption"] = {
            "jwks": {"keys": [_request_jwk(request_key)]},
            "enc_values_supported": [str(e) for e in encryption.get("enc_values", ["A128GCM"])],  # type: ignore[union-attr]
            "encryption_required": False,
        }
    if encryption is not None:
        issuer["credential_response_encryption"] = build_credential_response_encryption_metadata(
            alg_values=[str(a) for a in encryption.get("alg_values", ["ECDH-ES"])],  # type: ignore[union-attr]
            enc_values=[str(e) for e in encryption.get("enc_values", ["A128GCM"])],  # type: ignore[union-attr]
            encryption_required=bool(encryption.get("required", False)),
        )
    server: JsonObject = {}
    if settings.dpop:
        # RFC 9449 §5.1: the algorithms the server accepts for DPoP proofs.
        server["dpop_signing_alg_values_supported"] = list(settings.dpop_signing_alg_values)
    if settings.client_attestation:
        server.update(client_attestation_metadata(algorithms=ATTESTATION_ALGS))
    return issuer, server


def auth_methods(settings: HaipSettings) -> tuple[str, ...]:
    """``token_endpoint_auth_methods_supported``: anonymous clients stay welcome for
    the grants that do not need an attestation."""
    if not settings.client_attestation:
        return ("none",)
    if len(settings.client_attestation) < 2:
        return (AUTH_METHOD, "none")
    return (AUTH_METHOD,)


def _headers(request: Request, name: str) -> list[str]:
    return request.headers.getlist(name)


def authenticate_client(
    guard: HaipGuard | None, request: Request, *, client_id: str | None, grant: str
) -> VerifiedClientAttestation | None:
    """The wallet attestation of a PAR or token request, verified; None where the
    profile asks for none and the request brings none. -07 §6: every failure is
    ``invalid_client``."""
    if guard is None or not guard.behaviour.check_client_attestation:
        return None
    values = read_client_attestation_headers(
        _headers(request, ATTESTATION_HEADER), _headers(request, ATTESTATION_POP_HEADER)
    )
    if values is None:
        if grant not in guard.settings.client_attestation:
            return None
        raise PasserelleError(
            Reason.CLIENT_ATTESTATION_MISSING,
            f"this issuer authenticates wallets by {ATTESTATION_HEADER} and "
            f"{ATTESTATION_POP_HEADER} (attest_jwt_client_auth)",
            wire_error="invalid_client",
        )
    audience, attestation_time = guard.issuer, None
    if not guard.behaviour.check_client_attestation_pop_aud:
        claimed = unverified_claims(values[1]).get("aud")
        if isinstance(claimed, list):  # -07 §5.2 lets aud be an array
            claimed = next((a for a in claimed if isinstance(a, str)), None)
        audience = claimed if isinstance(claimed, str) else guard.issuer
    if not guard.behaviour.check_client_attestation_exp:
        # Judged no later than a second before its exp, an attestation has not expired.
        with contextlib.suppress(PasserelleError):  # the core refuses a bad exp itself
            expires = numeric_date(unverified_claims(values[0]), "exp")
            if expires is not None:
                before = datetime.fromtimestamp(expires - 1, UTC)
                attestation_time = min(guard.clock(), before)
    return verify_client_attestation(
        values[0],
        values[1],
        authorization_server=audience,
        client_id=client_id,
        anchors=guard.providers.anchors(),
        algorithms=ATTESTATION_ALGS,
        now=guard.clock(),
        skew=SKEW,
        max_pop_age=POP_MAX_AGE,
        replay=guard.replay,
        attestation_time=attestation_time,
    )


def _accepted_nonces(guard: HaipGuard, proof: str) -> list[str] | None:
    """The server nonces a proof may carry: None when nonces are off; else the one it
    carries if we issued it and it is live (an empty list refuses it)."""
    if not guard.settings.dpop_nonce:
        return None
    claimed = unverified_claims(proof).get("nonce")
    if not isinstance(claimed, str) or len(claimed) > 200:
        return []
    if not guard.behaviour.check_dpop_nonce_issued:
        return [claimed]
    live = guard.store.get(_NONCES, claimed, now=guard.clock()) is not None
    return [claimed] if live else []


def token_proof(
    guard: HaipGuard | None, request: Request, *, url: str, grant: str
) -> VerifiedDpopProof | None:
    """The DPoP proof of a token request (RFC 9449 §5), verified; None when the grant
    needs none and none came. A proof that comes anyway binds the token all the same."""
    if guard is None:
        return None
    proof = read_dpop_header(_headers(request, DPOP_HEADER))
    if proof is None:
        if grant not in guard.settings.dpop:
            return None
        raise PasserelleError(
            Reason.DPOP_PROOF_MISSING,
            "this grant issues DPoP-bound tokens only: send a DPoP proof",
            wire_error="invalid_dpop_proof",
        )
    return verify_dpop_proof(
        proof,
        method=request.method,
        url=url,
        algorithms=guard.settings.dpop_signing_alg_values,
        now=guard.clock(),
        skew=SKEW,
        max_age=DPOP_MAX_AGE,
        replay=guard.dpop_replay,
        accepted_nonces=_accepted_nonces(guard, proof),
    )


def resource_grant(
    guard: HaipGuard | None,
    request: Request,
    *,
    url: str,
    lookup: Callable[[str], dict[str, Any] | None],
    token_in_query: bool = False,
) -> dict[str, Any]:
    """The grant behind a protected request's access token, once its presentation
    holds: a DPoP-bound token only with the ``DPoP`` scheme and a proof (RFC 9449 §7),
    a bearer token as RFC 6750 §2.1 says (header only; ``token_in_query``, the
    bearer_in_query quirk only, reads one in the URL query too)."""
    in_query = request.query_params.get("access_token")
    if in_query is not None and not token_in_query:
        raise PasserelleError(
            Reason.OID4VCI_ACCESS_TOKEN_INVALID,
            "access tokens are accepted in the Authorization header only",
            wire_error="invalid_token",
        )
    authorization = _headers(request, "authorization")
    if not authorization and in_query is not None:
        authorization = [f"Bearer {in_query}"]
    try:
        credentials = parse_authorization_header(authorization)
    except PasserelleError as exc:
        raise PasserelleError(
            Reason.OID4VCI_ACCESS_TOKEN_INVALID,
            "missing or malformed access token",
            wire_error="invalid_token",
        ) from exc
    if (
        guard is not None
        and not guard.behaviour.auth_scheme_any_case
        and not authorization[0].strip().startswith(f"{credentials.scheme.value} ")
    ):
        raise PasserelleError(
            Reason.OID4VCI_ACCESS_TOKEN_INVALID,
            f"the Authorization scheme is not written {credentials.scheme.value}",
            wire_error="invalid_token",
        )
    entry = lookup(credentials.token)
    if entry is None:
        raise PasserelleError(
            Reason.OID4VCI_ACCESS_TOKEN_INVALID,
            "missing, unknown or expired access token",
            wire_error="invalid_token",
        )
    jkt = entry.get("dpop_jkt")
    if guard is None or (jkt is None and credentials.scheme is TokenScheme.BEARER):
        if credentials.scheme is not TokenScheme.BEARER:
            raise PasserelleError(
                Reason.DPOP_KEY_MISMATCH,
                "the access token is not bound to a DPoP key",
                wire_error="invalid_token",
            )
        return entry
    _check_presentation(guard, request, url, credentials, str(jkt) if jkt else None)
    return entry


def _check_presentation(
    guard: HaipGuard,
    request: Request,
    url: str,
    credentials: AccessTokenCredentials,
    jkt: str | None,
) -> None:
    """RFC 9449 §7 for one protected request; the quirks of the self-test bend it here."""
    behaviour = guard.behaviour
    dpop = _headers(request, DPOP_HEADER)
    proof = read_dpop_header(dpop)
    if credentials.scheme is TokenScheme.BEARER and not behaviour.refuse_dpop_token_as_bearer:
        return
    dpop_scheme = credentials.scheme is TokenScheme.DPOP
    if dpop_scheme and proof is None and jkt is not None and not behaviour.require_dpop_proof:
        return
    if proof is not None and jkt is not None and not behaviour.check_dpop_proof:
        named = _named_key(proof)
        if named is None or named != jkt:
            raise PasserelleError(
                Reason.DPOP_KEY_MISMATCH,
                "the DPoP key is not the token's key",
                wire_error="invalid_token",
            )
        return
    if proof is not None and not behaviour.htu_ignores_query:
        htu = unverified_claims(proof).get("htu")
        if isinstance(htu, str) and ("?" in htu or "#" in htu):
            raise PasserelleError(
                Reason.DPOP_HTU_MISMATCH,
                f"htu {htu!r} is not the request URI",
                wire_error="invalid_dpop_proof",
            )
    method = request.method
    if proof is not None and not behaviour.check_dpop_htm_htu:
        claims = unverified_claims(proof)
        method, url = str(claims.get("htm", method)), str(claims.get("htu", url))
    common: dict[str, Any] = {
        "method": method,
        "url": url,
        "algorithms": guard.settings.dpop_signing_alg_values,
        "now": guard.clock(),
        "skew": SKEW,
        "max_age": DPOP_MAX_AGE,
        "replay": guard.dpop_replay,
        "accepted_nonces": _accepted_nonces(guard, proof) if proof is not None else None,
    }
    if proof is not None and jkt is not None and not behaviour.check_dpop_ath:
        verify_dpop_proof(proof, bound_jkt=jkt, **common)
        return
    verify_protected_request(
        authorization=_headers(request, "authorization"),
        dpop=dpop,
        token_jkt=jkt,
        require_dpop=jkt is not None,
        **common,
    )


def _named_key(proof: str) -> str | None:
    """The thumbprint of the key a DPoP proof's header names, read without its
    signature (the unverified_dpop_proof quirk's whole check); None if there is none."""
    try:
        jwk = decode_unverified_jws(proof).header.get("jwk")
        return jwk_thumbprint(jwk) if isinstance(jwk, dict) else None
    except PasserelleError:
        return None


def nonce_headers(guard: HaipGuard | None) -> dict[str, str]:
    """A fresh ``DPoP-Nonce`` for the client's next proof (RFC 9449 §8.2: a server
    "MAY supply the new nonce value ... in any response"); nothing when nonces are off."""
    if guard is None or not guard.settings.dpop_nonce:
        return {}
    nonce = make_dpop_nonce(guard.random)
    guard.store.put(_NONCES, nonce, {}, expires_at=guard.clock() + DPOP_NONCE_LIFETIME)
    return {"DPoP-Nonce": nonce}


def refusal(
    guard: HaipGuard | None, exc: PasserelleError, *, at_resource_server: bool
) -> JSONResponse:
    """The error response for a refused token or credential request: the OAuth error
    with our reason code, and for DPoP errors the headers of RFC 9449 §7.1 and §8."""
    if exc.fault is Fault.LOCAL or guard is None or not guard.settings.dpop:
        return oauth_error(exc)
    fresh = nonce_headers(guard).get("DPoP-Nonce")
    wire = exc.wire_error or ""
    is_dpop = str(exc.reason).startswith("dpop.") or wire in (
        "use_dpop_nonce",
        "invalid_dpop_proof",
    )
    if not is_dpop:
        return oauth_error(exc, headers={"DPoP-Nonce": fresh} if fresh else None)
    answer = dpop_error_response(
        exc,
        at_resource_server=at_resource_server,
        new_nonce=fresh,
        algorithms=guard.settings.dpop_signing_alg_values,
    )
    return oauth_error(exc, headers=answer.headers, status=answer.status)


def read_credential_body(
    guard: HaipGuard | None, content_type: str, raw: bytes
) -> tuple[dict[str, Any], bool]:
    """The Credential Request as JSON, and whether it came encrypted (``application/jwt``,
    §8.2 and §10); a body that is neither is ``invalid_credential_request``."""
    media = content_type.split(";", 1)[0].strip().lower()
    if media == "application/jwt":
        if guard is None or guard.request_key is None:
            raise PasserelleError(
                Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID,
                "this issuer takes no encrypted credential requests",
                wire_error="invalid_encryption_parameters",
            )
        kid = str(_request_jwk(guard.request_key)["kid"])
        encs = (guard.settings.credential_response_encryption or {}).get("enc_values", ["A128GCM"])
        body = decrypt_credential_request(
            raw.decode("ascii", errors="replace").strip(),
            private_keys={kid: guard.request_key},
            enc_values=[str(e) for e in encs],  # type: ignore[union-attr]
        )
        return dict(body), True
    try:
        return dict(parse_json_object(raw, what="credential request")), False
    except PasserelleError as exc:
        # As the edge answers any malformed JSON body (services.web), with this
        # endpoint's own code (§8.3.1.2).
        raise PasserelleError(
            Reason.INPUT_MALFORMED, exc.detail, wire_error="invalid_credential_request"
        ) from exc


def response_encryption(
    metadata: Mapping[str, Any],
    body: Mapping[str, Any],
    *,
    request_was_encrypted: bool = False,
    refuse_unsupported: bool = True,
) -> CredentialResponseEncryption | None:
    """The wallet's ``credential_response_encryption``, checked against what the
    metadata offers (§8.2, §10); an unsupported ``alg`` or ``enc`` is
    ``invalid_encryption_parameters`` (or, for the quirk that does not refuse it, no
    encryption at all)."""
    offered = metadata.get("credential_response_encryption")
    try:
        return parse_credential_response_encryption(
            body,
            metadata=offered if isinstance(offered, dict) else None,
            request_was_encrypted=request_was_encrypted,
            # §8.2 binds the wallet; plain requests from peers older than 1.0 are still read.
            require_encrypted_request=False,
        )
    except PasserelleError as exc:
        if refuse_unsupported or exc.reason is not Reason.OID4VCI_ENCRYPTION_PARAMETERS_INVALID:
            raise
        return None
