"""Client Identifier Prefixes (OpenID4VP 1.0 §5.9) and the key each one designates.

- ``redirect_uri:<uri>``: never signed; the URI is the Response URI.
- ``x509_san_dns:<dns>`` and ``x509_hash:<hash>``: signed with the leaf key of
  ``x5c``, whose chain must reach the Wallet's anchors.
- ``decentralized_identifier:<did>``: signed with a key of the DID document named
  by the header's ``kid``, a DID URL of that DID.

Everything else (``verifier_attestation``, ``openid_federation``, ``origin``, a
pre-registered client without prefix, an unknown prefix) is refused: §5.9.2 lets a
Wallet refuse what it does not support, and §8.5 makes that ``invalid_request``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from .._errors import PasserelleError, Reason
from .._json import JsonObject, JsonValue
from ..jose import PublicKey, load_public_jwk
from ._models import ClientId, ClientIdPrefix, oid4vp_error

__all__ = [
    "DidResolver",
    "StaticDidResolver",
    "parse_client_id",
    "resolve_did_request_key",
]

_KNOWN_UNSUPPORTED = frozenset({"verifier_attestation", "openid_federation", "origin"})


def parse_client_id(value: JsonValue) -> ClientId:
    """Split ``client_id`` at its first ``:`` and keep it if the prefix is supported."""
    if not isinstance(value, str) or not value:
        raise oid4vp_error(Reason.OID4VP_REQUEST_INVALID, "client_id is missing or not a string")
    prefix, colon, identifier = value.partition(":")
    if not colon:
        raise oid4vp_error(
            Reason.OID4VP_CLIENT_ID_PREFIX_UNSUPPORTED,
            "pre-registered clients (client_id without a prefix) are not supported",
        )
    try:
        known = ClientIdPrefix(prefix)
    except ValueError:
        kind = "not supported" if prefix in _KNOWN_UNSUPPORTED else "unknown"
        raise oid4vp_error(
            Reason.OID4VP_CLIENT_ID_PREFIX_UNSUPPORTED,
            f"Client Identifier Prefix {prefix!r} is {kind}",
        ) from None
    if not identifier:
        raise oid4vp_error(Reason.OID4VP_CLIENT_ID_INVALID, f"{prefix}: has an empty identifier")
    if known is ClientIdPrefix.DECENTRALIZED_IDENTIFIER and not _is_did(identifier):
        raise oid4vp_error(Reason.OID4VP_CLIENT_ID_INVALID, f"{identifier!r} is not a DID")
    return ClientId(prefix=known, identifier=identifier)


def _is_did(value: str) -> bool:
    # DID Core §3.1: did:<method-name>:<method-specific-id>, no path, query or fragment.
    parts = value.split(":", 2)
    return (
        len(parts) == 3
        and parts[0] == "did"
        and parts[1].isascii()
        and parts[1].isalnum()
        and parts[1].islower()
        and bool(parts[2])
        and not any(c in parts[2] for c in "/?#")
    )


class DidResolver(Protocol):
    """Resolves a DID to its DID document.

    Security contract: the document comes from the DID method's own resolution
    (for ``did:web``, HTTPS to the domain the DID names, bounded in size and time);
    a DID that cannot be resolved raises a :class:`PasserelleError`. The core calls
    it with DIDs taken from untrusted requests, so it must not fetch anything else.
    """

    def resolve_did_document(self, did: str, /) -> JsonObject: ...


@dataclass(frozen=True, slots=True)
class StaticDidResolver:
    """A :class:`DidResolver` over documents the caller resolved beforehand."""

    documents: Mapping[str, JsonObject]

    def resolve_did_document(self, did: str, /) -> JsonObject:
        document = self.documents.get(did)
        if document is None:
            raise oid4vp_error(Reason.OID4VP_DID_KEY_UNRESOLVED, f"{did} is not resolved")
        return document


def _absolute_id(did: str, value: JsonValue) -> str | None:
    if not isinstance(value, str):
        return None
    return did + value if value.startswith("#") else value


def resolve_did_request_key(
    did: str, kid: JsonValue, resolver: DidResolver
) -> tuple[PublicKey, str]:
    """The public key of the verification method ``kid`` names, and its DID URL.

    ``kid`` must be a DID URL of ``did`` with a fragment (§5.9.3); the method must be
    in the document's ``verificationMethod`` and carry a ``publicKeyJwk``.
    """
    if not isinstance(kid, str) or not kid.startswith(did + "#") or kid == did + "#":
        raise oid4vp_error(
            Reason.OID4VP_DID_KEY_UNRESOLVED, f"kid {kid!r} is not a DID URL of {did}"
        )
    document = resolver.resolve_did_document(did)
    if not isinstance(document, dict) or document.get("id") != did:
        raise oid4vp_error(
            Reason.OID4VP_DID_KEY_UNRESOLVED, f"the resolved document is not the one of {did}"
        )
    methods = document.get("verificationMethod")
    if not isinstance(methods, list):
        raise oid4vp_error(Reason.OID4VP_DID_KEY_UNRESOLVED, f"{did} has no verificationMethod")
    for method in methods:
        if not isinstance(method, dict) or _absolute_id(did, method.get("id")) != kid:
            continue
        if method.get("controller") not in (None, did):
            raise oid4vp_error(
                Reason.OID4VP_DID_KEY_UNRESOLVED, f"{kid} is controlled by another DID"
            )
        jwk = method.get("publicKeyJwk")
        if not isinstance(jwk, dict):
            raise oid4vp_error(
                Reason.OID4VP_DID_KEY_UNRESOLVED, f"{kid} has no publicKeyJwk (only JWKs are read)"
            )
        try:
            return load_public_jwk(jwk), kid
        except PasserelleError as exc:
            raise oid4vp_error(Reason.OID4VP_DID_KEY_UNRESOLVED, exc.detail) from exc
    raise oid4vp_error(
        Reason.OID4VP_DID_KEY_UNRESOLVED, f"{kid} is not a verification method of {did}"
    )
