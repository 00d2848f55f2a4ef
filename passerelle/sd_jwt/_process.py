"""Disclosure processing, RFC 9901 §7.1 step 3: one walk shared by verifier, holder and
``passerelle inspect``. It checks structure only; signatures are the caller's business.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._errors import PasserelleError, Reason
from .._json import JsonObject, JsonValue, b64url_encode
from ._models import HASH_ALGORITHMS, Disclosure, RevealedClaim, SdJwt

__all__ = ["ProcessedPayload", "process_disclosures", "sd_alg_of"]

_RESERVED_NAMES = frozenset({"_sd", "..."})
_MAX_WALK_DEPTH = 64  # payload depth plus a chain of nested disclosures


def sd_alg_of(payload: JsonObject) -> str:
    # RFC 9901 §7.1 step 2: the algorithm must be understood and deemed secure, whether
    # or not anything will be hashed with it.
    alg = payload.get("_sd_alg", "sha-256")
    if not isinstance(alg, str) or alg not in HASH_ALGORITHMS:
        raise PasserelleError(Reason.SD_JWT_ALG_UNSUPPORTED, f"_sd_alg {alg!r} is not supported")
    return alg


def _too_deep() -> PasserelleError:
    return PasserelleError(Reason.INPUT_TOO_DEEP, "claims nested too deeply")


class _Walk:
    """One walk over the payload. A value at a path longer than ``_MAX_WALK_DEPTH`` is
    refused; only containers are descended into and only they build a path, since a
    scalar is copied as it is (its depth is checked where its container is walked)."""

    __slots__ = ("by_digest", "revealed", "seen_digests")

    def __init__(self, by_digest: dict[str, Disclosure]) -> None:
        self.by_digest = by_digest
        self.seen_digests: set[str] = set()
        self.revealed: list[RevealedClaim] = []

    def lookup(self, digest: JsonValue) -> Disclosure | None:
        if not isinstance(digest, str):
            raise PasserelleError(Reason.SD_JWT_INVALID_SD, "a digest is not a string")
        if digest in self.seen_digests:
            raise PasserelleError(
                Reason.SD_JWT_DUPLICATE_DIGEST, f"digest {digest} appears more than once"
            )
        self.seen_digests.add(digest)
        return self.by_digest.get(digest)

    def node(self, value: JsonValue, path: tuple[str | int, ...]) -> JsonValue:
        if len(path) > _MAX_WALK_DEPTH:
            raise _too_deep()
        if isinstance(value, dict):
            return self.object(value, path)
        if isinstance(value, list):
            return self.array(value, path)
        return value

    def object(self, obj: JsonObject, path: tuple[str | int, ...]) -> JsonObject:
        out: JsonObject = {}
        deep = len(path) >= _MAX_WALK_DEPTH  # its members' paths are one longer
        for name, child in obj.items():
            if name == "_sd" or (name == "_sd_alg" and not path):
                continue
            if deep:
                raise _too_deep()
            if isinstance(child, dict):
                out[name] = self.object(child, (*path, name))
            elif isinstance(child, list):
                out[name] = self.array(child, (*path, name))
            else:
                out[name] = child
        if "_sd" not in obj:
            return out
        digests = obj["_sd"]
        if not isinstance(digests, list):
            raise PasserelleError(Reason.SD_JWT_INVALID_SD, "_sd is not an array")
        seen, by_digest = self.seen_digests, self.by_digest
        for digest in digests:
            # lookup(), inlined: an issuer pads every _sd array with decoys.
            if not isinstance(digest, str):
                raise PasserelleError(Reason.SD_JWT_INVALID_SD, "a digest is not a string")
            if digest in seen:
                raise PasserelleError(
                    Reason.SD_JWT_DUPLICATE_DIGEST, f"digest {digest} appears more than once"
                )
            seen.add(digest)
            disclosure = by_digest.get(digest)
            if disclosure is None:
                continue  # a decoy, or a claim the holder did not disclose
            claim = disclosure.name
            if claim is None:
                raise PasserelleError(
                    Reason.SD_JWT_DISCLOSURE_WRONG_PLACE,
                    "an array-element disclosure is referenced from an _sd array",
                )
            if claim in _RESERVED_NAMES:
                raise PasserelleError(
                    Reason.SD_JWT_RESERVED_CLAIM_NAME,
                    f"a disclosure may not carry the claim name {claim!r}",
                )
            if claim in out:
                raise PasserelleError(
                    Reason.SD_JWT_CLAIM_COLLISION,
                    f"disclosed claim {claim!r} already exists at that level",
                )
            claim_path = (*path, claim)
            self.revealed.append(RevealedClaim(path=claim_path, disclosure=disclosure))
            out[claim] = self.node(disclosure.value, claim_path)
        return out

    def array(self, items: list[JsonValue], path: tuple[str | int, ...]) -> list[JsonValue]:
        out: list[JsonValue] = []
        deep = len(path) >= _MAX_WALK_DEPTH
        for item in items:
            if isinstance(item, dict) and "..." in item:
                if len(item) != 1:
                    raise PasserelleError(
                        Reason.SD_JWT_INVALID_SD, "an array digest object has a key besides '...'"
                    )
                disclosure = self.lookup(item["..."])
                if disclosure is None:
                    continue
                if disclosure.name is not None:
                    raise PasserelleError(
                        Reason.SD_JWT_DISCLOSURE_WRONG_PLACE,
                        "an object-property disclosure is referenced from an array element",
                    )
                element_path = (*path, len(out))
                self.revealed.append(RevealedClaim(path=element_path, disclosure=disclosure))
                out.append(self.node(disclosure.value, element_path))
            elif deep:
                raise _too_deep()
            elif isinstance(item, dict):
                out.append(self.object(item, (*path, len(out))))
            elif isinstance(item, list):
                out.append(self.array(item, (*path, len(out))))
            else:
                out.append(item)
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class ProcessedPayload:
    claims: JsonObject
    hash_alg: str
    revealed: tuple[RevealedClaim, ...]


def process_disclosures(sd_jwt: SdJwt, payload: JsonObject) -> ProcessedPayload:
    """Insert the disclosures into ``payload`` and apply every rule of RFC 9901 §7.1.

    The caller has verified ``payload``'s signature, or names its result unverified.
    The result is kept on ``sd_jwt``: processing the very same payload object again
    (its signature verified in between) returns it without a second walk.
    """
    if sd_jwt._processed and sd_jwt._processed[0][0] is payload:
        done = sd_jwt._processed[0][1]
        assert isinstance(done, ProcessedPayload)
        return done
    hash_alg = sd_alg_of(payload)
    digest = HASH_ALGORITHMS[hash_alg]  # Disclosure.digest, without two calls a disclosure
    walk = _Walk({b64url_encode(digest(d.encoded.encode("ascii"))): d for d in sd_jwt.disclosures})
    claims = walk.object(payload, ())
    # A digest is seen once at most, so each disclosure is revealed at most once: all
    # were referenced exactly when the counts agree.
    if len(walk.revealed) != len(sd_jwt.disclosures):
        referenced = {id(r.disclosure) for r in walk.revealed}
        for disclosure in sd_jwt.disclosures:
            if id(disclosure) not in referenced:
                raise PasserelleError(
                    Reason.SD_JWT_UNREFERENCED_DISCLOSURE,
                    f"disclosure {disclosure.encoded[:16]}... is referenced by no digest",
                )
    done = ProcessedPayload(claims=claims, hash_alg=hash_alg, revealed=tuple(walk.revealed))
    sd_jwt._processed[:] = [(payload, done)]
    return done
