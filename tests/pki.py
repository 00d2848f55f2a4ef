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


def self_signed_leaf(
    now: datetime, name: str
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    """An end-entity certificate (cA false) that signed itself: what a builder refuses
    to make, so it is assembled here with cryptography directly."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(next(_serials))
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    return cert, key


def forged_leaf(now: datetime, claimed_issuer: x509.Certificate) -> x509.Certificate:
    """A leaf naming ``claimed_issuer`` as its issuer but signed by another key: a chain
    that looks right by name and is broken by signature."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "forged")]))
        .issuer_name(claimed_issuer.subject)
        .public_key(key.public_key())
        .serial_number(next(_serials))
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, False, False, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
