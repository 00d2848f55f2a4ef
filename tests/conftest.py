from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle.jose import KeySigner
from tests.storage_backends import backend  # noqa: F401  (a fixture shared by all tests)

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


class SeededRandom:
    """A reproducible RandomSource for tests (never for anything else)."""

    def __init__(self, seed: int = 7) -> None:
        self._rng = random.Random(seed)

    def token_bytes(self, n: int, /) -> bytes:
        return self._rng.randbytes(n)


@pytest.fixture
def now() -> datetime:
    return NOW


@pytest.fixture
def rng() -> SeededRandom:
    return SeededRandom()


@pytest.fixture
def issuer_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def holder_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def issuer_signer(issuer_key: ec.EllipticCurvePrivateKey) -> KeySigner:
    return KeySigner(issuer_key)
