"""``did:web`` identifiers and DID documents, as the data-space path uses them.

Pure: a service fetches ``did_web_to_url(did)`` under its fetch policy and hands the
document in. What is checked here:

- did:web method specification, "Method-specific identifier" and "Read (Resolve)": a
  domain name (never an IP address), a port only with its colon percent-encoded
  (``%3A``), path segments separated by ``:``; the document is at
  ``https://<host>[/<path>]/did.json``, or ``/.well-known/did.json`` without a path.
  Path segments are used as written (the method decodes only the port colon); a
  segment that would decode to a path separator or a dot-segment is refused, so that
  a DID can never name a document outside its own path.
- did:web, "Key Material and Document Handling": DID URLs inside a did:web document
  "must be an absolute URL ... prevents key confusion attacks". Verification method
  ids and relationship references must be absolute here.
- DID Core §5.3 verification relationships: a method is used for a purpose only when
  the document lists it (by reference or embedded) under that relationship, when the
  caller names one (DCP 1.0: ``capabilityInvocation`` for Self-Issued ID Tokens,
  ``authentication`` for presentations).
- DCP 1.0 §"Credential Service Endpoint Discovery": one ``service`` entry of type
  ``CredentialService`` whose ``serviceEndpoint`` is the base URL of the holder's
  Credential Service.

Development relaxations, two of them because they relax two different rules:

- ``allow_loopback``: a DID may name a loopback IP address (``127.0.0.1``),
  which the method otherwise forbids. Its document is still fetched over ``https``:
  the laptop stack with TLS (``passerelle up --tls``).
- ``allow_insecure_loopback``: a DID naming a loopback host (an IP address as above,
  ``localhost``, a name under ``.localhost``) resolves over plain ``http`` — the
  laptop stack without TLS. It implies ``allow_loopback``: a document served over http
  on this machine is named by this machine's address.

Neither flag changes anything for a DID naming any other host.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Mapping
from urllib.parse import unquote

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue
from .._net import is_loopback_host, split_url
from ..jose import PublicKey, load_public_jwk

__all__ = [
    "ASSERTION_METHOD",
    "AUTHENTICATION",
    "CAPABILITY_INVOCATION",
    "CREDENTIAL_SERVICE_TYPE",
    "credential_service_endpoint",
    "did_of_key_id",
    "did_web_base_url",
    "did_web_to_url",
    "key_resolver",
    "url_to_did_web",
    "verification_key",
    "verification_method",
]

AUTHENTICATION = "authentication"
"""DID Core §5.3.1; DCP 1.0 asks it of the key that signs a Verifiable Presentation."""
ASSERTION_METHOD = "assertionMethod"
"""DID Core §5.3.2: the relationship of keys that issue credentials."""
CAPABILITY_INVOCATION = "capabilityInvocation"
"""DID Core §5.3.4; DCP 1.0 asks it of the key that signs a Self-Issued ID Token."""
CREDENTIAL_SERVICE_TYPE = "CredentialService"

_RELATIONSHIPS = frozenset(
    {AUTHENTICATION, ASSERTION_METHOD, CAPABILITY_INVOCATION, "capabilityDelegation"}
)
_PREFIX = "did:web:"
_MAX_DID = 2048
# RFC 1123 host labels; the whole name at most 253 characters.
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# RFC 3986 pchar without ":" (the did:web separator); "%" only as a %XX escape.
_SEGMENT = re.compile(r"(?:[A-Za-z0-9._~!$&'()*+,;=@-]|%[0-9A-Fa-f]{2})+")
_FORBIDDEN_ESCAPES = re.compile(r"%(?:2[Ff]|5[Cc]|00)")
_DID = re.compile(r"did:[a-z0-9]+:[A-Za-z0-9._:%-]*[A-Za-z0-9._%-]")
_WELL_KNOWN = "/.well-known/did.json"
_DOCUMENT = "/did.json"


def _invalid(detail: str) -> PasserelleError:
    return PasserelleError(Reason.DID_INVALID, detail)


def _host_allowed(host: str, allow_loopback: bool) -> bool:
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return len(host) <= 253 and all(_LABEL.fullmatch(label) for label in host.split("."))
    # "MUST NOT include IP addresses"; the laptop stack's loopback is the one exception.
    return allow_loopback and ip.is_loopback


def _split_did_web(did: str, allow_loopback: bool) -> tuple[str, str, list[str]]:
    """``(host, ":port" or "", path segments)`` of a did:web, or ``did.invalid``."""
    if not isinstance(did, str) or not did.startswith(_PREFIX) or len(did) > _MAX_DID:
        raise _invalid(f"{did!r} is not a did:web identifier")
    if any(c in did for c in "/?#") or any(ord(c) <= 0x20 or ord(c) >= 0x7F for c in did):
        raise _invalid(f"{did!r} is a DID URL or holds characters a did:web cannot")
    authority, *segments = did[len(_PREFIX) :].split(":")
    if not re.fullmatch(r"[A-Za-z0-9.-]+(%3[Aa][0-9]{1,5})?", authority):
        raise _invalid(f"{did!r}: the host must be a domain name, a port only as %3A<port>")
    host, _, port = authority.replace("%3a", "%3A").partition("%3A")
    if port and not 0 < int(port) < 65536:
        raise _invalid(f"{did!r}: port {port} is out of range")
    if not _host_allowed(host.lower(), allow_loopback):
        raise _invalid(f"{did!r}: {host!r} is not a domain name did:web may name")
    for segment in segments:
        # A server may decode %2e or %2F before routing: judge the decoded segment too.
        if (
            not _SEGMENT.fullmatch(segment)
            or _FORBIDDEN_ESCAPES.search(segment)
            or unquote(segment) in (".", "..")
        ):
            raise _invalid(f"{did!r}: path segment {segment!r} is not allowed")
    return host.lower(), f":{port}" if port else "", segments


def _base_url(did: str, allow_loopback: bool, allow_insecure_loopback: bool) -> tuple[str, bool]:
    """``(base URL, has a path)`` of a valid did:web, or ``did.invalid``."""
    host, port, segments = _split_did_web(did, allow_loopback or allow_insecure_loopback)
    # Only the insecure relaxation changes the scheme, and only for this machine.
    scheme = "http" if allow_insecure_loopback and is_loopback_host(host) else "https"
    return f"{scheme}://{host}{port}" + "".join("/" + s for s in segments), bool(segments)


def did_web_base_url(
    did: str, *, allow_loopback: bool = False, allow_insecure_loopback: bool = False
) -> str:
    """The URL a did:web names: ``https://<host>[:port][/<path>]``, no trailing ``/``.

    It is :func:`did_web_to_url` without ``/.well-known/did.json`` (or ``/did.json``).
    The trust evaluator looks a did:web issuer up in the Canadian registry under this
    URL, where issuers are registered by their URL. The two flags are the module's
    development relaxations.
    """
    return _base_url(did, allow_loopback, allow_insecure_loopback)[0]


def did_web_to_url(
    did: str, *, allow_loopback: bool = False, allow_insecure_loopback: bool = False
) -> str:
    """Where a did:web's document is (did:web "Read (Resolve)"), or ``did.invalid``.

    ``did:web:w3c-ccg.github.io`` → ``https://w3c-ccg.github.io/.well-known/did.json``;
    ``did:web:example.com%3A3000:user:alice`` → ``https://example.com:3000/user/alice/did.json``.
    ``did:web:127.0.0.1%3A8106:sme`` → ``https://127.0.0.1:8106/sme/did.json`` with
    ``allow_loopback``, ``http://...`` with ``allow_insecure_loopback``.
    """
    base, has_path = _base_url(did, allow_loopback, allow_insecure_loopback)
    return base + (_DOCUMENT if has_path else _WELL_KNOWN)


def url_to_did_web(
    url: str, *, allow_loopback: bool = False, allow_insecure_loopback: bool = False
) -> str:
    """The did:web of a URL (did:web "Create"): host, ``%3A<port>``, ``:``-separated path.

    Takes a base URL (``https://example.com/user/alice``) or a document URL as
    :func:`did_web_to_url` makes it; ``url_to_did_web(did_web_to_url(d)) == d``. An
    ``http`` URL only with ``allow_insecure_loopback``, and then on a loopback host.
    """
    loopback_hosts = allow_loopback or allow_insecure_loopback
    if not isinstance(url, str) or len(url) > _MAX_DID:
        raise _invalid("the URL is not a string of a sensible length")
    parts = split_url(url)
    host = (parts.hostname or "").lower()
    try:
        port = parts.port
    except ValueError as exc:
        raise _invalid(f"{url!r} has an invalid port") from exc
    secure = parts.scheme == "https"
    if not (secure or (parts.scheme == "http" and allow_insecure_loopback)):
        raise _invalid(f"{url!r}: a did:web URL is https")
    if parts.query or parts.fragment or parts.username or parts.password or "@" in parts.netloc:
        raise _invalid(f"{url!r}: no query, fragment or user information in a did:web URL")
    if not host or not _host_allowed(host, loopback_hosts):
        raise _invalid(f"{url!r}: {host!r} is not a host did:web may name")
    if not secure and not is_loopback_host(host):
        raise _invalid(f"{url!r}: plain http is allowed on loopback only")
    path = parts.path
    if path == _WELL_KNOWN:
        path = ""
    elif path.endswith(_DOCUMENT) and path != _DOCUMENT:
        path = path[: -len(_DOCUMENT)]
    segments = [s for s in path.split("/") if s]
    encoded = [s.replace(":", "%3A") for s in segments]
    authority = host if port is None else f"{host}%3A{port}"
    did = ":".join(["did:web", authority, *encoded])
    _split_did_web(did, loopback_hosts)  # the result must itself be valid
    return did


def did_of_key_id(kid: str) -> str:
    """The DID part of an absolute DID URL (``did:web:a#key-1`` → ``did:web:a``)."""
    if not isinstance(kid, str):
        raise _invalid("a key id is not a string")
    did, _, _ = kid.partition("#")
    if not _DID.fullmatch(did):
        raise _invalid(f"{kid!r} is not a DID or DID URL")
    return did


def _document_id(document: JsonValue) -> str:
    if not isinstance(document, dict):
        raise _invalid("the DID document is not a JSON object")
    doc_id = document.get("id")
    if not isinstance(doc_id, str) or not _DID.fullmatch(doc_id):
        raise _invalid("the DID document has no DID as its id")
    return doc_id


def _absolute(reference: str, doc_id: str) -> str:
    return doc_id + reference if reference.startswith("#") else reference


def _entries(document: JsonObject, name: str, doc_id: str) -> list[JsonValue]:
    value = document.get(name, [])
    if not isinstance(value, list):
        raise _invalid(f"DID document {doc_id}: {name} is not an array")
    return value


def _methods(document: JsonObject, doc_id: str) -> dict[str, JsonObject]:
    """Every verification method the document defines, by absolute id; embedded ones
    in relationships count too (DID Core §5.3)."""
    found: dict[str, JsonObject] = {}
    for name in ("verificationMethod", *sorted(_RELATIONSHIPS)):
        for entry in _entries(document, name, doc_id):
            if not isinstance(entry, dict):
                continue
            method_id = entry.get("id")
            if not isinstance(method_id, str) or not method_id.startswith(doc_id + "#"):
                raise _invalid(
                    f"DID document {doc_id}: verification method id {method_id!r} is not "
                    "an absolute DID URL of the document"
                )
            if method_id in found and found[method_id] != entry:
                raise _invalid(f"DID document {doc_id}: {method_id} is defined twice")
            found[method_id] = entry
    return found


def _related(document: JsonObject, relationship: str, doc_id: str) -> set[str]:
    ids = set()
    for entry in _entries(document, relationship, doc_id):
        ref = entry.get("id") if isinstance(entry, dict) else entry
        if isinstance(ref, str):
            ids.add(ref)
    return ids


def verification_method(
    did_document: JsonObject, kid: str, *, relationship: str | None = None
) -> JsonObject:
    """The verification method ``kid`` names in ``did_document``, or ``did.key_not_found``.

    ``kid`` is an absolute DID URL of the document's DID, a relative ``#fragment``, or
    the bare DID, which names the document's only method (DCP 1.0: without a ``kid``,
    a single verification method is used; with several, the token is refused). When
    ``relationship`` is given, the document must list the method under it.
    """
    if relationship is not None and relationship not in _RELATIONSHIPS:
        raise local_error(Reason.DID_INVALID, f"unknown verification relationship {relationship}")
    doc_id = _document_id(did_document)
    if not isinstance(kid, str) or not kid:
        raise PasserelleError(Reason.DID_KEY_NOT_FOUND, "the key id is not a string")
    absolute = _absolute(kid, doc_id)
    if did_of_key_id(absolute) != doc_id:
        raise PasserelleError(
            Reason.DID_KEY_NOT_FOUND, f"{kid!r} is not a key of {doc_id}, whose document this is"
        )
    methods = _methods(did_document, doc_id)
    if absolute == doc_id:
        if len(methods) != 1:
            raise PasserelleError(
                Reason.DID_KEY_NOT_FOUND,
                f"no key id given and {doc_id} has {len(methods)} verification methods",
            )
        absolute = next(iter(methods))
    method = methods.get(absolute)
    if method is None:
        raise PasserelleError(Reason.DID_KEY_NOT_FOUND, f"{doc_id} has no method {absolute}")
    if relationship is not None and absolute not in _related(did_document, relationship, doc_id):
        raise PasserelleError(
            Reason.DID_KEY_NOT_FOUND, f"{absolute} is not listed under {relationship}"
        )
    return method


def verification_key(
    did_document: JsonObject, kid: str, *, relationship: str | None = None
) -> PublicKey:
    """The public key of :func:`verification_method`, from its ``publicKeyJwk``."""
    method = verification_method(did_document, kid, relationship=relationship)
    jwk = method.get("publicKeyJwk")
    if not isinstance(jwk, dict):
        raise PasserelleError(
            Reason.DID_KEY_NOT_FOUND, f"{method.get('id')} has no publicKeyJwk we can use"
        )
    return load_public_jwk(jwk)


def key_resolver(
    did_documents: Mapping[str, JsonObject], *, relationship: str | None = None
) -> Callable[[str], PublicKey]:
    """A ``resolve_key`` over documents the caller fetched, keyed by DID.

    The document is chosen by the DID part of the key id, and must say it is that
    DID's document (did:web "Read": "Verify that the ID of the resolved DID document
    matches the Web DID being resolved").
    """
    documents = dict(did_documents)

    def resolve(kid: str) -> PublicKey:
        did = did_of_key_id(kid)
        document = documents.get(did)
        if document is None:
            raise PasserelleError(Reason.DID_UNRESOLVED, f"no DID document for {did}")
        if _document_id(document) != did:
            raise _invalid(f"the document fetched for {did} is about another DID")
        return verification_key(document, kid, relationship=relationship)

    return resolve


def _types(entry: JsonObject) -> list[str]:
    value = entry.get("type")
    items = value if isinstance(value, list) else [value]
    return [t for t in items if isinstance(t, str)]


def credential_service_endpoint(
    did_document: JsonObject, *, allow_insecure_loopback: bool = False
) -> str:
    """The base URL of the holder's Credential Service, no trailing ``/``.

    DCP 1.0: "The ``type`` attribute of the ``service`` entry MUST be
    ``CredentialService``" and "the base URL MUST use the HTTPS scheme". Exactly one
    such entry is accepted: with two, which one the holder meant is a guess.
    """
    doc_id = _document_id(did_document)
    services = did_document.get("service", [])
    if not isinstance(services, list):
        raise PasserelleError(
            Reason.DCP_CREDENTIAL_SERVICE_UNRESOLVED, f"{doc_id}: service is not an array"
        )
    matching = [s for s in services if isinstance(s, dict) and CREDENTIAL_SERVICE_TYPE in _types(s)]
    if len(matching) != 1:
        raise PasserelleError(
            Reason.DCP_CREDENTIAL_SERVICE_UNRESOLVED,
            f"{doc_id} has {len(matching)} {CREDENTIAL_SERVICE_TYPE} entries, not one",
        )
    endpoint = matching[0].get("serviceEndpoint")
    if not isinstance(endpoint, str):
        raise PasserelleError(
            Reason.DCP_CREDENTIAL_SERVICE_UNRESOLVED,
            f"{doc_id}: the {CREDENTIAL_SERVICE_TYPE} serviceEndpoint is not a URL string",
        )
    parts = split_url(endpoint)
    secure = parts.scheme == "https" or (
        allow_insecure_loopback
        and parts.scheme == "http"
        and is_loopback_host(parts.hostname or "")
    )
    if not secure or not parts.hostname or parts.query or parts.fragment or parts.username:
        raise PasserelleError(
            Reason.DCP_CREDENTIAL_SERVICE_UNRESOLVED,
            f"{doc_id}: Credential Service {endpoint!r} is not an https base URL",
        )
    return endpoint.rstrip("/")
