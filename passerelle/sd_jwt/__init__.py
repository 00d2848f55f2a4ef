"""SD-JWT, RFC 9901: issue, present, verify, with key binding.

Typical use::

    token = issue_sd_jwt(claims, disclosable=[("given_name",)], signer=s, random=r)
    shown = present_sd_jwt(token, disclose=[("given_name",)], key_binding=KeyBindingInput(...))
    verified = verify_sd_jwt(shown, issuer_key=k, algorithms=["ES256"], now=now,
                             key_binding=KeyBindingCheck(nonce=n, audience=aud))
"""

from ._issue import KeyBindingInput, create_kb_jwt, issue_sd_jwt, path_matches, present_sd_jwt
from ._models import (
    HASH_ALGORITHMS,
    ClaimPath,
    Disclosure,
    KeyBindingCheck,
    RevealedClaim,
    SdJwt,
    VerifiedKeyBinding,
    VerifiedSdJwt,
    hash_b64url,
    parse_sd_jwt,
)
from ._process import ProcessedPayload, process_disclosures
from ._verify import KB_JWT_TYP, holder_key_of, verify_key_binding, verify_sd_jwt

__all__ = [
    "HASH_ALGORITHMS",
    "KB_JWT_TYP",
    "ClaimPath",
    "Disclosure",
    "KeyBindingCheck",
    "KeyBindingInput",
    "ProcessedPayload",
    "RevealedClaim",
    "SdJwt",
    "VerifiedKeyBinding",
    "VerifiedSdJwt",
    "create_kb_jwt",
    "hash_b64url",
    "holder_key_of",
    "issue_sd_jwt",
    "parse_sd_jwt",
    "path_matches",
    "present_sd_jwt",
    "process_disclosures",
    "verify_key_binding",
    "verify_sd_jwt",
]
