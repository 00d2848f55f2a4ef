"""IETF Token Status List (draft-ietf-oauth-status-list): the list, its JSON form, and
the Status List Token as a JWT (``typ`` ``statuslist+jwt``).

The byte array (draft §4.1): index ``i`` occupies ``bits`` bits starting at bit
``(i * bits) % 8`` of byte ``(i * bits) // 8``, counting bits from the least
significant one. So with ``bits`` 1 the first status is ``byte[0] & 0x01``, which
is the opposite of the W3C Bitstring Status List (MSB first, see ``_bitstring``).
It travels DEFLATE-compressed in the ZLIB format, base64url-encoded, as ``lst``.

Decompression is bounded (:data:`MAX_STATUS_LIST_BYTES`): ``lst`` comes from the
network, and a few hundred bytes of DEFLATE can claim gigabytes.
"""

from __future__ import annotations

import enum
import zlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cryptography import x509

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue, b64url_decode, b64url_encode
from ..jose import (
    PublicKey,
    Signer,
    check_jwt_times,
    decode_unverified_jws,
    epoch,
    numeric_date,
    sign_jws,
    verify_jws,
)
from ..x509 import VerifiedChain, verify_x5c_chain

__all__ = [
    "MAX_STATUS_LIST_BYTES",
    "STATUS_LIST_JWT_TYP",
    "StatusList",
    "StatusValue",
    "VerifiedStatusList",
    "check_status",
    "create_status_list",
    "create_status_list_token",
    "create_status_reference",
    "decode_status_list",
    "encode_status_list",
    "inflate_bounded",
    "verify_status_list_token",
    "with_status",
    "with_statuses",
]

STATUS_LIST_JWT_TYP = "statuslist+jwt"

MAX_STATUS_LIST_BYTES = 16 * 1024 * 1024
"""Largest decompressed status list accepted (16 MiB: 134M entries at 1 bit)."""

_ALLOWED_BITS = (1, 2, 4, 8)
_WHAT = "status list token"


class StatusValue(enum.IntEnum):
    """Status Types of draft §7.1. Other values are reserved or application-specific."""

    VALID = 0x00
    INVALID = 0x01
    SUSPENDED = 0x02
    APPLICATION_SPECIFIC = 0x03


def _check_index(index: object, size: int) -> int:
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise PasserelleError(
            Reason.STATUS_INDEX_OUT_OF_RANGE, "index is not a non-negative integer"
        )
    if index >= size:
        raise PasserelleError(
            Reason.STATUS_INDEX_OUT_OF_RANGE, f"index {index} is outside the list of {size}"
        )
    return index


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusList:
    """An uncompressed status list: ``bits`` per entry, packed LSB first (draft §4.1).

    ``size`` is the number of entries the byte array holds, ``len(data) * 8 // bits``;
    a list is always a whole number of bytes, so it may hold a few more entries than
    were asked for.
    """

    bits: int
    data: bytes

    def __post_init__(self) -> None:
        if self.bits not in _ALLOWED_BITS:
            raise local_error(Reason.STATUS_LIST_INVALID, f"bits must be one of {_ALLOWED_BITS}")
        if not isinstance(self.data, bytes):
            raise local_error(Reason.STATUS_LIST_INVALID, "data must be bytes")

    @property
    def size(self) -> int:
        return len(self.data) * 8 // self.bits

    def get(self, index: int) -> int:
        """The status value at ``index``, or ``status.index_out_of_range``."""
        _check_index(index, self.size)
        position = index * self.bits
        return (self.data[position >> 3] >> (position & 7)) & ((1 << self.bits) - 1)


def create_status_list(*, bits: int, size: int) -> StatusList:
    """A list of at least ``size`` entries, all VALID (0x00: the draft §11.3 default)."""
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise local_error(Reason.STATUS_LIST_INVALID, "size must be a positive integer")
    if bits not in _ALLOWED_BITS:
        raise local_error(Reason.STATUS_LIST_INVALID, f"bits must be one of {_ALLOWED_BITS}")
    return StatusList(bits=bits, data=bytes(-(-size * bits // 8)))


def with_statuses(status_list: StatusList, updates: Iterable[tuple[int, int]]) -> StatusList:
    """A copy of ``status_list`` with each ``(index, value)`` of ``updates`` applied."""
    data = bytearray(status_list.data)
    bits = status_list.bits
    mask = (1 << bits) - 1
    size = status_list.size
    for index, value in updates:
        _check_index(index, size)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= mask:
            raise local_error(
                Reason.STATUS_UNKNOWN_VALUE, f"status {value!r} does not fit in {bits} bits"
            )
        position = index * bits
        shift = position & 7
        data[position >> 3] = (data[position >> 3] & ~(mask << shift) & 0xFF) | (value << shift)
    return StatusList(bits=bits, data=bytes(data))


def with_status(status_list: StatusList, index: int, value: int) -> StatusList:
    """A copy of ``status_list`` with entry ``index`` set to ``value``."""
    return with_statuses(status_list, ((index, value),))


def inflate_bounded(data: bytes, *, wbits: int, limit: int, what: str) -> bytes:
    """Decompress one complete zlib (``wbits`` 15) or gzip (``wbits`` 31) stream of at
    most ``limit`` bytes, or raise ``status.list_invalid``.

    Truncated streams and bytes after the end are refused: a list is exactly one stream.
    """
    inflater = zlib.decompressobj(wbits=wbits)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise PasserelleError(Reason.STATUS_LIST_INVALID, f"{what} does not decompress") from exc
    if len(out) > limit:
        raise PasserelleError(
            Reason.STATUS_LIST_INVALID, f"{what} decompresses to more than {limit} bytes"
        )
    if not inflater.eof or inflater.unused_data:
        raise PasserelleError(Reason.STATUS_LIST_INVALID, f"{what} is not one complete stream")
    return out


def encode_status_list(
    status_list: StatusList, *, aggregation_uri: str | None = None, level: int = 9
) -> JsonObject:
    """The JSON ``StatusList`` of draft §4.2: ``bits`` and ``lst`` (zlib at ``level``).

    The draft recommends the highest compression level (9), and its vectors use it, so
    that is the default. On a large, sparsely set list level 9 costs about forty times
    level 6 for a token about a fifth smaller; an issuer that re-encodes on every
    status change may choose the lower level (the draft says RECOMMENDED, not MUST).
    """
    if not 1 <= level <= 9:
        raise local_error(Reason.INPUT_MALFORMED, "the zlib level must be 1..9")
    encoded: JsonObject = {
        "bits": status_list.bits,
        "lst": b64url_encode(zlib.compress(status_list.data, level)),
    }
    if aggregation_uri is not None:
        encoded["aggregation_uri"] = aggregation_uri
    return encoded


def decode_status_list(encoded: JsonValue, *, max_bytes: int = MAX_STATUS_LIST_BYTES) -> StatusList:
    """Parse a JSON ``StatusList`` (draft §4.2) from a peer, or raise ``status.list_invalid``."""
    if not isinstance(encoded, dict):
        raise PasserelleError(Reason.STATUS_LIST_INVALID, "status_list is not a JSON object")
    bits = encoded.get("bits")
    if isinstance(bits, bool) or bits not in _ALLOWED_BITS:
        raise PasserelleError(
            Reason.STATUS_LIST_INVALID, f"status_list bits {bits!r} is not 1, 2, 4 or 8"
        )
    lst = encoded.get("lst")
    if not isinstance(lst, str):
        raise PasserelleError(Reason.STATUS_LIST_INVALID, "status_list lst is not a string")
    aggregation_uri = encoded.get("aggregation_uri")
    if aggregation_uri is not None and not isinstance(aggregation_uri, str):
        raise PasserelleError(Reason.STATUS_LIST_INVALID, "aggregation_uri is not a string")
    try:
        compressed = b64url_decode(lst, what="status_list lst")
    except PasserelleError as exc:
        raise PasserelleError(Reason.STATUS_LIST_INVALID, exc.detail) from exc
    data = inflate_bounded(compressed, wbits=15, limit=max_bytes, what="status_list lst")
    assert isinstance(bits, int)
    return StatusList(bits=bits, data=data)


# --- the Status List Token (draft §5.1) ----------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedStatusList:
    """A Status List Token whose signature, ``typ``, ``sub`` and times checked out.

    ``ttl`` is in seconds, ``exp`` and ``iat`` are NumericDates as signed. ``chain`` is
    the validated ``x5c`` path when the key came from one.
    """

    uri: str
    status_list: StatusList
    iat: int
    exp: int | None
    ttl: int | None
    aggregation_uri: str | None
    header: JsonObject
    claims: JsonObject
    chain: VerifiedChain | None


def _positive_seconds(value: timedelta | None, name: str) -> int | None:
    if value is None:
        return None
    seconds = int(value.total_seconds())
    if seconds < 1:
        raise local_error(Reason.STATUS_LIST_INVALID, f"{name} must be at least one second")
    return seconds


def create_status_list_token(
    status_list: StatusList,
    *,
    uri: str,
    signer: Signer,
    now: datetime,
    ttl: timedelta | None,
    valid_for: timedelta | None,
    x5c: Sequence[str] | None = None,
    kid: str | None = None,
    aggregation_uri: str | None = None,
    iss: str | None = None,
    level: int = 9,
) -> str:
    """Sign ``status_list`` as a Status List Token for ``uri`` (its ``sub``).

    ``iss`` names the issuer (the credential issuer's identifier): not required by the
    draft, whose tokens "MAY contain other claims", but resolvers that bind a list to
    the issuer of the credentials it covers look for it.

    ``valid_for`` sets ``exp`` = ``now`` + ``valid_for``; ``ttl`` is the cache lifetime
    in whole seconds. The draft RECOMMENDS both; ``None`` leaves the claim out.
    ``x5c`` (HAIP) and/or ``kid`` name the key in the header. ``level`` is the zlib
    level (:func:`encode_status_list`).
    """
    if not uri:
        raise local_error(Reason.STATUS_LIST_URI_MISMATCH, "uri must not be empty")
    iat = epoch(now)
    claims: JsonObject = {
        **({"iss": iss} if iss is not None else {}),
        "sub": uri,
        "iat": iat,
        "status_list": encode_status_list(
            status_list, aggregation_uri=aggregation_uri, level=level
        ),
    }
    lifetime = _positive_seconds(valid_for, "valid_for")
    if lifetime is not None:
        claims["exp"] = iat + lifetime
    ttl_seconds = _positive_seconds(ttl, "ttl")
    if ttl_seconds is not None:
        claims["ttl"] = ttl_seconds
    header: dict[str, object] = {"typ": STATUS_LIST_JWT_TYP}
    if x5c is not None:
        header["x5c"] = list(x5c)
    if kid is not None:
        header["kid"] = kid
    return sign_jws(header, claims, signer)


def _read_ttl(claims: JsonObject) -> int | None:
    ttl = claims.get("ttl")
    if ttl is None:
        return None
    # "MUST be a positive number"; fractions of a second are rounded down, but never to 0.
    if isinstance(ttl, bool) or not isinstance(ttl, int | float) or not ttl > 0:
        raise PasserelleError(Reason.STATUS_LIST_INVALID, f"ttl {ttl!r} is not a positive number")
    if ttl != ttl or ttl == float("inf"):
        raise PasserelleError(Reason.STATUS_LIST_INVALID, "ttl is not a finite number")
    return max(1, int(ttl))


def _resolve_key(
    header: JsonObject,
    *,
    key: PublicKey | None,
    x5c_anchors: Sequence[x509.Certificate],
    now: datetime,
) -> tuple[PublicKey, VerifiedChain | None]:
    if (key is None) == (not x5c_anchors):
        raise local_error(Reason.JWS_HEADER_INVALID, "give exactly one of key and x5c_anchors")
    if key is not None:
        return key, None
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not all(isinstance(c, str) for c in x5c):
        raise PasserelleError(Reason.JWS_HEADER_INVALID, f"{_WHAT} header has no x5c chain")
    chain = verify_x5c_chain([c for c in x5c if isinstance(c, str)], anchors=x5c_anchors, now=now)
    return chain.public_key, chain


def verify_status_list_token(
    token: str,
    *,
    expected_uri: str,
    key: PublicKey | None = None,
    x5c_anchors: Sequence[x509.Certificate] = (),
    algorithms: Collection[str],
    now: datetime,
    skew: timedelta,
) -> VerifiedStatusList:
    """Verify a Status List Token fetched from ``expected_uri`` (draft §8.3), or raise.

    The key is either given (``key``) or taken from the header's ``x5c`` after the chain
    validates to one of ``x5c_anchors``; exactly one of the two must be given. Checks,
    in order: signature and ``typ`` (``jws.*``), ``sub`` equals ``expected_uri``
    (``status.list_uri_mismatch``), ``iat`` present and not in the future, ``exp`` not
    passed (``status.list_expired``), ``ttl`` and ``status_list`` well-formed
    (``status.list_invalid``).
    """
    jws = decode_unverified_jws(token, what=_WHAT)
    public_key, chain = _resolve_key(jws.header, key=key, x5c_anchors=x5c_anchors, now=now)
    verified = verify_jws(
        jws, key=public_key, algorithms=algorithms, typ=STATUS_LIST_JWT_TYP, what=_WHAT
    )
    claims = verified.payload
    sub = claims.get("sub")
    if not isinstance(sub, str):
        raise PasserelleError(Reason.JWT_CLAIM_MISSING, f"{_WHAT} has no sub")
    if sub != expected_uri:
        raise PasserelleError(
            Reason.STATUS_LIST_URI_MISMATCH, f"{_WHAT} sub {sub!r} is not {expected_uri!r}"
        )
    check_jwt_times(
        claims,
        now=now,
        skew=skew,
        require=("iat",),
        expired=Reason.STATUS_LIST_EXPIRED,
        what=_WHAT,
    )
    iat = numeric_date(claims, "iat", required=True)
    assert iat is not None
    ttl = _read_ttl(claims)
    encoded = claims.get("status_list")
    if encoded is None:
        raise PasserelleError(Reason.JWT_CLAIM_MISSING, f"{_WHAT} has no status_list")
    status_list = decode_status_list(encoded)
    aggregation_uri = encoded.get("aggregation_uri") if isinstance(encoded, dict) else None
    return VerifiedStatusList(
        uri=sub,
        status_list=status_list,
        iat=iat,
        exp=numeric_date(claims, "exp"),
        ttl=ttl,
        aggregation_uri=aggregation_uri if isinstance(aggregation_uri, str) else None,
        header=verified.header,
        claims=claims,
        chain=chain,
    )


# --- the Referenced Token side (draft §6) ---------------------------------------------


def create_status_reference(*, idx: int, uri: str) -> JsonObject:
    """The ``status`` claim of a Referenced Token: ``{"status_list": {"idx", "uri"}}``."""
    if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
        raise local_error(Reason.STATUS_INDEX_OUT_OF_RANGE, "idx must be a non-negative integer")
    return {"status_list": {"idx": idx, "uri": uri}}


def _read_reference(reference: Mapping[str, JsonValue]) -> tuple[int, str]:
    entry = reference.get("status_list") if isinstance(reference, Mapping) else None
    if not isinstance(entry, dict):
        raise PasserelleError(Reason.STATUS_LIST_INVALID, "status has no status_list object")
    idx = entry.get("idx")
    uri = entry.get("uri")
    if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
        raise PasserelleError(
            Reason.STATUS_LIST_INVALID, "status_list idx is not a non-negative integer"
        )
    if not isinstance(uri, str) or not uri:
        raise PasserelleError(Reason.STATUS_LIST_INVALID, "status_list uri is not a string")
    return idx, uri


def check_status(reference: Mapping[str, JsonValue], verified: VerifiedStatusList) -> StatusValue:
    """The status of a Referenced Token whose ``status`` claim is ``reference``.

    Returns :attr:`StatusValue.VALID` or raises: ``status.revoked`` (0x01),
    ``status.suspended`` (0x02), ``status.unknown_value`` (0x03 and every value this
    code gives no meaning to), ``status.index_out_of_range`` (draft §8.3: "MUST be
    rejected"), ``status.list_uri_mismatch`` when ``verified`` is another list.
    """
    idx, uri = _read_reference(reference)
    if uri != verified.uri:
        raise PasserelleError(
            Reason.STATUS_LIST_URI_MISMATCH, f"the token refers to {uri!r}, not {verified.uri!r}"
        )
    value = verified.status_list.get(idx)
    if value == StatusValue.VALID:
        return StatusValue.VALID
    if value == StatusValue.INVALID:
        raise PasserelleError(Reason.STATUS_REVOKED, f"{uri} index {idx} is INVALID")
    if value == StatusValue.SUSPENDED:
        raise PasserelleError(Reason.STATUS_SUSPENDED, f"{uri} index {idx} is SUSPENDED")
    raise PasserelleError(
        Reason.STATUS_UNKNOWN_VALUE, f"{uri} index {idx} has status 0x{value:02x}"
    )
