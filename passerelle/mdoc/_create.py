"""Making mdocs: an issuer's IssuerSigned, a holder's DeviceResponse.

Structures, from ISO/IEC 18013-5 §8.3.2.1.2.2 and §9.1.2/§9.1.3:

    IssuerSigned = { "nameSpaces": {+ NameSpace => [+ IssuerSignedItemBytes]},
                     "issuerAuth": COSE_Sign1 }            ; payload MobileSecurityObjectBytes
    IssuerSignedItemBytes = #6.24(bstr .cbor IssuerSignedItem)
    IssuerSignedItem = { "digestID": uint, "random": bstr,
                         "elementIdentifier": tstr, "elementValue": any }
    MobileSecurityObjectBytes = #6.24(bstr .cbor MobileSecurityObject)
    DeviceResponse = { "version": "1.0", ? "documents": [+ Document], "status": uint }
    Document = { "docType": tstr, "issuerSigned": IssuerSigned, "deviceSigned": DeviceSigned }
    DeviceSigned = { "nameSpaces": #6.24(bstr .cbor DeviceNameSpaces),
                     "deviceAuth": { "deviceSignature": COSE_Sign1 } }
    DeviceAuthentication = [ "DeviceAuthentication", SessionTranscript, DocType,
                             DeviceNameSpacesBytes ]
    DeviceAuthenticationBytes = #6.24(bstr .cbor DeviceAuthentication)   ; detached payload
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from .._errors import Reason, local_error
from .._random import RandomSource
from ._cbor import encode, tag24
from ._cose import (
    HEADER_X5CHAIN,
    DevicePrivateKey,
    DevicePublicKey,
    cose_key_from_public,
    sign_cose_sign1,
)
from ._models import StatusReference, ValidityInfo
from ._transcript import device_authentication_bytes
from ._verify import DIGEST_ALGORITHMS, decode_unverified_issuer_signed

__all__ = [
    "create_device_response",
    "create_issuer_signed",
]

_MIN_SALT = 16


def _tdate(instant: datetime) -> datetime:
    # 18013-5 §9.1.2.4: tdate without fractions of seconds, in UTC ("Z").
    return instant.replace(microsecond=0)


def _permutation(n: int, random: RandomSource) -> list[int]:
    # Fisher-Yates over injected randomness: digest IDs say nothing about element order.
    order = list(range(n))
    for i in range(n - 1, 0, -1):
        j = int.from_bytes(random.token_bytes(4), "big") % (i + 1)
        order[i], order[j] = order[j], order[i]
    return order


def create_issuer_signed(
    *,
    doc_type: str,
    namespaces: Mapping[str, Mapping[str, object]],
    device_key: DevicePublicKey,
    validity: ValidityInfo,
    signer_key: DevicePrivateKey,
    certificate_chain: Sequence[x509.Certificate],
    random: RandomSource,
    digest_algorithm: str = "SHA-256",
    status: StatusReference | None = None,
    salt_length: int = 32,
    device_signed_namespaces: Collection[str] = (),
) -> bytes:
    """The CBOR IssuerSigned of a new mdoc, signed by the document signer.

    ``certificate_chain`` is the DS certificate first (any intermediates after it);
    it travels as ``x5chain`` (label 33) in the unprotected header. Every element
    gets its own random salt of ``salt_length`` bytes (at least 16).
    ``device_signed_namespaces`` go into ``keyAuthorizations``: the holder's device key
    may then sign elements of those namespaces itself.
    """
    if not doc_type:
        raise local_error(Reason.INPUT_MALFORMED, "doc_type must not be empty")
    if not namespaces or any(not elements for elements in namespaces.values()):
        raise local_error(Reason.INPUT_MALFORMED, "every namespace needs at least one element")
    if digest_algorithm not in DIGEST_ALGORITHMS:
        raise local_error(Reason.MDOC_DIGEST_ALG_UNSUPPORTED, f"{digest_algorithm} unsupported")
    if salt_length < _MIN_SALT:
        raise local_error(Reason.MDOC_SALT_TOO_SHORT, f"salts need at least {_MIN_SALT} bytes")
    if not certificate_chain:
        raise local_error(Reason.MDOC_X5CHAIN_MISSING, "a document signer certificate is needed")
    hash_name = DIGEST_ALGORITHMS[digest_algorithm]
    name_spaces: dict[str, list[cbor2.CBORTag]] = {}
    value_digests: dict[str, dict[int, bytes]] = {}
    for namespace, elements in namespaces.items():
        ids = _permutation(len(elements), random)
        items: list[cbor2.CBORTag] = []
        digests: dict[int, bytes] = {}
        for digest_id, (identifier, value) in zip(ids, elements.items(), strict=True):
            item = tag24(
                {
                    "digestID": digest_id,
                    "random": random.token_bytes(salt_length),
                    "elementIdentifier": identifier,
                    "elementValue": value,
                }
            )
            items.append(item)
            digests[digest_id] = hashlib.new(hash_name, encode(item)).digest()
        name_spaces[namespace] = items
        value_digests[namespace] = dict(sorted(digests.items()))
    validity_info: dict[str, object] = {
        "signed": _tdate(validity.signed),
        "validFrom": _tdate(validity.valid_from),
        "validUntil": _tdate(validity.valid_until),
    }
    if validity.expected_update is not None:
        validity_info["expectedUpdate"] = _tdate(validity.expected_update)
    device_key_info: dict[str, object] = {"deviceKey": cose_key_from_public(device_key)}
    if device_signed_namespaces:
        device_key_info["keyAuthorizations"] = {"nameSpaces": list(device_signed_namespaces)}
    mso: dict[str, object] = {
        "version": "1.0",
        "digestAlgorithm": digest_algorithm,
        "valueDigests": value_digests,
        "deviceKeyInfo": device_key_info,
        "docType": doc_type,
        "validityInfo": validity_info,
    }
    if status is not None:
        mso["status"] = {"status_list": {"idx": status.idx, "uri": status.uri}}
    ders = [cert.public_bytes(Encoding.DER) for cert in certificate_chain]
    issuer_auth = sign_cose_sign1(
        key=signer_key,
        payload=encode(tag24(mso)),
        unprotected={HEADER_X5CHAIN: ders[0] if len(ders) == 1 else ders},
    )
    return encode({"nameSpaces": name_spaces, "issuerAuth": issuer_auth})


def create_device_response(
    issuer_signed: bytes,
    *,
    disclose: Mapping[str, Collection[str]],
    session_transcript: bytes,
    device_key: DevicePrivateKey,
    device_elements: Mapping[str, Mapping[str, object]] | None = None,
) -> bytes:
    """A DeviceResponse with one document: the elements named in ``disclose``
    (namespace -> element identifiers), signed by the device key over the
    SessionTranscript. The issuer-signed items travel exactly as the issuer made them.
    ``device_elements`` are the holder's own (device-signed) elements, if any.
    """
    stored = decode_unverified_issuer_signed(issuer_signed)
    chosen: dict[str, list[cbor2.CBORTag]] = {}
    for namespace, identifiers in disclose.items():
        available = stored.items.get(namespace, {})
        picked = []
        for identifier in identifiers:
            if identifier not in available:
                raise local_error(
                    Reason.MDOC_ELEMENT_NOT_FOUND, f"the mdoc has no {namespace}/{identifier}"
                )
            picked.append(cbor2.CBORTag(24, available[identifier]))
        if picked:
            chosen[namespace] = picked
    device_namespaces_raw = encode(
        {ns: dict(elements) for ns, elements in (device_elements or {}).items()}
    )
    payload = device_authentication_bytes(
        session_transcript=session_transcript,
        doc_type=stored.doc_type,
        device_namespaces_raw=device_namespaces_raw,
    )
    device_signature = sign_cose_sign1(key=device_key, payload=payload, detached=True)
    # 18013-5 makes IssuerSigned nameSpaces optional: an empty disclosure omits it.
    issuer_part: dict[str, object] = {"issuerAuth": stored.issuer_auth}
    if chosen:
        issuer_part = {"nameSpaces": chosen, **issuer_part}
    document = {
        "docType": stored.doc_type,
        "issuerSigned": issuer_part,
        "deviceSigned": {
            "nameSpaces": cbor2.CBORTag(24, device_namespaces_raw),
            "deviceAuth": {"deviceSignature": device_signature},
        },
    }
    return encode({"version": "1.0", "documents": [document], "status": 0})
