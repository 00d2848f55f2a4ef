"""W3C Verifiable Credentials as JWTs: ``jwt_vc_json`` (VCDM 1.1) and ``vc+jwt`` (VCDM 2.0).

Issue and verify credentials in both forms, create and verify presentations with holder
binding, check ``credentialSchema`` with JSON Schema, and encode/resolve ``did:jwk``.
Issuer keys are the caller's to resolve and trust; verify functions take the key.
"""

from ._did_jwk import did_jwk_from_key, did_jwk_key_id, resolve_did_jwk, resolve_did_jwk_holder_key
from ._jwt_vc_json import issue_jwt_vc_json, verify_jwt_vc_json
from ._models import (
    VC_V1_CONTEXT,
    VC_V2_CONTEXT,
    CredentialFormat,
    CredentialSchemaRef,
    HolderKeyResolver,
    VerifiedPresentation,
    VerifiedW3cCredential,
)
from ._presentation import ENVELOPED_VC_PREFIX, create_vp_jwt, verify_vp_jwt
from ._schema import JSON_SCHEMA_TYPE, check_credential_schema
from ._vc_jose import VC_JWT_TYP, VP_JWT_TYP, issue_vc_jose, verify_vc_jose

__all__ = [
    "ENVELOPED_VC_PREFIX",
    "JSON_SCHEMA_TYPE",
    "VC_JWT_TYP",
    "VC_V1_CONTEXT",
    "VC_V2_CONTEXT",
    "VP_JWT_TYP",
    "CredentialFormat",
    "CredentialSchemaRef",
    "HolderKeyResolver",
    "VerifiedPresentation",
    "VerifiedW3cCredential",
    "check_credential_schema",
    "create_vp_jwt",
    "did_jwk_from_key",
    "did_jwk_key_id",
    "issue_jwt_vc_json",
    "issue_vc_jose",
    "resolve_did_jwk",
    "resolve_did_jwk_holder_key",
    "verify_jwt_vc_json",
    "verify_vc_jose",
    "verify_vp_jwt",
]
