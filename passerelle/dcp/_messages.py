"""The Resolution API messages of DCP 1.0 §"Verifiable Presentation Protocol", and scopes.

``POST /presentations/query`` carries a ``PresentationQueryMessage`` and answers with a
``PresentationResponseMessage``. Both are JSON with the DCP context; we process them as
plain JSON (DCP 1.0 §"Schemas, Contexts": the context is built so that compacted
JSON-LD validates against the JSON Schemas, so either way interoperates).

Only ``scope`` queries are supported. DCP 1.0: a message with both ``scope`` and
``presentationDefinition`` "is an error" (400); ``presentationDefinition`` alone, when
unsupported, is answered ``501 Not Implemented``. Both raise ``dcp.scope_invalid``;
:func:`is_presentation_definition_query` lets a service tell the 501 case apart.

Scopes are ``[alias]:[discriminator]``. The ``org.eclipse.dspace.dcp.vc.type`` alias
asks for credentials by type. The spec's example is ``...vc.type:Member``; the DCP TCK
and Eclipse EDC append the access mode (``...vc.type:MembershipCredential:read``). We
write the ``:read`` form and read both.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue, parse_json_object

__all__ = [
    "DCP_CONTEXT",
    "PRESENTATION_QUERY_MESSAGE",
    "PRESENTATION_RESPONSE_MESSAGE",
    "SCOPE_VC_ID_ALIAS",
    "SCOPE_VC_TYPE_ALIAS",
    "is_presentation_definition_query",
    "parse_presentation_query",
    "parse_presentation_response",
    "presentation_query",
    "presentation_response",
    "scope_for_type",
    "type_of_scope",
]

DCP_CONTEXT = "https://w3id.org/dspace-dcp/v1.0/dcp.jsonld"
PRESENTATION_QUERY_MESSAGE = "PresentationQueryMessage"
PRESENTATION_RESPONSE_MESSAGE = "PresentationResponseMessage"
SCOPE_VC_TYPE_ALIAS = "org.eclipse.dspace.dcp.vc.type"
SCOPE_VC_ID_ALIAS = "org.eclipse.dspace.dcp.vc.id"
_READ = ":read"

MAX_SCOPES = 64
MAX_PRESENTATIONS = 64
_MAX_SCOPE_LENGTH = 1024
# [alias]:[discriminator], printable ASCII without spaces (OAuth scope-tokens, RFC 6749
# §3.3, exclude space, '"' and '\'; a scope list travels space-separated in STS requests).
_SCOPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+:[\x21\x23-\x5b\x5d-\x7e]+")
_TYPE = re.compile(r"[\x21\x23-\x5b\x5d-\x7e]+")


def _check_scope(scope: JsonValue) -> str:
    if not isinstance(scope, str) or len(scope) > _MAX_SCOPE_LENGTH or not _SCOPE.fullmatch(scope):
        raise PasserelleError(
            Reason.DCP_SCOPE_INVALID, f"scope {scope!r} is not of the form alias:discriminator"
        )
    return scope


def scope_for_type(credential_type: str) -> str:
    """``org.eclipse.dspace.dcp.vc.type:<type>:read``: read access to one credential type."""
    if not isinstance(credential_type, str) or not _TYPE.fullmatch(credential_type):
        raise local_error(Reason.DCP_SCOPE_INVALID, f"{credential_type!r} is not a type name")
    return _check_scope(f"{SCOPE_VC_TYPE_ALIAS}:{credential_type}{_READ}")


def type_of_scope(scope: str) -> str:
    """The credential type a ``vc.type`` scope asks for, with or without ``:read``."""
    _check_scope(scope)
    prefix = SCOPE_VC_TYPE_ALIAS + ":"
    if not scope.startswith(prefix):
        raise PasserelleError(
            Reason.DCP_SCOPE_INVALID, f"scope {scope!r} does not ask for a credential type"
        )
    credential_type = scope[len(prefix) :].removesuffix(_READ)
    # Another access mode (write, all) does not read: a presentation cannot answer it.
    if not credential_type or credential_type.endswith((":write", ":all")):
        raise PasserelleError(
            Reason.DCP_SCOPE_INVALID, f"scope {scope!r} does not ask to read a credential type"
        )
    return credential_type


def _body(body: JsonValue | bytes, *, what: str, reason: Reason) -> JsonObject:
    if isinstance(body, bytes):
        try:
            return parse_json_object(body, what=what)
        except PasserelleError as exc:
            raise PasserelleError(reason, exc.detail) from exc
    if not isinstance(body, dict):
        raise PasserelleError(reason, f"{what} is not a JSON object")
    return body


def _check_envelope(body: JsonObject, message_type: str, reason: Reason) -> None:
    context = body.get("@context")
    if not isinstance(context, list) or DCP_CONTEXT not in context:
        raise PasserelleError(reason, f"{message_type} @context does not hold {DCP_CONTEXT}")
    if body.get("type") != message_type:
        raise PasserelleError(reason, f"message type is {body.get('type')!r}, not {message_type}")


def presentation_query(scopes: Sequence[str]) -> JsonObject:
    """A ``PresentationQueryMessage`` asking for ``scopes``."""
    if isinstance(scopes, str) or not scopes or len(scopes) > MAX_SCOPES:
        raise local_error(Reason.DCP_SCOPE_INVALID, "a query needs between 1 and 64 scopes")
    try:
        checked: list[JsonValue] = [_check_scope(s) for s in scopes]
    except PasserelleError as exc:
        raise local_error(exc.reason, exc.detail) from exc
    return {"@context": [DCP_CONTEXT], "type": PRESENTATION_QUERY_MESSAGE, "scope": checked}


def is_presentation_definition_query(body: JsonValue) -> bool:
    """Whether a query asks by ``presentationDefinition`` alone (DCP 1.0: 501 if unsupported)."""
    return isinstance(body, dict) and "presentationDefinition" in body and "scope" not in body


def parse_presentation_query(body: JsonValue | bytes) -> list[str]:
    """The scopes of a ``PresentationQueryMessage``, in order and without repeats."""
    message = _body(body, what=PRESENTATION_QUERY_MESSAGE, reason=Reason.DCP_SCOPE_INVALID)
    _check_envelope(message, PRESENTATION_QUERY_MESSAGE, Reason.DCP_SCOPE_INVALID)
    if "presentationDefinition" in message:
        detail = (
            "scope and presentationDefinition together are an error"
            if "scope" in message
            else "presentationDefinition is not supported; ask by scope"
        )
        raise PasserelleError(Reason.DCP_SCOPE_INVALID, detail)
    scopes = message.get("scope")
    # "The array MUST contain at least one value. If the array is empty, the Credential
    # Service MUST return HTTP 4xx."
    if not isinstance(scopes, list) or not scopes or len(scopes) > MAX_SCOPES:
        raise PasserelleError(
            Reason.DCP_SCOPE_INVALID, f"scope is not an array of 1 to {MAX_SCOPES} scopes"
        )
    return list(dict.fromkeys(_check_scope(s) for s in scopes))


def presentation_response(presentations: Sequence[str]) -> JsonObject:
    """A ``PresentationResponseMessage`` carrying compact ``vp+jwt`` presentations.

    An empty list is a valid answer (DCP 1.0: scopes the client is not entitled to give
    "less entries than requested").
    """
    if isinstance(presentations, str) or len(presentations) > MAX_PRESENTATIONS:
        raise local_error(Reason.DCP_PRESENTATION_INVALID, "presentations must be a list of JWTs")
    if not all(isinstance(p, str) and p.count(".") == 2 for p in presentations):
        raise local_error(Reason.DCP_PRESENTATION_INVALID, "each presentation is a compact JWT")
    items: list[JsonValue] = list(presentations)
    return {"@context": [DCP_CONTEXT], "type": PRESENTATION_RESPONSE_MESSAGE, "presentation": items}


def parse_presentation_response(body: JsonValue | bytes) -> list[str]:
    """The presentations of a ``PresentationResponseMessage``: compact JWT strings.

    The array may be empty here (a valid answer on the wire);
    :func:`passerelle.dcp.verify_dcp_presentations` then fails, as the DCP TCK 5.4.2.3
    expects of a verifier. JSON-object presentations
    (Data Integrity proofs) belong to no profile we speak (``vc20-bssl/jwt`` only) and
    are refused.
    """
    reason = Reason.DCP_PRESENTATION_INVALID
    message = _body(body, what=PRESENTATION_RESPONSE_MESSAGE, reason=reason)
    _check_envelope(message, PRESENTATION_RESPONSE_MESSAGE, reason)
    items = message.get("presentation")
    if not isinstance(items, list) or len(items) > MAX_PRESENTATIONS:
        raise PasserelleError(reason, "presentation is not an array of presentations")
    presentations = []
    for item in items:
        if not isinstance(item, str) or item.count(".") != 2:
            raise PasserelleError(
                reason, "a presentation is not a compact JWT (profile vc20-bssl/jwt)"
            )
        presentations.append(item)
    return presentations
