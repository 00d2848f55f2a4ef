"""An mdoc issuing world for tests: an IACA, a document signer, a device key, all
generated here, and helpers that re-sign a tampered MSO with the real DS key."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import mdoc
from passerelle.mdoc._cose import sign_cose_sign1

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
CLIENT_ID = "x509_san_dns:verifier.example.eu"
NONCE = "n-0S6_WzA2Mj"
RESPONSE_URI = "https://verifier.example.eu/response"

MDL_ELEMENTS: dict[str, object] = {
    "family_name": "Tremblay",
    "given_name": "Élodie",
    "birth_date": date(1990, 3, 14),
    "issue_date": date(2026, 1, 10),
    "expiry_date": date(2031, 1, 10),
    "issuing_country": "CA",
    "issuing_authority": "Ministère des Transports du Québec",
    "document_number": "T6543-210987-01",
    "age_over_18": True,
    "age_over_21": True,
    "age_over_65": False,
    "driving_privileges": [{"vehicle_category_code": "B", "issue_date": date(2010, 5, 1)}],
}


class SystemRandom:
    def token_bytes(self, n: int, /) -> bytes:
        return secrets.token_bytes(n)


def make_iaca(
    key: ec.EllipticCurvePrivateKey, *, country: str = "CA", days: int = 3650
) -> x509.Certificate:
    return mdoc.build_iaca_certificate(
        key=key,
        common_name="Passerelle test IACA",
        country=country,
        issuer_alt_uri="https://iaca.example.ca",
        not_before=NOW - timedelta(days=30),
        not_after=NOW - timedelta(days=30) + timedelta(days=days),
        serial=x509.random_serial_number(),
    )


def make_ds(
    iaca: x509.Certificate,
    iaca_key: ec.EllipticCurvePrivateKey,
    ds_key: ec.EllipticCurvePrivateKey,
    *,
    not_before: datetime | None = None,
    days: int = 365,
) -> x509.Certificate:
    start = not_before or NOW - timedelta(days=10)
    return mdoc.build_document_signer_certificate(
        public_key=ds_key.public_key(),
        common_name="Passerelle test document signer",
        iaca=iaca,
        iaca_key=iaca_key,
        issuer_alt_uri="https://iaca.example.ca",
        not_before=start,
        not_after=start + timedelta(days=days),
        serial=x509.random_serial_number(),
    )


@dataclass
class World:
    iaca_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    ds_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    device_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    iaca: x509.Certificate = field(init=False)
    ds: x509.Certificate = field(init=False)

    def __post_init__(self) -> None:
        self.iaca = make_iaca(self.iaca_key)
        self.ds = make_ds(self.iaca, self.iaca_key, self.ds_key)

    def validity(self, *, days: int = 365) -> mdoc.ValidityInfo:
        signed = NOW - timedelta(days=1)
        return mdoc.ValidityInfo(
            signed=signed, valid_from=signed, valid_until=signed + timedelta(days=days)
        )

    def issue(
        self,
        *,
        elements: dict[str, object] | None = None,
        status: mdoc.StatusReference | None = None,
        digest_algorithm: str = "SHA-256",
    ) -> bytes:
        return mdoc.create_issuer_signed(
            doc_type=mdoc.DOCTYPE_MDL,
            namespaces={mdoc.NAMESPACE_MDL: elements or MDL_ELEMENTS},
            device_key=self.device_key.public_key(),
            validity=self.validity(),
            signer_key=self.ds_key,
            certificate_chain=[self.ds],
            random=SystemRandom(),
            digest_algorithm=digest_algorithm,
            status=status,
        )

    def transcript(self, nonce: str = NONCE) -> bytes:
        return mdoc.create_openid4vp_session_transcript(
            client_id=CLIENT_ID, nonce=nonce, response_uri=RESPONSE_URI, jwk_thumbprint=None
        )

    def present(self, issuer_signed: bytes, *elements: str, nonce: str = NONCE) -> bytes:
        return mdoc.create_device_response(
            issuer_signed,
            disclose={mdoc.NAMESPACE_MDL: elements or ("family_name", "age_over_18")},
            session_transcript=self.transcript(nonce),
            device_key=self.device_key,
        )

    def resign_mso(
        self,
        issuer_signed: bytes,
        mutate: Callable[[dict[str, object]], None],
        *,
        protected: bytes | None = None,
        encode_mso: Callable[[dict[str, object]], bytes] = cbor2.dumps,
    ) -> bytes:
        """The same IssuerSigned with its MSO changed by ``mutate`` and signed again
        by the genuine document signer (so only the mutation is at fault)."""
        decoded = cbor2.loads(issuer_signed)
        issuer_auth = decoded["issuerAuth"]
        mso = cbor2.loads(cbor2.loads(issuer_auth[2]).value)
        mutate(mso)
        resigned = sign_cose_sign1(
            key=self.ds_key,
            payload=cbor2.dumps(cbor2.CBORTag(24, encode_mso(mso))),
            unprotected=issuer_auth[1],
        )
        if protected is not None:
            resigned = _sign_with_protected(self.ds_key, protected, resigned)
        decoded["issuerAuth"] = resigned
        return bytes(cbor2.dumps(decoded))


def _sign_with_protected(
    key: ec.EllipticCurvePrivateKey, protected: bytes, sign1: list[object]
) -> list[object]:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    payload = sign1[2]
    assert isinstance(payload, bytes)
    message = cbor2.dumps(["Signature1", protected, b"", payload])
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    return [protected, sign1[1], payload, r.to_bytes(32, "big") + s.to_bytes(32, "big")]


def retag_items(issuer_signed: bytes, mutate: Callable[[list[dict[str, object]]], None]) -> bytes:
    """The IssuerSigned with its mDL items (decoded) changed by ``mutate``."""
    decoded = cbor2.loads(issuer_signed)
    items = [cbor2.loads(tag.value) for tag in decoded["nameSpaces"][mdoc.NAMESPACE_MDL]]
    mutate(items)
    decoded["nameSpaces"][mdoc.NAMESPACE_MDL] = [
        cbor2.CBORTag(24, cbor2.dumps(item)) for item in items
    ]
    return bytes(cbor2.dumps(decoded))


def indefinite_map(value: dict[str, object]) -> bytes:
    """``value`` as an indefinite-length CBOR map (0xbf ... 0xff), members definite."""
    return b"\xbf" + b"".join(cbor2.dumps(k) + cbor2.dumps(v) for k, v in value.items()) + b"\xff"
