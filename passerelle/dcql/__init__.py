"""Digital Credentials Query Language, OpenID4VP 1.0 §6 and §7.

``parse_dcql_query`` turns the verifier's ``dcql_query`` into models; the wallet
answers it with ``match_dcql`` (which credentials, which claims — the minimum); the
verifier checks the ``vp_token`` against it with ``check_dcql_response``.
Trusted authority types ``passerelle_lote`` and ``passerelle_trqp`` are Passerelle
extensions (see :mod:`._models`).
"""

from ._match import match_dcql, process_claims_path, process_mdoc_claims_path
from ._models import (
    FORMAT_JWT_VC_JSON,
    FORMAT_LDP_VC,
    FORMAT_MSO_MDOC,
    FORMAT_SD_JWT_VC,
    SPEC_VERSION,
    TRUSTED_AUTHORITY_AKI,
    TRUSTED_AUTHORITY_ETSI_TL,
    TRUSTED_AUTHORITY_OPENID_FEDERATION,
    TRUSTED_AUTHORITY_PASSERELLE_LOTE,
    TRUSTED_AUTHORITY_PASSERELLE_TRQP,
    W3C_FORMATS,
    CandidateCredential,
    ClaimPath,
    ClaimsQuery,
    ClaimValue,
    CredentialQuery,
    CredentialSetQuery,
    DcqlCheck,
    DcqlMatch,
    DcqlQuery,
    MatchedCredential,
    PresentedCredential,
    TrustedAuthoritiesQuery,
)
from ._parse import parse_dcql_query
from ._verify import check_dcql_response

__all__ = [
    "FORMAT_JWT_VC_JSON",
    "FORMAT_LDP_VC",
    "FORMAT_MSO_MDOC",
    "FORMAT_SD_JWT_VC",
    "SPEC_VERSION",
    "TRUSTED_AUTHORITY_AKI",
    "TRUSTED_AUTHORITY_ETSI_TL",
    "TRUSTED_AUTHORITY_OPENID_FEDERATION",
    "TRUSTED_AUTHORITY_PASSERELLE_LOTE",
    "TRUSTED_AUTHORITY_PASSERELLE_TRQP",
    "W3C_FORMATS",
    "CandidateCredential",
    "ClaimPath",
    "ClaimValue",
    "ClaimsQuery",
    "CredentialQuery",
    "CredentialSetQuery",
    "DcqlCheck",
    "DcqlMatch",
    "DcqlQuery",
    "MatchedCredential",
    "PresentedCredential",
    "TrustedAuthoritiesQuery",
    "check_dcql_response",
    "match_dcql",
    "parse_dcql_query",
    "process_claims_path",
    "process_mdoc_claims_path",
]
