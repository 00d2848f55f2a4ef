"""The verifier's transactions in the store: each step is the core's pure change of the
record (``passerelle.oid4vp``: :func:`moved`, :func:`with_event`, :func:`concluded`)
applied in one atomic update, so a response is processed once across replicas and
restarts alike."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict

from passerelle import JsonObject, JsonValue, PasserelleError, Reason
from passerelle._json import b64url_encode
from passerelle.dcql import DcqlQuery, parse_dcql_query
from passerelle.oid4vp import (
    PresentationEvent,
    PresentationState,
    RequestUriMethod,
    ResponseMode,
    authorization_request_url,
    is_absolute_uri,
    moved,
    new_transaction,
    result_view,
    with_event,
)

from .state import VerifierState

__all__ = [
    "TRANSACTION_LIFETIME",
    "Row",
    "TransactionBody",
    "apply",
    "find",
    "forced",
    "log",
    "open_transaction",
    "parsed_query",
    "redirect_with_code",
    "request_url",
    "step",
    "transaction_of",
    "unknown_transaction",
]

TRANSACTION_LIFETIME = timedelta(minutes=10)

# A transaction record as stored: the JSON object the core made (new_transaction).
Row = dict[str, Any]


class TransactionBody(BaseModel):
    """``POST /transactions``: a policy name or a DCQL query, and how to ask for it."""

    # Strict: a wrong type is input.malformed at the edge, never coerced with str().
    model_config = ConfigDict(strict=True, extra="forbid")

    policy: str | None = None
    dcql_query: dict[str, Any] | None = None
    response_mode: str | None = None
    request_uri_method: str | None = None
    same_device: bool = False
    """The wallet runs on the device the request was shown on (OpenID4VP §13.3)."""
    redirect_uri: str | None = None
    """Where the wallet sends the user agent once it posted: the creator's frontend,
    which then reads the result with the ``response_code`` appended (§8.2, §13.3)."""


_PARSED: dict[str, DcqlQuery] = {}
_PARSED_MAX = 256


def parsed_query(query: JsonObject) -> DcqlQuery:
    """``parse_dcql_query(query)``, parsed once per distinct query (by its JSON text):
    a transaction's query is read at creation and again at each decision, and is
    nearly always one of the profile's few policies. A query that does not parse
    raises each time."""
    key = json.dumps(query, ensure_ascii=False, separators=(",", ":"))
    parsed = _PARSED.get(key)
    if parsed is None:
        # From a private copy: the parsed query keeps some of its input's objects (meta,
        # unknown members), which no caller may change once every transaction shares it.
        parsed = parse_dcql_query(json.loads(key))
        if len(_PARSED) >= _PARSED_MAX:  # ad hoc queries: bounded, forgotten together
            _PARSED.clear()
        _PARSED[key] = parsed
    return parsed


def unknown_transaction(what: str) -> PasserelleError:
    return PasserelleError(Reason.OID4VP_TRANSACTION_UNKNOWN, what, wire_error="invalid_request")


def _chosen(state: VerifierState, body: TransactionBody) -> tuple[JsonObject, str, str | None]:
    """The query, response mode and request_uri_method asked for, checked."""
    profile = state.profile
    if body.policy is not None:
        if body.policy not in profile.policies:
            raise PasserelleError(
                Reason.INPUT_MALFORMED, f"no policy {body.policy!r}", wire_error="invalid_request"
            )
        query: JsonObject = profile.policies[body.policy].dcql_query
    else:
        query = body.dcql_query or {}
    parsed_query(query)
    mode = body.response_mode or profile.default_response_mode
    if mode not in profile.response_modes:
        raise PasserelleError(
            Reason.OID4VP_PROFILE_VIOLATION,
            f"{profile.id} answers only {profile.response_modes}",
            wire_error="invalid_request",
        )
    method = body.request_uri_method
    if method is not None and method not in [m.value for m in RequestUriMethod]:
        raise PasserelleError(
            Reason.OID4VP_REQUEST_URI_METHOD_INVALID,
            f"request_uri_method {method!r} is neither get nor post",
            wire_error="invalid_request",
        )
    return query, mode, method


def _redirect_target(state: VerifierState, body: TransactionBody) -> str | None:
    """The frontend URI to return to the wallet, checked: an absolute URI (§8.2 "an
    absolute URI as defined by [RFC3986] Section 4.3"), and one there must be
    when the profile requires it of a same-device transaction (HAIP 1.0 §5.1)."""
    target = body.redirect_uri
    if target is None:
        if body.same_device and state.profile.same_device_redirect == "required":
            raise PasserelleError(
                Reason.OID4VP_PROFILE_VIOLATION,
                f"{state.profile.id}: a same-device transaction needs a redirect_uri "
                "(HAIP 1.0 §5.1: Verifiers MUST include redirect_uri in the HTTP response "
                "to the Wallet's HTTP POST)",
                wire_error="invalid_request",
            )
        return None
    # RFC 3986 §4.3: absolute-URI = scheme ":" hier-part [ "?" query ], no fragment.
    if not is_absolute_uri(target):
        raise PasserelleError(
            Reason.INPUT_MALFORMED,
            "redirect_uri must be an absolute URI (RFC 3986 §4.3: a scheme, no fragment)",
            wire_error="invalid_request",
        )
    return target


def redirect_with_code(target: str, code: str) -> str:
    """``target`` with the Response Code as a parameter (§8.2: "a path component, as a
    fragment or as a parameter")."""
    parts = urlsplit(target)
    query = urlencode([*parse_qsl(parts.query), ("response_code", code)])
    return urlunsplit(parts._replace(query=query))


def open_transaction(state: VerifierState, body: TransactionBody) -> JsonObject:
    """Create a transaction; what its creator gets back."""
    query, mode, method = _chosen(state, body)
    target = _redirect_target(state, body)

    def token() -> str:
        return b64url_encode(state.random.token_bytes(16))

    # Two identifiers, as OpenID4VP §13.3 advises: the request id goes into URLs the
    # wallet (and anyone who sees the QR code) gets; the transaction id stays with
    # whoever created the transaction, and only it reads the result.
    tid, rid = token(), token()
    now = state.clock()
    # HAIP 1.0 §5: "ephemeral encryption public keys specific to each Authorization
    # Request": a key of its own per transaction, never shared (the quirk aside).
    key = state.behaviour.encryption_key() if mode == ResponseMode.DIRECT_POST_JWT.value else None
    row = new_transaction(
        request_id=rid,
        nonce=token(),
        state_param=token(),
        dcql_query=query,
        policy=body.policy,
        response_mode=mode,
        request_uri_method=method,
        now=now,
        encryption_key=key,
    )
    row = {**row, "same_device": body.same_device, "redirect_uri": target}
    expires = now + TRANSACTION_LIFETIME
    state.store.put_all(
        [("transactions", tid, row, expires), ("requests", rid, {"transaction": tid}, expires)]
    )
    return {
        "transaction_id": tid,
        "client_id": state.client_id,
        "request_uri": f"{state.base}/request/{rid}",
        "request_url": request_url(state, row),
        "page": f"{state.base}/transactions/{tid}/page",
    }


def request_url(state: VerifierState, row: Row) -> str:
    method = row.get("request_uri_method")
    return authorization_request_url(
        scheme=state.profile.request_scheme,
        client_id=state.client_id,
        request_uri=f"{state.base}/request/{row['request_id']}",
        request_uri_method=RequestUriMethod(method) if isinstance(method, str) else None,
    )


def transaction_of(state: VerifierState, rid: str) -> str:
    """The transaction a request id (from a wallet's URL) belongs to."""
    entry = state.store.get("requests", rid, now=state.clock())
    if not isinstance(entry, dict):
        raise unknown_transaction("unknown or expired request")
    return str(entry["transaction"])


def find(state: VerifierState, tid: str) -> Row | None:
    row = state.store.get("transactions", tid, now=state.clock())
    return row if isinstance(row, dict) else None


def view_of(state: VerifierState, tid: str, response_code: str | None) -> JsonObject | None:
    """The one view of a transaction every route shows, JSON and HTML alike: its result
    only to whoever presents the redirect's response code (OpenID4VP §14.2); None when
    unknown; ``oid4vp.response_code_mismatch`` for another code."""
    row = find(state, tid)
    return None if row is None else result_view(row, response_code=response_code)


def apply(state: VerifierState, tid: str, change: Callable[[Row], Row]) -> Row:
    """Change the transaction in one atomic update; an unknown one raises."""

    def on(row: Any) -> Any:
        if not isinstance(row, dict):
            raise unknown_transaction("unknown transaction")
        return change(row)

    result = state.store.update("transactions", tid, on, now=state.clock())
    assert isinstance(result, dict)
    return result


def step(
    state: VerifierState,
    tid: str,
    event: PresentationEvent,
    what: str,
    *,
    check: Callable[[Row], None] | None = None,
    **details: JsonValue,
) -> Row:
    """Advance the transaction and log ``what``, together; a move the table forbids,
    or that ``check`` (given the row before the move) refuses, raises and changes
    nothing."""
    now = state.clock()

    def change(row: Row) -> Row:
        if check is not None:
            check(row)
        return with_event(moved(row, event), what, now=now, **details)

    return apply(state, tid, change)


def log(state: VerifierState, tid: str, what: str, **details: JsonValue) -> None:
    """Only log ``what`` (a refusal that leaves the transaction where it is)."""
    now = state.clock()
    apply(state, tid, lambda row: with_event(row, what, now=now, **details))


def forced(state: VerifierState, tid: str, to: PresentationState) -> None:
    """Only the accept_replay quirk goes around the state table."""
    apply(state, tid, lambda row: {**row, "state": to.value})
