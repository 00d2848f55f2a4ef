"""The impure edge the core is kept free of: the real clock and the real CSPRNG."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

__all__ = ["SecretsRandom", "utc_now"]


class SecretsRandom:
    """:class:`passerelle.RandomSource` over the operating system's CSPRNG."""

    def token_bytes(self, n: int, /) -> bytes:
        return secrets.token_bytes(n)


def utc_now() -> datetime:
    return datetime.now(UTC)
