"""Issuer verification key discovery (draft-ietf-oauth-sd-jwt-vc §"Issuer Verification
Key Discovery and Validation"): inline ``x5c`` chains, and JWT VC Issuer Metadata; and,
for the data-space path (DESIGN §6 step 2), a ``did:web`` issuer's DID document.

Nothing is fetched here. A service reads ``iss`` with :func:`jwt_vc_issuer_metadata_url`
(or :func:`passerelle.dcp.did_web_to_url` for a did:web), fetches the metadata (and
``jwks_uri``) or DID document under its own fetch policy, and passes the documents in
an :class:`IssuerKeyPolicy`.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlunsplit

from cryptography import x509

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue
from .._net import is_loopback_host, split_url
from ..dcp import did_web_base_url, verification_method
from ..jose import PublicKey, jwk_thumbprint, load_public_jwk
from ..sd_jwt import SdJwt
from ..x509 import VerifiedChain, verify_x5c_chain

__all__ = [
    "IssuerKeyMethod",
    "IssuerKeyPolicy",
    "ResolvedIssuerKey",
    "is_insecure_loopback",
    "jwt_vc_issuer_metadata_url",
    "resolve_issuer_key",
    "resolve_issuer_key_from",
]

WELL_KNOWN = "/.well-known/jwt-vc-issuer"


class IssuerKeyMethod(enum.StrEnum):
    X5C = "x5c"
    JWT_VC_ISSUER_METADATA = "jwt-vc-issuer-metadata"
    DID_WEB = "did-web"


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuerKeyPolicy:
    """Which key discovery mechanisms are permitted, with the material each needs.

    ``x5c_anchors``: trust anchors for ``x5c`` chains; empty means x5c is not permitted.
    ``issuer_metadata``: JWT VC Issuer Metadata documents by issuer identifier, with
    ``jwks`` filled in (a fetched ``jwks_uri`` goes there); empty means not permitted.
    ``did_documents``: DID documents of ``did:web`` issuers, by DID, as fetched from
    :func:`passerelle.dcp.did_web_to_url`; empty means not permitted.
    """

    x5c_anchors: Sequence[x509.Certificate] = ()
    issuer_metadata: Mapping[str, JsonObject] = field(default_factory=dict)
    did_documents: Mapping[str, JsonObject] = field(default_factory=dict)
    allow_insecure_loopback: bool = False
    """Development relaxation: an ``http://`` ``iss`` on a loopback host may use issuer
    metadata too (the laptop stack without TLS). Off unless a caller says so."""
    allow_loopback: bool = False
    """Development relaxation: a ``did:web`` ``iss`` may name a loopback IP address,
    its URL staying ``https`` (the laptop stack with TLS; see :mod:`passerelle.dcp`)."""

    def __post_init__(self) -> None:
        if not self.x5c_anchors and not self.issuer_metadata and not self.did_documents:
            raise local_error(
                Reason.SD_JWT_VC_ISSUER_KEY_UNRESOLVED,
                "an issuer key policy must permit at least one discovery mechanism",
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class ResolvedIssuerKey:
    key: PublicKey
    method: IssuerKeyMethod
    issuer: str
    """Who the key belongs to: the subject of the end-entity certificate for ``x5c``
    (the draft: "the Issuer ... is the subject of the end-entity certificate"), the
    metadata's ``issuer`` (equal to ``iss``) for metadata. For ``did-web``, the URL the
    DID names (:func:`passerelle.dcp.did_web_base_url`: ``did:web:issuer.example`` →
    ``https://issuer.example``), so that a registry keyed by issuer URLs finds it; the
    DID itself is in ``iss``. Never an unchecked claim."""
    iss: str | None = None
    """The ``iss`` claim as sent, for the record; for ``x5c`` it is bound to nothing."""
    kid: str | None
    chain: VerifiedChain | None
    """For ``x5c``, and for ``did-web`` when the method's ``publicKeyJwk`` has an ``x5c``."""


def is_insecure_loopback(url: str) -> bool:
    """An ``http://`` URL whose host is this machine: the one place plain HTTP is let in."""
    parts = split_url(url)
    return parts.scheme == "http" and is_loopback_host(parts.hostname or "")


def _metadata_scheme_ok(iss: str, allow_insecure_loopback: bool) -> bool:
    return iss.startswith("https://") or (allow_insecure_loopback and is_insecure_loopback(iss))


def jwt_vc_issuer_metadata_url(iss: str, *, allow_insecure_loopback: bool = False) -> str:
    """Where JWT VC Issuer Metadata lives for ``iss``: the well-known string goes between
    host and path, a trailing '/' of the path removed."""
    parts = split_url(iss)
    if (
        not _metadata_scheme_ok(iss, allow_insecure_loopback)
        or not parts.hostname
        or parts.query
        or parts.fragment
    ):
        raise PasserelleError(
            Reason.SD_JWT_VC_ISSUER_INVALID,
            "iss must be an https URL without query or fragment to use issuer metadata",
        )
    path = WELL_KNOWN + parts.path.rstrip("/")
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _from_metadata(iss: str, kid: JsonValue, metadata: JsonObject) -> PublicKey:
    if metadata.get("issuer") != iss:
        raise PasserelleError(
            Reason.SD_JWT_VC_ISSUER_METADATA_INVALID, "metadata issuer is not identical to iss"
        )
    jwks = metadata.get("jwks")
    keys = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(keys, list) or not keys:
        raise PasserelleError(
            Reason.SD_JWT_VC_ISSUER_METADATA_INVALID, "metadata has no JWK Set with keys"
        )
    candidates = [k for k in keys if isinstance(k, dict) and (kid is None or k.get("kid") == kid)]
    if len(candidates) != 1:
        # Without a kid we only accept a set of exactly one key: guessing is not verifying.
        raise PasserelleError(
            Reason.SD_JWT_VC_ISSUER_KEY_UNRESOLVED,
            f"issuer metadata has {len(candidates)} keys matching kid {kid!r}",
        )
    jwk = {k: v for k, v in candidates[0].items() if k not in ("kid", "use", "alg", "key_ops")}
    return load_public_jwk(jwk)


def _from_did_web(
    iss: str, kid: JsonValue, policy: IssuerKeyPolicy, now: datetime
) -> ResolvedIssuerKey:
    document = policy.did_documents[iss]
    if not isinstance(document, dict) or document.get("id") != iss:
        # did:web "Read": the resolved document's id must be the DID being resolved.
        raise PasserelleError(Reason.DID_INVALID, f"the DID document for {iss} is another DID's")
    if kid is not None and not isinstance(kid, str):
        raise PasserelleError(Reason.JWS_HEADER_INVALID, "kid is not a string")
    # A kid of another DID fails here (did.key_not_found): the issuer is the DID of the
    # verification method (DCP 1.0 §"Presentation Validation" 4).
    method = verification_method(document, iss if kid is None else kid)
    jwk = method.get("publicKeyJwk")
    if not isinstance(jwk, dict):
        raise PasserelleError(Reason.DID_KEY_NOT_FOUND, f"{method.get('id')} has no publicKeyJwk")
    key = load_public_jwk(jwk)
    chain = None
    x5c = jwk.get("x5c")
    if x5c is not None and policy.x5c_anchors:
        # RFC 7517 §4.7: the first certificate's key MUST match the JWK's. Then the EU
        # lists find the issuer by its certificate, as for an x5c header.
        if not isinstance(x5c, list) or not all(isinstance(c, str) for c in x5c):
            raise PasserelleError(Reason.X509_MALFORMED, "publicKeyJwk x5c is not strings")
        chain = verify_x5c_chain(
            [c for c in x5c if isinstance(c, str)], anchors=policy.x5c_anchors, now=now
        )
        if jwk_thumbprint(chain.public_key) != jwk_thumbprint(key):
            raise PasserelleError(
                Reason.JWK_INVALID, "publicKeyJwk is not the key of its x5c certificate"
            )
    return ResolvedIssuerKey(
        key=key,
        method=IssuerKeyMethod.DID_WEB,
        issuer=did_web_base_url(
            iss,
            allow_loopback=policy.allow_loopback,
            allow_insecure_loopback=policy.allow_insecure_loopback,
        ),
        iss=iss,
        kid=kid if isinstance(kid, str) else None,
        chain=chain,
    )


def resolve_issuer_key(
    sd_jwt: SdJwt, *, policy: IssuerKeyPolicy, now: datetime
) -> ResolvedIssuerKey:
    """Find and validate the key that must have signed the Issuer-signed JWT.

    The signature itself is checked afterwards by the caller, with the key returned.
    """
    payload = sd_jwt.unverified_payload()
    return resolve_issuer_key_from(
        iss=payload.get("iss"),
        x5c=sd_jwt.issuer_jwt.header.get("x5c"),
        kid=sd_jwt.issuer_jwt.header.get("kid"),
        policy=policy,
        now=now,
    )


def resolve_issuer_key_from(
    *, iss: JsonValue, x5c: JsonValue, kid: JsonValue, policy: IssuerKeyPolicy, now: datetime
) -> ResolvedIssuerKey:
    """Key discovery from the three values it depends on, whatever the credential format.

    ``x5c`` is tried first when present and permitted; then a ``did:web`` ``iss`` is
    looked up in the DID documents the caller supplied, ``kid`` naming the method;
    otherwise an https ``iss`` is looked up in the metadata the caller supplied.
    """
    if iss is not None and not isinstance(iss, str):
        raise PasserelleError(Reason.SD_JWT_VC_ISSUER_INVALID, "iss is not a string")
    if x5c is not None and policy.x5c_anchors:
        strings = [c for c in x5c if isinstance(c, str)] if isinstance(x5c, list) else []
        if not isinstance(x5c, list) or len(strings) != len(x5c):
            raise PasserelleError(Reason.X509_MALFORMED, "x5c is not an array of strings")
        chain = verify_x5c_chain(strings, anchors=policy.x5c_anchors, now=now)
        return ResolvedIssuerKey(
            key=chain.public_key,
            method=IssuerKeyMethod.X5C,
            issuer=chain.subjects[0] if chain.subjects else chain.leaf.subject.rfc4514_string(),
            iss=iss,
            kid=kid if isinstance(kid, str) else None,
            chain=chain,
        )
    if iss is not None and iss.startswith("did:web:") and iss in policy.did_documents:
        return _from_did_web(iss, kid, policy, now)
    if (
        iss is not None
        and _metadata_scheme_ok(iss, policy.allow_insecure_loopback)
        and iss in policy.issuer_metadata
    ):
        return ResolvedIssuerKey(
            key=_from_metadata(iss, kid, policy.issuer_metadata[iss]),
            method=IssuerKeyMethod.JWT_VC_ISSUER_METADATA,
            issuer=iss,
            iss=iss,
            kid=kid if isinstance(kid, str) else None,
            chain=None,
        )
    raise PasserelleError(
        Reason.SD_JWT_VC_ISSUER_KEY_UNRESOLVED,
        f"no permitted key discovery mechanism applies to issuer {iss!r}",
    )
