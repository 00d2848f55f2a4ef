"""Key proofs of the ``jwt`` proof type (Appendix F.1, checks of F.4) and §7 nonces.

Every failure is reported on the wire as ``invalid_proof`` except a ``nonce`` that
does not match the issued ``c_nonce``, which is ``invalid_nonce`` (§8.3.1.2). A
proof without a ``nonce`` when one was issued is ``invalid_proof`` too: the spec
lists "does not contain a c_nonce value" under ``invalid_proof``.
"""

from __future__ import annotations

import hmac
from collections.abc import Collection
from datetime import UTC, datetime, timedelta

from .._errors import PasserelleError, Reason
from .._json import JsonObject, b64url_encode
from .._random import RandomSource
from ..jose import (
    PublicKey,
    Signer,
    check_jwt_times,
    decode_unverified_jws,
    epoch,
    load_public_jwk,
    public_jwk,
    sign_jws,
    typ_matches,
    verify_jws,
)
from ..vc import resolve_did_jwk
from ._errors import oid4vci_error
from ._key_attestation import KeyAttestationPolicy, VerifiedKeyAttestation, verify_key_attestation
from ._models import PROOF_JWT_TYP, VerifiedProof

__all__ = [
    "create_jwt_proof",
    "make_c_nonce",
    "nonce_response",
    "read_unverified_proof_nonce",
    "verify_jwt_proof",
]

_INVALID_PROOF = "invalid_proof"
_WHAT = "key proof"


def make_c_nonce(random: RandomSource) -> str:
    """A fresh, unpredictable ``c_nonce`` (§7.2: "New challenge values MUST be unpredictable")."""
    return b64url_encode(random.token_bytes(32))


def nonce_response(c_nonce: str) -> JsonObject:
    """§7.2 Nonce Response body; the service adds ``Cache-Control: no-store``."""
    return {"c_nonce": c_nonce}


def read_unverified_proof_nonce(proof_jwt: str) -> str | None:
    """The ``nonce`` claim of a proof, signature NOT checked: for finding the stored nonce.

    Callers look the value up, then pass it to :func:`verify_jwt_proof`, which checks
    everything; nothing else may be decided on this value.
    """
    try:
        claims = decode_unverified_jws(proof_jwt, what=_WHAT).payload_json(what=_WHAT)
    except PasserelleError as exc:
        raise exc.for_wire(_INVALID_PROOF) from exc
    nonce = claims.get("nonce")
    return nonce if isinstance(nonce, str) else None


def _holder_key(header: JsonObject) -> tuple[PublicKey, str | None]:
    present = [name for name in ("jwk", "kid", "x5c") if name in header]
    if len(present) != 1:
        # Appendix F.1: jwk, kid and x5c are mutually exclusive, and one is needed.
        raise oid4vci_error(
            Reason.OID4VCI_PROOF_KEY_INVALID,
            f"a key proof names its key by exactly one of jwk, kid, x5c (found {present})",
        )
    if present[0] == "jwk":
        jwk = header["jwk"]
        if not isinstance(jwk, dict):
            raise oid4vci_error(Reason.OID4VCI_PROOF_KEY_INVALID, "jwk is not a JSON object")
        return load_public_jwk(jwk), None
    if present[0] == "kid":
        kid = header["kid"]
        if isinstance(kid, str) and kid.startswith("did:jwk:"):
            return resolve_did_jwk(kid), kid
        raise oid4vci_error(
            Reason.OID4VCI_PROOF_KEY_UNSUPPORTED,
            "only did:jwk key ids can be resolved without fetching",
        )
    raise oid4vci_error(
        Reason.OID4VCI_PROOF_KEY_UNSUPPORTED, "x5c-bound key proofs are not supported"
    )


def verify_jwt_proof(
    proof_jwt: str,
    *,
    audience: str,
    expected_nonce: str | None,
    algorithms: Collection[str],
    now: datetime,
    max_age: timedelta,
    skew: timedelta,
    client_id: str | None,
    key_attestation: KeyAttestationPolicy | None = None,
) -> VerifiedProof:
    """Check one ``jwt`` key proof and return the holder key it proves, or raise.

    ``audience`` is the Credential Issuer Identifier. ``expected_nonce`` is the
    ``c_nonce`` the service issued and still accepts, or None when the issuer has
    no Nonce Endpoint. ``client_id`` is the client of the access token, or None for
    anonymous pre-authorized access; ``iss`` is optional, and when present must be that
    client, and absent after anonymous access (F.1, see :func:`_check_proof_iss`).
    ``max_age`` bounds how old ``iat`` may be; ``skew`` tolerates clocks ahead of ours.
    ``key_attestation`` is the issuer's policy for Appendix D key attestations: with
    it, a ``key_attestation`` header is verified (and demanded when the policy says
    required), and the proof key must be one of its ``attested_keys``; without it,
    such a header is left aside, unjudged.
    """
    try:
        return _verify(
            proof_jwt,
            audience=audience,
            expected_nonce=expected_nonce,
            algorithms=algorithms,
            now=now,
            max_age=max_age,
            skew=skew,
            client_id=client_id,
            key_attestation=key_attestation,
        )
    except PasserelleError as exc:
        if exc.reason.startswith(("oid4vci.", "key_attestation.")):
            raise
        raise exc.for_wire(_INVALID_PROOF) from exc


def _verify(
    proof_jwt: str,
    *,
    audience: str,
    expected_nonce: str | None,
    algorithms: Collection[str],
    now: datetime,
    max_age: timedelta,
    skew: timedelta,
    client_id: str | None,
    key_attestation: KeyAttestationPolicy | None = None,
) -> VerifiedProof:
    jws = decode_unverified_jws(proof_jwt, what=_WHAT)
    header = jws.header
    # Typing first: a token of another type must not be judged on its other merits.
    if not typ_matches(header.get("typ"), PROOF_JWT_TYP):
        raise PasserelleError(
            Reason.JWS_TYP_MISMATCH, f"key proof typ {header.get('typ')!r} is not {PROOF_JWT_TYP}"
        )
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms:
        raise PasserelleError(Reason.JWS_ALG_NOT_ALLOWED, f"key proof alg {alg!r} is not allowed")
    key, kid = _holder_key(header)
    claims = verify_jws(jws, key=key, algorithms=algorithms, typ=PROOF_JWT_TYP, what=_WHAT).payload
    aud = claims.get("aud")
    if aud != audience:
        raise oid4vci_error(
            Reason.OID4VCI_PROOF_AUD_MISMATCH, f"key proof aud {aud!r} is not {audience!r}"
        )
    check_jwt_times(claims, now=now, skew=skew, require=("iat",), what=_WHAT)
    iat = claims["iat"]
    assert isinstance(iat, int | float)  # check_jwt_times required a NumericDate
    if epoch(now) - int(iat) > (max_age + skew).total_seconds():
        raise oid4vci_error(Reason.OID4VCI_PROOF_TOO_OLD, f"key proof iat {iat} is too old")
    iss = claims.get("iss")
    _check_proof_iss(iss, client_id=client_id)
    nonce = claims.get("nonce")
    if nonce is not None and not isinstance(nonce, str):
        raise oid4vci_error(Reason.OID4VCI_NONCE_MISMATCH, "key proof nonce is not a string")
    if expected_nonce is not None:
        if nonce is None:
            raise oid4vci_error(Reason.OID4VCI_NONCE_MISSING, "key proof has no nonce")
        if not hmac.compare_digest(nonce.encode(), expected_nonce.encode()):
            raise oid4vci_error(Reason.OID4VCI_NONCE_MISMATCH, "key proof nonce is not the c_nonce")
    attestation = _check_key_attestation(
        header,
        key,
        policy=key_attestation,
        algorithms=algorithms,
        now=now,
        skew=skew,
        expected_nonce=expected_nonce,
    )
    return VerifiedProof(
        holder_key=key,
        jwk=public_jwk(key),
        iat=datetime.fromtimestamp(int(iat), tz=UTC),
        nonce=nonce,
        iss=iss if isinstance(iss, str) else None,
        kid=kid,
        key_attestation=attestation,
    )


def _check_key_attestation(
    header: JsonObject,
    key: PublicKey,
    *,
    policy: KeyAttestationPolicy | None,
    algorithms: Collection[str],
    now: datetime,
    skew: timedelta,
    expected_nonce: str | None,
) -> VerifiedKeyAttestation | None:
    token = header.get("key_attestation")
    if token is None:
        if policy is not None and policy.required:
            raise PasserelleError(
                Reason.KEY_ATTESTATION_MISSING,
                "this credential configuration requires a key_attestation",
                wire_error=_INVALID_PROOF,
            )
        return None
    if policy is None:
        # Appendix D: issuers "SHOULD evaluate" key attestations; one that asked for
        # none and has no anchors to judge one by leaves it aside rather than refuse.
        return None
    if not isinstance(token, str):
        raise PasserelleError(
            Reason.KEY_ATTESTATION_MALFORMED,
            "key_attestation is not a JWT",
            wire_error=_INVALID_PROOF,
        )
    attestation = verify_key_attestation(
        token,
        policy=policy,
        algorithms=algorithms,
        now=now,
        skew=skew,
        expected_nonce=expected_nonce,
        require_exp=True,
    )
    # Appendix D.1: "If used with the jwt proof type, the Credential Issuer MUST validate
    # that the JWT used as a proof is signed by a key contained in the attestation".
    if not attestation.attests(key):
        raise PasserelleError(
            Reason.KEY_ATTESTATION_KEY_NOT_ATTESTED,
            "the proof key is not one of the attested_keys",
            wire_error=_INVALID_PROOF,
        )
    return attestation


def _check_proof_iss(iss: object, *, client_id: str | None) -> None:
    """Appendix F.1: "``iss``: OPTIONAL (string). The value of this claim MUST be the
    ``client_id`` of the Client making the Credential request. This claim MUST be omitted
    if the access token authorizing the issuance call was obtained from a Pre-Authorized
    Code Flow through anonymous access to the token endpoint."

    So a missing ``iss`` is always fine (a client that identified itself at the token
    endpoint may still leave it out); a present one must name that client, and cannot
    be present at all after anonymous access.
    """
    if iss is None:
        return
    if client_id is None:
        raise oid4vci_error(
            Reason.OID4VCI_PROOF_ISS_MISMATCH,
            "iss must be omitted after anonymous pre-authorized access",
        )
    if iss != client_id:
        raise oid4vci_error(
            Reason.OID4VCI_PROOF_ISS_MISMATCH, f"key proof iss {iss!r} is not the client_id"
        )


def create_jwt_proof(
    *,
    signer: Signer,
    holder_jwk: JsonObject,
    audience: str,
    nonce: str | None,
    now: datetime,
    client_id: str | None = None,
    key_attestation: str | None = None,
) -> str:
    """The wallet's ``jwt`` key proof (Appendix F.1): ``typ`` ``openid4vci-proof+jwt``, the
    holder key in ``jwk``, ``aud`` the Credential Issuer Identifier, the issuer's
    ``c_nonce`` when it has a nonce endpoint, and ``iss`` only for an identified client.
    ``key_attestation`` (Appendix D) goes in the header when the wallet has one."""
    claims: JsonObject = {"aud": audience, "iat": epoch(now)}
    if nonce is not None:
        claims["nonce"] = nonce
    if client_id is not None:
        claims["iss"] = client_id
    header: JsonObject = {"typ": PROOF_JWT_TYP, "jwk": dict(holder_jwk)}
    if key_attestation is not None:
        header["key_attestation"] = key_attestation
    return sign_jws(header, claims, signer)
