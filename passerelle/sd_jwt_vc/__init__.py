"""SD-JWT VC (draft-ietf-oauth-sd-jwt-vc): credentials of type ``dc+sd-jwt``."""

from ._credential import (
    NEVER_DISCLOSABLE,
    SD_JWT_VC_TYP,
    SPEC_VERSION,
    VerifiedSdJwtVc,
    check_sd_jwt_vc_claims,
    disclosable_paths,
    issue_sd_jwt_vc,
    verify_sd_jwt_vc,
)
from ._issuer_key import (
    IssuerKeyMethod,
    IssuerKeyPolicy,
    ResolvedIssuerKey,
    is_insecure_loopback,
    jwt_vc_issuer_metadata_url,
    resolve_issuer_key,
    resolve_issuer_key_from,
)

__all__ = [
    "NEVER_DISCLOSABLE",
    "SD_JWT_VC_TYP",
    "SPEC_VERSION",
    "IssuerKeyMethod",
    "IssuerKeyPolicy",
    "ResolvedIssuerKey",
    "VerifiedSdJwtVc",
    "check_sd_jwt_vc_claims",
    "disclosable_paths",
    "is_insecure_loopback",
    "issue_sd_jwt_vc",
    "jwt_vc_issuer_metadata_url",
    "resolve_issuer_key",
    "resolve_issuer_key_from",
    "verify_sd_jwt_vc",
]
