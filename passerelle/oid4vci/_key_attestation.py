"""Key attestations in JWT format (OpenID4VCI 1.0 Appendix D) and the ``attestation``
proof type (Appendix F.3).

A wallet provider (or the key storage itself) signs a ``key-attestation+jwt`` listing
``attested_keys`` and their ``key_storage`` / ``user_authentication`` resistance. It
travels in the ``key_attestation`` header of a ``jwt`` key proof, or alone as an
``attestation`` proof. HAIP 1.0 §4.5.1 fixes how it is signed: "The public key used to
validate the signature on the key attestation MUST be included in the x5c JOSE header",
"The X.509 certificate of the trust anchor MUST NOT be included in the x5c JOSE
header", "The X.509 certificate signing the key attestation MUST NOT be self-signed".

Failures are ``invalid_proof`` on the wire, except a ``nonce`` that is not the
issued ``c_nonce``, which is ``invalid_nonce`` as for key proofs (§8.3.1.2).

The ``typ`` ``keyattestation+jwt`` of the drafts before 1.0 (still what
``@openid4vc/openid4vci`` 0.4.6 writes) is accepted as well; we write
``key-attestation+jwt``, the registered name (Appendix D.1, §13.2).
"""

from __future__ import annotations

import hmac
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cryptography import x509

from .._errors import PasserelleError, Reason, local_error, reraised_as
from .._json import JsonObject, JsonValue
from ..jose import (
    PublicKey,
    Signer,
    check_jwt_times,
    decode_unverified_jws,
    epoch,
    jwk_thumbprint,
    load_public_jwk,
    numeric_date,
    public_jwk,
    sign_jws,
    typ_matches,
    verify_jws,
)
from ..x509 import VerifiedChain, verify_haip_x5c

__all__ = [
    "ATTESTATION_PROOF_TYPE",
    "KEY_ATTESTATION_TYP",
    "KeyAttestationPolicy",
    "VerifiedKeyAttestation",
    "attested_jwks",
    "create_key_attestation",
    "verify_attestation_proof",
    "verify_key_attestation",
]

KEY_ATTESTATION_TYP = "key-attestation+jwt"
ATTESTATION_PROOF_TYPE = "attestation"
_LEGACY_TYP = "keyattestation+jwt"
_WHAT = "key attestation"


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyAttestationPolicy:
    """What an issuer accepts as key attestations, frozen and checked when built.

    ``anchors`` are the wallet-provider CA certificates of the issuer's list of
    wallet providers. ``required`` mirrors the presence of ``key_attestations_required``
    in the credential configuration's proof type metadata; ``key_storage`` and
    ``user_authentication`` are its accepted values (empty: no constraint).
    """

    anchors: tuple[x509.Certificate, ...]
    required: bool
    key_storage: frozenset[str] = frozenset()
    user_authentication: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if not self.anchors:
            raise local_error(Reason.X509_CHAIN_INVALID, "a key attestation policy needs anchors")

    @classmethod
    def from_metadata(
        cls, proof_type_metadata: Mapping[str, JsonValue], *, anchors: Sequence[x509.Certificate]
    ) -> KeyAttestationPolicy:
        """The policy a proof type's §12.2.4 metadata states (``key_attestations_required``)."""
        raw = proof_type_metadata.get("key_attestations_required")
        if raw is None:
            return cls(anchors=tuple(anchors), required=False)
        if not isinstance(raw, dict):
            raise local_error(
                Reason.OID4VCI_METADATA_INVALID, "key_attestations_required is not an object"
            )

        def values(name: str) -> frozenset[str]:
            member = raw.get(name)
            if member is None:
                return frozenset()
            if (
                not isinstance(member, list)
                or not member
                or not all(isinstance(v, str) for v in member)
            ):
                raise local_error(
                    Reason.OID4VCI_METADATA_INVALID, f"key_attestations_required.{name} is invalid"
                )
            return frozenset(v for v in member if isinstance(v, str))

        return cls(
            anchors=tuple(anchors),
            required=True,
            key_storage=values("key_storage"),
            user_authentication=values("user_authentication"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedKeyAttestation:
    """A key attestation whose signature, chain, times and nonce checked out."""

    attested_keys: tuple[PublicKey, ...]
    #: RFC 7638 thumbprints of ``attested_keys``, in order.
    thumbprints: tuple[str, ...]
    key_storage: tuple[str, ...]
    user_authentication: tuple[str, ...]
    iat: datetime
    exp: datetime | None
    nonce: str | None
    chain: VerifiedChain
    claims: JsonObject

    def attests(self, key: PublicKey) -> bool:
        return jwk_thumbprint(key) in self.thumbprints


def _error(reason: Reason, detail: str) -> PasserelleError:
    wire = "invalid_nonce" if reason is Reason.KEY_ATTESTATION_NONCE_MISMATCH else "invalid_proof"
    return PasserelleError(reason, detail, wire_error=wire)


def create_key_attestation(
    *,
    signer: Signer,
    x5c: Sequence[str],
    attested_keys: Sequence[JsonObject],
    now: datetime,
    expires_at: datetime | None,
    nonce: str | None = None,
    key_storage: Sequence[str] = (),
    user_authentication: Sequence[str] = (),
    issuer: str | None = None,
) -> str:
    """A wallet provider's key attestation (Appendix D.1). ``expires_at`` is needed for
    use in a ``jwt`` proof ("MUST be present if the attestation is used with the JWT
    proof type"); ``nonce`` is the issuer's ``c_nonce`` when it has a Nonce Endpoint."""
    if not attested_keys:
        raise local_error(Reason.KEY_ATTESTATION_MALFORMED, "attested_keys is a non-empty array")
    if any("d" in jwk for jwk in attested_keys):
        raise local_error(Reason.JWK_PRIVATE, "attested_keys are public keys")
    if not x5c:
        raise local_error(Reason.X509_MALFORMED, "a key attestation carries x5c (HAIP 1.0)")
    claims: JsonObject = {"iat": epoch(now), "attested_keys": [dict(k) for k in attested_keys]}
    if issuer is not None:
        claims["iss"] = issuer
    if expires_at is not None:
        claims["exp"] = epoch(expires_at)
    if nonce is not None:
        claims["nonce"] = nonce
    if key_storage:
        claims["key_storage"] = list(key_storage)
    if user_authentication:
        claims["user_authentication"] = list(user_authentication)
    return sign_jws({"typ": KEY_ATTESTATION_TYP, "x5c": list(x5c)}, claims, signer)


def _strings(claims: Mapping[str, JsonValue], name: str) -> tuple[str, ...]:
    value = claims.get(name)
    if value is None:
        return ()
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise _error(Reason.KEY_ATTESTATION_MALFORMED, f"{name} is not a non-empty string array")
    return tuple(v for v in value if isinstance(v, str))


def verify_key_attestation(
    token: str,
    *,
    policy: KeyAttestationPolicy,
    algorithms: Collection[str],
    now: datetime,
    skew: timedelta,
    expected_nonce: str | None,
    require_exp: bool,
) -> VerifiedKeyAttestation:
    """Verify a key attestation JWT against the wallet-provider anchors, or raise.

    ``algorithms`` is the proof type's ``proof_signing_alg_values_supported`` (F.1: the
    ``alg`` of a ``key_attestation`` "MUST match one of the values listed").
    ``expected_nonce`` is the ``c_nonce`` when the issuer has a Nonce Endpoint (F.1: "If
    the Credential Issuer provided a c_nonce, the nonce claim in the key attestation
    MUST be set to a server-provided c_nonce"). ``require_exp`` is set for the ``jwt``
    proof type, where ``exp`` "MUST be present".
    """
    if not algorithms or "none" in algorithms:
        raise local_error(
            Reason.JWS_ALG_NOT_ALLOWED, "key attestation algorithms are an allow-list"
        )
    if not isinstance(token, str):
        raise _error(Reason.KEY_ATTESTATION_MALFORMED, "a key attestation is a compact JWT")
    with reraised_as(_error, Reason.KEY_ATTESTATION_MALFORMED):
        jws = decode_unverified_jws(token, what=_WHAT)
    typ = jws.header.get("typ")
    if not (typ_matches(typ, KEY_ATTESTATION_TYP) or typ_matches(typ, _LEGACY_TYP)):
        raise _error(Reason.KEY_ATTESTATION_MALFORMED, f"typ {typ!r} is not {KEY_ATTESTATION_TYP}")
    with reraised_as(_error, Reason.KEY_ATTESTATION_UNTRUSTED, prefix="key attester certificate: "):
        # HAIP 1.0 §4.5.1: the x5c chain, without the anchor, to a signing certificate
        # that is not self-signed (verify_x5c_chain refuses a self-signed leaf).
        chain = verify_haip_x5c(jws.header.get("x5c"), anchors=policy.anchors, now=now)
    with reraised_as(
        _error, Reason.KEY_ATTESTATION_MALFORMED, keep={Reason.KEY_ATTESTATION_SIGNATURE_INVALID}
    ):
        claims = verify_jws(
            jws,
            key=chain.public_key,
            algorithms=algorithms,
            what=_WHAT,
            invalid_signature=Reason.KEY_ATTESTATION_SIGNATURE_INVALID,
        ).payload
    if "iat" not in claims or (require_exp and "exp" not in claims):
        raise _error(
            Reason.KEY_ATTESTATION_MALFORMED,
            "iat is required, and exp too when the attestation rides in a jwt proof",
        )
    with reraised_as(
        _error, Reason.KEY_ATTESTATION_MALFORMED, keep={Reason.KEY_ATTESTATION_EXPIRED}
    ):
        check_jwt_times(
            claims,
            now=now,
            skew=skew,
            require=("iat",),
            expired=Reason.KEY_ATTESTATION_EXPIRED,
            not_yet_valid=Reason.KEY_ATTESTATION_EXPIRED,
            what=_WHAT,
        )
    raw_keys = claims.get("attested_keys")
    if not isinstance(raw_keys, list) or not raw_keys or len(raw_keys) > 64:
        raise _error(Reason.KEY_ATTESTATION_MALFORMED, "attested_keys is not a non-empty array")
    keys: list[PublicKey] = []
    for index, jwk in enumerate(raw_keys):
        if not isinstance(jwk, dict):
            raise _error(Reason.KEY_ATTESTATION_MALFORMED, f"attested_keys[{index}] is not a JWK")
        with reraised_as(
            _error, Reason.KEY_ATTESTATION_MALFORMED, prefix=f"attested_keys[{index}]: "
        ):
            keys.append(load_public_jwk(jwk))
    key_storage = _strings(claims, "key_storage")
    user_authentication = _strings(claims, "user_authentication")
    if policy.key_storage and not policy.key_storage.intersection(key_storage):
        raise _error(
            Reason.KEY_ATTESTATION_REQUIREMENT_UNMET,
            f"key_storage {list(key_storage)} meets none of {sorted(policy.key_storage)}",
        )
    if policy.user_authentication and not policy.user_authentication.intersection(
        user_authentication
    ):
        raise _error(
            Reason.KEY_ATTESTATION_REQUIREMENT_UNMET,
            f"user_authentication {list(user_authentication)} meets none of "
            f"{sorted(policy.user_authentication)}",
        )
    nonce = claims.get("nonce")
    if nonce is not None and not isinstance(nonce, str):
        raise _error(Reason.KEY_ATTESTATION_MALFORMED, "nonce is not a string")
    if expected_nonce is not None and (
        nonce is None or not hmac.compare_digest(nonce.encode(), expected_nonce.encode())
    ):
        raise _error(Reason.KEY_ATTESTATION_NONCE_MISMATCH, "nonce is not the issued c_nonce")
    iat = numeric_date(claims, "iat", required=True)
    exp = numeric_date(claims, "exp")
    assert iat is not None
    return VerifiedKeyAttestation(
        attested_keys=tuple(keys),
        thumbprints=tuple(jwk_thumbprint(k) for k in keys),
        key_storage=key_storage,
        user_authentication=user_authentication,
        iat=datetime.fromtimestamp(iat, UTC),
        exp=datetime.fromtimestamp(exp, UTC) if exp is not None else None,
        nonce=nonce,
        chain=chain,
        claims=claims,
    )


def verify_attestation_proof(
    token: str,
    *,
    policy: KeyAttestationPolicy,
    algorithms: Collection[str],
    now: datetime,
    skew: timedelta,
    expected_nonce: str | None,
) -> VerifiedKeyAttestation:
    """An ``attestation`` proof (Appendix F.3): the key attestation alone, no proof of
    possession. "If the Credential Issuer has a Nonce Endpoint ... the c_nonce value
    provided by the Credential Issuer MUST be provided in the key attestation's nonce
    parameter"; pass it as ``expected_nonce``."""
    return verify_key_attestation(
        token,
        policy=policy,
        algorithms=algorithms,
        now=now,
        skew=skew,
        expected_nonce=expected_nonce,
        require_exp=False,
    )


def attested_jwks(attestation: VerifiedKeyAttestation) -> list[JsonObject]:
    """The attested keys as public JWKs, one credential per key (F.3 "SHOULD issue")."""
    return [public_jwk(k) for k in attestation.attested_keys]
