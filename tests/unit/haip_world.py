"""A HAIP issuance world for tests: a wallet-provider CA and signing certificate, a
wallet instance key, a DPoP key, an in-memory replay registry, all made here."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle._json import JsonObject
from passerelle.jose import KeySigner, public_jwk
from passerelle.x509 import (
    LeafUsage,
    build_ca_certificate,
    build_leaf_certificate,
    build_name,
    encode_x5c,
)

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SKEW = timedelta(seconds=30)
MAX_AGE = timedelta(minutes=5)
AS_ISSUER = "https://issuer.example.eu"
TOKEN_ENDPOINT = "https://issuer.example.eu/token"
CREDENTIAL_ENDPOINT = "https://issuer.example.eu/credential"
WALLET_PROVIDER = "https://wallet-provider.example.eu"
CLIENT_ID = "https://wallet.example.eu"
ALGS = ("ES256",)


class SystemRandom:
    def token_bytes(self, n: int, /) -> bytes:
        return secrets.token_bytes(n)


@dataclass
class MemoryReplay:
    """A :class:`~passerelle.oauth.JtiReplayRegistry` for one test process."""

    seen: dict[tuple[str, str], datetime] = field(default_factory=dict)

    def register(self, *, scope: str, jti: str, expires_at: datetime) -> bool:
        if (scope, jti) in self.seen:
            return False
        self.seen[(scope, jti)] = expires_at
        return True


def p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@dataclass
class Provider:
    """A wallet provider: a root CA (the trust anchor) and a signing certificate."""

    root_key: ec.EllipticCurvePrivateKey
    root: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def signer(self) -> KeySigner:
        return KeySigner(self.key)

    @property
    def x5c(self) -> list[str]:
        return encode_x5c([self.cert])


def make_provider(*, name: str = "Test Wallet Provider", days: int = 365) -> Provider:
    root_key = p256()
    root = build_ca_certificate(
        subject=build_name(common_name=f"{name} CA", country="BE"),
        key=root_key,
        not_before=NOW - timedelta(days=30),
        not_after=NOW + timedelta(days=3650),
        serial=x509.random_serial_number(),
        path_length=0,
    )
    key = p256()
    cert = build_leaf_certificate(
        subject=build_name(common_name=name, country="BE"),
        public_key=key.public_key(),
        issuer_cert=root,
        issuer_key=root_key,
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(days=days),
        serial=x509.random_serial_number(),
        usage=LeafUsage.SIGNING,
    )
    return Provider(root_key=root_key, root=root, key=key, cert=cert)


def jwk_of(key: ec.EllipticCurvePrivateKey) -> JsonObject:
    return public_jwk(key.public_key())
