"""OpenID4VP 1.0 §5.9.3 client identifiers bound to the leaf certificate of ``x5c``.

- ``x509_san_dns:<name>``: ``<name>`` "MUST be a DNS name and match a dNSName
  Subject Alternative Name (SAN) [RFC5280] entry in the leaf certificate".
- ``x509_hash:<value>``: "The value of x509_hash is the base64url-encoded value of
  the SHA-256 hash of the DER-encoded X.509 certificate."

These functions compare values only; the caller verifies the chain (and the request
signature) first, since the spec requires both.
"""

from __future__ import annotations

import hashlib
import hmac

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from .._errors import PasserelleError, Reason
from .._json import b64url_encode
from ._build import PARSE_ERRORS

__all__ = ["check_x509_hash", "check_x509_san_dns", "san_dns_names", "x509_hash"]


def x509_hash(cert: x509.Certificate) -> str:
    """The ``x509_hash`` client identifier value of a certificate (without the prefix)."""
    return b64url_encode(hashlib.sha256(cert.public_bytes(Encoding.DER)).digest())


def san_dns_names(cert: x509.Certificate) -> tuple[str, ...]:
    """The dNSName entries of the SAN extension, in order; empty when there is none."""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return ()
    except PARSE_ERRORS as exc:
        raise PasserelleError(Reason.X509_MALFORMED, f"certificate extensions: {exc}") from exc
    return tuple(san.value.get_values_for_type(x509.DNSName))


def check_x509_san_dns(cert: x509.Certificate, dns_name: str) -> None:
    """Raise ``x509.san_mismatch`` unless ``dns_name`` is a SAN dNSName of ``cert``.

    The match is exact up to ASCII case (DNS names are case-insensitive, RFC 4343).
    Wildcard entries are not expanded: the spec asks for a DNS name that matches an
    entry, and a client identifier is one name, not a pattern.
    """
    wanted = dns_name.lower()
    if not wanted or not wanted.isascii():
        raise PasserelleError(Reason.X509_SAN_MISMATCH, f"{dns_name!r} is not an ASCII DNS name")
    if not any(name.lower() == wanted for name in san_dns_names(cert)):
        raise PasserelleError(
            Reason.X509_SAN_MISMATCH, f"{dns_name!r} is not a dNSName SAN of the certificate"
        )


def check_x509_hash(cert: x509.Certificate, value: str) -> None:
    """Raise ``x509.hash_mismatch`` unless ``value`` is the ``x509_hash`` of ``cert``."""
    if not hmac.compare_digest(x509_hash(cert).encode("ascii"), value.encode("utf-8")):
        raise PasserelleError(
            Reason.X509_HASH_MISMATCH, "the x509_hash does not match the leaf certificate"
        )
