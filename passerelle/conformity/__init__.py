"""Conformance attestations: a conformance run's result for one target, issued as a
W3C VC 2.0 credential secured as ``vc+jwt`` by a laboratory on the trust lists.

Build the credential from a run's summary, sign it, and verify it again: the signature
and the signer's ``x5c`` chain against the lists (the same trust evaluation as any
credential), its validity period, its shape, and optionally the digest of the report it
summarises and the subject it is about.
"""

from ._attestation import (
    CONFORMANCE_ATTESTATION_TYPE,
    ConformanceSummary,
    VerifiedConformanceAttestation,
    build_conformance_attestation,
    report_digest,
    sign_conformance_attestation,
    verify_conformance_attestation,
)

__all__ = [
    "CONFORMANCE_ATTESTATION_TYPE",
    "ConformanceSummary",
    "VerifiedConformanceAttestation",
    "build_conformance_attestation",
    "report_digest",
    "sign_conformance_attestation",
    "verify_conformance_attestation",
]
