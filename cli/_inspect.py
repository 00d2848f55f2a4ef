"""``passerelle inspect``: look inside a credential, and verify it when given keys.

:func:`describe_token` is pure (token in, report dict out) so it is tested without a
terminal; the Typer command reads input, calls it, and renders text or JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography import x509

from .._errors import PasserelleError, Reason
from .._json import JsonObject, JsonValue
from ..jose import PublicKey, decode_unverified_jws, verify_jws
from ..sd_jwt import KeyBindingCheck, parse_sd_jwt, process_disclosures, verify_sd_jwt
from ..sd_jwt_vc import SD_JWT_VC_TYP, IssuerKeyPolicy, verify_sd_jwt_vc
from ..status_list import (
    STATUS_LIST_JWT_TYP,
    StatusValue,
    decode_status_list,
    verify_status_list_token,
)
from ..vc import verify_jwt_vc_json, verify_vc_jose

__all__ = ["InspectOptions", "check_token_status", "describe_certificates", "describe_token"]

ALGORITHMS = ("ES256", "ES384", "Ed25519", "EdDSA")


@dataclass(frozen=True, slots=True, kw_only=True)
class InspectOptions:
    now: datetime
    key: PublicKey | None = None
    anchors: Sequence[x509.Certificate] = field(default_factory=tuple)
    nonce: str | None = None
    audience: str | None = None
    #: OpenID4VP ``response_uri`` (mdoc DeviceResponse: rebuilds the SessionTranscript).
    response_uri: str | None = None
    skew: timedelta = timedelta(seconds=60)

    @property
    def verifying(self) -> bool:
        return self.key is not None or bool(self.anchors)


def _when(value: JsonValue) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, UTC).isoformat()
    return None


def _validity(claims: JsonObject, now: datetime) -> JsonObject:
    out: JsonObject = {}
    for name in ("iat", "nbf", "exp"):
        stamp = _when(claims.get(name))
        if stamp is not None:
            out[name] = stamp
    exp, nbf = claims.get("exp"), claims.get("nbf")
    t = now.timestamp()
    state = "valid"
    if isinstance(exp, int | float) and t >= exp:
        state = "expired"
    elif isinstance(nbf, int | float) and t < nbf:
        state = "not yet valid"
    out["state"] = state
    out["checked_at"] = now.isoformat()
    return out


def _when_cert(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def describe_certificates(x5c: JsonValue, now: datetime) -> list[JsonValue]:
    """Subject, issuer and validity of each certificate of an ``x5c`` header, decoded
    without any check (verification is --anchor's business)."""
    import base64

    out: list[JsonValue] = []
    for index, item in enumerate(x5c if isinstance(x5c, list) else []):
        try:
            cert = x509.load_der_x509_certificate(base64.b64decode(str(item), validate=True))
        except ValueError as exc:
            out.append({"index": index, "error": f"not a DER certificate: {exc}"})
            continue
        start, end = cert.not_valid_before_utc, cert.not_valid_after_utc
        state = "expired" if now > end else "not yet valid" if now < start else "valid"
        entry: JsonObject = {
            "index": index,
            "subject": cert.subject.rfc4514_string(),
            "issuer": cert.issuer.rfc4514_string(),
            "not_before": _when_cert(start),
            "not_after": _when_cert(end),
            "state": state,
            "serial": format(cert.serial_number, "x"),
        }
        try:
            names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            entry["san"] = [str(n.value) for n in names]
        except x509.ExtensionNotFound:
            pass
        out.append(entry)
    return out


def check_token_status(
    report: JsonObject, options: InspectOptions, fetch: Callable[[str], str]
) -> JsonObject:
    """The token's entry in its IETF Token Status List: ``fetch`` (the caller's I/O)
    gets the list; it is verified with the same key or anchors as the token when given,
    else read unverified and said so. Failures are reported, not raised."""
    claims = report.get("claims") or report.get("payload")
    reference = claims.get("status") if isinstance(claims, dict) else None
    entry = reference.get("status_list") if isinstance(reference, dict) else None
    if not isinstance(entry, dict):
        return {"checked": False, "detail": "the token names no status list"}
    uri, idx = entry.get("uri"), entry.get("idx")
    out: JsonObject = {"uri": uri, "idx": idx}
    try:
        if not isinstance(uri, str) or isinstance(idx, bool) or not isinstance(idx, int):
            raise PasserelleError(Reason.STATUS_LIST_INVALID, "status_list has no uri and idx")
        token = fetch(uri)
        if options.verifying:
            listed = verify_status_list_token(
                token,
                expected_uri=uri,
                key=options.key,
                x5c_anchors=() if options.key is not None else options.anchors,
                algorithms=ALGORITHMS,
                now=options.now,
                skew=options.skew,
            ).status_list
        else:
            jws = decode_unverified_jws(token, what="status list token")
            if str(jws.header.get("typ", "")).lower() != STATUS_LIST_JWT_TYP:
                raise PasserelleError(Reason.JWS_TYP_MISMATCH, "not a statuslist+jwt")
            listed = decode_status_list(jws.payload_json().get("status_list"))
        value = listed.get(idx)
    except PasserelleError as exc:
        return {**out, "checked": False, **exc.as_dict()}
    known = {v.value: v.name for v in StatusValue}
    name = known.get(value, f"0x{value:02x}")
    return {**out, "checked": True, "verified": options.verifying, "value": name}


def _format_of(header: JsonObject, payload: JsonObject, has_tilde: bool) -> str:
    typ = str(header.get("typ", "")).lower().removeprefix("application/")
    if has_tilde:
        return "dc+sd-jwt" if typ in (SD_JWT_VC_TYP, "vc+sd-jwt") else "sd-jwt"
    if typ == "vc+jwt":
        return "vc+jwt"
    if typ == "vp+jwt":
        return "vp+jwt"
    if "vc" in payload:
        return "jwt_vc_json"
    if "vp" in payload:
        return "jwt_vp_json"
    return "jwt"


def _decode_sd_jwt(token: str, report: JsonObject, options: InspectOptions) -> None:
    parsed = parse_sd_jwt(token)
    payload = parsed.unverified_payload()
    report["header"] = parsed.issuer_jwt.header
    report["payload"] = payload
    processed = process_disclosures(parsed, payload)
    places = {id(r.disclosure): r.path for r in processed.revealed}
    report["disclosures"] = [
        {
            "salt": d.salt,
            "name": d.name,
            "value": d.value,
            "digest": d.digest(processed.hash_alg),
            "path": list(places.get(id(d), ())),
        }
        for d in parsed.disclosures
    ]
    report["claims"] = processed.claims
    report["validity"] = _validity(processed.claims, options.now)
    if parsed.kb_jwt is not None:
        kb = decode_unverified_jws(parsed.kb_jwt, what="KB-JWT")
        report["kb_jwt"] = {"header": kb.header, "payload": kb.payload_json(what="KB-JWT payload")}


def _verify(token: str, fmt: str, options: InspectOptions) -> JsonObject:
    binding = None
    if options.nonce is not None or options.audience is not None:
        if options.nonce is None or options.audience is None:
            raise PasserelleError(Reason.KB_JWT_MALFORMED, "give both --nonce and --aud")
        binding = KeyBindingCheck(nonce=options.nonce, audience=options.audience)
    common = {"algorithms": ALGORITHMS, "now": options.now, "skew": options.skew}
    if fmt == "dc+sd-jwt" and options.anchors:
        vc = verify_sd_jwt_vc(
            token,
            keys=IssuerKeyPolicy(x5c_anchors=options.anchors),
            key_binding=binding,
            **common,  # type: ignore[arg-type]
        )
        return {
            "issuer": vc.issuer.issuer,
            "key_from": str(vc.issuer.method),
            "key_bound": vc.holder_bound,
        }
    if options.key is None:
        raise PasserelleError(
            Reason.SD_JWT_VC_ISSUER_KEY_UNRESOLVED, f"no --key given to verify a {fmt} token"
        )
    if fmt in ("sd-jwt", "dc+sd-jwt"):
        sd = verify_sd_jwt(
            token,
            issuer_key=options.key,
            key_binding=binding,
            typ=SD_JWT_VC_TYP if fmt == "dc+sd-jwt" else None,
            **common,  # type: ignore[arg-type]
        )
        return {"key_bound": sd.key_binding is not None}
    if fmt == "jwt_vc_json":
        w3c = verify_jwt_vc_json(token, issuer_key=options.key, **common)  # type: ignore[arg-type]
        return {"issuer": w3c.issuer}
    if fmt == "vc+jwt":
        w3c = verify_vc_jose(token, issuer_key=options.key, **common)  # type: ignore[arg-type]
        return {"issuer": w3c.issuer}
    verify_jws(token, key=options.key, algorithms=ALGORITHMS)
    return {}


def describe_token(token: str, options: InspectOptions) -> JsonObject:
    """Decode ``token`` and, when ``options`` carry keys, verify it.

    Returns a report with ``format``, ``header``, ``payload``, ``disclosures``, ``claims``,
    ``validity`` and ``verification`` (``{"verified": bool, "reason": ...}``); decoding
    failures are reported the same way rather than raised, so that the CLI shows what it
    could read before the failure.
    """
    token = token.strip()
    from ._inspect_mdoc import describe_mdoc, mdoc_bytes  # mdoc is CBOR, not a JWS

    cbor = mdoc_bytes(token)
    if cbor is not None:
        return describe_mdoc(cbor, options)
    report: JsonObject = {}
    try:
        has_tilde = "~" in token
        jws = decode_unverified_jws(token.split("~", 1)[0], what="JWT")
        payload = jws.payload_json()
        fmt = _format_of(jws.header, payload, has_tilde)
        report["format"] = fmt
        if has_tilde:
            _decode_sd_jwt(token, report, options)
        else:
            report["header"] = jws.header
            report["payload"] = payload
            report["validity"] = _validity(payload, options.now)
        if "x5c" in jws.header:
            report["certificates"] = describe_certificates(jws.header["x5c"], options.now)
        if not options.verifying:
            report["verification"] = {"verified": False, "reason": None, "detail": "not requested"}
            return report
        extra = _verify(token, fmt, options)
        report["verification"] = {"verified": True, "reason": None, **extra}
    except PasserelleError as exc:
        report["verification"] = {"verified": False, **exc.as_dict()}
    return report
