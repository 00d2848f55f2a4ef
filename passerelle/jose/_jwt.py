"""JWT time claims (RFC 7519 §4.1.4-4.1.6), always against a clock the caller gives."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonValue
from .._time import MAX_NUMERIC_DATE, numeric_date_seconds

__all__ = ["check_jwt_times", "epoch", "numeric_date"]


def epoch(now: datetime) -> int:
    """Seconds since the epoch of an aware datetime; naive datetimes are a local error."""
    if now.tzinfo is None:
        raise local_error(Reason.JWT_CLAIM_INVALID, "now must be a timezone-aware datetime")
    return int(now.timestamp())


def numeric_date(
    claims: Mapping[str, JsonValue], name: str, *, required: bool = False
) -> int | None:
    """A NumericDate claim as an int, or None when absent and optional."""
    value = claims.get(name)
    if value is None:
        if required:
            raise PasserelleError(Reason.JWT_CLAIM_MISSING, f"claim {name!r} is required")
        return None
    # Bounded: a NumericDate must also fit a datetime wherever it is used next.
    if type(value) is int and 0 <= value <= MAX_NUMERIC_DATE:
        return value  # the usual case, decided without the general check
    return numeric_date_seconds(value, what=f"claim {name!r}")


def check_jwt_times(
    claims: Mapping[str, JsonValue],
    *,
    now: datetime,
    skew: timedelta,
    require: tuple[str, ...] = (),
    expired: Reason = Reason.JWT_EXPIRED,
    not_yet_valid: Reason = Reason.JWT_NOT_YET_VALID,
    what: str = "JWT",
) -> None:
    """Check ``exp``, ``nbf`` and ``iat`` against ``now`` with a tolerance of ``skew``.

    Callers name the reason for expiry and not-yet-valid, since "the credential has
    expired" and "the token has expired" are different findings in a report.
    """
    t = epoch(now)
    leeway = int(skew.total_seconds())
    exp = numeric_date(claims, "exp", required="exp" in require)
    nbf = numeric_date(claims, "nbf", required="nbf" in require)
    iat = numeric_date(claims, "iat", required="iat" in require)
    if exp is not None and t - leeway >= exp:
        raise PasserelleError(expired, f"{what} expired at {exp}")
    if nbf is not None and t + leeway < nbf:
        raise PasserelleError(not_yet_valid, f"{what} is not valid before {nbf}")
    if iat is not None and t + leeway < iat:
        raise PasserelleError(
            Reason.JWT_ISSUED_IN_FUTURE, f"{what} was issued in the future ({iat})"
        )
