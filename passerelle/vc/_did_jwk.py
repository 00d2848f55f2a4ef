"""``did:jwk``: a DID that is its own public key (did:jwk method specification).

``did:jwk:<base64url(UTF-8 JSON of a public JWK)>``; its DID document has one
verification method, ``#0``. Resolving it is decoding, so it belongs in the pure core.
"""

from __future__ import annotations

from .._errors import PasserelleError, Reason
from .._json import b64url_decode, b64url_encode, canonical_json, parse_json_object
from ..jose import PublicKey, load_public_jwk, public_jwk

__all__ = ["did_jwk_from_key", "did_jwk_key_id", "resolve_did_jwk", "resolve_did_jwk_holder_key"]

_PREFIX = "did:jwk:"
_FRAGMENT = "#0"


def did_jwk_from_key(key: PublicKey) -> str:
    """The ``did:jwk`` of a public key, from its minimal JWK (no ``kid``, no private part)."""
    return _PREFIX + b64url_encode(canonical_json(public_jwk(key)))


def did_jwk_key_id(did: str) -> str:
    """The verification method id a signer puts in ``kid``: the DID with ``#0``."""
    return did + _FRAGMENT


def resolve_did_jwk(did: str) -> PublicKey:
    """The public key inside a ``did:jwk`` (or its ``#0`` DID URL), or raise ``jwk.*``."""
    if not isinstance(did, str) or not did.startswith(_PREFIX):
        raise PasserelleError(Reason.JWK_INVALID, "not a did:jwk identifier")
    encoded = did[len(_PREFIX) :].removesuffix(_FRAGMENT)
    if not encoded or "#" in encoded or ":" in encoded:
        raise PasserelleError(Reason.JWK_INVALID, "did:jwk method-specific id is malformed")
    try:
        jwk = parse_json_object(b64url_decode(encoded, what="did:jwk"), what="did:jwk JWK")
    except PasserelleError as exc:
        raise PasserelleError(Reason.JWK_INVALID, exc.detail) from exc
    # The method spec forbids private key material; load_public_jwk refuses "d".
    return load_public_jwk(jwk)


def resolve_did_jwk_holder_key(holder: str, kid: str | None) -> PublicKey:
    """A :data:`~passerelle.vc.HolderKeyResolver` for holders identified by ``did:jwk``.

    A ``kid`` other than the DID's own ``#0`` method (or the bare DID) names a key the
    DID does not have, and is refused.
    """
    if kid is not None and kid not in (holder, did_jwk_key_id(holder)):
        raise PasserelleError(Reason.VC_HOLDER_MISMATCH, f"kid {kid!r} is not a key of {holder}")
    return resolve_did_jwk(holder)
