"""X.509 for Passerelle: the development PKI, ``x5c`` chain validation, and the
OpenID4VP ``x509_san_dns`` / ``x509_hash`` client identifiers.

Path validation is cryptography's ``x509.verification`` with extension policies
for document signers (see :func:`verify_x5c_chain`); nothing here re-implements it.
"""

from ._build import (
    LeafUsage,
    build_ca_certificate,
    build_leaf_certificate,
    build_name,
    certificate_to_der,
    certificate_to_pem,
    decode_unverified_x5c,
    draw_serial_number,
    encode_x5c,
    load_certificate_der,
    load_certificate_pem,
)
from ._client_id import check_x509_hash, check_x509_san_dns, san_dns_names, x509_hash
from ._verify import (
    TrustAnchors,
    VerifiedChain,
    check_validity,
    find_extension,
    validate_path,
    verify_certificate_chain,
    verify_haip_x5c,
    verify_x5c_chain,
)

__all__ = [
    "LeafUsage",
    "TrustAnchors",
    "VerifiedChain",
    "build_ca_certificate",
    "build_leaf_certificate",
    "build_name",
    "certificate_to_der",
    "certificate_to_pem",
    "check_validity",
    "check_x509_hash",
    "check_x509_san_dns",
    "decode_unverified_x5c",
    "draw_serial_number",
    "encode_x5c",
    "find_extension",
    "load_certificate_der",
    "load_certificate_pem",
    "san_dns_names",
    "validate_path",
    "verify_certificate_chain",
    "verify_haip_x5c",
    "verify_x5c_chain",
    "x509_hash",
]
