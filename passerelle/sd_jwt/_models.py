"""SD-JWT data model (RFC 9901): disclosures, the compact form, verified results."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TypeAlias

from .._errors import PasserelleError, Reason
from .._json import JsonObject, JsonValue, b64url_decode, b64url_encode, parse_json
from ..jose import PublicKey, UnverifiedJws, decode_unverified_jws

__all__ = [
    "HASH_ALGORITHMS",
    "ClaimPath",
    "Disclosure",
    "KeyBindingCheck",
    "RevealedClaim",
    "SdJwt",
    "VerifiedKeyBinding",
    "VerifiedSdJwt",
    "hash_b64url",
    "parse_sd_jwt",
]

ClaimPath: TypeAlias = tuple[str | int | None, ...]
"""A path into the claims: names, array indices, and ``None`` for "every element"
(the same shape as OpenID4VP DCQL claim paths and SD-JWT VC type metadata paths)."""

# Hash algorithm names are those of the IANA "Named Information Hash Algorithm"
# registry, as RFC 9901 §4.1.1 requires for `_sd_alg`.
HASH_ALGORITHMS: Mapping[str, Callable[[bytes], bytes]] = {
    "sha-256": lambda data: hashlib.sha256(data).digest(),
    "sha-384": lambda data: hashlib.sha384(data).digest(),
    "sha-512": lambda data: hashlib.sha512(data).digest(),
}

MAX_DISCLOSURES = 1024


def hash_b64url(alg: str, data: str) -> str:
    """base64url(hash(ASCII(data))), the digest form of RFC 9901 §4.2.3 and `sd_hash`."""
    fn = HASH_ALGORITHMS.get(alg)
    if fn is None:
        raise PasserelleError(Reason.SD_JWT_ALG_UNSUPPORTED, f"hash algorithm {alg!r} unsupported")
    return b64url_encode(fn(data.encode("ascii")))


@dataclass(frozen=True, slots=True, kw_only=True)
class Disclosure:
    """One disclosure: ``[salt, name, value]`` for an object property, ``[salt, value]``
    for an array element (``name`` is then None). ``encoded`` is kept verbatim, because
    digests are computed over the string as sent, never over a re-encoding."""

    encoded: str
    salt: str
    name: str | None
    value: JsonValue

    def digest(self, alg: str) -> str:
        return hash_b64url(alg, self.encoded)

    @classmethod
    def parse(cls, encoded: str) -> Disclosure:
        raw = b64url_decode(encoded, what="disclosure")
        try:
            items = parse_json(raw, what="disclosure")
        except PasserelleError as exc:
            raise PasserelleError(Reason.SD_JWT_DISCLOSURE_MALFORMED, exc.detail) from exc
        if not isinstance(items, list) or len(items) not in (2, 3):
            raise PasserelleError(
                Reason.SD_JWT_DISCLOSURE_MALFORMED, "a disclosure is a JSON array of 2 or 3 items"
            )
        salt = items[0]
        if not isinstance(salt, str):
            raise PasserelleError(
                Reason.SD_JWT_DISCLOSURE_MALFORMED, "disclosure salt not a string"
            )
        if len(items) == 2:
            return cls(encoded=encoded, salt=salt, name=None, value=items[1])
        name = items[1]
        if not isinstance(name, str):
            raise PasserelleError(
                Reason.SD_JWT_DISCLOSURE_MALFORMED, "disclosure claim name is not a string"
            )
        return cls(encoded=encoded, salt=salt, name=name, value=items[2])


@dataclass(frozen=True, slots=True, kw_only=True)
class SdJwt:
    """An SD-JWT or SD-JWT+KB in compact serialization, split but NOT verified."""

    issuer_jwt: UnverifiedJws
    issuer_jwt_compact: str
    disclosures: tuple[Disclosure, ...]
    kb_jwt: str | None
    # process_disclosures' last result and the payload object it processed, so that a
    # decision that reads the claims before the signature check and verifies after
    # walks the disclosures once (sd_jwt/_process.py).
    _processed: list[tuple[JsonObject, object]] = field(
        default_factory=list, repr=False, compare=False
    )

    @property
    def without_key_binding(self) -> str:
        """``<JWT>~<D1>~...~<Dn>~``: the string `sd_hash` is computed over."""
        return "~".join([self.issuer_jwt_compact, *(d.encoded for d in self.disclosures)]) + "~"

    def serialize(self) -> str:
        return self.without_key_binding + (self.kb_jwt or "")

    def unverified_payload(self) -> JsonObject:
        return self.issuer_jwt.payload_json(what="issuer-signed JWT payload")


def parse_sd_jwt(text: str) -> SdJwt:
    """Split the compact form of RFC 9901 §4. Nothing is verified yet."""
    if not isinstance(text, str):
        raise PasserelleError(Reason.SD_JWT_MALFORMED, "an SD-JWT is a string")
    text = text.strip()
    if "~" not in text:
        raise PasserelleError(
            Reason.SD_JWT_MALFORMED, "an SD-JWT has at least one '~' (it ends with '~' or a KB-JWT)"
        )
    parts = text.split("~")
    if len(parts) - 2 > MAX_DISCLOSURES:
        raise PasserelleError(Reason.INPUT_TOO_LARGE, f"more than {MAX_DISCLOSURES} disclosures")
    jwt_part, *middle, last = parts
    if "" in middle:
        raise PasserelleError(Reason.SD_JWT_MALFORMED, "empty disclosure between '~' separators")
    try:
        issuer_jwt = decode_unverified_jws(jwt_part, what="issuer-signed JWT")
    except PasserelleError as exc:
        raise PasserelleError(Reason.SD_JWT_MALFORMED, exc.detail) from exc
    seen: set[str] = set()
    disclosures: list[Disclosure] = []
    for encoded in middle:
        if encoded in seen:
            raise PasserelleError(
                Reason.SD_JWT_DUPLICATE_DISCLOSURE, "the same disclosure is included twice"
            )
        seen.add(encoded)
        disclosures.append(Disclosure.parse(encoded))
    return SdJwt(
        issuer_jwt=issuer_jwt,
        issuer_jwt_compact=jwt_part,
        disclosures=tuple(disclosures),
        kb_jwt=last or None,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyBindingCheck:
    """What a verifier requires of the KB-JWT (RFC 9901 §7.3).

    ``max_age`` bounds how old ``iat`` may be; the caller's clock skew is added on
    both sides of the window.
    """

    nonce: str
    audience: str
    max_age: timedelta = timedelta(minutes=5)


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedKeyBinding:
    holder_key: PublicKey
    nonce: str
    audience: str
    issued_at: int
    header: JsonObject
    payload: JsonObject


@dataclass(frozen=True, slots=True, kw_only=True)
class RevealedClaim:
    """A disclosure and the place in the processed claims it revealed."""

    path: tuple[str | int, ...]
    disclosure: Disclosure


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedSdJwt:
    """An SD-JWT whose issuer signature, disclosures and (if asked) KB-JWT verified.

    ``claims`` is the processed payload: disclosed claims inserted, `_sd`, `_sd_alg`
    and undisclosed array elements removed. ``key_binding`` is None when the caller
    did not ask for key binding; a KB-JWT present then is NOT checked.
    """

    header: JsonObject
    signed_payload: JsonObject
    claims: JsonObject
    hash_alg: str
    revealed: tuple[RevealedClaim, ...]
    key_binding: VerifiedKeyBinding | None
    sd_jwt: SdJwt = field(repr=False)
