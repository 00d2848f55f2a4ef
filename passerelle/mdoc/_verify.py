"""Verifying mdocs: an IssuerSigned (issuance, wallet storage) or a DeviceResponse
(presentation), to a :class:`VerifiedMdoc` or one ``PasserelleError``.

Order of checks for each document: shape; the issuer's x5chain to an IACA anchor with
the Annex B profile; the MSO signature; the MSO (version, digest algorithm, docType,
validity window at ``now``, ``signed`` within the DS certificate's validity); every
disclosed element against its digest; then, for a DeviceResponse, the device
signature (or MAC) over DeviceAuthenticationBytes built from the caller's
SessionTranscript.

Rules quoted where they decide a refusal:

- ISO/IEC 18013-5 §9.1.2.5: the ``random`` salt of an IssuerSignedItem is at least 16 bytes.
- ISO/IEC 18013-5 §9.1.2.4: "validFrom" is not before "signed"; the MSO "docType"
  equals the document's docType; digest algorithms are SHA-256, SHA-384, SHA-512.
- ISO/IEC 18013-5 §9.3.1 (mdoc reader): the MSO is valid at the time of verification,
  and its ``signed`` instant lies within the document signer certificate's validity.
- Definite lengths in everything that is signed or digested (the protected header, the
  MobileSecurityObject, each IssuerSignedItem, DeviceNameSpaces): ISO/IEC 18013-5:2021
  §8.1 ("Encoding of data structures and data elements") asks for the preferred
  serialization of RFC 8949 §4.2.1, where "Indefinite-length items MUST NOT appear",
  and RFC 9052 §9 asks the same of the Sig_structure. The unsigned outer containers
  (DeviceResponse, IssuerSigned) are decoded liberally: nothing is hashed over them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .._errors import PasserelleError, Reason, local_error
from ._cbor import decode, encode, expect, member, unwrap_tag24
from ._cose import (
    HEADER_X5CHAIN,
    CoseSign1,
    DevicePublicKey,
    parse_cose_mac0,
    parse_cose_sign1,
    public_key_from_cose_key,
)
from ._models import StatusReference, ValidityInfo, VerifiedMdoc
from ._transcript import device_authentication_bytes
from ._x509 import verify_document_signer_chain

__all__ = [
    "DIGEST_ALGORITHMS",
    "UnverifiedIssuerSigned",
    "decode_unverified_device_response",
    "decode_unverified_issuer_signed",
    "decode_unverified_mdoc",
    "verify_device_response",
    "verify_issuer_signed",
]

#: MSO digestAlgorithm values (18013-5 §9.1.2.5) -> hashlib names.
DIGEST_ALGORITHMS: Mapping[str, str] = MappingProxyType(
    {"SHA-256": "sha256", "SHA-384": "sha384", "SHA-512": "sha512"}
)
_MIN_SALT = 16
_ZERO = timedelta(0)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnverifiedIssuerSigned:
    """An IssuerSigned taken apart without checking anything (wallet storage, inspect)."""

    doc_type: str
    #: namespace -> elementIdentifier -> the IssuerSignedItem bytes inside tag 24.
    items: Mapping[str, Mapping[str, bytes]]
    #: namespace -> elementIdentifier -> elementValue.
    elements: Mapping[str, Mapping[str, object]]
    #: The COSE_Sign1 issuerAuth as an array (protected bytes, unprotected, payload, signature).
    issuer_auth: tuple[object, ...]
    validity: ValidityInfo
    status: StatusReference | None
    digest_algorithm: str
    #: The x5chain as sent (document signer first), not validated.
    x5chain: tuple[x509.Certificate, ...]
    #: The IssuerSigned itself, CBOR-encoded (for :func:`verify_issuer_signed`).
    encoded: bytes


def _unwrap_mso(sign1: CoseSign1) -> dict[object, object]:
    if sign1.payload is None:
        raise PasserelleError(Reason.MDOC_MALFORMED, "issuerAuth has no payload")
    outer = decode(sign1.payload, what="MobileSecurityObjectBytes", definite=True)
    # 18013-5 wraps the MSO in tag 24; some early issuers did not. Accept both.
    if isinstance(outer, cbor2.CBORTag):
        raw = unwrap_tag24(outer, what="MobileSecurityObjectBytes")
        outer = decode(raw, what="MobileSecurityObject", definite=True)
    return expect(outer, dict, what="MobileSecurityObject")


def _items(
    issuer_signed: Mapping[object, object],
) -> dict[str, list[tuple[bytes, dict[object, object]]]]:
    name_spaces = issuer_signed.get("nameSpaces", {})
    name_spaces = expect(name_spaces, dict, what="IssuerSigned nameSpaces")
    result: dict[str, list[tuple[bytes, dict[object, object]]]] = {}
    for namespace, items in name_spaces.items():
        namespace = expect(namespace, str, what="a namespace")
        items = expect(items, list, what=f"nameSpaces[{namespace!r}]")
        decoded = []
        for item in items:
            raw = unwrap_tag24(item, what="IssuerSignedItemBytes")
            item = decode(raw, what="IssuerSignedItem", definite=True)
            value = expect(item, dict, what="IssuerSignedItem")
            expect(member(value, "digestID", what="IssuerSignedItem"), int, what="digestID")
            expect(member(value, "random", what="IssuerSignedItem"), bytes, what="random")
            expect(
                member(value, "elementIdentifier", what="IssuerSignedItem"),
                str,
                what="elementIdentifier",
            )
            member(value, "elementValue", what="IssuerSignedItem")
            decoded.append((raw, value))
        result[namespace] = decoded
    return result


def decode_unverified_issuer_signed(data: bytes) -> UnverifiedIssuerSigned:
    """Take an IssuerSigned apart without verifying anything."""
    issuer_signed = expect(decode(data, what="IssuerSigned"), dict, what="IssuerSigned")
    return _unverified(issuer_signed)


def _unverified(issuer_signed: Mapping[object, object]) -> UnverifiedIssuerSigned:
    issuer_auth_value = member(issuer_signed, "issuerAuth", what="IssuerSigned")
    sign1 = parse_cose_sign1(issuer_auth_value, what="issuerAuth")
    mso = _unwrap_mso(sign1)
    doc_type = expect(member(mso, "docType", what="MSO"), str, what="MSO docType")
    items: dict[str, dict[str, bytes]] = {}
    elements: dict[str, dict[str, object]] = {}
    for namespace, decoded in _items(issuer_signed).items():
        for raw, value in decoded:
            identifier = str(value["elementIdentifier"])
            items.setdefault(namespace, {})[identifier] = raw
            elements.setdefault(namespace, {})[identifier] = value["elementValue"]
    algorithm = expect(member(mso, "digestAlgorithm", what="MSO"), str, what="digestAlgorithm")
    return UnverifiedIssuerSigned(
        doc_type=doc_type,
        items=items,
        elements=elements,
        issuer_auth=tuple(sign1.to_cbor()),
        validity=_validity(mso),
        status=_status(mso),
        digest_algorithm=algorithm,
        x5chain=tuple(_x5chain(sign1)),
        encoded=encode(dict(issuer_signed)),
    )


def decode_unverified_device_response(data: bytes) -> tuple[UnverifiedIssuerSigned, ...]:
    """The documents of a DeviceResponse, taken apart without verifying anything."""
    response = expect(decode(data, what="DeviceResponse"), dict, what="DeviceResponse")
    return _documents(response)


def decode_unverified_mdoc(data: bytes) -> tuple[tuple[UnverifiedIssuerSigned, ...], bool]:
    """An IssuerSigned or a DeviceResponse, whichever ``data`` is, taken apart without
    verifying anything: its documents, and whether it is a DeviceResponse. An
    IssuerSigned has ``issuerAuth``; a DeviceResponse ``version`` and ``status``."""
    value = expect(decode(data, what="mdoc"), dict, what="an IssuerSigned or DeviceResponse")
    if "issuerAuth" in value:
        return (_unverified(value),), False
    if "version" not in value:
        raise PasserelleError(Reason.MDOC_MALFORMED, "neither an IssuerSigned nor a DeviceResponse")
    return _documents(value), True


def _documents(response: Mapping[object, object]) -> tuple[UnverifiedIssuerSigned, ...]:
    listed = expect(response.get("documents", []), list, what="documents")
    documents = []
    for document in listed:
        document = expect(document, dict, what="Document")
        issuer_signed = expect(
            member(document, "issuerSigned", what="Document"), dict, what="issuerSigned"
        )
        documents.append(_unverified(issuer_signed))
    return tuple(documents)


def _x5chain(sign1: CoseSign1) -> list[x509.Certificate]:
    # RFC 9360 §2: x5chain is a bstr (one certificate) or an array of bstr, leaf first.
    # 18013-5 puts it in the unprotected header; the protected one is accepted too.
    value = sign1.unprotected.get(HEADER_X5CHAIN, sign1.protected.get(HEADER_X5CHAIN))
    if value is None:
        raise PasserelleError(Reason.MDOC_X5CHAIN_MISSING, "issuerAuth carries no x5chain (33)")
    ders = [value] if isinstance(value, bytes) else value
    if not isinstance(ders, list) or not ders or not all(isinstance(d, bytes) for d in ders):
        raise PasserelleError(Reason.MDOC_MALFORMED, "x5chain is not a bstr or array of bstr")
    try:
        return [x509.load_der_x509_certificate(der) for der in ders]
    except ValueError as exc:
        raise PasserelleError(Reason.X509_MALFORMED, f"x5chain certificate: {exc}") from exc


def _instant(value: object, *, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise PasserelleError(Reason.MDOC_MALFORMED, f"{what} is not a tdate")
    return value.astimezone(UTC)


def _validity(mso: Mapping[object, object]) -> ValidityInfo:
    info = expect(member(mso, "validityInfo", what="MSO"), dict, what="validityInfo")
    signed = _instant(member(info, "signed", what="validityInfo"), what="signed")
    valid_from = _instant(member(info, "validFrom", what="validityInfo"), what="validFrom")
    valid_until = _instant(member(info, "validUntil", what="validityInfo"), what="validUntil")
    expected = info.get("expectedUpdate")
    expected_update = None if expected is None else _instant(expected, what="expectedUpdate")
    if valid_from < signed or valid_until <= valid_from:
        raise PasserelleError(
            Reason.MDOC_VALIDITY_INVALID, "validityInfo needs signed <= validFrom < validUntil"
        )
    return ValidityInfo(
        signed=signed,
        valid_from=valid_from,
        valid_until=valid_until,
        expected_update=expected_update,
    )


def _status(mso: Mapping[object, object]) -> StatusReference | None:
    status = mso.get("status")
    if status is None:
        return None
    # Token Status List, "Referenced Token in COSE": "The Status CBOR structure is a Map
    # that MUST include at least one data item that refers to a status mechanism."
    if not isinstance(status, dict) or not status:
        raise PasserelleError(Reason.MDOC_STATUS_INVALID, "MSO status is not a non-empty map")
    status_list = status.get("status_list")
    if status_list is None:
        return None  # another status mechanism (identifier lists): not ours to judge
    if not isinstance(status_list, dict):
        raise PasserelleError(Reason.MDOC_STATUS_INVALID, "status_list is not a map")
    idx, uri = status_list.get("idx"), status_list.get("uri")
    if isinstance(idx, bool) or not isinstance(idx, int) or idx < 0:
        raise PasserelleError(Reason.MDOC_STATUS_INVALID, "status_list idx is not a uint")
    if not isinstance(uri, str) or not uri:
        raise PasserelleError(Reason.MDOC_STATUS_INVALID, "status_list uri is not a tstr")
    return StatusReference(idx=idx, uri=uri)


@dataclass(frozen=True, slots=True, kw_only=True)
class _IssuerPart:
    doc_type: str
    namespaces: Mapping[str, Mapping[str, object]]
    chain: tuple[x509.Certificate, ...]
    validity: ValidityInfo
    status: StatusReference | None
    device_key: DevicePublicKey
    digest_algorithm: str
    #: keyAuthorizations: namespaces the device key may sign whole, and single elements.
    authorized_namespaces: frozenset[str]
    authorized_elements: frozenset[tuple[str, str]]


def _key_authorizations(
    key_info: Mapping[object, object],
) -> tuple[frozenset[str], frozenset[tuple[str, str]]]:
    # 18013-5 §9.1.2.4: KeyAuthorizations = {? "nameSpaces": [+ NameSpace],
    # ? "dataElements": {+ NameSpace => [+ DataElementIdentifier]}}.
    value = key_info.get("keyAuthorizations")
    if value is None:
        return frozenset(), frozenset()
    authorizations = expect(value, dict, what="keyAuthorizations")
    listed = expect(authorizations.get("nameSpaces", []), list, what="keyAuthorizations nameSpaces")
    namespaces = frozenset(expect(n, str, what="an authorized namespace") for n in listed)
    mapped = expect(
        authorizations.get("dataElements", {}), dict, what="keyAuthorizations dataElements"
    )
    elements: set[tuple[str, str]] = set()
    for namespace, identifiers in mapped.items():
        namespace = expect(namespace, str, what="an authorized namespace")
        for identifier in expect(identifiers, list, what="authorized data elements"):
            elements.add((namespace, expect(identifier, str, what="an authorized element")))
    return namespaces, frozenset(elements)


def _check_device_elements(
    part: _IssuerPart, device_namespaces: Mapping[str, Mapping[str, object]]
) -> None:
    # A device-signed element is the holder's own statement; the issuer vouches for the
    # device key making it only where keyAuthorizations says so (18013-5 §9.1.2.4).
    for namespace, elements in device_namespaces.items():
        if namespace in part.authorized_namespaces:
            continue
        for identifier in elements:
            if (namespace, identifier) not in part.authorized_elements:
                raise PasserelleError(
                    Reason.MDOC_DEVICE_ELEMENT_UNAUTHORIZED,
                    f"the device key may not sign {namespace}/{identifier}",
                )


def _check_options(anchors: Sequence[x509.Certificate], now: datetime, skew: timedelta) -> None:
    if now.tzinfo is None:
        raise local_error(Reason.INPUT_MALFORMED, "now must be timezone-aware")
    if not anchors:
        raise local_error(Reason.X509_CHAIN_INVALID, "no IACA trust anchors were given")
    if skew < _ZERO:
        raise local_error(Reason.INPUT_MALFORMED, "clock_skew must not be negative")


def _verify_issuer_part(
    issuer_signed: Mapping[object, object],
    *,
    doc_type: str | None,
    anchors: Sequence[x509.Certificate],
    now: datetime,
    clock_skew: timedelta,
) -> _IssuerPart:
    sign1 = parse_cose_sign1(
        member(issuer_signed, "issuerAuth", what="IssuerSigned"), what="issuerAuth"
    )
    certs = _x5chain(sign1)
    chain, ds_key = verify_document_signer_chain(certs, anchors=anchors, now=now)
    sign1.verify(ds_key, reason=Reason.MDOC_ISSUER_SIGNATURE_INVALID)
    mso = _unwrap_mso(sign1)
    version = expect(member(mso, "version", what="MSO"), str, what="MSO version")
    if not version.startswith("1."):
        raise PasserelleError(Reason.MDOC_MALFORMED, f"MSO version {version!r} is not 1.x")
    algorithm = expect(member(mso, "digestAlgorithm", what="MSO"), str, what="digestAlgorithm")
    if algorithm not in DIGEST_ALGORITHMS:
        raise PasserelleError(
            Reason.MDOC_DIGEST_ALG_UNSUPPORTED, f"digest algorithm {algorithm!r} is not supported"
        )
    mso_doc_type = expect(member(mso, "docType", what="MSO"), str, what="MSO docType")
    if doc_type is not None and mso_doc_type != doc_type:
        raise PasserelleError(
            Reason.MDOC_DOCTYPE_MISMATCH, f"the MSO is for {mso_doc_type!r}, not {doc_type!r}"
        )
    validity = _validity(mso)
    ds = chain[0]
    if not ds.not_valid_before_utc <= validity.signed <= ds.not_valid_after_utc:
        raise PasserelleError(
            Reason.MDOC_SIGNED_OUTSIDE_CERTIFICATE,
            "the MSO was signed outside the document signer certificate's validity",
        )
    now = now.astimezone(UTC)
    if now + clock_skew < validity.valid_from:
        raise PasserelleError(Reason.MDOC_NOT_YET_VALID, "the MSO is not valid yet")
    if now - clock_skew > validity.valid_until:
        raise PasserelleError(Reason.MDOC_EXPIRED, "the MSO has expired")
    key_info = expect(member(mso, "deviceKeyInfo", what="MSO"), dict, what="deviceKeyInfo")
    device_key = public_key_from_cose_key(member(key_info, "deviceKey", what="deviceKeyInfo"))
    authorized_namespaces, authorized_elements = _key_authorizations(key_info)
    status = _status(mso)
    value_digests = expect(member(mso, "valueDigests", what="MSO"), dict, what="valueDigests")
    namespaces = _check_items(issuer_signed, value_digests, DIGEST_ALGORITHMS[algorithm])
    return _IssuerPart(
        doc_type=mso_doc_type,
        namespaces=namespaces,
        chain=chain,
        validity=validity,
        status=status,
        device_key=device_key,
        digest_algorithm=algorithm,
        authorized_namespaces=authorized_namespaces,
        authorized_elements=authorized_elements,
    )


def _check_items(
    issuer_signed: Mapping[object, object],
    value_digests: Mapping[object, object],
    hash_name: str,
) -> Mapping[str, Mapping[str, object]]:
    namespaces: dict[str, Mapping[str, object]] = {}
    for namespace, decoded in _items(issuer_signed).items():
        digests = value_digests.get(namespace)
        if not isinstance(digests, dict):
            raise PasserelleError(
                Reason.MDOC_DIGEST_MISSING, f"the MSO has no digests for namespace {namespace!r}"
            )
        seen_ids: set[int] = set()
        elements: dict[str, object] = {}
        for raw, item in decoded:
            digest_id = expect(item["digestID"], int, what="digestID")
            identifier = str(item["elementIdentifier"])
            salt = item["random"]
            if digest_id in seen_ids:
                raise PasserelleError(
                    Reason.MDOC_DUPLICATE_DIGEST_ID, f"digestID {digest_id} is used twice"
                )
            seen_ids.add(digest_id)
            if identifier in elements:
                raise PasserelleError(
                    Reason.MDOC_DUPLICATE_ELEMENT, f"{namespace}/{identifier} is disclosed twice"
                )
            if not isinstance(salt, bytes) or len(salt) < _MIN_SALT:
                raise PasserelleError(Reason.MDOC_SALT_TOO_SHORT, "a salt is under 16 bytes")
            expected = digests.get(digest_id)
            if not isinstance(expected, bytes):
                raise PasserelleError(
                    Reason.MDOC_DIGEST_MISSING, f"the MSO has no digest {digest_id} in {namespace}"
                )
            actual = hashlib.new(hash_name, encode(cbor2.CBORTag(24, raw))).digest()
            if actual != expected:
                raise PasserelleError(
                    Reason.MDOC_DIGEST_MISMATCH,
                    f"{namespace}/{identifier} does not match its digest",
                )
            elements[identifier] = item["elementValue"]
        namespaces[namespace] = MappingProxyType(elements)
    return MappingProxyType(namespaces)


def verify_issuer_signed(
    data: bytes,
    *,
    anchors: Sequence[x509.Certificate],
    now: datetime,
    expected_doc_type: str | None = None,
    clock_skew: timedelta = _ZERO,
) -> VerifiedMdoc:
    """Verify an IssuerSigned as an issuer hands it over (no device authentication)."""
    _check_options(anchors, now, clock_skew)
    issuer_signed = expect(decode(data, what="IssuerSigned"), dict, what="IssuerSigned")
    part = _verify_issuer_part(
        issuer_signed, doc_type=expected_doc_type, anchors=anchors, now=now, clock_skew=clock_skew
    )
    return _verified(part, device_namespaces={}, device_auth=None)


def _verified(
    part: _IssuerPart,
    *,
    device_namespaces: Mapping[str, Mapping[str, object]],
    device_auth: str | None,
) -> VerifiedMdoc:
    return VerifiedMdoc(
        doc_type=part.doc_type,
        namespaces=part.namespaces,
        device_namespaces=MappingProxyType(dict(device_namespaces)),
        issuer_chain=part.chain,
        validity=part.validity,
        status=part.status,
        device_key=part.device_key,
        digest_algorithm=part.digest_algorithm,
        device_auth=device_auth,
    )


def _pick_document(response: Mapping[object, object], doc_type: str | None) -> dict[object, object]:
    version = expect(member(response, "version", what="DeviceResponse"), str, what="version")
    if not version.startswith("1."):
        raise PasserelleError(Reason.MDOC_MALFORMED, f"DeviceResponse version {version!r}")
    status = expect(member(response, "status", what="DeviceResponse"), int, what="status")
    if status != 0:
        raise PasserelleError(Reason.MDOC_RESPONSE_STATUS, f"DeviceResponse status is {status}")
    listed = expect(response.get("documents", []), list, what="documents")
    documents: list[dict[object, object]] = [expect(d, dict, what="Document") for d in listed]
    if doc_type is not None:
        documents = [d for d in documents if d.get("docType") == doc_type]
        if not documents:
            raise PasserelleError(
                Reason.MDOC_DOCTYPE_MISMATCH, f"the DeviceResponse holds no {doc_type!r} document"
            )
    if not documents:
        raise PasserelleError(Reason.MDOC_NO_DOCUMENT, "the DeviceResponse holds no document")
    if len(documents) > 1:
        raise PasserelleError(
            Reason.MDOC_MALFORMED, "the DeviceResponse holds several documents; name the docType"
        )
    return documents[0]


def _mac_key(
    reader_key: ec.EllipticCurvePrivateKey, device_key: DevicePublicKey, session_transcript: bytes
) -> bytes:
    # 18013-5 §9.1.3.5: EMacKey = HKDF-SHA-256(ECDH(SDeviceKey.Pub, EReaderKey.Priv),
    # salt = SHA-256(SessionTranscriptBytes), info = "EMacKey", L = 32).
    if not isinstance(device_key, ec.EllipticCurvePublicKey) or not isinstance(
        device_key.curve, type(reader_key.curve)
    ):
        raise PasserelleError(Reason.MDOC_DEVICE_KEY_INVALID, "device key and reader key differ")
    shared = reader_key.exchange(ec.ECDH(), device_key)
    transcript_bytes = encode(cbor2.CBORTag(24, session_transcript))
    salt = hashlib.sha256(transcript_bytes).digest()
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=b"EMacKey").derive(shared)


def verify_device_response(
    data: bytes,
    *,
    session_transcript: bytes,
    anchors: Sequence[x509.Certificate],
    now: datetime,
    expected_doc_type: str | None = None,
    reader_key: ec.EllipticCurvePrivateKey | None = None,
    clock_skew: timedelta = _ZERO,
) -> VerifiedMdoc:
    """Verify a DeviceResponse holding one document (of ``expected_doc_type``, if given).

    ``session_transcript`` is the CBOR SessionTranscript the verifier built itself
    (:func:`create_openid4vp_session_transcript`). ``reader_key`` is the reader's
    ephemeral private key, needed only when the device authenticates with a MAC.
    """
    _check_options(anchors, now, clock_skew)
    response = expect(decode(data, what="DeviceResponse"), dict, what="DeviceResponse")
    document = _pick_document(response, expected_doc_type)
    doc_type = expect(member(document, "docType", what="Document"), str, what="docType")
    issuer_signed = expect(
        member(document, "issuerSigned", what="Document"), dict, what="issuerSigned"
    )
    part = _verify_issuer_part(
        issuer_signed, doc_type=doc_type, anchors=anchors, now=now, clock_skew=clock_skew
    )
    device_signed = document.get("deviceSigned")
    if not isinstance(device_signed, dict):
        raise PasserelleError(Reason.MDOC_DEVICE_AUTH_MISSING, "the document has no deviceSigned")
    ns_raw = unwrap_tag24(
        member(device_signed, "nameSpaces", what="deviceSigned"), what="DeviceNameSpacesBytes"
    )
    device_ns = expect(
        decode(ns_raw, what="DeviceNameSpaces", definite=True), dict, what="DeviceNameSpaces"
    )
    device_namespaces: dict[str, Mapping[str, object]] = {}
    for namespace, elements in device_ns.items():
        namespace = expect(namespace, str, what="a device namespace")
        elements = expect(elements, dict, what=f"device nameSpaces[{namespace!r}]")
        device_namespaces[namespace] = MappingProxyType(
            {expect(k, str, what="a device element"): v for k, v in elements.items()}
        )
    device_auth = device_signed.get("deviceAuth")
    if not isinstance(device_auth, dict) or not device_auth:
        raise PasserelleError(Reason.MDOC_DEVICE_AUTH_MISSING, "the document has no deviceAuth")
    payload = device_authentication_bytes(
        session_transcript=session_transcript, doc_type=doc_type, device_namespaces_raw=ns_raw
    )
    if "deviceSignature" in device_auth:
        sign1 = parse_cose_sign1(device_auth["deviceSignature"], what="deviceSignature")
        sign1.verify(part.device_key, reason=Reason.MDOC_DEVICE_SIGNATURE_INVALID, detached=payload)
        method = "signature"
    elif "deviceMac" in device_auth:
        mac0 = parse_cose_mac0(device_auth["deviceMac"], what="deviceMac")
        if reader_key is None:
            raise PasserelleError(
                Reason.MDOC_DEVICE_MAC_KEY_MISSING, "deviceMac needs the reader's ephemeral key"
            )
        key = _mac_key(reader_key, part.device_key, session_transcript)
        mac0.verify(key, detached=payload, reason=Reason.MDOC_DEVICE_SIGNATURE_INVALID)
        method = "mac"
    else:
        raise PasserelleError(Reason.MDOC_DEVICE_AUTH_MISSING, "deviceAuth has no known method")
    _check_device_elements(part, device_namespaces)
    return _verified(part, device_namespaces=device_namespaces, device_auth=method)
