"""JSON values, and the one strict parser every untrusted byte string goes through.

Strict means: UTF-8 only, no duplicate member names (RFC 7515 §4 and RFC 9901 §4.2
require rejecting them or using the last one; we reject), no NaN/Infinity, and bounded
size and nesting depth (DESIGN §9).
"""

from __future__ import annotations

import binascii
import json
import math
import re
from collections.abc import Callable
from typing import TypeAlias

from ._errors import PasserelleError, Reason

__all__ = [
    "MAX_DEPTH",
    "MAX_INPUT_BYTES",
    "JsonObject",
    "JsonValue",
    "b64url_decode",
    "b64url_encode",
    "canonical_json",
    "parse_json",
    "parse_json_object",
]

JsonValue: TypeAlias = "bool | int | float | str | list[JsonValue] | dict[str, JsonValue] | None"
JsonObject: TypeAlias = "dict[str, JsonValue]"

_B64URL = re.compile(r"[A-Za-z0-9_-]*")
_TO_STANDARD = bytes.maketrans(b"-_", b"+/")
_TO_URLSAFE = bytes.maketrans(b"+/", b"-_")
_ALPHANUMERIC = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
# base64url to standard base64 in one pass, every byte outside the base64url alphabet
# (padding, '+', '/', whitespace included) turned into '!', which strict a2b_base64
# refuses: one translate validates and converts.
_FROM_B64URL = bytes(b if b in _ALPHANUMERIC else {45: 43, 95: 47}.get(b, 33) for b in range(256))
_PADDING = (b"", b"===", b"==", b"=")

MAX_INPUT_BYTES = 1 << 20
"""Largest JSON document or compact token the core accepts by default (1 MiB). Inputs
that are large by nature (trust lists, registry snapshots) have their own caps, named
where they are read, and pass them as ``max_bytes``."""
MAX_DEPTH = 32
"""Deepest nesting of arrays and objects the core accepts."""


def _no_duplicates(pairs: list[tuple[str, JsonValue]]) -> JsonObject:
    out: JsonObject = dict(pairs)  # built in C; a repeated name makes it shorter
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise PasserelleError(Reason.INPUT_MALFORMED, f"duplicate JSON member name {key!r}")
            seen.add(key)
    return out


def _reject_constant(name: str) -> JsonValue:
    raise PasserelleError(Reason.INPUT_MALFORMED, f"JSON constant {name} is not allowed")


def _finite_float(text: str) -> float:
    # 1e999 parses to inf without ever naming "Infinity"; refuse it here.
    value = float(text)
    if not math.isfinite(value):
        raise PasserelleError(Reason.INPUT_MALFORMED, f"JSON number {text} is out of range")
    return value


def _check_text(text: str) -> None:
    # RFC 7493 (I-JSON) §2.1: no lone surrogates; they would crash any later encode().
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise PasserelleError(Reason.INPUT_MALFORMED, "JSON string holds a lone surrogate") from exc


def _depth(value: JsonValue, limit: int, *, check_text: bool = True) -> None:
    # Iterative, so that a hostile document cannot exhaust the Python stack. Without a
    # \u escape in the text no string can hold a lone surrogate: only depth is walked.
    if not check_text:
        _container_depth(value, limit)
        return
    stack: list[tuple[JsonValue, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, str):
            if check_text:
                _check_text(item)
            continue
        if isinstance(item, dict):
            if check_text:
                for key in item:
                    _check_text(key)
            children: list[JsonValue] = list(item.values())
        elif isinstance(item, list):
            children = item
        else:
            continue
        if level + 1 > limit:
            raise PasserelleError(Reason.INPUT_TOO_DEEP, f"JSON nested deeper than {limit}")
        stack.extend(
            (child, level + 1) for child in children if isinstance(child, dict | list) or check_text
        )


def _container_depth(value: JsonValue, limit: int) -> None:
    # Depth only, one level of containers at a time: the comprehension filters the
    # children in a tight loop, three times faster on a 100,000-record registry than
    # the general walk above.
    level: list[JsonValue] = [value] if isinstance(value, dict | list) else []
    depth = 0
    while level:
        depth += 1
        if depth > limit:
            raise PasserelleError(Reason.INPUT_TOO_DEEP, f"JSON nested deeper than {limit}")
        following: list[JsonValue] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            following += [c for c in children if isinstance(c, dict | list)]  # type: ignore[union-attr]
        level = following


# One decoder for every call: json.loads with hooks builds a new one each time, which
# was half the cost of parsing a disclosure (bench/bench_presentation.py).
_DECODER = json.JSONDecoder(
    object_pairs_hook=_no_duplicates, parse_constant=_reject_constant, parse_float=_finite_float
)
_SCAN: Callable[[str, int], tuple[JsonValue, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def parse_json(
    data: bytes | str, *, what: str = "JSON", max_bytes: int = MAX_INPUT_BYTES
) -> JsonValue:
    """Parse untrusted JSON strictly, or raise ``input.*``."""
    # surrogatepass: a str holding a lone surrogate then fails the strict decode below
    # with input.malformed instead of raising UnicodeEncodeError here.
    if not isinstance(data, (bytes, str)):
        # A caller handing on an already-decoded peer value of the wrong kind.
        raise PasserelleError(Reason.INPUT_MALFORMED, f"{what} is not JSON text")
    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data
    if len(raw) > max_bytes:
        raise PasserelleError(Reason.INPUT_TOO_LARGE, f"{what} is larger than {max_bytes}")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PasserelleError(Reason.INPUT_MALFORMED, f"{what} is not UTF-8") from exc
    # The C scanner straight away: json's decode() wrappers cost as much as scanning a
    # disclosure. A failure, or anything around the value, goes through decode() for
    # its exact verdict and message (parsing is pure: running it again changes nothing).
    value: JsonValue
    try:
        value, end = _SCAN(text, 0)
    except Exception:  # decided again below
        end = -1
    if end != len(text):
        try:
            value = _DECODER.decode(text)
        except RecursionError as exc:
            raise PasserelleError(Reason.INPUT_TOO_DEEP, f"{what} is nested too deeply") from exc
        except ValueError as exc:
            raise PasserelleError(
                Reason.INPUT_MALFORMED, f"{what} is not valid JSON: {exc}"
            ) from exc
    # Only a walk finds a lone surrogate or a nesting too deep; neither can be there
    # unless a \u escape made one (decoded UTF-8 holds none) or the text opens more
    # brackets than MAX_DEPTH. That test is cheap, and runs on every disclosure; a
    # one-character search first, since most texts hold no backslash at all.
    escaped = "\\" in text and "\\u" in text
    if escaped or text.count("[") + text.count("{") > MAX_DEPTH:
        _depth(value, MAX_DEPTH, check_text=escaped)
    return value


def parse_json_object(
    data: bytes | str, *, what: str = "JSON object", max_bytes: int = MAX_INPUT_BYTES
) -> JsonObject:
    value = parse_json(data, what=what, max_bytes=max_bytes)
    if not isinstance(value, dict):
        raise PasserelleError(Reason.INPUT_MALFORMED, f"{what} is not a JSON object")
    return value


def canonical_json(value: JsonValue) -> bytes:
    """Compact JSON with sorted keys; for hashing our own data, not a JCS implementation."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def b64url_encode(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).translate(_TO_URLSAFE).rstrip(b"=").decode()


def b64url_decode(text: str, *, what: str = "base64url value") -> bytes:
    """Decode unpadded base64url strictly: padding, '+', '/' and whitespace are refused."""
    if isinstance(text, str):
        try:
            raw = text.encode("ascii")
            return binascii.a2b_base64(
                raw.translate(_FROM_B64URL) + _PADDING[len(raw) % 4], strict_mode=True
            )
        except (UnicodeEncodeError, binascii.Error, ValueError):
            pass  # refused below, with the reason in words
    return _b64url_decode_checked(text, what)


def _b64url_decode_checked(text: str, what: str) -> bytes:
    # Step by step, for the message; the fast path above accepts exactly what this does.
    if not isinstance(text, str) or not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise PasserelleError(Reason.INPUT_MALFORMED, f"{what} is not unpadded base64url")
    try:
        raw = text.encode("ascii")
    except UnicodeEncodeError as exc:
        raise PasserelleError(Reason.INPUT_MALFORMED, f"{what} is not ASCII") from exc
    try:
        return binascii.a2b_base64(raw.translate(_TO_STANDARD) + b"=" * (-len(raw) % 4))
    except (binascii.Error, ValueError) as exc:
        raise PasserelleError(Reason.INPUT_MALFORMED, f"{what} is not valid base64url") from exc
