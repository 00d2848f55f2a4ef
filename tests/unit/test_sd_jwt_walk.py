"""The disclosure walk (RFC 9901 §7.1 step 3) against a plain reading of the rules: for
random payloads and disclosures, the same claims, the same revealed paths, or the same
refusal with the same words."""

from __future__ import annotations

import json
import random

import pytest

from passerelle._errors import PasserelleError, Reason
from passerelle._json import JsonObject, JsonValue, b64url_encode
from passerelle.jose import UnverifiedJws
from passerelle.sd_jwt import Disclosure, SdJwt, process_disclosures

_DEPTH = 64


def _sd_jwt(disclosures: list[Disclosure]) -> SdJwt:
    unread = UnverifiedJws(header={}, payload=b"{}", signing_input=b"", signature=b"")
    return SdJwt(
        issuer_jwt=unread, issuer_jwt_compact="", disclosures=tuple(disclosures), kb_jwt=None
    )


def _reference(
    disclosures: list[Disclosure], payload: JsonObject
) -> tuple[JsonObject, list[tuple[str | int, ...]]]:
    """Every value visited by one recursive function, its path checked first."""
    by_digest = {d.digest("sha-256"): d for d in disclosures}
    seen: set[str] = set()
    revealed: list[tuple[tuple[str | int, ...], Disclosure]] = []

    def lookup(digest: JsonValue) -> Disclosure | None:
        if not isinstance(digest, str):
            raise PasserelleError(Reason.SD_JWT_INVALID_SD, "a digest is not a string")
        if digest in seen:
            raise PasserelleError(
                Reason.SD_JWT_DUPLICATE_DIGEST, f"digest {digest} appears more than once"
            )
        seen.add(digest)
        return by_digest.get(digest)

    def node(value: JsonValue, path: tuple[str | int, ...]) -> JsonValue:
        if len(path) > _DEPTH:
            raise PasserelleError(Reason.INPUT_TOO_DEEP, "claims nested too deeply")
        if isinstance(value, dict):
            out: JsonObject = {}
            for name, child in value.items():
                if name == "_sd" or (name == "_sd_alg" and not path):
                    continue
                out[name] = node(child, (*path, name))
            digests = value.get("_sd", [])
            if not isinstance(digests, list):
                raise PasserelleError(Reason.SD_JWT_INVALID_SD, "_sd is not an array")
            for digest in digests:
                d = lookup(digest)
                if d is None:
                    continue
                if d.name is None:
                    raise PasserelleError(
                        Reason.SD_JWT_DISCLOSURE_WRONG_PLACE,
                        "an array-element disclosure is referenced from an _sd array",
                    )
                if d.name in ("_sd", "..."):
                    raise PasserelleError(
                        Reason.SD_JWT_RESERVED_CLAIM_NAME,
                        f"a disclosure may not carry the claim name {d.name!r}",
                    )
                if d.name in out:
                    raise PasserelleError(
                        Reason.SD_JWT_CLAIM_COLLISION,
                        f"disclosed claim {d.name!r} already exists at that level",
                    )
                revealed.append(((*path, d.name), d))
                out[d.name] = node(d.value, (*path, d.name))
            return out
        if isinstance(value, list):
            items: list[JsonValue] = []
            for item in value:
                if isinstance(item, dict) and "..." in item:
                    if len(item) != 1:
                        raise PasserelleError(
                            Reason.SD_JWT_INVALID_SD,
                            "an array digest object has a key besides '...'",
                        )
                    d = lookup(item["..."])
                    if d is None:
                        continue
                    if d.name is not None:
                        raise PasserelleError(
                            Reason.SD_JWT_DISCLOSURE_WRONG_PLACE,
                            "an object-property disclosure is referenced from an array element",
                        )
                    revealed.append(((*path, len(items)), d))
                    items.append(node(d.value, (*path, len(items))))
                else:
                    items.append(node(item, (*path, len(items))))
            return items
        return value

    claims = node(payload, ())
    assert isinstance(claims, dict)
    referenced = {id(d) for _, d in revealed}
    for d in disclosures:
        if id(d) not in referenced:
            raise PasserelleError(
                Reason.SD_JWT_UNREFERENCED_DISCLOSURE,
                f"disclosure {d.encoded[:16]}... is referenced by no digest",
            )
    return claims, [path for path, _ in revealed]


def _outcome(disclosures: list[Disclosure], payload: JsonObject) -> object:
    try:
        done = process_disclosures(_sd_jwt(disclosures), payload)
    except PasserelleError as exc:
        return (exc.reason, exc.detail)
    return done.claims, [r.path for r in done.revealed]


def _expected(disclosures: list[Disclosure], payload: JsonObject) -> object:
    try:
        return _reference(disclosures, payload)
    except PasserelleError as exc:
        return (exc.reason, exc.detail)


def _disclose(rng: random.Random, value: JsonValue, name: str | None) -> Disclosure:
    salt = f"s{rng.random()}"
    items: list[JsonValue] = [salt, value] if name is None else [salt, name, value]
    return Disclosure.parse(b64url_encode(json.dumps(items).encode()))


def _case(rng: random.Random) -> tuple[list[Disclosure], JsonObject]:
    disclosures: list[Disclosure] = []
    names = ["a", "b", "c", "_sd", "...", "_sd_alg"]

    def value(depth: int) -> JsonValue:
        roll = rng.random()
        if depth > 3 or roll < 0.35:
            return rng.choice([1, "x", None, True, 2.5])
        if roll < 0.7:
            return obj(depth + 1)
        return arr(depth + 1)

    def digest_of(name: str | None, depth: int) -> JsonValue:
        roll = rng.random()
        if roll < 0.05:
            return 7  # not a string
        if roll < 0.15:
            return b64url_encode(rng.randbytes(32))  # a decoy
        if roll < 0.2 and disclosures:
            return rng.choice(disclosures).digest("sha-256")  # reused, or misplaced
        d = _disclose(rng, value(depth), name)
        if rng.random() < 0.93:
            disclosures.append(d)
        return d.digest("sha-256")

    def obj(depth: int) -> JsonObject:
        out: JsonObject = {n: value(depth) for n in rng.sample(names[:3], rng.randint(0, 2))}
        roll = rng.random()
        if roll < 0.05:
            out["_sd"] = rng.choice([None, "x", {}])
        elif roll < 0.7:
            out["_sd"] = [
                digest_of(rng.choice(names) if rng.random() < 0.95 else None, depth)
                for _ in range(rng.randint(0, 3))
            ]
        return out

    def arr(depth: int) -> list[JsonValue]:
        items: list[JsonValue] = []
        for _ in range(rng.randint(0, 3)):
            roll = rng.random()
            if roll < 0.4:
                name = rng.choice(names) if rng.random() < 0.05 else None
                entry: JsonObject = {"...": digest_of(name, depth)}
                if rng.random() < 0.05:
                    entry["x"] = 1
                items.append(entry)
            else:
                items.append(value(depth))
        return items

    payload = obj(0)
    if rng.random() < 0.2:
        payload["_sd_alg"] = "sha-256"
    rng.shuffle(disclosures)
    return disclosures, payload


@pytest.mark.parametrize("seed", range(8))
def test_the_walk_agrees_with_the_plain_rules(seed: int) -> None:
    rng = random.Random(seed)
    for _ in range(400):
        disclosures, payload = _case(rng)
        assert _outcome(disclosures, payload) == _expected(disclosures, payload), payload


def _chain(length: int, leaf: JsonValue) -> tuple[list[Disclosure], JsonObject]:
    """``length`` nested disclosures, each the only claim of the one above."""
    rng = random.Random(length)
    disclosures: list[Disclosure] = []
    value: JsonValue = leaf
    for _ in range(length):
        d = _disclose(rng, value, "n")
        disclosures.append(d)
        value = {"_sd": [d.digest("sha-256")]}
    assert isinstance(value, dict)
    return disclosures, value


@pytest.mark.parametrize("leaf", [1, {}, [], {"x": 1}, [1]])
@pytest.mark.parametrize("length", [_DEPTH - 1, _DEPTH, _DEPTH + 1])
def test_depth_is_bounded_as_before(length: int, leaf: JsonValue) -> None:
    disclosures, payload = _chain(length, leaf)
    expected = _expected(disclosures, payload)
    assert _outcome(disclosures, payload) == expected
    too_deep = (Reason.INPUT_TOO_DEEP, "claims nested too deeply")
    # The 65th name deep is refused, whatever it holds; an empty container is not walked.
    if length > _DEPTH or (length == _DEPTH and leaf in ({"x": 1}, [1])):
        assert expected == too_deep
    else:
        assert expected != too_deep


def test_a_null_sd_is_not_an_array() -> None:
    with pytest.raises(PasserelleError) as caught:
        process_disclosures(_sd_jwt([]), {"_sd": None})
    assert caught.value.reason is Reason.SD_JWT_INVALID_SD
