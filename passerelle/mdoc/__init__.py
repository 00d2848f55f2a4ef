"""ISO/IEC 18013-5 mdoc (OpenID4VCI/VP format ``mso_mdoc``): issuing an IssuerSigned,
presenting a DeviceResponse element by element, verifying both, and the OpenID4VP 1.0
SessionTranscript. Pure: ``now`` and randomness come from the caller.

CBOR is ``cbor2`` (decoding with duplicate-key and, where a rule forbids them,
indefinite-length refusals). COSE_Sign1 and COSE_Mac0 are implemented here over
``cryptography`` rather than through ``pycose``: mdoc needs one small structure each
(a Sig_structure or MAC_structure of four items, RFC 9052 §4.4 and §6.3), and doing it
directly keeps the algorithm set closed (ES256, ES384, ES512, EdDSA; HMAC 256/256),
keeps the verify-or-raise contract and reason codes of the rest of Passerelle, and
avoids pycose's last release (2023) with its extra dependencies (``ecdsa``,
``certvalidator``) and untyped API under ``mypy --strict``. pycose still runs in the
interop tests, inside the PyPI peer ``pymdoccbor``, which checks our bytes.

Certificates: the document signer certificate travels in ``x5chain`` (COSE header 33)
and is validated to an IACA anchor with cryptography's path validation and the
ISO/IEC 18013-5 Annex B profile (see :func:`verify_document_signer_chain`).
"""

from ._cose import (
    ALG_EDDSA,
    ALG_ES256,
    ALG_ES384,
    ALG_ES512,
    DevicePrivateKey,
    DevicePublicKey,
    cose_key_from_public,
    public_key_from_cose_key,
)
from ._create import create_device_response, create_issuer_signed
from ._models import (
    DOCTYPE_MDL,
    DOCTYPE_PID,
    NAMESPACE_MDL,
    NAMESPACE_PID,
    StatusReference,
    ValidityInfo,
    VerifiedMdoc,
)
from ._transcript import (
    create_openid4vp_dc_api_session_transcript,
    create_openid4vp_session_transcript,
    device_authentication_bytes,
)
from ._verify import (
    DIGEST_ALGORITHMS,
    UnverifiedIssuerSigned,
    decode_unverified_device_response,
    decode_unverified_issuer_signed,
    decode_unverified_mdoc,
    verify_device_response,
    verify_issuer_signed,
)
from ._x509 import (
    MDL_DS_EKU,
    build_document_signer_certificate,
    build_iaca_certificate,
    verify_document_signer_chain,
)

__all__ = [
    "ALG_EDDSA",
    "ALG_ES256",
    "ALG_ES384",
    "ALG_ES512",
    "DIGEST_ALGORITHMS",
    "DOCTYPE_MDL",
    "DOCTYPE_PID",
    "MDL_DS_EKU",
    "NAMESPACE_MDL",
    "NAMESPACE_PID",
    "DevicePrivateKey",
    "DevicePublicKey",
    "StatusReference",
    "UnverifiedIssuerSigned",
    "ValidityInfo",
    "VerifiedMdoc",
    "build_document_signer_certificate",
    "build_iaca_certificate",
    "cose_key_from_public",
    "create_device_response",
    "create_issuer_signed",
    "create_openid4vp_dc_api_session_transcript",
    "create_openid4vp_session_transcript",
    "decode_unverified_device_response",
    "decode_unverified_issuer_signed",
    "decode_unverified_mdoc",
    "device_authentication_bytes",
    "public_key_from_cose_key",
    "verify_device_response",
    "verify_document_signer_chain",
    "verify_issuer_signed",
]
