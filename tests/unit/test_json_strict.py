"""The strict JSON parser and base64url decoder: their fast paths accept and refuse
exactly what the step-by-step definitions do, with the same reason and words."""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Callable

import pytest

from passerelle._errors import PasserelleError, Reason
from passerelle._json import MAX_DEPTH, _b64url_decode_checked, b64url_decode, parse_json


def _outcome(fn: Callable[..., bytes], *args: str) -> object:
    try:
        return fn(*args)
    except PasserelleError as exc:
        return (exc.reason, exc.detail)


# Every string up to length 5 over an alphabet holding each kind of byte the decoder
# treats apart: the two base64url extras, the two standard ones, padding, whitespace,
# a non-base64 ASCII byte, a non-ASCII letter, and letters whose low bits differ.
_ALPHABET = "AQgw-_+/= !é"


@pytest.mark.parametrize(
    ("alphabet", "length"), [*((_ALPHABET, n) for n in range(5)), ("Aw_/= ", 5), ("Aw_/= ", 6)]
)
def test_b64url_fast_path_agrees_with_the_checked_one(alphabet: str, length: int) -> None:
    for chars in itertools.product(alphabet, repeat=length):
        text = "".join(chars)
        assert _outcome(b64url_decode, text) == _outcome(
            _b64url_decode_checked, text, "base64url value"
        ), text


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("AQ==", "is not unpadded base64url"),
        ("A+Q", "is not unpadded base64url"),
        ("A Q", "is not unpadded base64url"),
        ("AQé", "is not unpadded base64url"),
        ("AQgwA", "is not unpadded base64url"),
    ],
)
def test_b64url_refusals_keep_their_words(text: str, words: str) -> None:
    with pytest.raises(PasserelleError) as caught:
        b64url_decode(text, what="v")
    assert caught.value.reason is Reason.INPUT_MALFORMED
    assert caught.value.detail == f"v {words}"


def test_b64url_refuses_what_is_not_a_string() -> None:
    with pytest.raises(PasserelleError, match="not unpadded base64url"):
        b64url_decode(b"AQ")  # type: ignore[arg-type]


def test_b64url_decodes_non_canonical_trailing_bits_as_before() -> None:
    # 'AR' carries a set bit past the byte it encodes; the decoder has always ignored it.
    assert b64url_decode("AR") == b64url_decode("AQ") == b"\x01"


@pytest.mark.parametrize(
    ("text", "reason", "detail"),
    [
        ('{"a":1,"a":2}', Reason.INPUT_MALFORMED, "duplicate JSON member name 'a'"),
        ('[{"b":{"a":1,"a":2}}]', Reason.INPUT_MALFORMED, "duplicate JSON member name 'a'"),
        ("[NaN]", Reason.INPUT_MALFORMED, "JSON constant NaN is not allowed"),
        ("1e999", Reason.INPUT_MALFORMED, "JSON number 1e999 is out of range"),
        ('"\\ud800"', Reason.INPUT_MALFORMED, "JSON string holds a lone surrogate"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), Reason.INPUT_TOO_DEEP, None),
        ("[1] x", Reason.INPUT_MALFORMED, None),
        ("", Reason.INPUT_MALFORMED, None),
        ("[1,]", Reason.INPUT_MALFORMED, None),
    ],
)
def test_parse_json_refusals(text: str, reason: Reason, detail: str | None) -> None:
    with pytest.raises(PasserelleError) as caught:
        parse_json(text.encode())
    assert caught.value.reason is reason
    if detail is not None:
        assert caught.value.detail == detail


def test_parse_json_reports_the_decoder_message_for_bad_json() -> None:
    with pytest.raises(PasserelleError) as caught:
        parse_json(b"[1] x", what="doc")
    detail = caught.value.detail
    assert re.fullmatch(r"doc is not valid JSON: Extra data: line 1 column 5 .*", detail)


@pytest.mark.parametrize(
    "text", [' {"a": [1, 2.5, "x"]} ', "\n[true]\t", '"\\u00e9"', "[" * MAX_DEPTH + "]" * MAX_DEPTH]
)
def test_parse_json_accepts_whitespace_escapes_and_the_deepest_nesting(text: str) -> None:
    assert parse_json(text.encode()) == json.loads(text)
