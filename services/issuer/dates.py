"""Dates the issuer writes into credentials."""

from __future__ import annotations

from datetime import UTC, datetime

__all__ = ["day_of"]


def day_of(now: datetime) -> datetime:
    """The start of ``now``'s UTC day: issuance dates are rounded to the day, so that a
    credential's timestamps do not single out the moment its holder was served."""
    return now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
