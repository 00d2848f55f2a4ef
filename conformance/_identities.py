"""Trust anchors and identities from files, so that a partner never needs the operator's CA.

A targets entry names the CA certificates the suite anchors a target's keys in
(``trust_anchors`` for an issuer's ``x5c`` chains, ``access_anchors`` for a verifier's
access certificates) either as entities of the suite's PKI (``eu-pid-provider``) or as
files: ``{file: partner-ca.pem}`` (PEM, one or more certificates, or DER). The
identities the suite plays counterparts with (``issuer_identity``,
``verifier_identity``) are likewise a PKI entity or a certificate chain and key the
partner provided: ``{certificate: suite-issuer.pem, key: suite-issuer.key}`` (PEM,
leaf first; a PKCS#8 or SEC1 key).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_der_private_key, load_pem_private_key

from passerelle.jose import KeySigner
from passerelle.x509 import encode_x5c

from ._model import CheckError, ErrorClass

__all__ = ["FileIdentity", "file_identity", "load_certificates", "resolve_anchors"]


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Every certificate of a PEM file, or the one of a DER file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckError(ErrorClass.SUITE, f"cannot read {path}: {exc}") from exc
    try:
        if b"-----BEGIN CERTIFICATE-----" in data:
            return x509.load_pem_x509_certificates(data)
        return [x509.load_der_x509_certificate(data)]
    except ValueError as exc:
        raise CheckError(ErrorClass.SUITE, f"{path} holds no certificate: {exc}") from exc


def resolve_anchors(
    entries: Any, *, by_name: Callable[[str], x509.Certificate] | None, what: str
) -> list[x509.Certificate]:
    """Anchors named as PKI entities (looked up with ``by_name``) or as files."""
    if not isinstance(entries, list) or not entries:
        raise CheckError(ErrorClass.SUITE, f"{what}: a non-empty list is required")
    anchors: list[x509.Certificate] = []
    for entry in entries:
        if isinstance(entry, dict) and isinstance(entry.get("file"), str):
            anchors.extend(load_certificates(Path(entry["file"])))
        elif isinstance(entry, str) and by_name is not None:
            anchors.append(by_name(entry))
        elif isinstance(entry, str):
            raise CheckError(
                ErrorClass.SUITE, f"{what}: {entry!r} names a PKI entity, and no suite.pki is given"
            )
        else:
            raise CheckError(ErrorClass.SUITE, f"{what}: {entry!r} is neither a name nor a file")
    return anchors


def has_file_anchor(entries: Any) -> bool:
    """Whether every anchor is a file, so that no suite PKI is needed."""
    return isinstance(entries, list) and all(isinstance(e, dict) for e in entries)


@dataclass(frozen=True, slots=True)
class FileIdentity:
    """A certificate chain (leaf first) and the leaf's private key, from files."""

    signer: KeySigner
    x5c: tuple[str, ...]
    leaf: x509.Certificate
    key: ec.EllipticCurvePrivateKey


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise CheckError(ErrorClass.SUITE, f"cannot read {path}: {exc}") from exc
    try:
        key = (
            load_pem_private_key(data, password=None)
            if b"-----BEGIN" in data
            else load_der_private_key(data, password=None)
        )
    except (ValueError, TypeError) as exc:
        raise CheckError(ErrorClass.SUITE, f"{path} holds no usable private key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise CheckError(ErrorClass.SUITE, f"{path}: the suite signs with EC keys only")
    return key


def file_identity(spec: Any, *, what: str) -> FileIdentity | None:
    """The identity a ``{certificate, key}`` entry names, or ``None`` for a PKI name."""
    if not isinstance(spec, dict):
        return None
    cert_path, key_path = spec.get("certificate"), spec.get("key")
    if not isinstance(cert_path, str) or not isinstance(key_path, str):
        raise CheckError(ErrorClass.SUITE, f"{what}: give `certificate` and `key` files")
    chain: Sequence[x509.Certificate] = load_certificates(Path(cert_path))
    key = _load_key(Path(key_path))
    if chain[0].public_key() != key.public_key():
        raise CheckError(ErrorClass.SUITE, f"{what}: the key is not the first certificate's")
    return FileIdentity(
        signer=KeySigner(key), x5c=tuple(encode_x5c(list(chain))), leaf=chain[0], key=key
    )
