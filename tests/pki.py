"""Small PKI fixtures for tests: keys are generated here, in the test run, never committed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import count

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle.x509 import LeafUsage, build_ca_certificate, build_leaf_certificate, build_name

_serials = count(1000)


@dataclass(frozen=True)
class Chain:
    root: x509.Certificate
    root_key: ec.EllipticCurvePrivateKey
    leaf: x509.Certificate
    leaf_key: ec.EllipticCurvePrivateKey

    @property
    def x5c_certs(self) -> list[x509.Certificate]:
        return [self.leaf]


def make_chain(
    now: datetime,
    *,
    name: str = "Test Issuer",
    leaf_validity: tuple[timedelta, timedelta] = (timedelta(days=-1), timedelta(days=365)),
    usage: LeafUsage = LeafUsage.SIGNING,
    dns_names: tuple[str, ...] = (),
) -> Chain:
    root_key = ec.generate_private_key(ec.SECP256R1())
    root = build_ca_certificate(
        subject=build_name(common_name=f"{name} CA", country="CA"),
        key=root_key,
        not_before=now - timedelta(days=30),
        not_after=now + timedelta(days=3650),
        serial=next(_serials),
    )
    leaf_key = ec.generate_private_key(ec.SECP256R1())
    leaf = build_leaf_certificate(
        subject=build_name(common_name=name, country="CA"),
        public_key=leaf_key.public_key(),
        issuer_cert=root,
        issuer_key=root_key,
        not_before=now + leaf_validity[0],
        not_after=now + leaf_validity[1],
        serial=next(_serials),
        usage=usage,
        dns_names=dns_names,
    )
    return Chain(root=root, root_key=root_key, leaf=leaf, leaf_key=leaf_key)
