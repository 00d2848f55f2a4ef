"""Presenting ISO/IEC 18013-5 mdocs over OpenID4VP 1.0 (format ``mso_mdoc``).

The wallet discloses element by element (a DCQL claim path is ``[namespace, element]``)
and signs with the device key the MSO names, over DeviceAuthentication built from the
SessionTranscript of Appendix B.2.6.1: the client_id, the nonce, the response_uri and,
when the response is encrypted (``direct_post.jwt``), the SHA-256 JWK thumbprint of the
very key the response is encrypted to. The DeviceResponse travels base64url-encoded
(Appendix B.2.4).
"""

from __future__ import annotations

from collections.abc import Sequence

from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from passerelle import JsonObject, JsonValue, PasserelleError, Reason
from passerelle._json import b64url_decode, b64url_encode
from passerelle.dcql import CandidateCredential, DcqlQuery
from passerelle.jose import PrivateKey, jwk_thumbprint
from passerelle.mdoc import create_device_response, create_openid4vp_session_transcript
from passerelle.oid4vp import AuthorizationRequest, ResponseMode, response_encryption_key
from passerelle.sd_jwt import ClaimPath

from .quirks import WalletBehaviour

__all__ = ["mdoc_candidate", "present_mdoc", "retained_paths", "session_transcript_for"]


def mdoc_candidate(
    *,
    credential_id: str,
    doctype: str,
    claims: JsonObject,
    authority_keys: frozenset[str],
    trust_tags: frozenset[str],
) -> CandidateCredential:
    return CandidateCredential(
        credential_id=credential_id,
        format="mso_mdoc",
        claims=claims,
        doctype=doctype,
        authority_keys=authority_keys,
        trust_tags=trust_tags,
    )


def retained_paths(
    query: DcqlQuery, query_id: str, disclose: Sequence[ClaimPath]
) -> list[JsonValue]:
    """The disclosed paths the verifier says it will keep (``intent_to_retain``,
    OpenID4VP 1.0 Appendix B.2.4), for the person to see before consenting."""
    asked = query.credential(query_id)
    kept = {c.path for c in asked.claims or () if c.intent_to_retain}
    return [list[JsonValue](p) for p in disclose if p in kept]


def session_transcript_for(request: AuthorizationRequest, behaviour: WalletBehaviour) -> bytes:
    """The SessionTranscript of this request, as the verifier must build it too."""
    thumbprint = None
    encrypted = request.response_mode is ResponseMode.DIRECT_POST_JWT
    metadata = request.client_metadata
    if encrypted and behaviour.mdoc_bind_encryption_key:
        if metadata is None or metadata.jwks is None:
            raise PasserelleError(
                Reason.OID4VP_CLIENT_METADATA_INVALID, "direct_post.jwt without a key to encrypt to"
            )
        key = response_encryption_key(behaviour.encryption_keys(metadata.jwks))
        thumbprint = b64url_decode(jwk_thumbprint(key))
    return create_openid4vp_session_transcript(
        client_id=request.client_id,
        nonce=request.nonce,
        response_uri=request.response_uri,
        jwk_thumbprint=thumbprint,
    )


def _disclosed(disclose: Sequence[ClaimPath], claims: JsonObject) -> dict[str, list[str]]:
    chosen: dict[str, list[str]] = {}
    for path in disclose:
        if not path:  # the empty path (disclose_all quirk): every element
            for namespace, elements in claims.items():
                if isinstance(elements, dict):
                    chosen.setdefault(namespace, []).extend(elements)
            continue
        if len(path) != 2 or not all(isinstance(p, str) for p in path):
            raise PasserelleError(
                Reason.DCQL_INVALID_QUERY, f"an mso_mdoc claim path is [namespace, element]: {path}"
            )
        namespace, element = str(path[0]), str(path[1])
        if element not in chosen.setdefault(namespace, []):
            chosen[namespace].append(element)
    return chosen


def present_mdoc(
    token: str,
    *,
    claims: JsonObject,
    holder_key: PrivateKey,
    disclose: Sequence[ClaimPath],
    request: AuthorizationRequest,
    behaviour: WalletBehaviour,
) -> str:
    """A base64url DeviceResponse disclosing exactly ``disclose`` of the mdoc ``token``."""
    if not isinstance(holder_key, ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey):
        raise PasserelleError(Reason.JWK_UNSUPPORTED, "an mdoc device key is EC or Ed25519")
    response = create_device_response(
        b64url_decode(token),
        disclose=_disclosed(disclose, claims),
        session_transcript=session_transcript_for(request, behaviour),
        device_key=holder_key,
    )
    return b64url_encode(response)
