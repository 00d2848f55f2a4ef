"""Published vectors: the OpenID4VP 1.0 Appendix B SessionTranscript examples, and the
ISO/IEC 18013-5 Annex D DeviceResponse with its IACA (tests/vectors/iso18013_5)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from pathlib import Path

import cbor2
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import mdoc
from passerelle._errors import PasserelleError, Reason
from passerelle.jose import jwk_thumbprint, load_public_jwk

VECTORS = Path(__file__).parents[1] / "vectors" / "iso18013_5"

# OpenID4VP 1.0, Appendix B.2.6.1: the input JWK, the OpenID4VPHandoverInfo, and the
# SessionTranscript hex of the non-normative examples (redirect invocation, encrypted).
SPEC_JWK = {
    "kty": "EC",
    "crv": "P-256",
    "x": "DxiH5Q4Yx3UrukE2lWCErq8N8bqC9CHLLrAwLz5BmE0",
    "y": "XtLM4-3h5o3HUH0MHVJV0kyq0iBlrBwlh8qEDMZ4-Pc",
    "use": "enc",
    "alg": "ECDH-ES",
    "kid": "1",
}
SPEC_HANDOVER_INFO = bytes.fromhex(
    "847818783530395f73616e5f646e733a6578616d706c652e636f6d782b6578633767"
    "426b786a7831726463397564527276654b7653734a4971383061766c58654c486847"
    "7771744158204283ec927ae0f208daaa2d026a814f2b22dca52cf85ffa8f3f8626c6"
    "bd669047781c68747470733a2f2f6578616d706c652e636f6d2f726573706f6e7365"
)
SPEC_SESSION_TRANSCRIPT = bytes.fromhex(
    "83f6f682714f70656e494434565048616e646f7665725820048bc053c00442af9b8e"
    "ed494cefdd9d95240d254b046b11b68013722aad38ac"
)
SPEC_DC_API_HANDOVER_INFO = bytes.fromhex(
    "837368747470733a2f2f6578616d706c652e636f6d782b6578633767426b786a7831"
    "726463397564527276654b7653734a4971383061766c58654c486847777174415820"
    "4283ec927ae0f208daaa2d026a814f2b22dca52cf85ffa8f3f8626c6bd669047"
)


def _thumbprint() -> bytes:
    # The example's thumbprint, as raw octets (jwk_thumbprint gives base64url).
    from passerelle._json import b64url_decode

    return b64url_decode(jwk_thumbprint(load_public_jwk(SPEC_JWK)))


def test_openid4vp_handover_info_matches_the_spec_example() -> None:
    info = cbor2.loads(SPEC_HANDOVER_INFO)
    assert info[2] == _thumbprint()
    transcript = mdoc.create_openid4vp_session_transcript(
        client_id=info[0], nonce=info[1], response_uri=info[3], jwk_thumbprint=_thumbprint()
    )
    assert transcript == SPEC_SESSION_TRANSCRIPT
    assert cbor2.loads(transcript)[2][1] == hashlib.sha256(SPEC_HANDOVER_INFO).digest()


def test_openid4vp_dc_api_handover_hashes_the_spec_info() -> None:
    origin, nonce, thumbprint = cbor2.loads(SPEC_DC_API_HANDOVER_INFO)
    transcript = mdoc.create_openid4vp_dc_api_session_transcript(
        origin=origin, nonce=nonce, jwk_thumbprint=thumbprint
    )
    assert cbor2.loads(transcript) == [
        None,
        None,
        ["OpenID4VPDCAPIHandover", hashlib.sha256(SPEC_DC_API_HANDOVER_INFO).digest()],
    ]


def _hex(name: str) -> bytes:
    return bytes.fromhex("".join((VECTORS / name).read_text().split()))


ANNEX_D_NOW = datetime(2020, 12, 1, tzinfo=UTC)


@pytest.fixture
def annex_d() -> tuple[bytes, bytes, x509.Certificate, ec.EllipticCurvePrivateKey]:
    response = _hex("annex_d_device_response.hex")
    session_transcript = cbor2.loads(_hex("annex_d_session_transcript_bytes.hex")).value
    iaca = x509.load_der_x509_certificate(_hex("annex_d_iaca.hex"))
    scalar = int.from_bytes(_hex("annex_d_ephemeral_reader_key_d.hex"), "big")
    return response, session_transcript, iaca, ec.derive_private_key(scalar, ec.SECP256R1())


def test_annex_d_device_response_verifies(
    annex_d: tuple[bytes, bytes, x509.Certificate, ec.EllipticCurvePrivateKey],
) -> None:
    response, transcript, iaca, reader = annex_d
    verified = mdoc.verify_device_response(
        response, session_transcript=transcript, anchors=[iaca], now=ANNEX_D_NOW, reader_key=reader
    )
    assert verified.doc_type == mdoc.DOCTYPE_MDL
    elements = verified.namespaces[mdoc.NAMESPACE_MDL]
    assert elements["family_name"] == "Doe"
    assert elements["document_number"] == "123456789"
    assert set(elements) == {
        "family_name",
        "issue_date",
        "expiry_date",
        "document_number",
        "portrait",
        "driving_privileges",
    }
    assert verified.device_auth == "mac"
    assert verified.iaca == iaca
    assert verified.validity.valid_until == datetime(2021, 10, 1, 13, 30, 2, tzinfo=UTC)


def test_annex_d_refusals(
    annex_d: tuple[bytes, bytes, x509.Certificate, ec.EllipticCurvePrivateKey],
) -> None:
    response, transcript, iaca, reader = annex_d
    options = {"anchors": [iaca], "reader_key": reader}

    def reason(data: bytes, **changes: object) -> Reason:
        kwargs: dict[str, object] = {"session_transcript": transcript, "now": ANNEX_D_NOW}
        kwargs.update(options)
        kwargs.update(changes)
        with pytest.raises(PasserelleError) as info:
            mdoc.verify_device_response(data, **kwargs)  # type: ignore[arg-type]
        return info.value.reason

    assert reason(response, now=datetime(2021, 11, 1, tzinfo=UTC)) == Reason.X509_EXPIRED
    other_reader = ec.generate_private_key(ec.SECP256R1())
    assert reason(response, reader_key=other_reader) == Reason.MDOC_DEVICE_SIGNATURE_INVALID
    assert (
        reason(response, session_transcript=cbor2.dumps([None, None, None]))
        == Reason.MDOC_DEVICE_SIGNATURE_INVALID
    )
    # "Doe" -> "Dof" inside the first IssuerSignedItem: the digest no longer matches.
    tampered = response.replace(b"elementValuecDoe", b"elementValuecDof", 1)
    assert tampered != response
    assert reason(tampered) == Reason.MDOC_DIGEST_MISMATCH


def test_annex_d_issuer_signed_taken_out_of_its_response_still_verifies(
    annex_d: tuple[bytes, bytes, x509.Certificate, ec.EllipticCurvePrivateKey],
) -> None:
    response, _, iaca, _ = annex_d
    (document,) = mdoc.decode_unverified_device_response(response)
    assert document.doc_type == mdoc.DOCTYPE_MDL
    assert document.digest_algorithm == "SHA-256"
    assert document.x5chain[0].subject.rfc4514_string() == "C=US,CN=utopia ds"
    verified = mdoc.verify_issuer_signed(document.encoded, anchors=[iaca], now=ANNEX_D_NOW)
    assert verified.namespaces[mdoc.NAMESPACE_MDL]["family_name"] == "Doe"
