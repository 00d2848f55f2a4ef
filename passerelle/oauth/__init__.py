"""OAuth 2.0 extensions HAIP 1.0 asks of an issuer: DPoP (RFC 9449) and
Attestation-Based Client Authentication (draft -07, the Wallet Attestation of
OpenID4VCI 1.0 Appendix E).

Pure: proofs in, verified objects or one :class:`~passerelle.PasserelleError` out.
Single-use identifiers are remembered through a :class:`JtiReplayRegistry` the
service provides; clocks and randomness are passed in.
"""

from ._client_attestation import (
    ATTESTATION_HEADER,
    ATTESTATION_POP_HEADER,
    ATTESTATION_POP_TYP,
    ATTESTATION_TYP,
    AUTH_METHOD,
    CHALLENGE_HEADER,
    VerifiedClientAttestation,
    attestation_challenge_response,
    client_attestation_metadata,
    create_client_attestation,
    create_client_attestation_pop,
    make_attestation_challenge,
    read_client_attestation_headers,
    verify_client_attestation,
)
from ._dpop import (
    DPOP_HEADER,
    DPOP_NONCE_HEADER,
    DPOP_TYP,
    AccessTokenCredentials,
    DpopErrorResponse,
    ProtectedRequest,
    TokenScheme,
    VerifiedDpopProof,
    access_token_hash,
    check_dpop_jkt,
    confirmation_claim,
    create_dpop_proof,
    dpop_error_response,
    make_dpop_nonce,
    normalize_htu,
    parse_authorization_header,
    read_bound_jkt,
    read_dpop_header,
    read_dpop_nonce,
    verify_dpop_proof,
    verify_protected_request,
)
from ._replay import JtiReplayRegistry

__all__ = [
    "ATTESTATION_HEADER",
    "ATTESTATION_POP_HEADER",
    "ATTESTATION_POP_TYP",
    "ATTESTATION_TYP",
    "AUTH_METHOD",
    "CHALLENGE_HEADER",
    "DPOP_HEADER",
    "DPOP_NONCE_HEADER",
    "DPOP_TYP",
    "AccessTokenCredentials",
    "DpopErrorResponse",
    "JtiReplayRegistry",
    "ProtectedRequest",
    "TokenScheme",
    "VerifiedClientAttestation",
    "VerifiedDpopProof",
    "access_token_hash",
    "attestation_challenge_response",
    "check_dpop_jkt",
    "client_attestation_metadata",
    "confirmation_claim",
    "create_client_attestation",
    "create_client_attestation_pop",
    "create_dpop_proof",
    "dpop_error_response",
    "make_attestation_challenge",
    "make_dpop_nonce",
    "normalize_htu",
    "parse_authorization_header",
    "read_bound_jkt",
    "read_client_attestation_headers",
    "read_dpop_header",
    "read_dpop_nonce",
    "verify_client_attestation",
    "verify_dpop_proof",
    "verify_protected_request",
]
