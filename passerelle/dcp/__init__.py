"""Decentralized Claims Protocol 1.0 (Eclipse Dataspace DCP), sans-I/O.

Self-Issued ID Tokens, ``did:web`` identifiers and DID documents, the presentation
query and response messages of the Resolution API, and the verification of what a
Credential Service answers under the ``vc20-bssl/jwt`` profile. Services fetch DID
documents, call ``POST /presentations/query`` and fetch status lists; everything that
decides is here.
"""

from ._did import (
    ASSERTION_METHOD,
    AUTHENTICATION,
    CAPABILITY_INVOCATION,
    CREDENTIAL_SERVICE_TYPE,
    credential_service_endpoint,
    did_of_key_id,
    did_web_base_url,
    did_web_to_url,
    key_resolver,
    url_to_did_web,
    verification_key,
    verification_method,
)
from ._messages import (
    DCP_CONTEXT,
    PRESENTATION_QUERY_MESSAGE,
    PRESENTATION_RESPONSE_MESSAGE,
    SCOPE_VC_ID_ALIAS,
    SCOPE_VC_TYPE_ALIAS,
    is_presentation_definition_query,
    parse_presentation_query,
    parse_presentation_response,
    presentation_query,
    presentation_response,
    scope_for_type,
    type_of_scope,
)
from ._presentation import (
    PROFILE,
    VerifiedDcpCredential,
    VerifiedDcpPresentation,
    create_dcp_presentation,
    verify_dcp_presentation,
    verify_dcp_presentations,
)
from ._token import (
    DCP_ALGORITHMS,
    SelfIssuedToken,
    create_self_issued_token,
    verify_self_issued_token,
)

__all__ = [
    "ASSERTION_METHOD",
    "AUTHENTICATION",
    "CAPABILITY_INVOCATION",
    "CREDENTIAL_SERVICE_TYPE",
    "DCP_ALGORITHMS",
    "DCP_CONTEXT",
    "PRESENTATION_QUERY_MESSAGE",
    "PRESENTATION_RESPONSE_MESSAGE",
    "PROFILE",
    "SCOPE_VC_ID_ALIAS",
    "SCOPE_VC_TYPE_ALIAS",
    "SelfIssuedToken",
    "VerifiedDcpCredential",
    "VerifiedDcpPresentation",
    "create_dcp_presentation",
    "create_self_issued_token",
    "credential_service_endpoint",
    "did_of_key_id",
    "did_web_base_url",
    "did_web_to_url",
    "is_presentation_definition_query",
    "key_resolver",
    "parse_presentation_query",
    "parse_presentation_response",
    "presentation_query",
    "presentation_response",
    "scope_for_type",
    "type_of_scope",
    "url_to_did_web",
    "verification_key",
    "verification_method",
    "verify_dcp_presentation",
    "verify_dcp_presentations",
    "verify_self_issued_token",
]
