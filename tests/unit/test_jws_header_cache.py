"""A JWS protected header is parsed once and handed out as a fresh copy: no caller can
change what the next one reads, and a refusal keeps its words."""

from __future__ import annotations

import pytest

from passerelle._errors import PasserelleError, Reason
from passerelle._json import b64url_encode
from passerelle.jose import decode_unverified_jws


def _token(header: bytes) -> str:
    return f"{b64url_encode(header)}.{b64url_encode(b'{}')}.{b64url_encode(b'sig')}"


def test_each_decode_hands_out_its_own_header() -> None:
    token = _token(b'{"alg":"ES256","x5c":["AAAA","BBBB"],"jwk":{"kty":"EC"}}')
    first = decode_unverified_jws(token).header
    first["alg"] = "none"
    first["x5c"].append("CCCC")  # type: ignore[union-attr]
    first["jwk"]["kty"] = "OKP"  # type: ignore[index]
    again = decode_unverified_jws(token).header
    assert again == {"alg": "ES256", "x5c": ["AAAA", "BBBB"], "jwk": {"kty": "EC"}}
    assert again is not first


def test_a_flat_header_is_handed_out_as_its_own_copy_too() -> None:
    token = _token(b'{"alg":"ES256","typ":"kb+jwt"}')
    decode_unverified_jws(token).header["typ"] = "jwt"
    assert decode_unverified_jws(token).header == {"alg": "ES256", "typ": "kb+jwt"}


@pytest.mark.parametrize(
    ("header", "detail"),
    [
        (b'{"alg":"ES256","alg":"ES384"}', "duplicate JSON member name 'alg'"),
        (b"[1]", "KB-JWT header is not a JSON object"),
    ],
)
def test_a_bad_header_is_refused_every_time_in_the_callers_words(
    header: bytes, detail: str
) -> None:
    for _ in range(2):
        with pytest.raises(PasserelleError) as caught:
            decode_unverified_jws(_token(header), what="KB-JWT")
        assert caught.value.reason is Reason.JWS_MALFORMED
        assert caught.value.detail == detail


def test_a_large_header_is_parsed_without_the_cache() -> None:
    big = b'{"alg":"ES256","x":"' + b"a" * 20000 + b'"}'
    assert decode_unverified_jws(_token(big)).header["x"] == "a" * 20000
