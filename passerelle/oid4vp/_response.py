"""Authorization Responses (OpenID4VP 1.0 §8): ``vp_token``, ``direct_post`` forms,
``direct_post.jwt``, and error responses, from both sides.

``vp_token`` in 1.0 final is a JSON object whose keys are DCQL Credential Query ids
and whose values are non-empty arrays of Presentations, each a string or an object
depending on the format (§8.1).
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Callable, Mapping, Sequence

from .._errors import Fault, PasserelleError, Reason
from .._json import JsonObject, JsonValue, parse_json
from ..sd_jwt import KeyBindingCheck
from ._models import (
    AuthorizationError,
    AuthorizationRequest,
    AuthorizationResponse,
    ResponseMode,
    oid4vp_error,
)

__all__ = [
    "build_vp_token",
    "direct_post_form",
    "direct_post_jwt_form",
    "error_response_form",
    "key_binding_check_for",
    "parse_authorization_response",
    "parse_vp_token",
]

# RFC 6749 §4.1.2.1: error and error_description are limited to these characters.
_ERROR_CHARS = re.compile(r"[\x20-\x21\x23-\x5B\x5D-\x7E]+")
_MAX_PRESENTATIONS = 64


def _invalid(detail: str) -> PasserelleError:
    return oid4vp_error(Reason.OID4VP_RESPONSE_INVALID, detail)


def parse_vp_token(value: JsonValue) -> dict[str, tuple[str | JsonObject, ...]]:
    """Check the shape of a ``vp_token`` object (§8.1) and return it as tuples."""
    if isinstance(value, str):
        value = parse_json(value, what="vp_token")
    if not isinstance(value, dict) or not value:
        raise _invalid("vp_token is not a non-empty JSON object")
    out: dict[str, tuple[str | JsonObject, ...]] = {}
    for query_id, presentations in value.items():
        if not query_id:
            raise _invalid("vp_token has an empty credential query id")
        if not isinstance(presentations, list) or not presentations:
            raise _invalid(f"vp_token[{query_id!r}] is not a non-empty array")
        if len(presentations) > _MAX_PRESENTATIONS:
            raise oid4vp_error(Reason.INPUT_TOO_LARGE, f"vp_token[{query_id!r}] is too long")
        items: list[str | JsonObject] = []
        for item in presentations:
            if (isinstance(item, str) and item) or isinstance(item, dict):
                items.append(item)
            else:
                raise _invalid(f"vp_token[{query_id!r}] holds a non-presentation")
        out[query_id] = tuple(items)
    return out


def build_vp_token(presentations: Mapping[str, Sequence[str | JsonObject]]) -> JsonObject:
    """The ``vp_token`` object for presentations grouped by Credential Query id."""
    token: JsonObject = {}
    for query_id, items in presentations.items():
        if isinstance(items, str):
            # A bare string is a Sequence too; refuse rather than guess.
            raise oid4vp_error(
                Reason.OID4VP_RESPONSE_INVALID, f"{query_id!r}: give a list", fault=Fault.LOCAL
            )
        token[query_id] = list(items)
    try:
        parse_vp_token(token)
    except PasserelleError as exc:
        raise oid4vp_error(exc.reason, exc.detail, fault=Fault.LOCAL) from exc
    return token


def _compact(value: JsonValue) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def direct_post_form(vp_token: JsonObject, state: str | None) -> dict[str, str]:
    """The ``application/x-www-form-urlencoded`` body of a ``direct_post`` response."""
    form = {"vp_token": _compact(vp_token)}
    if state is not None:
        form["state"] = state
    return form


def direct_post_jwt_form(response: str) -> dict[str, str]:
    """The body of a ``direct_post.jwt`` response: the JWE in ``response`` (§8.3.1)."""
    return {"response": response}


def error_response_form(
    error: str, *, description: str | None = None, state: str | None = None
) -> dict[str, str]:
    """An Authorization Error Response body (§8.5), sent unencrypted (§8.3.1 allows it)."""
    if not _ERROR_CHARS.fullmatch(error) or (
        description is not None and not _ERROR_CHARS.fullmatch(description)
    ):
        raise _invalid('error and error_description must be printable ASCII without " or \\')
    form = {"error": error}
    if description is not None:
        form["error_description"] = description
    if state is not None:
        form["state"] = state
    return form


def _check_state(received: JsonValue, expected: str | None) -> str | None:
    if received is not None and not isinstance(received, str):
        raise _invalid("state is not a string")
    if expected is None and received is None:
        return None
    if (
        expected is None
        or received is None
        or not hmac.compare_digest(received.encode(), expected.encode())
    ):
        raise oid4vp_error(Reason.OID4VP_STATE_MISMATCH, "state does not match the request")
    return received


def _parse_error(params: Mapping[str, JsonValue], expected_state: str | None) -> AuthorizationError:
    error = params.get("error")
    description = params.get("error_description")
    uri = params.get("error_uri")
    if not isinstance(error, str) or not _ERROR_CHARS.fullmatch(error):
        raise _invalid("error is not an RFC 6749 error code")
    if description is not None and not isinstance(description, str):
        raise _invalid("error_description is not a string")
    if uri is not None and not isinstance(uri, str):
        raise _invalid("error_uri is not a string")
    state = params.get("state")
    # An error may come back without state (the Wallet failed before reading it);
    # a state that is present must still be ours.
    if state is not None:
        _check_state(state, expected_state)
    return AuthorizationError(
        error=error,
        error_description=description,
        error_uri=uri,
        state=state if isinstance(state, str) else None,
    )


def _parse_params(
    params: Mapping[str, JsonValue], *, expected_state: str | None, encrypted: bool
) -> AuthorizationResponse | AuthorizationError:
    if "error" in params:
        return _parse_error(params, expected_state)
    if "vp_token" not in params:
        raise _invalid("the response has neither vp_token nor error")
    vp_token = parse_vp_token(params["vp_token"])
    state = _check_state(params.get("state"), expected_state)
    return AuthorizationResponse(
        vp_token=vp_token,
        state=state,
        encrypted=encrypted,
        extra={k: v for k, v in params.items() if k not in ("vp_token", "state")},
    )


def parse_authorization_response(
    form: Mapping[str, str],
    *,
    response_mode: ResponseMode,
    expected_state: str | None,
    decrypt: Callable[[str], JsonObject] | None = None,
) -> AuthorizationResponse | AuthorizationError:
    """Read what the Wallet POSTed to the Response URI (Verifier side).

    Under ``direct_post.jwt`` a successful response must come as ``response`` (a JWE
    that ``decrypt`` opens, e.g. :func:`decrypt_response` with the key bound); an
    error response may come unencrypted (§8.3.1). ``state`` must equal
    ``expected_state`` (and be absent when none was sent).
    """
    if not isinstance(form, Mapping):
        raise _invalid("the response is not a form")
    if response_mode is ResponseMode.DIRECT_POST_JWT:
        if "response" not in form:
            if "error" in form:
                return _parse_error(form, expected_state)
            raise oid4vp_error(
                Reason.OID4VP_RESPONSE_NOT_ENCRYPTED, "direct_post.jwt requires response=<JWE>"
            )
        if decrypt is None:
            raise oid4vp_error(
                Reason.OID4VP_RESPONSE_DECRYPTION_FAILED, "no decryption key was given"
            )
        payload = decrypt(form["response"])
        return _parse_params(payload, expected_state=expected_state, encrypted=True)
    if "response" in form:
        raise _invalid("an encrypted response arrived under direct_post")
    return _parse_params(form, expected_state=expected_state, encrypted=False)


def key_binding_check_for(request: AuthorizationRequest) -> KeyBindingCheck:
    """What a KB-JWT must bind to: the request's ``nonce`` and the *full* ``client_id``.

    OpenID4VP 1.0 "Always Use the Full Client Identifier": the audience includes the
    prefix; Annex B.3 (SD-JWT VC): "the aud claim MUST be the value of the Client Identifier".
    """
    return KeyBindingCheck(nonce=request.nonce, audience=request.client_id)
