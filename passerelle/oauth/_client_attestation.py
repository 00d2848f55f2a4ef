"""OAuth 2.0 Attestation-Based Client Authentication, draft -07: the Wallet Attestation
of OpenID4VCI 1.0 Appendix E.

The version is the one OpenID4VCI 1.0 pins ("Attestation-Based Client Authentication
draft -07", §14.6 Pre-Final Specifications); HAIP 1.0 reaches it only through that
Appendix E and pins no other. A Client Attester (here: the wallet provider) signs a
Client Attestation JWT binding the wallet instance key (``cnf.jwk``); the wallet sends
it in ``OAuth-Client-Attestation`` with a fresh Client Attestation PoP JWT, signed by
that key, in ``OAuth-Client-Attestation-PoP``.

Compatibility with earlier drafts, on the receiving side only (liberal in what we
accept): a PoP carrying the server challenge in ``nonce`` (drafts up to -05, and what
``@openid4vc/oauth2`` 0.4.6 sends) is read like one carrying it in ``challenge``, and
an ``exp`` in the PoP (required up to -05) is honoured when present. What we send is
-07, plus an ``exp`` on the PoP, which -07 allows ("The JWT MAY contain other claims")
and draft -05 peers require.

Every refusal is ``invalid_client`` on the wire (RFC 6749 §5.2), but for the two that
-07 §6.2 gives codes of their own: a PoP that does not use the expected challenge
("``use_attestation_challenge`` MUST be used when the Client Attestation PoP JWT is not
using an expected server-provided challenge") and an attestation that has expired
("``use_fresh_attestation`` MUST be used when the Client Attestation JWT is deemed to be
not fresh enough to be acceptable by the server"), which tells the wallet what to fetch.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509

from .._errors import PasserelleError, Reason, local_error, reraised_as
from .._json import JsonObject, JsonValue, b64url_encode
from .._random import RandomSource
from ..jose import (
    PublicKey,
    Signer,
    check_jwt_times,
    decode_unverified_jws,
    epoch,
    jwk_thumbprint,
    load_public_jwk,
    numeric_date,
    sign_jws,
    typ_matches,
    verify_jws,
)
from ..x509 import VerifiedChain, verify_haip_x5c
from ._replay import JtiReplayRegistry

__all__ = [
    "ATTESTATION_HEADER",
    "ATTESTATION_POP_HEADER",
    "ATTESTATION_POP_TYP",
    "ATTESTATION_TYP",
    "AUTH_METHOD",
    "CHALLENGE_HEADER",
    "VerifiedClientAttestation",
    "attestation_challenge_response",
    "client_attestation_metadata",
    "create_client_attestation",
    "create_client_attestation_pop",
    "make_attestation_challenge",
    "read_client_attestation_headers",
    "verify_client_attestation",
]

ATTESTATION_TYP = "oauth-client-attestation+jwt"
ATTESTATION_POP_TYP = "oauth-client-attestation-pop+jwt"
ATTESTATION_HEADER = "OAuth-Client-Attestation"
ATTESTATION_POP_HEADER = "OAuth-Client-Attestation-PoP"
CHALLENGE_HEADER = "OAuth-Client-Attestation-Challenge"
#: The ``token_endpoint_auth_methods_supported`` value of -07 §10.1.
AUTH_METHOD = "attest_jwt_client_auth"

_TOKEN68 = re.compile(r"[A-Za-z0-9\-._~+/]+=*")


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedClientAttestation:
    """A Client Attestation and its PoP that passed every check of -07 §6."""

    #: The ``sub`` of the attestation: the client_id of the wallet.
    client_id: str
    #: The ``iss`` of the attestation: the Client Attester (wallet provider).
    attester: str
    #: The wallet instance key from ``cnf.jwk``, and its RFC 7638 thumbprint.
    instance_key: PublicKey
    instance_jkt: str
    attestation_claims: JsonObject
    pop_claims: JsonObject
    expires_at: datetime
    chain: VerifiedChain
    challenge: str | None = None


def _error(reason: Reason, detail: str, *, wire: str = "invalid_client") -> PasserelleError:
    return PasserelleError(reason, detail, wire_error=wire)


def _stale_or_invalid(reason: Reason, detail: str) -> PasserelleError:
    stale = reason is Reason.CLIENT_ATTESTATION_EXPIRED
    return _error(reason, detail, wire="use_fresh_attestation" if stale else "invalid_client")


def make_attestation_challenge(random: RandomSource) -> str:
    """A fresh, unpredictable challenge for the challenge endpoint (-07 §7)."""
    return b64url_encode(random.token_bytes(32))


def attestation_challenge_response(challenge: str) -> JsonObject:
    """-07 §7 challenge endpoint body; the service adds ``Cache-Control: no-store``."""
    return {"attestation_challenge": challenge}


def client_attestation_metadata(
    *, algorithms: Sequence[str], challenge_endpoint: str | None = None
) -> JsonObject:
    """RFC 8414 metadata members of -07 §10.1 and §7, to merge into the authorization
    server's metadata with ``attest_jwt_client_auth`` in
    ``token_endpoint_auth_methods_supported``: "The Authorization Server MUST include
    client_attestation_signing_alg_values_supported and
    client_attestation_pop_signing_alg_values_supported in its published metadata if
    the token_endpoint_auth_methods_supported includes attest_jwt_client_auth"."""
    if not algorithms or "none" in algorithms:
        raise local_error(Reason.JWS_ALG_NOT_ALLOWED, "attestation algorithms are an allow-list")
    doc: JsonObject = {
        "client_attestation_signing_alg_values_supported": list(algorithms),
        "client_attestation_pop_signing_alg_values_supported": list(algorithms),
    }
    if challenge_endpoint is not None:
        doc["challenge_endpoint"] = challenge_endpoint
    return doc


def create_client_attestation(
    *,
    signer: Signer,
    x5c: Sequence[str],
    issuer: str,
    client_id: str,
    instance_jwk: JsonObject,
    now: datetime,
    lifetime: timedelta,
    extra_claims: Mapping[str, JsonValue] | None = None,
) -> str:
    """The wallet provider's Client Attestation JWT (-07 §5.1, OpenID4VCI Appendix E).

    ``x5c`` is the signing certificate and any intermediates, never the trust anchor
    (HAIP 1.0 §4.4.1: "the public key certificate, and optionally a trust certificate
    chain excluding the trust anchor, used to validate the signature on the Wallet
    Attestation MUST be included in the x5c JOSE header"). ``client_id`` is shared by
    every instance of the wallet solution (OpenID4VCI §15.4.4).
    """
    if "d" in instance_jwk:
        raise local_error(Reason.JWK_PRIVATE, "cnf.jwk must be the public instance key")
    if not x5c:
        raise local_error(Reason.X509_MALFORMED, "a wallet attestation carries x5c")
    if lifetime <= timedelta(0):
        raise local_error(Reason.INPUT_MALFORMED, "an attestation lifetime is positive")
    iat = epoch(now)
    claims: JsonObject = dict(extra_claims or {})
    claims.update(
        {
            "iss": issuer,
            "sub": client_id,
            "iat": iat,
            "exp": iat + int(lifetime.total_seconds()),
            "cnf": {"jwk": dict(instance_jwk)},
        }
    )
    return sign_jws({"typ": ATTESTATION_TYP, "x5c": list(x5c)}, claims, signer)


def create_client_attestation_pop(
    *,
    signer: Signer,
    client_id: str,
    authorization_server: str,
    now: datetime,
    random: RandomSource,
    challenge: str | None = None,
    lifetime: timedelta = timedelta(minutes=1),
) -> str:
    """The wallet instance's Client Attestation PoP JWT (-07 §5.2), signed with the
    key of the attestation's ``cnf``: ``iss`` the client_id, ``aud`` the authorization
    server's issuer identifier, a fresh ``jti``, ``iat``, and ``challenge`` when the
    server gave one. A short ``exp`` is added for draft -05 peers."""
    if lifetime <= timedelta(0):
        raise local_error(Reason.INPUT_MALFORMED, "a PoP lifetime is positive")
    iat = epoch(now)
    claims: JsonObject = {
        "iss": client_id,
        "aud": authorization_server,
        "jti": b64url_encode(random.token_bytes(16)),
        "iat": iat,
        "exp": iat + int(lifetime.total_seconds()),
    }
    if challenge is not None:
        claims["challenge"] = challenge
    return sign_jws({"typ": ATTESTATION_POP_TYP}, claims, signer)


def read_client_attestation_headers(
    attestation: Sequence[str], pop: Sequence[str]
) -> tuple[str, str] | None:
    """The two header values, or None when the request carries neither.

    -07 §5.3: "There is precisely one OAuth-Client-Attestation HTTP request header
    field, where its value is a single well-formed JWT", and the same for the PoP.
    """
    if isinstance(attestation, str) or isinstance(pop, str):
        raise local_error(Reason.INPUT_MALFORMED, "pass the lists of header values")
    if not attestation and not pop:
        return None
    if len(attestation) != 1 or len(pop) != 1:
        raise _error(
            Reason.CLIENT_ATTESTATION_MISSING,
            f"exactly one {ATTESTATION_HEADER} and one {ATTESTATION_POP_HEADER} are needed",
        )
    values = (attestation[0].strip(), pop[0].strip())
    for value, name in zip(values, (ATTESTATION_HEADER, ATTESTATION_POP_HEADER), strict=True):
        if not _TOKEN68.fullmatch(value) or value.count(".") != 2:
            reason = (
                Reason.CLIENT_ATTESTATION_MALFORMED
                if name == ATTESTATION_HEADER
                else Reason.CLIENT_ATTESTATION_POP_MALFORMED
            )
            raise _error(reason, f"{name} is not a single compact JWT")
    return values


def _string(claims: Mapping[str, JsonValue], name: str, reason: Reason, what: str) -> str:
    value = claims.get(name)
    if not isinstance(value, str) or not value:
        raise _error(reason, f"{what} claim {name!r} is missing or not a string")
    return value


def _verify_attestation(
    token: str,
    *,
    anchors: Sequence[x509.Certificate],
    algorithms: Collection[str],
    now: datetime,
    skew: timedelta,
    claims_time: datetime,
) -> tuple[JsonObject, VerifiedChain, PublicKey]:
    what = "client attestation"
    with reraised_as(_error, Reason.CLIENT_ATTESTATION_MALFORMED):
        jws = decode_unverified_jws(token, what=what)
    header = jws.header
    if not typ_matches(header.get("typ"), ATTESTATION_TYP):
        raise _error(
            Reason.CLIENT_ATTESTATION_MALFORMED,
            f"client attestation typ {header.get('typ')!r} is not {ATTESTATION_TYP}",
        )
    with reraised_as(
        _error, Reason.CLIENT_ATTESTATION_UNTRUSTED, prefix="wallet provider certificate: "
    ):
        # HAIP 1.0 §4.4.1: the attester's certificate "MUST be included in the x5c
        # JOSE header of the Client Attestation JWT"; no other key resolution is offered.
        chain = verify_haip_x5c(header.get("x5c"), anchors=anchors, now=now)
    with reraised_as(
        _error,
        Reason.CLIENT_ATTESTATION_MALFORMED,
        keep={Reason.CLIENT_ATTESTATION_SIGNATURE_INVALID},
    ):
        claims = verify_jws(
            jws,
            key=chain.public_key,
            algorithms=algorithms,
            typ=ATTESTATION_TYP,
            what=what,
            invalid_signature=Reason.CLIENT_ATTESTATION_SIGNATURE_INVALID,
        ).payload
    _string(claims, "iss", Reason.CLIENT_ATTESTATION_MALFORMED, what)
    sub = claims.get("sub")
    if not isinstance(sub, str) or not sub:
        # -07 §5.1: "sub: REQUIRED. The sub (subject) claim MUST specify client_id value
        # of the OAuth Client."
        raise _error(Reason.CLIENT_ATTESTATION_SUB_MISSING, "the client attestation has no sub")
    if "exp" not in claims:
        raise _error(Reason.CLIENT_ATTESTATION_MALFORMED, "the client attestation has no exp")
    with reraised_as(
        _stale_or_invalid,
        Reason.CLIENT_ATTESTATION_MALFORMED,
        keep={Reason.CLIENT_ATTESTATION_EXPIRED, Reason.CLIENT_ATTESTATION_NOT_YET_VALID},
    ):
        # -07 §5.1: "The authorization server MUST reject any JWT with an expiration
        # time that has passed, subject to allowable clock skew between systems."
        check_jwt_times(
            claims,
            now=claims_time,
            skew=skew,
            require=("exp",),
            expired=Reason.CLIENT_ATTESTATION_EXPIRED,
            not_yet_valid=Reason.CLIENT_ATTESTATION_NOT_YET_VALID,
            what=what,
        )
    cnf = claims.get("cnf")
    jwk = cnf.get("jwk") if isinstance(cnf, dict) else None
    if not isinstance(jwk, dict):
        raise _error(Reason.CLIENT_ATTESTATION_CNF_INVALID, "cnf.jwk is missing")
    with reraised_as(_error, Reason.CLIENT_ATTESTATION_CNF_INVALID, prefix="cnf.jwk: "):
        # -07 §6 item 6: "The key contained in the cnf claim of the Client Attestation
        # JWT is not a private key." load_public_jwk refuses one.
        instance_key = load_public_jwk(jwk)
    return claims, chain, instance_key


def _audience_matches(aud: JsonValue, authorization_server: str) -> bool:
    # -07 §5.2: the issuer identifier "MUST be used as a value for an 'aud' element".
    if isinstance(aud, str):
        return aud == authorization_server
    return isinstance(aud, list) and authorization_server in aud


def _pop_challenge(claims: Mapping[str, JsonValue]) -> str | None:
    for name in ("challenge", "nonce"):
        value = claims.get(name)
        if value is not None:
            if not isinstance(value, str):
                raise _error(Reason.CLIENT_ATTESTATION_POP_MALFORMED, f"PoP {name} is not a string")
            return value
    return None


def verify_client_attestation(
    attestation: str,
    pop: str,
    *,
    authorization_server: str,
    client_id: str | None,
    anchors: Sequence[x509.Certificate],
    algorithms: Collection[str],
    now: datetime,
    skew: timedelta,
    max_pop_age: timedelta,
    replay: JtiReplayRegistry,
    accepted_challenges: Collection[str] | None = None,
    attestation_time: datetime | None = None,
) -> VerifiedClientAttestation:
    """Authenticate a client by its attestation and PoP (-07 §6), or raise.

    ``anchors`` are the certificates of the wallet-provider CAs the issuer trusts
    (from its list of wallet providers); ``authorization_server`` is this server's
    RFC 8414 issuer identifier; ``client_id`` is the request's ``client_id`` parameter
    when it has one (-07 §5.4-5.5: it must equal ``sub`` and the PoP ``iss``).
    ``accepted_challenges`` is None when the server hands out no challenges, else the
    challenges still accepted. The PoP ``iat`` must be within ``max_pop_age``; its
    ``jti`` is registered last with ``replay``. ``attestation_time`` is the instant the
    attestation's ``exp``, ``nbf`` and ``iat`` are judged at, ``now`` when None; its
    certificate chain and the PoP are always judged at ``now``. Any other instant lifts
    -07 §5.1's rule that an expired attestation is refused (the self-test's quirk does).
    """
    if not algorithms or "none" in algorithms:
        raise local_error(
            Reason.JWS_ALG_NOT_ALLOWED, "attestation algorithms must be an allow-list"
        )
    claims, chain, instance_key = _verify_attestation(
        attestation,
        anchors=anchors,
        algorithms=algorithms,
        now=now,
        skew=skew,
        claims_time=now if attestation_time is None else attestation_time,
    )
    sub = claims["sub"]
    assert isinstance(sub, str)  # _verify_attestation checked it
    what = "client attestation PoP"
    with reraised_as(_error, Reason.CLIENT_ATTESTATION_POP_MALFORMED):
        jws = decode_unverified_jws(pop, what=what)
    if not typ_matches(jws.header.get("typ"), ATTESTATION_POP_TYP):
        raise _error(
            Reason.CLIENT_ATTESTATION_POP_MALFORMED,
            f"PoP typ {jws.header.get('typ')!r} is not {ATTESTATION_POP_TYP}",
        )
    instance_jkt = jwk_thumbprint(instance_key)
    named = jws.header.get("jwk")
    if isinstance(named, dict):
        # A PoP that names its key in the header: when it is not the cnf key, that is
        # the finding, more precise than the signature failure it would cause.
        try:
            named_jkt = jwk_thumbprint(named)
        except PasserelleError:
            named_jkt = ""
        if named_jkt != instance_jkt:
            raise _error(
                Reason.CLIENT_ATTESTATION_POP_KEY_MISMATCH,
                "the PoP is signed with a key that is not the attestation's cnf key",
            )
    try:
        # -07 §5.2 rule 3: "The public key used to verify the JWT MUST be the key
        # located in the 'cnf' claim of the corresponding Client Attestation JWT."
        pop_claims = verify_jws(
            jws,
            key=instance_key,
            algorithms=algorithms,
            typ=ATTESTATION_POP_TYP,
            what=what,
            invalid_signature=Reason.CLIENT_ATTESTATION_POP_SIGNATURE_INVALID,
        ).payload
    except PasserelleError as exc:
        reason = (
            Reason.CLIENT_ATTESTATION_POP_SIGNATURE_INVALID
            if exc.reason
            in (Reason.CLIENT_ATTESTATION_POP_SIGNATURE_INVALID, Reason.JWS_ALG_MISMATCH)
            else Reason.CLIENT_ATTESTATION_POP_MALFORMED
        )
        raise _error(reason, exc.detail) from exc
    iss = pop_claims.get("iss")
    if iss != sub:
        # -07 §5.2 rule 4: "The value of the iss claim, representing the client_id MUST
        # match the value of the sub claim in the corresponding Client Attestation JWT."
        raise _error(Reason.CLIENT_ATTESTATION_POP_ISS_MISMATCH, f"PoP iss {iss!r} is not sub")
    if not _audience_matches(pop_claims.get("aud"), authorization_server):
        # -07 §6 item 10: "The audience claim in the Client Attestation PoP JWT is the
        # issuer identifier URL of the authorization server as described in [RFC8414]."
        raise _error(
            Reason.CLIENT_ATTESTATION_POP_AUD_MISMATCH,
            f"PoP aud {pop_claims.get('aud')!r} is not {authorization_server!r}",
        )
    jti = _string(pop_claims, "jti", Reason.CLIENT_ATTESTATION_POP_MALFORMED, what)
    if "iat" not in pop_claims:
        raise _error(Reason.CLIENT_ATTESTATION_POP_MALFORMED, "the PoP has no iat")
    with reraised_as(
        _error,
        Reason.CLIENT_ATTESTATION_POP_IAT_OUT_OF_WINDOW,
        keep={Reason.CLIENT_ATTESTATION_POP_EXPIRED},
    ):
        check_jwt_times(
            pop_claims,
            now=now,
            skew=skew,
            require=("iat",),
            expired=Reason.CLIENT_ATTESTATION_POP_EXPIRED,
            not_yet_valid=Reason.CLIENT_ATTESTATION_POP_IAT_OUT_OF_WINDOW,
            what=what,
        )
    iat = numeric_date(pop_claims, "iat", required=True)
    assert iat is not None
    if epoch(now) - iat > (max_pop_age + skew).total_seconds():
        # -07 §6 item 9: the creation time "is within an acceptable window".
        raise _error(Reason.CLIENT_ATTESTATION_POP_IAT_OUT_OF_WINDOW, f"PoP iat {iat} is too old")
    challenge = _pop_challenge(pop_claims)
    if accepted_challenges is not None and (
        challenge is None
        or not any(hmac.compare_digest(challenge.encode(), c.encode()) for c in accepted_challenges)
    ):
        raise _error(
            Reason.CLIENT_ATTESTATION_CHALLENGE_MISMATCH,
            "the PoP does not carry a current attestation challenge",
            wire="use_attestation_challenge",
        )
    if client_id is not None and client_id != sub:
        # -07 §6 item 13: the request's client_id "matches the sub claim of the Client
        # Attestation JWT and the iss claim of the Client Attestation PoP JWT".
        raise _error(
            Reason.CLIENT_ATTESTATION_CLIENT_ID_MISMATCH,
            f"client_id {client_id!r} is not the attested client {sub!r}",
        )
    expires_at = datetime.fromtimestamp(iat, UTC) + max_pop_age + skew * 2
    if not replay.register(
        scope=f"client_attestation_pop:{instance_jkt}", jti=jti, expires_at=expires_at
    ):
        # -07 §12.1 (Replay Attacks): the server keeps the jti of recent PoPs.
        raise _error(Reason.CLIENT_ATTESTATION_POP_REPLAYED, "this PoP was already used")
    exp = numeric_date(claims, "exp", required=True)
    assert exp is not None
    iss = claims["iss"]
    assert isinstance(iss, str)
    return VerifiedClientAttestation(
        client_id=sub,
        attester=iss,
        instance_key=instance_key,
        instance_jkt=instance_jkt,
        attestation_claims=claims,
        pop_claims=pop_claims,
        expires_at=datetime.fromtimestamp(exp, UTC),
        chain=chain,
        challenge=challenge,
    )
