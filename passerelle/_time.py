"""Dates and times from untrusted input, in one place: bounded, zone-aware, UTC out.

A peer controls every timestamp it sends. Python's datetime raises OverflowError or
ValueError outside years 1-9999 and on naive values; here every such case becomes a
:class:`PasserelleError` with the caller's reason, so no date reaches a 500.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from ._errors import PasserelleError, Reason, local_error
from ._json import JsonValue

__all__ = [
    "MAX_NUMERIC_DATE",
    "format_date_time",
    "from_numeric_date",
    "numeric_date_seconds",
    "parse_date_time",
    "require_aware",
]

MAX_NUMERIC_DATE = 253_402_300_799
"""9999-12-31T23:59:59Z: the last second a datetime can hold."""

# RFC 3339 / XML Schema dateTimeStamp: a time zone is mandatory, fractions optional.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


def require_aware(now: datetime, what: str = "now") -> datetime:
    if now.tzinfo is None or now.utcoffset() is None:
        raise local_error(Reason.INPUT_MALFORMED, f"{what} must be a timezone-aware datetime")
    return now


def from_numeric_date(
    value: JsonValue, *, what: str, reason: Reason = Reason.JWT_CLAIM_INVALID
) -> datetime:
    """A NumericDate (RFC 7519 §2) as an aware UTC datetime, or ``reason``."""
    return datetime.fromtimestamp(numeric_date_seconds(value, what=what, reason=reason), UTC)


def numeric_date_seconds(
    value: JsonValue, *, what: str, reason: Reason = Reason.JWT_CLAIM_INVALID
) -> int:
    """A NumericDate as whole seconds, bounded as :func:`from_numeric_date` bounds it
    (every such value is a datetime), without building the datetime."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not math.isfinite(value))
        or not 0 <= value <= MAX_NUMERIC_DATE
    ):
        raise PasserelleError(reason, f"{what} is not a NumericDate in range")
    return int(value)


def parse_date_time(
    value: JsonValue, *, what: str, reason: Reason = Reason.INPUT_MALFORMED
) -> datetime:
    """An RFC 3339 date-time with a time zone, as an aware UTC datetime, or ``reason``."""
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        raise PasserelleError(reason, f"{what} is not a date-time with a time zone")
    try:
        return datetime.fromisoformat(value.replace("z", "Z").replace("t", "T")).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise PasserelleError(reason, f"{what} is not a valid date and time") from exc


def format_date_time(value: datetime) -> str:
    return require_aware(value, "a date-time").astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
