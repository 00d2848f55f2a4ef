"""W3C Bitstring Status List v1.0 for VCDM 2.0 credentials.

A status list is a ``BitstringStatusListCredential`` whose subject carries
``encodedList``: the bitstring, GZIP-compressed (RFC 1952), base64url without padding,
with the Multibase prefix ``u``. Index 0 is the left-most bit, i.e. the most
significant bit of the first byte (§2.2, appendix "Bitstring Encoding") — the
reverse of the IETF Token Status List's bit order.

We speak ``statusSize`` 1 only, with the purposes ``revocation`` and ``suspension``
(a processor "MAY choose to only support bitstring entry sizes of 1"). A W3C
credential carries one entry per purpose. Securing the status list credential (as
``vc+jwt``, with :mod:`passerelle.vc`) is the caller's business, as is verifying it
before :func:`check_bitstring_status`.
"""

from __future__ import annotations

import enum
import gzip
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue, b64url_decode, b64url_encode
from .._time import format_date_time, parse_date_time
from ..vc import VC_V2_CONTEXT
from ._token import MAX_STATUS_LIST_BYTES, inflate_bounded

__all__ = [
    "BITSTRING_STATUS_LIST_CREDENTIAL",
    "BITSTRING_STATUS_LIST_ENTRY",
    "MIN_BITSTRING_ENTRIES",
    "Bitstring",
    "StatusPurpose",
    "check_bitstring_status",
    "create_bitstring",
    "create_bitstring_status_entry",
    "create_bitstring_status_list_credential",
    "decode_bitstring",
    "encode_bitstring",
    "with_bits",
]

BITSTRING_STATUS_LIST_CREDENTIAL = "BitstringStatusListCredential"
BITSTRING_STATUS_LIST_ENTRY = "BitstringStatusListEntry"
_SUBJECT_TYPE = "BitstringStatusList"

MIN_BITSTRING_ENTRIES = 131_072
"""§2.2 / §6.3 herd privacy: at least 16 KiB of single-bit entries."""

# "an arbitrary size integer greater than or equal to 0, expressed as a string in
# base 10"; ours are bounded by the decompression limit anyway, so 12 digits suffice.
_INDEX = re.compile(r"[0-9]{1,12}")
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


class StatusPurpose(enum.StrEnum):
    """The purposes we support (§2.1): revocation is final, suspension reversible."""

    REVOCATION = "revocation"
    SUSPENSION = "suspension"


@dataclass(frozen=True, slots=True, kw_only=True)
class Bitstring:
    """An uncompressed bitstring of ``len(data) * 8`` entries, index 0 the MSB of byte 0."""

    data: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes):
            raise local_error(Reason.STATUS_LIST_INVALID, "data must be bytes")

    @property
    def size(self) -> int:
        return len(self.data) * 8

    def get(self, index: int) -> bool:
        """Whether the bit at ``index`` is set, or ``status.index_out_of_range``."""
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.size:
            raise PasserelleError(
                Reason.STATUS_INDEX_OUT_OF_RANGE, f"index {index!r} is outside 0..{self.size - 1}"
            )
        return bool(self.data[index >> 3] & (0x80 >> (index & 7)))


def create_bitstring(*, size: int = MIN_BITSTRING_ENTRIES) -> Bitstring:
    """An all-zero bitstring of ``size`` entries (a multiple of 8, at least the minimum)."""
    if isinstance(size, bool) or not isinstance(size, int) or size % 8:
        raise local_error(Reason.STATUS_LIST_INVALID, "size must be a multiple of 8")
    if size < MIN_BITSTRING_ENTRIES:
        raise local_error(
            Reason.STATUS_LIST_INVALID, f"size must be at least {MIN_BITSTRING_ENTRIES}"
        )
    return Bitstring(data=bytes(size // 8))


def with_bits(bitstring: Bitstring, updates: Iterable[tuple[int, bool]]) -> Bitstring:
    """A copy of ``bitstring`` with each ``(index, set)`` of ``updates`` applied."""
    data = bytearray(bitstring.data)
    for index, value in updates:
        bitstring.get(index)
        mask = 0x80 >> (index & 7)
        data[index >> 3] = data[index >> 3] | mask if value else data[index >> 3] & ~mask & 0xFF
    return Bitstring(data=bytes(data))


def encode_bitstring(bitstring: Bitstring) -> str:
    """``encodedList``: ``u`` + base64url(GZIP(bitstring)), no padding (§2.2, §3.3)."""
    if bitstring.size < MIN_BITSTRING_ENTRIES:
        raise local_error(
            Reason.STATUS_LIST_INVALID, f"a bitstring has at least {MIN_BITSTRING_ENTRIES} entries"
        )
    # mtime 0: the same list always encodes to the same string.
    return "u" + b64url_encode(gzip.compress(bitstring.data, compresslevel=9, mtime=0))


def decode_bitstring(
    encoded: JsonValue,
    *,
    min_entries: int = MIN_BITSTRING_ENTRIES,
    max_bytes: int = MAX_STATUS_LIST_BYTES,
) -> Bitstring:
    """Expand ``encodedList`` (§3.4), bounded, or raise ``status.list_invalid``.

    A list shorter than ``min_entries`` is the spec's STATUS_LIST_LENGTH_ERROR.
    """
    if not isinstance(encoded, str) or not encoded.startswith("u"):
        raise PasserelleError(
            Reason.STATUS_LIST_INVALID, "encodedList is not Multibase base64url ('u' prefix)"
        )
    try:
        compressed = b64url_decode(encoded[1:], what="encodedList")
    except PasserelleError as exc:
        raise PasserelleError(Reason.STATUS_LIST_INVALID, exc.detail) from exc
    data = inflate_bounded(compressed, wbits=31, limit=max_bytes, what="encodedList")
    if len(data) * 8 < min_entries:
        raise PasserelleError(
            Reason.STATUS_LIST_INVALID,
            f"encodedList holds {len(data) * 8} entries, fewer than {min_entries}",
        )
    return Bitstring(data=data)


def _format_date_time(value: datetime) -> str:
    return format_date_time(value)


def _parse_date_time(value: JsonValue, *, what: str) -> datetime:
    return parse_date_time(value, what=what, reason=Reason.STATUS_LIST_INVALID)


def create_bitstring_status_list_credential(
    *,
    id: str,
    issuer: str,
    purpose: StatusPurpose,
    bitstring: Bitstring,
    valid_from: datetime,
    valid_until: datetime | None,
    ttl: timedelta | None = None,
) -> JsonObject:
    """An unsigned ``BitstringStatusListCredential`` (§2.2) published at ``id``.

    The subject id is ``id#list``. ``ttl`` goes out in milliseconds, as §2.2 says.
    """
    subject: JsonObject = {
        "id": f"{id}#list",
        "type": _SUBJECT_TYPE,
        "statusPurpose": StatusPurpose(purpose).value,
        "encodedList": encode_bitstring(bitstring),
    }
    if ttl is not None:
        milliseconds = int(ttl.total_seconds() * 1000)
        if milliseconds < 1:
            raise local_error(Reason.STATUS_LIST_INVALID, "ttl must be positive")
        subject["ttl"] = milliseconds
    credential: JsonObject = {
        "@context": [VC_V2_CONTEXT],
        "id": id,
        "type": ["VerifiableCredential", BITSTRING_STATUS_LIST_CREDENTIAL],
        "issuer": issuer,
        "validFrom": _format_date_time(valid_from),
    }
    if valid_until is not None:
        if valid_until <= valid_from:
            raise local_error(Reason.STATUS_LIST_INVALID, "valid_until must follow valid_from")
        credential["validUntil"] = _format_date_time(valid_until)
    credential["credentialSubject"] = subject
    return credential


def create_bitstring_status_entry(
    *, purpose: StatusPurpose, index: int, list_credential: str
) -> JsonObject:
    """A ``BitstringStatusListEntry`` (§2.1) for a credential's ``credentialStatus``.

    Its ``id`` is ``list_credential#index``: unique per entry, and not the list's URL,
    which §2.1 forbids.
    """
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        raise local_error(Reason.STATUS_INDEX_OUT_OF_RANGE, "index must be non-negative")
    return {
        "id": f"{list_credential}#{index}",
        "type": BITSTRING_STATUS_LIST_ENTRY,
        "statusPurpose": StatusPurpose(purpose).value,
        "statusListIndex": str(index),
        "statusListCredential": list_credential,
    }


def _has_type(value: JsonValue, name: str) -> bool:
    return value == name or (isinstance(value, list) and name in value)


def _read_entry(entry: Mapping[str, JsonValue]) -> tuple[StatusPurpose, int, str]:
    if not isinstance(entry, Mapping) or entry.get("type") != BITSTRING_STATUS_LIST_ENTRY:
        raise PasserelleError(Reason.STATUS_LIST_INVALID, "not a BitstringStatusListEntry")
    purpose = entry.get("statusPurpose")
    if purpose not in tuple(StatusPurpose):
        raise PasserelleError(
            Reason.STATUS_LIST_INVALID, f"statusPurpose {purpose!r} is not supported"
        )
    size = entry.get("statusSize", 1)
    if isinstance(size, bool) or size != 1:
        raise PasserelleError(Reason.STATUS_LIST_INVALID, f"statusSize {size!r} is not supported")
    index = entry.get("statusListIndex")
    if not isinstance(index, str) or not _INDEX.fullmatch(index):
        raise PasserelleError(
            Reason.STATUS_LIST_INVALID, "statusListIndex is not a base-10 integer string"
        )
    url = entry.get("statusListCredential")
    if not isinstance(url, str) or not url:
        raise PasserelleError(Reason.STATUS_LIST_INVALID, "statusListCredential is not a URL")
    assert isinstance(purpose, str)
    return StatusPurpose(purpose), int(index), url


def _read_subject(credential: Mapping[str, JsonValue]) -> Mapping[str, JsonValue]:
    subject = credential.get("credentialSubject")
    if isinstance(subject, list) and len(subject) == 1:
        subject = subject[0]
    if not isinstance(subject, dict) or not _has_type(subject.get("type"), _SUBJECT_TYPE):
        raise PasserelleError(
            Reason.STATUS_LIST_INVALID, "credentialSubject is not one BitstringStatusList"
        )
    return subject


def check_bitstring_status(
    entry: Mapping[str, JsonValue], credential: Mapping[str, JsonValue], *, now: datetime
) -> None:
    """Check one ``BitstringStatusListEntry`` against its status list credential (§3.2).

    ``credential`` is the payload of a status list credential the caller has already
    verified (signature and issuer trust). Returns if the bit is unset; otherwise
    raises ``status.revoked`` or ``status.suspended`` after the purpose. Also raises
    ``status.list_uri_mismatch`` (the credential's ``id`` is not the entry's
    ``statusListCredential``; an ``id`` is required), ``status.list_expired``
    (``validUntil`` passed), ``status.list_invalid`` (purpose not in the list, bad
    shape, list too short, not yet valid) and ``status.index_out_of_range``.
    """
    if now.tzinfo is None:
        raise local_error(Reason.STATUS_LIST_INVALID, "now must be a timezone-aware datetime")
    purpose, index, url = _read_entry(entry)
    if not _has_type(credential.get("type"), BITSTRING_STATUS_LIST_CREDENTIAL):
        raise PasserelleError(Reason.STATUS_LIST_INVALID, "not a BitstringStatusListCredential")
    # §2.2 lets the id be absent; without it, nothing binds the list to the URL it was
    # fetched from, and a list of another purpose or issuer could stand in for it.
    if credential.get("id") != url:
        raise PasserelleError(
            Reason.STATUS_LIST_URI_MISMATCH,
            f"status list credential id {credential.get('id')!r} is not {url!r}",
        )
    valid_until = credential.get("validUntil")
    if valid_until is not None and now >= _parse_date_time(valid_until, what="validUntil"):
        raise PasserelleError(Reason.STATUS_LIST_EXPIRED, f"status list {url} expired")
    valid_from = credential.get("validFrom")
    if valid_from is not None and now < _parse_date_time(valid_from, what="validFrom"):
        raise PasserelleError(Reason.STATUS_LIST_INVALID, f"status list {url} is not yet valid")
    subject = _read_subject(credential)
    purposes = subject.get("statusPurpose")
    if not (purposes == purpose.value or (isinstance(purposes, list) and purpose in purposes)):
        raise PasserelleError(
            Reason.STATUS_LIST_INVALID, f"status list {url} is not for {purpose.value}"
        )
    bitstring = decode_bitstring(subject.get("encodedList"))
    if not bitstring.get(index):
        return
    if purpose is StatusPurpose.REVOCATION:
        raise PasserelleError(Reason.STATUS_REVOKED, f"{url} index {index} is revoked")
    raise PasserelleError(Reason.STATUS_SUSPENDED, f"{url} index {index} is suspended")
