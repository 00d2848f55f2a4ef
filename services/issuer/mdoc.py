"""Issuing ISO/IEC 18013-5 mdocs (OpenID4VCI format ``mso_mdoc``).

What goes in an mdoc is data (``schemas/mdoc/*.json``): each element names where its
value comes from (the persona's sample, a constant, an age threshold, the issuance or
expiry date, the portrait). The document signer signs the MSO with its certificate in
the x5chain; the device key is the one the wallet proved in its key proof; the status
is a Token Status List index of the document signer's own list ("Referenced Token in
COSE"). The credential travels base64url-encoded (OpenID4VCI 1.0 Appendix A.2.4).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from passerelle import JsonObject, JsonValue, PasserelleError, RandomSource, Reason
from passerelle._json import b64url_encode
from passerelle.jose import PublicKey
from passerelle.mdoc import StatusReference, ValidityInfo, create_issuer_signed
from passerelle.services.catalog import MdocElement, MdocType

from .dates import day_of
from .quirks import IssuerBehaviour

__all__ = ["PORTRAIT", "configuration_claims", "issue_mdoc", "mdoc_elements"]

#: A stand-in portrait (a JPEG with no image data): the personas are fictional.
PORTRAIT = bytes.fromhex("ffd8ffe000104a46494600010100000100010000ffd9")


def _sample_value(sample: JsonObject, path: tuple[str, ...]) -> JsonValue:
    node: JsonValue = sample
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _age_over(birth: date, years: int, today: date) -> bool:
    # ISO/IEC 18013-5 §7.2.5: age_over_NN is true when the holder is NN or older.
    try:
        anniversary = birth.replace(year=birth.year + years)
    except ValueError:  # born on 29 February
        anniversary = date(birth.year + years, 3, 1)
    return anniversary <= today


def _encoded(element: MdocElement, value: JsonValue) -> object:
    if element.encoding == "full-date":
        return date.fromisoformat(str(value))
    if element.encoding == "bool":
        return bool(value)
    return value


def mdoc_elements(
    mtype: MdocType, sample: JsonObject, *, issued: date, expiry: date
) -> dict[str, object]:
    """The element values of one mdoc of ``mtype`` for the persona ``sample``; an
    element whose source the sample lacks is left out (it is then not issued)."""
    birth_raw = _sample_value(sample, ("birthdate",))
    birth = date.fromisoformat(birth_raw) if isinstance(birth_raw, str) else None
    out: dict[str, object] = {}
    for element in mtype.elements:
        value: object
        if element.source:
            raw = _sample_value(sample, element.source)
            if raw is None:
                continue
            value = _encoded(element, raw)
        elif element.age_over is not None:
            if birth is None:
                continue
            value = _age_over(birth, element.age_over, issued)
        elif element.issued is not None:
            value = issued if element.issued == "issuance" else expiry
        elif element.portrait:
            value = PORTRAIT
        else:
            value = element.constant
        out[element.identifier] = value
    return out


def _device_key(holder: PublicKey) -> ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey:
    if isinstance(holder, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
        return holder
    raise PasserelleError(
        Reason.OID4VCI_PROOF_INVALID,
        "an mdoc device key is an EC or Ed25519 key",
        wire_error="invalid_proof",
    )


def _validity(now: datetime, days: int, *, expired: bool) -> ValidityInfo:
    if expired:  # the mdoc_expired quirk: an MSO whose validUntil has passed
        signed = now - timedelta(hours=2)
        return ValidityInfo(
            signed=signed, valid_from=signed, valid_until=now - timedelta(minutes=5)
        )
    # The start of the UTC day, as for the other formats: one batch is not linkable by time.
    day = day_of(now)
    return ValidityInfo(signed=day, valid_from=day, valid_until=day + timedelta(days=days))


def issue_mdoc(
    mtype: MdocType,
    sample: JsonObject,
    *,
    signer_key: ec.EllipticCurvePrivateKey,
    chain: Sequence[x509.Certificate],
    holder: PublicKey,
    status: StatusReference,
    valid_for_days: int,
    behaviour: IssuerBehaviour,
    random: RandomSource,
    now: datetime,
) -> str:
    """A signed mdoc of ``mtype`` for the persona ``sample``, bound to ``holder``,
    base64url-encoded as OpenID4VCI 1.0 Appendix A.2.4 has it travel."""
    validity = _validity(now, valid_for_days, expired=behaviour.mdoc_expired)
    elements = mdoc_elements(
        mtype, sample, issued=validity.valid_from.date(), expiry=validity.valid_until.date()
    )
    device_key = _device_key(holder)
    if not behaviour.mdoc_bind_device_key:  # the mdoc_foreign_device_key quirk
        device_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    issued = create_issuer_signed(
        doc_type=mtype.doctype,
        namespaces={mtype.namespace: elements},
        device_key=device_key,
        validity=validity,
        signer_key=signer_key,
        certificate_chain=chain,
        random=random,
        status=status,
    )
    return b64url_encode(issued)


def configuration_claims(mtype: MdocType) -> tuple[list[JsonObject], list[JsonObject]]:
    """The display and claims description of an ``mso_mdoc`` configuration."""
    claims: list[JsonObject] = [
        {
            "path": [mtype.namespace, e.identifier],
            "display": [dict(d) for d in e.display],
            **({"mandatory": True} if e.mandatory else {}),
        }
        for e in mtype.elements
    ]
    return [dict(d) for d in mtype.display], claims
