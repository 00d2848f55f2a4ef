"""The suite with ISO/IEC 18013-5 mdocs (``mso_mdoc``): as a wallet presenting to a
verifier (honest, or getting one thing wrong), as a verifier reading what a wallet
sent, and as an issuer signing mdocs of its own (expired, revoked) for the negatives.

Independent of ``services/wallet`` and ``services/verifier`` on purpose, like
:mod:`._presenting`: the pure core makes and checks each structure. The verifier and
wallet checks that use this module are in :mod:`.plans.mdoc`.

The SessionTranscript is OpenID4VP 1.0 Appendix B.2.6.1's: client_id, nonce, the
response_uri and, for an encrypted response, the SHA-256 JWK thumbprint of the key the
response is encrypted to. A presentation is a base64url DeviceResponse (B.2.4).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import cbor2
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import PasserelleError
from passerelle._json import b64url_decode, b64url_encode
from passerelle.dcql import parse_dcql_query
from passerelle.jose import jwk_thumbprint
from passerelle.mdoc import (
    StatusReference,
    UnverifiedIssuerSigned,
    ValidityInfo,
    create_device_response,
    create_issuer_signed,
    create_openid4vp_session_transcript,
    decode_unverified_issuer_signed,
)
from passerelle.oid4vp import AuthorizationRequest, ResponseMode, response_encryption_key
from passerelle.services.runtime import SecretsRandom

from ._context import CheckContext, Target
from ._holder import Issued, obtain_shared
from ._model import CheckError, CheckFailed, CheckSkipped, ErrorClass
from ._presenting import Presentation, open_session, response_form, send_response, suite_pki

__all__ = [
    "MdocFault",
    "MdocHolding",
    "answer_mdoc",
    "mdoc_holding_of",
    "mdoc_query",
    "now_validity",
    "present_mdoc",
    "presented_mdoc",
    "resigned",
    "session_transcript",
    "verifier_mdoc_setting",
]

_OTHER_DOCTYPES = ("org.iso.18013.5.1.mDL", "eu.europa.ec.eudi.pid.1")


class MdocFault(enum.Enum):
    """The one thing an mdoc presentation gets wrong."""

    NONE = "none"
    #: An element's value changed after the issuer signed it (its digest no longer holds).
    TAMPERED_ELEMENT = "tampered_element"
    #: The device signs over another SessionTranscript (OIDF invalid-session-transcript).
    WRONG_TRANSCRIPT = "wrong_transcript"
    #: The device signature is made with a key other than the MSO's device key.
    OTHER_DEVICE_KEY = "other_device_key"
    #: The Document says another docType than its MSO.
    WRONG_DOCTYPE = "wrong_doctype"


@dataclass(frozen=True, slots=True)
class MdocHolding:
    """An mdoc in the suite's wallet: the base64url IssuerSigned and its device key."""

    credential: str
    holder_key: ec.EllipticCurvePrivateKey

    def unverified(self) -> UnverifiedIssuerSigned:
        try:
            return decode_unverified_issuer_signed(b64url_decode(self.credential))
        except PasserelleError as exc:
            raise CheckFailed(f"the mdoc cannot be decoded: {exc.detail}") from exc


def mdoc_holding_of(issued: Issued) -> MdocHolding:
    if issued.format != "mso_mdoc":
        raise CheckSkipped(f"{issued.configuration} is {issued.format}, not mso_mdoc")
    return MdocHolding(credential=issued.credential, holder_key=issued.holder_key)


def mdoc_query(
    doctype: str, paths: Sequence[Sequence[str]], *, query_id: str = "credential"
) -> dict[str, object]:
    return {
        "credentials": [
            {
                "id": query_id,
                "format": "mso_mdoc",
                "meta": {"doctype_value": doctype},
                "claims": [{"path": list(p), "intent_to_retain": False} for p in paths],
            }
        ]
    }


def session_transcript(
    *,
    client_id: str,
    nonce: str,
    response_uri: str,
    encryption_key: ec.EllipticCurvePublicKey | Mapping[str, object] | None,
) -> bytes:
    thumbprint = None
    if encryption_key is not None:
        thumbprint = b64url_decode(jwk_thumbprint(encryption_key))  # type: ignore[arg-type]
    return create_openid4vp_session_transcript(
        client_id=client_id, nonce=nonce, response_uri=response_uri, jwk_thumbprint=thumbprint
    )


def _request_transcript(request: AuthorizationRequest, *, nonce: str) -> bytes:
    key = None
    if request.response_mode is ResponseMode.DIRECT_POST_JWT:
        metadata = request.client_metadata
        if metadata is None or metadata.jwks is None:
            raise CheckFailed("direct_post.jwt, but client_metadata holds no jwks to encrypt to")
        try:
            key = response_encryption_key(metadata.jwks)
        except PasserelleError as exc:
            raise CheckFailed(f"no usable response encryption key: {exc.detail}") from exc
    return session_transcript(
        client_id=request.client_id,
        nonce=nonce,
        response_uri=request.response_uri,
        encryption_key=key,
    )


def _tampered(response: bytes) -> bytes:
    decoded = cbor2.loads(response)
    name_spaces = decoded["documents"][0]["issuerSigned"]["nameSpaces"]
    items = next(iter(name_spaces.values()))
    item = cbor2.loads(items[0].value)
    value = item["elementValue"]
    item["elementValue"] = value + " (altered)" if isinstance(value, str) else "altered"
    items[0] = cbor2.CBORTag(24, cbor2.dumps(item))
    return bytes(cbor2.dumps(decoded))


def _other_doctype(response: bytes) -> bytes:
    decoded = cbor2.loads(response)
    document = decoded["documents"][0]
    document["docType"] = next(d for d in _OTHER_DOCTYPES if d != document["docType"])
    return bytes(cbor2.dumps(decoded))


def answer_mdoc(
    holding: MdocHolding, request: AuthorizationRequest, *, fault: MdocFault = MdocFault.NONE
) -> dict[str, list[str]]:
    """The ``vp_token`` an honest wallet would send, but for ``fault``: every element
    the query names, one DeviceResponse per Credential Query."""
    try:
        query = parse_dcql_query(request.dcql_query)
    except PasserelleError as exc:
        raise CheckFailed(f"dcql_query: {exc.detail}", reason=str(exc.reason)) from exc
    nonce = request.nonce + ("-other" if fault is MdocFault.WRONG_TRANSCRIPT else "")
    transcript = _request_transcript(request, nonce=nonce)
    device_key = (
        ec.generate_private_key(ec.SECP256R1())
        if fault is MdocFault.OTHER_DEVICE_KEY
        else holding.holder_key
    )
    vp_token: dict[str, list[str]] = {}
    for asked in query.credentials:
        disclose: dict[str, list[str]] = {}
        for claim in asked.claims or ():
            namespace, element = (str(p) for p in claim.path)
            disclose.setdefault(namespace, []).append(element)
        try:
            response = create_device_response(
                b64url_decode(holding.credential),
                disclose=disclose,
                session_transcript=transcript,
                device_key=device_key,
            )
        except PasserelleError as exc:
            raise CheckError(
                ErrorClass.SUITE, f"the suite's mdoc does not answer the query: {exc.detail}"
            ) from exc
        if fault is MdocFault.TAMPERED_ELEMENT:
            response = _tampered(response)
        elif fault is MdocFault.WRONG_DOCTYPE:
            response = _other_doctype(response)
        vp_token.setdefault(asked.id, []).append(b64url_encode(response))
    return vp_token


def present_mdoc(
    ctx: CheckContext,
    verifier: Target,
    holding: MdocHolding,
    dcql_query: Mapping[str, object],
    *,
    fault: MdocFault = MdocFault.NONE,
    response_mode: str | None = None,
    prerequisite: bool = True,
) -> Presentation:
    """Open a request, answer it with ``holding`` (getting ``fault`` wrong), send it and
    read the verdict, recorded as evidence."""
    session = open_session(
        ctx, verifier, dcql_query, response_mode=response_mode, prerequisite=prerequisite
    )
    vp_token = answer_mdoc(holding, session.request, fault=fault)
    form = response_form(session.request, vp_token)
    outcome = send_response(ctx, session, form)
    ctx.record(
        response_mode=session.request.response_mode.value, mdoc_fault=fault.value,
        **outcome.evidence(),
    )  # fmt: skip
    return Presentation(session=session, vp_token=vp_token, form=form, outcome=outcome)


@dataclass(frozen=True, slots=True)
class MdocSetting:
    issuer: str
    configuration: str
    persona: str
    paths: tuple[tuple[str, str], ...]
    identity: str | None


def verifier_mdoc_setting(verifier: Target) -> MdocSetting:
    """The ``present_mdoc`` entry of a verifier: the issuer target, configuration and
    persona of an mdoc it trusts, the elements to ask for, and the PKI document signer
    the suite signs its own mdocs with (``identity``, optional)."""
    setting = verifier.get("present_mdoc")
    if not isinstance(setting, dict):
        raise CheckSkipped(f"{verifier.name} has no present_mdoc entry: no mdoc to present")
    paths = setting.get("claims")
    if not isinstance(paths, list) or not paths:
        raise CheckError(ErrorClass.SUITE, f"{verifier.name}.present_mdoc needs claims")
    identity = setting.get("identity")
    return MdocSetting(
        issuer=str(setting["issuer"]),
        configuration=str(setting["configuration"]),
        persona=str(setting["persona"]),
        paths=tuple((str(p[0]), str(p[1])) for p in paths),
        identity=str(identity) if isinstance(identity, str) else None,
    )


def presented_mdoc(ctx: CheckContext, verifier: Target) -> tuple[MdocHolding, MdocSetting]:
    setting = verifier_mdoc_setting(verifier)
    issued = obtain_shared(ctx, setting.issuer, setting.configuration, setting.persona)
    return mdoc_holding_of(issued), setting


def resigned(
    ctx: CheckContext,
    holding: MdocHolding,
    setting: MdocSetting,
    *,
    validity: ValidityInfo,
    status: StatusReference | None = None,
) -> MdocHolding:
    """``holding``'s elements, docType and device key, signed again by the suite as the
    setting's document signer ``identity`` (a PKI entity the verifier trusts)."""
    if setting.identity is None:
        raise CheckSkipped("present_mdoc names no identity for the suite to sign mdocs with")
    pki = suite_pki(ctx)
    try:
        key = pki.private_key(setting.identity)
        chain: list[x509.Certificate] = pki.chain(setting.identity)
    except PasserelleError as exc:
        raise CheckError(ErrorClass.SUITE, f"present_mdoc identity: {exc.detail}") from exc
    read = holding.unverified()
    try:
        issued = create_issuer_signed(
            doc_type=read.doc_type,
            namespaces={ns: dict(elements) for ns, elements in read.elements.items()},
            device_key=holding.holder_key.public_key(),
            validity=validity,
            signer_key=key,
            certificate_chain=chain,
            random=SecretsRandom(),
            status=status,
        )
    except PasserelleError as exc:
        raise CheckError(ErrorClass.SUITE, f"cannot sign an mdoc: {exc.detail}") from exc
    return MdocHolding(credential=b64url_encode(issued), holder_key=holding.holder_key)


def claims_of(response: bytes) -> dict[str, list[str]]:
    """The element identifiers a DeviceResponse discloses, by namespace (unverified)."""
    decoded = cbor2.loads(response)
    documents = decoded.get("documents") if isinstance(decoded, dict) else None
    if not isinstance(documents, list) or not documents:
        return {}
    spaces = documents[0].get("issuerSigned", {}).get("nameSpaces", {})
    return {
        str(ns): [str(cbor2.loads(i.value).get("elementIdentifier")) for i in items]
        for ns, items in spaces.items()
    }


def now_validity(now: datetime, *, expired: bool) -> ValidityInfo:
    """A validity window around ``now``: current (a day), or ended five minutes ago."""
    if expired:
        signed = now - timedelta(hours=2)
        return ValidityInfo(
            signed=signed, valid_from=signed, valid_until=now - timedelta(minutes=5)
        )
    signed = now - timedelta(minutes=5)
    return ValidityInfo(signed=signed, valid_from=signed, valid_until=now + timedelta(days=1))
