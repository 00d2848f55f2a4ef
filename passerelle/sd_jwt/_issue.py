"""Issuing SD-JWTs (RFC 9901 §4-5) and presenting them with a KB-JWT (§4.3, §7.2)."""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from .._errors import Reason, local_error
from .._json import JsonObject, JsonValue, b64url_encode
from .._random import RandomSource
from ..jose import Signer, epoch, sign_jws
from ._models import HASH_ALGORITHMS, ClaimPath, hash_b64url, parse_sd_jwt
from ._process import process_disclosures
from ._verify import KB_JWT_TYP

__all__ = [
    "KeyBindingInput",
    "create_kb_jwt",
    "issue_sd_jwt",
    "path_matches",
    "present_sd_jwt",
]

_RESERVED_INPUT = frozenset({"_sd", "...", "_sd_alg"})


def path_matches(pattern: ClaimPath, path: tuple[str | int, ...]) -> bool:
    """Whether a concrete path matches a pattern (``None`` matches any array index)."""
    if len(pattern) != len(path):
        return False
    return all(
        p == c or (p is None and isinstance(c, int) and not isinstance(c, bool))
        for p, c in zip(pattern, path, strict=True)
    )


def _is_prefix(short: ClaimPath, long: ClaimPath) -> bool:
    return len(short) <= len(long) and all(
        a == b or a is None or b is None for a, b in zip(short, long, strict=False)
    )


@dataclass(slots=True)
class _Concealer:
    disclosable: tuple[ClaimPath, ...]
    random: RandomSource
    hash_alg: str
    max_decoys: int
    disclosures: list[str]
    used: set[ClaimPath]

    def salt(self) -> str:
        return b64url_encode(self.random.token_bytes(16))

    def disclose(self, item: list[JsonValue]) -> str:
        encoded = b64url_encode(json.dumps(item, ensure_ascii=False).encode("utf-8"))
        self.disclosures.append(encoded)
        return hash_b64url(self.hash_alg, encoded)

    def decoy(self) -> str:
        return hash_b64url(self.hash_alg, b64url_encode(self.random.token_bytes(16)))

    def decoy_count(self) -> int:
        if self.max_decoys <= 0:
            return 0
        return self.random.token_bytes(1)[0] % (self.max_decoys + 1)

    def is_disclosable(self, path: tuple[str | int, ...]) -> bool:
        hits = [p for p in self.disclosable if path_matches(p, path)]
        self.used.update(hits)
        return bool(hits)

    def node(self, value: JsonValue, path: tuple[str | int, ...]) -> JsonValue:
        if isinstance(value, dict):
            return self.object(value, path)
        if isinstance(value, list):
            return self.array(value, path)
        return value

    def object(self, obj: Mapping[str, JsonValue], path: tuple[str | int, ...]) -> JsonObject:
        out: JsonObject = {}
        digests: list[str] = []
        for name, child in obj.items():
            if name in _RESERVED_INPUT:
                raise local_error(
                    Reason.SD_JWT_RESERVED_CLAIM_NAME, f"claim name {name!r} is reserved"
                )
            inner = self.node(child, (*path, name))
            if self.is_disclosable((*path, name)):
                digests.append(self.disclose([self.salt(), name, inner]))
            else:
                out[name] = inner
        if digests:
            digests.extend(self.decoy() for _ in range(self.decoy_count()))
            # Sorting hides the original claim order (RFC 9901 §4.2.4.1).
            out["_sd"] = sorted(digests)  # type: ignore[assignment]
        return out

    def array(self, items: list[JsonValue], path: tuple[str | int, ...]) -> list[JsonValue]:
        out: list[JsonValue] = []
        any_disclosable = False
        for index, child in enumerate(items):
            inner = self.node(child, (*path, index))
            if self.is_disclosable((*path, index)):
                any_disclosable = True
                out.append({"...": self.disclose([self.salt(), inner])})
            else:
                out.append(inner)
        if any_disclosable:
            for _ in range(self.decoy_count()):
                position = self.random.token_bytes(1)[0] % (len(out) + 1)
                out.insert(position, {"...": self.decoy()})
        return out


def issue_sd_jwt(
    claims: JsonObject,
    *,
    disclosable: Collection[ClaimPath],
    signer: Signer,
    random: RandomSource,
    header: Mapping[str, JsonValue] | None = None,
    hash_alg: str = "sha-256",
    max_decoys: int = 0,
) -> str:
    """Issue an SD-JWT: every path in ``disclosable`` becomes a disclosure.

    A path may name an object member (``("address", "locality")``), an array element
    (``("nationalities", 0)``) or every element (``("nationalities", None)``). Nesting
    is allowed: a disclosable object may hold disclosable members (recursive
    disclosures, RFC 9901 §4.2.6). Each `_sd` array and each array with disclosed
    elements gets up to ``max_decoys`` decoy digests. A path that matches nothing is
    a local error: a silently clear claim is worse than a loud typo.
    """
    if hash_alg not in HASH_ALGORITHMS:
        raise local_error(Reason.SD_JWT_ALG_UNSUPPORTED, f"hash algorithm {hash_alg!r} unsupported")
    patterns = tuple(tuple(p) for p in disclosable)
    concealer = _Concealer(
        disclosable=patterns,
        random=random,
        hash_alg=hash_alg,
        max_decoys=max_decoys,
        disclosures=[],
        used=set(),
    )
    payload = concealer.object(claims, ())
    unused = [p for p in patterns if p not in concealer.used]
    if unused:
        raise local_error(
            Reason.SD_JWT_UNDISCLOSABLE, f"disclosable paths match no claim: {unused}"
        )
    payload["_sd_alg"] = hash_alg
    jwt = sign_jws(dict(header or {}), payload, signer)
    return "~".join([jwt, *concealer.disclosures]) + "~"


@dataclass(frozen=True, slots=True, kw_only=True)
class KeyBindingInput:
    """What the holder needs to bind a presentation: its key, the verifier's nonce and
    client identifier, and the time."""

    signer: Signer
    nonce: str
    audience: str
    now: datetime


def create_kb_jwt(presentation: str, *, binding: KeyBindingInput, hash_alg: str) -> str:
    """A KB-JWT over ``presentation`` (which ends with '~')."""
    if not presentation.endswith("~"):
        raise local_error(Reason.SD_JWT_MALFORMED, "a presentation to bind must end with '~'")
    payload: JsonObject = {
        "iat": epoch(binding.now),
        "aud": binding.audience,
        "nonce": binding.nonce,
        "sd_hash": hash_b64url(hash_alg, presentation),
    }
    return sign_jws({"typ": KB_JWT_TYP}, payload, binding.signer)


def present_sd_jwt(
    sd_jwt: str,
    *,
    disclose: Collection[ClaimPath],
    key_binding: KeyBindingInput | None = None,
) -> str:
    """The holder's presentation: only the disclosures needed to reveal ``disclose``.

    Revealing a path takes the disclosures on the way to it (parents of nested
    disclosures) and every disclosure inside it. The holder's own credential is
    processed without checking the issuer signature; the wallet verified it on receipt.
    """
    parsed = parse_sd_jwt(sd_jwt)
    processed = process_disclosures(parsed, parsed.unverified_payload())
    wanted = [tuple(p) for p in disclose]
    keep = {
        id(r.disclosure)
        for r in processed.revealed
        if any(_is_prefix(r.path, p) or _is_prefix(p, r.path) for p in wanted)
    }
    chosen = [d for d in parsed.disclosures if id(d) in keep]
    presentation = "~".join([parsed.issuer_jwt_compact, *(d.encoded for d in chosen)]) + "~"
    if key_binding is None:
        return presentation
    return presentation + create_kb_jwt(
        presentation, binding=key_binding, hash_alg=processed.hash_alg
    )
