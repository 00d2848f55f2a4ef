"""CBOR decoding with the refusals mdoc needs, over ``cbor2``.

Every decode of untrusted bytes goes through :func:`decode`: it bounds size and
depth, refuses duplicate map keys (RFC 8949 §5.6: a map with duplicate keys is not
valid; RFC 9052 §3: "Labels in each of the maps MUST be unique"), refuses trailing
bytes, and, where a rule forbids them, indefinite-length items. Any failure of the
library becomes one ``PasserelleError``.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import TypeVar

import cbor2

from .._errors import PasserelleError, Reason

__all__ = [
    "MAX_INPUT",
    "decode",
    "encode",
    "expect",
    "member",
    "tag24",
    "unwrap_tag24",
]

#: A DeviceResponse carrying a portrait or two stays well under this.
MAX_INPUT = 1_000_000
_MAX_DEPTH = 32

_T = TypeVar("_T")


def encode(value: object) -> bytes:
    """Encode ``value`` the way we send: definite lengths, shortest arguments
    (cbor2's default), map keys in the order given."""
    try:
        return cbor2.dumps(value)
    except (cbor2.CBOREncodeError, TypeError, ValueError) as exc:
        raise PasserelleError(Reason.MDOC_MALFORMED, f"cannot encode CBOR: {exc}") from exc


def decode(data: bytes, *, what: str, definite: bool = False) -> object:
    """Decode one CBOR data item that must fill ``data`` exactly.

    With ``definite`` an indefinite-length string, array or map anywhere inside
    is refused with ``mdoc.indefinite_length``.
    """
    if not isinstance(data, bytes | bytearray):
        raise PasserelleError(Reason.MDOC_MALFORMED, f"{what} is not a byte string")
    if len(data) > MAX_INPUT:
        raise PasserelleError(Reason.INPUT_TOO_LARGE, f"{what} is larger than {MAX_INPUT} bytes")
    if not data:
        raise PasserelleError(Reason.MDOC_MALFORMED, f"{what} is empty")
    try:
        # The strict decode first, so that an indefinite length gets its own reason.
        stream = io.BytesIO(bytes(data))
        value = cbor2.CBORDecoder(
            stream,
            read_size=1,
            max_depth=_MAX_DEPTH,
            allow_indefinite=not definite,
            allow_duplicate_keys=False,
        ).decode()
    except RecursionError as exc:
        raise PasserelleError(Reason.INPUT_TOO_DEEP, f"{what} nests too deeply") from exc
    except Exception as exc:  # cbor2 raises a wide family (ValueError, TypeError, its own)
        raise _classify(bytes(data), what=what, definite=definite, exc=exc) from exc
    if stream.tell() != len(data):
        raise PasserelleError(Reason.MDOC_MALFORMED, f"{what} has bytes after its CBOR item")
    return value


def _classify(data: bytes, *, what: str, definite: bool, exc: Exception) -> PasserelleError:
    text = str(exc).lower()
    if "depth" in text:
        return PasserelleError(Reason.INPUT_TOO_DEEP, f"{what} nests too deeply")
    if definite and "indefinite" in text:
        return PasserelleError(
            Reason.MDOC_INDEFINITE_LENGTH, f"{what} uses an indefinite-length item"
        )
    if "duplicate" in text:
        return PasserelleError(Reason.MDOC_DUPLICATE_KEY, f"{what} has a duplicate map key")
    return PasserelleError(Reason.MDOC_MALFORMED, f"{what} is not well-formed CBOR: {exc}")


def tag24(value: object) -> cbor2.CBORTag:
    """``#6.24(bstr .cbor value)`` for encoding."""
    return cbor2.CBORTag(24, encode(value))


def unwrap_tag24(value: object, *, what: str) -> bytes:
    """The embedded bytes of a ``#6.24(bstr)`` item, or a refusal."""
    if not isinstance(value, cbor2.CBORTag) or value.tag != 24:
        raise PasserelleError(Reason.MDOC_MALFORMED, f"{what} is not a tag-24 embedded item")
    if not isinstance(value.value, bytes):
        raise PasserelleError(Reason.MDOC_MALFORMED, f"{what}: tag 24 does not hold a bstr")
    return value.value


def expect(value: object, kind: type[_T], *, what: str) -> _T:
    """``value`` if it is a ``kind`` (bool is never an int here), else ``mdoc.malformed``."""
    if kind is int and isinstance(value, bool):
        raise PasserelleError(Reason.MDOC_MALFORMED, f"{what} must be an integer")
    if not isinstance(value, kind):
        raise PasserelleError(
            Reason.MDOC_MALFORMED, f"{what} must be a {kind.__name__}, not {type(value).__name__}"
        )
    return value


def member(obj: Mapping[object, object], key: str, *, what: str) -> object:
    """A required member of a CBOR map."""
    if key not in obj:
        raise PasserelleError(Reason.MDOC_MALFORMED, f"{what} lacks {key!r}")
    return obj[key]
