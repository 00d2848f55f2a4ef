"""The mdoc issuer PKI: IACA and document signer (DS) certificates (ISO/IEC 18013-5
Annex B), built and validated.

Path building and RFC 5280 validation are cryptography's ``x509.verification``, with
extension policies for this profile instead of its Web-PKI defaults. Before the
library runs, the profile rules below are checked one by one, each with its own
reason, because the library reports every failure as one ``VerificationError``.

What is enforced (Annex B, Tables B.1 IACA and B.3 document signer):

- DS ``extKeyUsage``: present, contains ``1.0.18013.5.1.2`` (id-mdl-kp-mdlDS). Its
  criticality is not judged: the Annex D example marks it critical, but the readings of
  Table B.3 in public implementations disagree, so either is accepted.
- DS ``keyUsage``: present, digitalSignature set, keyCertSign not set; not a CA.
- DS validity: at most 457 days from notBefore to notAfter.
- DS and IACA ``issuerAltName``: present (the issuing authority's contact, email or URL).
- IACA ``basicConstraints``: critical, cA true, pathLenConstraint 0.
- IACA ``keyUsage``: critical, keyCertSign and cRLSign set.
- The MSO ``signed`` instant lies within the DS certificate's validity (checked by the
  verifier with the MSO at hand, :mod:`._verify`).

Not enforced (named so nobody assumes it is): CRL distribution points, the exact
serial-number entropy, subject key identifier presence, the curve list of Annex B, the
IACA's maximum validity, and countryName agreement between DS and IACA: none of these
could be stated here from a text this project can quote, and a rule stricter than the
standard would refuse conformant issuers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import NameOID
from cryptography.x509.verification import (
    Criticality,
    ExtensionPolicy,
    Policy,
)

from .._errors import PasserelleError, Reason, local_error
from ..x509 import check_validity, find_extension, validate_path
from ._cose import DevicePublicKey

__all__ = [
    "MDL_DS_EKU",
    "build_document_signer_certificate",
    "build_iaca_certificate",
    "verify_document_signer_chain",
]

#: id-mdl-kp-mdlDS (ISO/IEC 18013-5 Annex B).
MDL_DS_EKU = x509.ObjectIdentifier("1.0.18013.5.1.2")
_DS_MAX_DAYS = 457
_MAX_CHAIN = 4


def _profile(detail: str) -> PasserelleError:
    return PasserelleError(Reason.MDOC_CERTIFICATE_PROFILE, detail)


def _country(name: x509.Name) -> str | None:
    values = name.get_attributes_for_oid(NameOID.COUNTRY_NAME)
    return str(values[0].value) if values else None


def _check_ds_profile(ds: x509.Certificate) -> None:
    eku = find_extension(ds, x509.ExtendedKeyUsage)
    if eku is None or not isinstance(eku.value, x509.ExtendedKeyUsage):
        raise _profile("the document signer certificate has no extKeyUsage")
    if MDL_DS_EKU not in list(eku.value):
        raise _profile("the document signer extKeyUsage lacks 1.0.18013.5.1.2")
    ku = find_extension(ds, x509.KeyUsage)
    if ku is None or not isinstance(ku.value, x509.KeyUsage):
        raise _profile("the document signer certificate has no keyUsage")
    if not ku.value.digital_signature or ku.value.key_cert_sign:
        raise _profile("the document signer keyUsage must be digitalSignature, not keyCertSign")
    bc = find_extension(ds, x509.BasicConstraints)
    if bc is not None and isinstance(bc.value, x509.BasicConstraints) and bc.value.ca:
        raise _profile("the document signer certificate is a CA certificate")
    if find_extension(ds, x509.IssuerAlternativeName) is None:
        raise _profile("the document signer certificate has no issuerAltName")
    span = ds.not_valid_after_utc - ds.not_valid_before_utc
    if span > timedelta(days=_DS_MAX_DAYS):
        raise _profile(f"the document signer is valid for more than {_DS_MAX_DAYS} days")


def _check_iaca_profile(iaca: x509.Certificate) -> None:
    bc = find_extension(iaca, x509.BasicConstraints)
    if (
        bc is None
        or not isinstance(bc.value, x509.BasicConstraints)
        or not bc.critical
        or not bc.value.ca
        or bc.value.path_length != 0
    ):
        raise _profile("the IACA basicConstraints must be critical, cA, pathLenConstraint 0")
    ku = find_extension(iaca, x509.KeyUsage)
    if (
        ku is None
        or not isinstance(ku.value, x509.KeyUsage)
        or not ku.critical
        or not ku.value.key_cert_sign
        or not ku.value.crl_sign
    ):
        raise _profile("the IACA keyUsage must be critical keyCertSign and cRLSign")
    if find_extension(iaca, x509.IssuerAlternativeName) is None:
        raise _profile("the IACA certificate has no issuerAltName")


def _ds_eku(_p: Policy, _c: x509.Certificate, eku: x509.ExtendedKeyUsage) -> None:
    if MDL_DS_EKU not in list(eku):
        raise ValueError("document signer without id-mdl-kp-mdlDS")


# What the library checks of the DS on the path; the CA policy is the common one.
_DS_POLICY = (
    ExtensionPolicy.permit_all()
    .require_present(x509.ExtendedKeyUsage, Criticality.AGNOSTIC, _ds_eku)
    .require_present(x509.KeyUsage, Criticality.AGNOSTIC, None)
)


def verify_document_signer_chain(
    certs: Sequence[x509.Certificate],
    *,
    anchors: Sequence[x509.Certificate],
    now: datetime,
) -> tuple[tuple[x509.Certificate, ...], DevicePublicKey]:
    """Validate an ``x5chain`` (DS first) to one of the IACA ``anchors`` at ``now``.

    Returns the validated path (DS first, IACA last) and the DS public key. Raises
    ``x509.*`` for path faults and ``mdoc.certificate_profile`` for Annex B faults.
    """
    if now.tzinfo is None:
        raise local_error(Reason.INPUT_MALFORMED, "now must be timezone-aware")
    if not anchors:
        raise local_error(Reason.X509_CHAIN_INVALID, "no IACA trust anchors were given")
    if not certs:
        raise PasserelleError(Reason.MDOC_X5CHAIN_MISSING, "the x5chain is empty")
    if len(certs) > _MAX_CHAIN:
        raise PasserelleError(Reason.INPUT_TOO_LARGE, "the x5chain is too long")
    now = now.astimezone(UTC)
    ds = certs[0]
    _check_ds_profile(ds)
    check_validity(certs, now, leaf="the document signer certificate", header="x5chain")
    try:
        public_key = ds.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise PasserelleError(Reason.X509_MALFORMED, "the DS public key cannot be read") from exc
    if not isinstance(public_key, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        raise PasserelleError(Reason.MDOC_ALG_UNSUPPORTED, "the DS key is not EC or Ed25519")
    chain = validate_path(
        certs, anchors=anchors, now=now, max_chain_depth=_MAX_CHAIN, ee_policy=_DS_POLICY
    )
    _check_iaca_profile(chain[-1])
    return chain, public_key


# --- building (the development PKI and tests) -----------------------------------------


def _signature_hash(
    key: ec.EllipticCurvePrivateKey,
) -> hashes.SHA256 | hashes.SHA384 | hashes.SHA512:
    if isinstance(key.curve, ec.SECP384R1):
        return hashes.SHA384()
    if isinstance(key.curve, ec.SECP521R1):
        return hashes.SHA512()
    return hashes.SHA256()


def build_iaca_certificate(
    *,
    key: ec.EllipticCurvePrivateKey,
    common_name: str,
    country: str,
    issuer_alt_uri: str,
    not_before: datetime,
    not_after: datetime,
    serial: int,
) -> x509.Certificate:
    """A self-signed IACA root certificate with the Annex B extensions."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, country),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )
    public_key = key.public_key()
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.IssuerAlternativeName([x509.UniformResourceIdentifier(issuer_alt_uri)]),
            critical=False,
        )
        .sign(key, _signature_hash(key))
    )


def build_document_signer_certificate(
    *,
    public_key: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
    common_name: str,
    iaca: x509.Certificate,
    iaca_key: ec.EllipticCurvePrivateKey,
    issuer_alt_uri: str,
    not_before: datetime,
    not_after: datetime,
    serial: int,
) -> x509.Certificate:
    """A document signer certificate under ``iaca`` with the Annex B extensions."""
    country = _country(iaca.subject)
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if country is not None:
        attributes.insert(0, x509.NameAttribute(NameOID.COUNTRY_NAME, country))
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(iaca.subject)
        .public_key(public_key)
        .serial_number(serial)
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([MDL_DS_EKU]), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(iaca_key.public_key()),
            critical=False,
        )
        .add_extension(
            x509.IssuerAlternativeName([x509.UniformResourceIdentifier(issuer_alt_uri)]),
            critical=False,
        )
        .sign(iaca_key, _signature_hash(iaca_key))
    )
