"""Constants of Dataspace Protocol 2025-1, the version metadata document, the HTTP
status each ``dsp.*`` reason maps to, and the member checks every parser shares.

Terms are the plain compact names of the 2025-1 context (``consumerPid``,
``callbackAddress``, ``state: "REQUESTED"``); 2025-1 dropped the ``dspace:`` prefixes
of 2024-1, and its context is ``@protected``, so a prefixed member is not the same term.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, TypeAlias

from .._errors import Fault, PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue
from .._net import split_url

__all__ = [
    "DCP_AUTH",
    "DSP_CONTEXT",
    "DSP_NAMESPACE",
    "DSP_VERSION",
    "HTTP_ENDPOINT_TYPE",
    "HTTP_PULL_FORMAT",
    "HTTP_STATUS",
    "VERSION_METADATA_PATH",
    "ProtocolVersion",
    "Role",
    "VersionAuth",
    "dsp_error",
    "http_status",
    "parse_version_metadata",
    "version_metadata",
]

DSP_VERSION = "2025-1"
DSP_CONTEXT = "https://w3id.org/dspace/2025/1/context.jsonld"
DSP_NAMESPACE = "https://w3id.org/dspace/2025/1/"
VERSION_METADATA_PATH = "/.well-known/dspace-version"
"""Common requirements, "Exposure of Versions": unversioned and unauthenticated."""

HTTP_PULL_FORMAT = "HttpData-PULL"
"""The ``format`` of a pull distribution, as in the spec's catalog example (and EDC)."""
HTTP_ENDPOINT_TYPE = "https://w3id.org/idsa/v4.1/HTTP"
"""The ``endpointType`` of an HTTP ``dataAddress``, as in the spec's transfer examples."""

Role: TypeAlias = Literal["provider", "consumer"]

# The HTTPS bindings: a malformed message or a forbidden transition is 400 with an
# error body; an unknown (or unauthorised) negotiation or transfer is 404.
HTTP_STATUS: Mapping[Reason, int] = {
    Reason.DSP_MESSAGE_INVALID: 400,
    Reason.DSP_INVALID_TRANSITION: 400,
    Reason.DSP_NEGOTIATION_UNKNOWN: 404,
    Reason.DSP_TRANSFER_UNKNOWN: 404,
    Reason.DSP_DATASET_UNKNOWN: 404,
    # "If the Provider is not aware of the offer.@id value, it MUST respond with an error".
    Reason.DSP_OFFER_UNKNOWN: 400,
    Reason.DSP_AGREEMENT_UNKNOWN: 400,
    # Our choice: the binding asks only for "an appropriate 4xx".
    Reason.DSP_POLICY_DENIED: 403,
    Reason.DSP_DATA_TOKEN_INVALID: 401,
}


def dsp_error(reason: Reason, detail: str, *, fault: Fault = Fault.PEER) -> PasserelleError:
    """A ``dsp.*`` failure whose wire error is the HTTP status the binding prescribes,
    so the service can put it on the response and in the error body's ``code``."""
    return PasserelleError(
        reason, detail, fault=fault, wire_error=str(HTTP_STATUS.get(reason, 400))
    )


def http_status(error: PasserelleError) -> int:
    """The HTTP status a DSP endpoint answers ``error`` with."""
    if error.reason in HTTP_STATUS:
        return HTTP_STATUS[error.reason]
    if error.wire_error is not None and error.wire_error.isdigit():
        return int(error.wire_error)
    return 500 if error.fault is Fault.LOCAL else 400


# -- version metadata ------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class VersionAuth:
    """The ``auth`` member of a version entry: the protocol overlay securing it."""

    protocol: str
    version: str
    profile: tuple[str, ...] = ()


DCP_AUTH = VersionAuth(protocol="DCP", version="1.0", profile=("vc20-bssl/jwt",))
"""What our connector advertises: DCP 1.0 with the VC 2.0 / JOSE profile."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtocolVersion:
    version: str
    path: str
    binding: str
    service_id: str | None = None
    identifier_type: str | None = None
    auth: VersionAuth | None = None


def version_metadata(
    path: str,
    *,
    service_id: str | None = None,
    identifier_type: str | None = None,
    auth: VersionAuth | None = None,
) -> JsonObject:
    """The body of ``GET /.well-known/dspace-version``: one 2025-1 HTTPS entry whose
    ``path`` is appended to the connector's root to give ``<base>``."""
    if not path.startswith("/"):
        raise local_error(
            Reason.DSP_MESSAGE_INVALID, f"version path {path!r} is not an absolute URL path"
        )
    entry: JsonObject = {"version": DSP_VERSION, "path": path, "binding": "HTTPS"}
    if service_id is not None:
        entry["serviceId"] = service_id
    if identifier_type is not None:
        entry["identifierType"] = identifier_type
    if auth is not None:
        entry["auth"] = {
            "protocol": auth.protocol,
            "version": auth.version,
            "profile": list(auth.profile),
        }
    return {"protocolVersions": [entry]}


def parse_version_metadata(doc: JsonValue) -> tuple[ProtocolVersion, ...]:
    """Read a peer's version metadata (protocol-version-schema.json): at least one entry,
    each with ``version``, ``path`` and ``binding``."""
    obj = require_object(doc, "version metadata")
    entries = obj.get("protocolVersions")
    if not isinstance(entries, list) or not entries:
        raise invalid("protocolVersions must be a non-empty array")
    out: list[ProtocolVersion] = []
    for index, raw in enumerate(entries):
        where = f"protocolVersions[{index}]"
        entry = require_object(raw, where)
        binding = require_str(entry, "binding", where=where)
        if binding != "HTTPS":
            raise invalid(f"{where}.binding {binding!r} is not HTTPS")
        auth = None
        if "auth" in entry:
            raw_auth = require_object(entry["auth"], f"{where}.auth")
            auth = VersionAuth(
                protocol=require_str(raw_auth, "protocol", where=f"{where}.auth"),
                version=require_str(raw_auth, "version", where=f"{where}.auth"),
                profile=tuple(optional_str_list(raw_auth, "profile", where=f"{where}.auth")),
            )
        out.append(
            ProtocolVersion(
                version=require_str(entry, "version", where=where),
                path=require_str(entry, "path", where=where),
                binding=binding,
                service_id=optional_str(entry, "serviceId", where=where),
                identifier_type=optional_str(entry, "identifierType", where=where),
                auth=auth,
            )
        )
    return tuple(out)


# -- member checks shared by the parsers -----------------------------------------------


def invalid(detail: str) -> PasserelleError:
    return dsp_error(Reason.DSP_MESSAGE_INVALID, detail)


def require_object(value: JsonValue, what: str) -> JsonObject:
    if not isinstance(value, dict):
        raise invalid(f"{what} is not a JSON object")
    return value


def require_str(obj: Mapping[str, JsonValue], key: str, *, where: str) -> str:
    if key not in obj:
        raise invalid(f"{where} lacks the required member {key!r}")
    value = obj[key]
    if not isinstance(value, str) or not value:
        raise invalid(f"{where}.{key} must be a non-empty string")
    return value


def optional_str(obj: Mapping[str, JsonValue], key: str, *, where: str) -> str | None:
    if key not in obj:
        return None
    return require_str(obj, key, where=where)


def optional_str_list(obj: Mapping[str, JsonValue], key: str, *, where: str) -> list[str]:
    if key not in obj:
        return []
    value = obj[key]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(f"{where}.{key} must be an array of strings")
    return [v for v in value if isinstance(v, str)]


def check_context(obj: Mapping[str, JsonValue], *, where: str) -> None:
    """context-schema.json: an array of strings that contains the 2025-1 context. The
    bare string form is accepted too: it is valid JSON-LD and the spec's own pagination
    example uses it."""
    if "@context" not in obj:
        raise invalid(f"{where} lacks the required member '@context'")
    context = obj["@context"]
    if context == DSP_CONTEXT:
        return
    if not isinstance(context, list) or not all(isinstance(c, str) for c in context):
        raise invalid(f"{where}.@context must be an array of strings")
    if DSP_CONTEXT not in context:
        raise invalid(f"{where}.@context does not name {DSP_CONTEXT}")


def check_type(obj: Mapping[str, JsonValue], expected: str, *, where: str) -> None:
    if "@type" not in obj:
        raise invalid(f"{where} lacks the required member '@type'")
    if obj["@type"] != expected:
        raise invalid(f"{where}.@type is {obj['@type']!r}, expected {expected!r}")


def check_optional_type(obj: Mapping[str, JsonValue], expected: str, *, where: str) -> None:
    if "@type" in obj and obj["@type"] != expected:
        raise invalid(f"{where}.@type is {obj['@type']!r}, expected {expected!r}")


def require_url(obj: Mapping[str, JsonValue], key: str, *, where: str) -> str:
    """A callback address: an absolute http(s) URL. The binding requires HTTPS support
    and lets other schemes be optional; we understand http(s) only, and "if the address
    is not understood" the receiver "MUST return an unrecoverable error". Whether plain
    http is allowed for a given host is the caller's fetch policy, not a wire rule."""
    value = require_str(obj, key, where=where)
    parts = split_url(value)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise invalid(f"{where}.{key} {value!r} is not an absolute http(s) URL")
    return value


def optional_reason(obj: Mapping[str, JsonValue], *, where: str) -> tuple[JsonValue, ...]:
    """``reason``: an array of at least one item of any shape (the TCK sends objects)."""
    if "reason" not in obj:
        return ()
    value = obj["reason"]
    if not isinstance(value, list) or not value:
        raise invalid(f"{where}.reason must be a non-empty array")
    return tuple(value)


def extra_members(obj: Mapping[str, JsonValue], known: Sequence[str]) -> Mapping[str, JsonValue]:
    """Members the parser does not model, kept so nothing a peer sent is silently lost."""
    return {k: v for k, v in obj.items() if k not in known}


# XSD dateTime, as the 2025-1 Agreement schema writes it (the time zone is optional).
XSD_DATETIME = re.compile(
    r"-?([1-9][0-9]{3,}|0[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
    r"T(([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?|(24:00:00(\.0+)?))"
    r"(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
)
