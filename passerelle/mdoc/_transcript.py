"""The OpenID4VP 1.0 SessionTranscript (Appendix B.2.6, "Handover and
SessionTranscript Definitions").

Invocation via redirects, as the final text states it:

    If the presentation request is invoked using redirects, the SessionTranscript
    CBOR structure as defined in Section 9.1.5.1 in [ISO.18013-5] MUST be used with
    the following changes:
    * DeviceEngagementBytes MUST be null.
    * EReaderKeyBytes MUST be null.
    * Handover MUST be the OpenID4VPHandover CBOR structure as defined below.

    OpenID4VPHandover = [
      "OpenID4VPHandover", ; A fixed identifier for this handover type
      OpenID4VPHandoverInfoHash ; A cryptographic hash of OpenID4VPHandoverInfo
    ]
    ; Contains the sha-256 hash of OpenID4VPHandoverInfoBytes
    OpenID4VPHandoverInfoHash = bstr
    ; Contains the bytes of OpenID4VPHandoverInfo encoded as CBOR
    OpenID4VPHandoverInfoBytes = bstr .cbor OpenID4VPHandoverInfo
    OpenID4VPHandoverInfo = [ clientId, nonce, jwkThumbprint, responseUri ]

    If the response is encrypted, e.g., using direct_post.jwt, the third element
    MUST be the JWK SHA-256 Thumbprint as defined in [RFC7638], encoded as a Byte
    String, of the Verifier's public key used to encrypt the response. Otherwise,
    the third element MUST be null.

    The fourth element MUST be either the redirect_uri or response_uri request
    parameter, depending on which is present, as determined by the Response Mode.

The Digital Credentials API variant is ``OpenID4VPDCAPIHandover`` over
``[origin, nonce, jwkThumbprint]`` (the origin "MUST NOT be prefixed with origin:").

SessionTranscript values travel here as their CBOR encoding (``bytes``): the device
signature embeds the item itself, and the MAC key derivation hashes its tag-24 form.
"""

from __future__ import annotations

import hashlib

import cbor2

from .._errors import PasserelleError, Reason, local_error
from ._cbor import decode, encode

__all__ = [
    "create_openid4vp_dc_api_session_transcript",
    "create_openid4vp_session_transcript",
    "device_authentication_bytes",
]

_THUMBPRINT_SIZE = 32  # a SHA-256 JWK Thumbprint (RFC 7638 §3) is 32 octets


def _thumbprint(value: bytes | None) -> bytes | None:
    if value is None:
        return None
    if not isinstance(value, bytes) or len(value) != _THUMBPRINT_SIZE:
        raise local_error(
            Reason.INPUT_MALFORMED,
            "jwk_thumbprint must be the 32 raw octets of a SHA-256 JWK Thumbprint",
        )
    return value


def _session_transcript(identifier: str, info: list[object]) -> bytes:
    info_hash = hashlib.sha256(encode(info)).digest()
    return encode([None, None, [identifier, info_hash]])


def create_openid4vp_session_transcript(
    *, client_id: str, nonce: str, response_uri: str, jwk_thumbprint: bytes | None
) -> bytes:
    """The CBOR SessionTranscript of a redirect-invoked OpenID4VP 1.0 presentation.

    ``client_id`` is the full request parameter (with its Client Identifier Prefix);
    ``response_uri`` is the ``response_uri`` or ``redirect_uri`` parameter;
    ``jwk_thumbprint`` the raw SHA-256 thumbprint of the response encryption key when
    the response is encrypted (``direct_post.jwt``), otherwise None.
    """
    for name, value in (("client_id", client_id), ("nonce", nonce), ("response_uri", response_uri)):
        if not isinstance(value, str) or not value:
            raise local_error(Reason.INPUT_MALFORMED, f"{name} must be a non-empty string")
    return _session_transcript(
        "OpenID4VPHandover", [client_id, nonce, _thumbprint(jwk_thumbprint), response_uri]
    )


def create_openid4vp_dc_api_session_transcript(
    *, origin: str, nonce: str, jwk_thumbprint: bytes | None
) -> bytes:
    """The CBOR SessionTranscript of an OpenID4VP 1.0 request over the Digital
    Credentials API (``dc_api``: no thumbprint; ``dc_api.jwt``: the thumbprint)."""
    if not isinstance(origin, str) or not origin or origin.startswith("origin:"):
        raise local_error(Reason.INPUT_MALFORMED, "origin must be an origin without 'origin:'")
    if not isinstance(nonce, str) or not nonce:
        raise local_error(Reason.INPUT_MALFORMED, "nonce must be a non-empty string")
    return _session_transcript(
        "OpenID4VPDCAPIHandover", [origin, nonce, _thumbprint(jwk_thumbprint)]
    )


def device_authentication_bytes(
    *, session_transcript: bytes, doc_type: str, device_namespaces_raw: bytes
) -> bytes:
    """DeviceAuthenticationBytes: the detached payload of the device signature.

    ``session_transcript`` is embedded as the CBOR item it encodes, byte for byte; it
    must be one definite-length array of three items (18013-5 §9.1.5.1).
    """
    check_session_transcript(session_transcript)
    inner = (
        b"\x84"
        + encode("DeviceAuthentication")
        + session_transcript
        + encode(doc_type)
        + encode(cbor2.CBORTag(24, device_namespaces_raw))
    )
    return encode(cbor2.CBORTag(24, inner))


def check_session_transcript(session_transcript: bytes) -> None:
    """Refuse (as our caller's mistake) bytes that are not a SessionTranscript."""
    try:
        value = decode(session_transcript, what="SessionTranscript", definite=True)
    except PasserelleError as exc:
        raise local_error(exc.reason, f"session_transcript: {exc.detail}") from exc
    if not isinstance(value, list) or len(value) != 3:
        raise local_error(
            Reason.INPUT_MALFORMED, "session_transcript must encode a 3-element array"
        )
