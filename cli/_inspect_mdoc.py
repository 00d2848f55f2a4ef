"""``passerelle inspect`` for ISO/IEC 18013-5 mdocs (``mso_mdoc``): an IssuerSigned as
OpenID4VCI hands it over, or a DeviceResponse as an OpenID4VP ``vp_token`` carries it,
each base64url (or hex). Pure, like :func:`describe_token`.
"""

from __future__ import annotations

import binascii
import contextlib
import string
from collections.abc import Mapping
from datetime import date, datetime

import cbor2

from .. import mdoc
from .._errors import PasserelleError
from .._json import JsonObject, JsonValue, b64url_decode, b64url_encode
from ._inspect import InspectOptions

__all__ = ["describe_mdoc", "mdoc_bytes"]

_SHOWN_BYTES = 24


def mdoc_bytes(token: str) -> bytes | None:
    """The CBOR of an mdoc written as hex or base64url, or None if ``token`` is not one."""
    text = token.strip()
    if not text or "." in text or "~" in text:
        return None
    candidates: list[bytes] = []
    if len(text) % 2 == 0 and all(c in string.hexdigits for c in text):
        candidates.append(binascii.unhexlify(text))
    with contextlib.suppress(PasserelleError):
        candidates.append(b64url_decode(text))
    for data in candidates:
        # A CBOR map (major type 5) whose keys name an IssuerSigned or a DeviceResponse.
        if data and data[0] >> 5 == 5:
            try:
                top = cbor2.loads(data)
            except Exception:  # noqa: S112 - any decoder failure means "not this candidate"
                continue
            if isinstance(top, dict) and ("issuerAuth" in top or "documents" in top):
                return data
    return None


def _json(value: object) -> JsonValue:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, bytes):
        head = b64url_encode(value[:_SHOWN_BYTES])
        return f"<{len(value)} bytes: {head}{'…' if len(value) > _SHOWN_BYTES else ''}>"
    if isinstance(value, cbor2.CBORTag):
        return {"tag": value.tag, "value": _json(value.value)}
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    return repr(value)


def _validity(info: mdoc.ValidityInfo, now: datetime) -> JsonObject:
    out: JsonObject = {
        "signed": info.signed.isoformat(),
        "validFrom": info.valid_from.isoformat(),
        "validUntil": info.valid_until.isoformat(),
    }
    if info.expected_update is not None:
        out["expectedUpdate"] = info.expected_update.isoformat()
    state = "valid"
    if now > info.valid_until:
        state = "expired"
    elif now < info.valid_from:
        state = "not yet valid"
    out["state"] = state
    out["checked_at"] = now.isoformat()
    return out


def _verify(
    data: bytes, kind: str, document: mdoc.UnverifiedIssuerSigned, options: InspectOptions
) -> JsonObject:
    common = {"anchors": options.anchors, "now": options.now, "clock_skew": options.skew}
    if kind == "IssuerSigned":
        mdoc.verify_issuer_signed(data, **common)  # type: ignore[arg-type]
        return {"issuer": document.x5chain[0].subject.rfc4514_string()}
    if options.audience is not None and options.nonce is not None and options.response_uri:
        transcript = mdoc.create_openid4vp_session_transcript(
            client_id=options.audience,
            nonce=options.nonce,
            response_uri=options.response_uri,
            jwk_thumbprint=None,
        )
        verified = mdoc.verify_device_response(
            data,
            session_transcript=transcript,
            expected_doc_type=document.doc_type,
            **common,  # type: ignore[arg-type]
        )
        return {
            "issuer": verified.document_signer.subject.rfc4514_string(),
            "device_auth": verified.device_auth,
        }
    # Without the request parameters the SessionTranscript cannot be rebuilt: the issuer
    # part still verifies on its own, and the report says what was not checked.
    mdoc.verify_issuer_signed(document.encoded, **common)  # type: ignore[arg-type]
    return {
        "issuer": document.x5chain[0].subject.rfc4514_string(),
        "device_auth": "not checked: give --aud (client_id), --nonce and --response-uri",
    }


def describe_mdoc(data: bytes, options: InspectOptions) -> JsonObject:
    """Decode an mdoc and, with ``--anchor``, verify it; failures land in the report."""
    report: JsonObject = {"format": "mso_mdoc"}
    try:
        top = cbor2.loads(data)
        kind = "DeviceResponse" if isinstance(top, dict) and "documents" in top else "IssuerSigned"
        if kind == "DeviceResponse":
            documents = mdoc.decode_unverified_device_response(data)
        else:
            documents = (mdoc.decode_unverified_issuer_signed(data),)
        first = documents[0] if documents else None
        report["payload"] = {
            "kind": kind,
            "documents": [
                {
                    "docType": d.doc_type,
                    "digestAlgorithm": d.digest_algorithm,
                    "x5chain": [c.subject.rfc4514_string() for c in d.x5chain],
                    "status": None
                    if d.status is None
                    else {"idx": d.status.idx, "uri": d.status.uri},
                }
                for d in documents
            ],
        }
        if len(documents) == 1 and first is not None:
            report["claims"] = _json(first.elements)
        else:
            report["claims"] = {d.doc_type: _json(d.elements) for d in documents}
        if first is not None:
            report["validity"] = _validity(first.validity, options.now)
        if not options.anchors:
            detail = "mdocs verify against IACA certificates: give --anchor"
            report["verification"] = {"verified": False, "reason": None, "detail": detail}
            return report
        if first is None:
            report["verification"] = {"verified": False, "reason": None, "detail": "no document"}
            return report
        extra = _verify(data, kind, first, options)
        report["verification"] = {"verified": True, "reason": None, **extra}
    except PasserelleError as exc:
        report["verification"] = {"verified": False, **exc.as_dict()}
    return report
