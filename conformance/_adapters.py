"""Declarative adapters: how a target's own API makes an offer, a request, a verdict.

A conformance run needs three things no protocol standardises: a fresh credential
offer from an issuer, a fresh presentation request from a verifier, and the verifier's
verdict on what was presented. Every product has its own admin API for these, so the
targets file describes that API as data, under ``adapter``::

    adapter:
      offer:                       # issuer: make a credential offer
        method: POST
        url: https://issuer.example/admin/offers
        headers: {X-Api-Key: "{env:ISSUER_KEY}"}
        body: {types: "{configuration_ids}", subject: "{persona}", pin: "{tx_code}"}
        offer: /data/offer         # where the offer sits in the answer
        tx_code: /data/pin
      request:                     # verifier: create a presentation request
        method: POST
        url: https://verifier.example/admin/requests
        body: {query: "{dcql_query}"}
        request_url: /links/wallet
        transaction_id: /id
      result:                      # verifier: read its verdict
        url: https://verifier.example/admin/requests/{transaction_id}
        accepted: {pointer: /status, accepted: [verified], refused: [failed]}
        reason: /error

Placeholders are ``{name}``: a string that is only a placeholder takes the value with
its JSON type (a list, an object, a boolean); a key whose value is absent (``null``) is
left out; inside a longer string the value is inserted as text. ``{env:NAME}`` and
``{file:PATH}`` read a secret from the environment or a file, so that none needs to be
written in the targets file. Where a value sits in an answer is an RFC 6901 JSON
Pointer (``/data/offer``, ``""`` for the whole body) or a template whose ``{/pointer}``
parts are filled from the answer (``quote: true`` percent-encodes them).

An offer may come by value (a JSON object, or JSON text), by reference (an
``https`` URL, fetched as ``credential_offer_uri``), or as an
``openid-credential-offer://`` or ``haip-vci://`` link carrying either. A static offer
or request URL (``offer:`` / ``request_url:`` in the targets file, or on the command
line) serves exactly one flow: the checks that need a second one are skipped, saying so.

The Passerelle services' own test API is the default adapter, described the same way
(see ``targets/local.yaml``): one mechanism, not a special case.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from passerelle import PasserelleError
from passerelle.oid4vci import parse_offer_link

from ._adapter_types import Adapter, Call, Extract
from ._context import CheckContext, Target
from ._interactive import interactive_offer
from ._model import CheckError, CheckFailed, CheckSkipped, ErrorClass

__all__ = [
    "Adapter",
    "AdapterError",
    "Call",
    "Extract",
    "MadeOffer",
    "MadeRequest",
    "Verdict",
    "default_issuer_adapter",
    "default_verifier_adapter",
    "make_offer",
    "make_request",
    "parse_adapter",
    "read_verdict",
    "resolve_pointer",
]

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*|env:[A-Za-z0-9_]+|file:[^{}]+)\}")
_POINTER_PART = re.compile(r"\{(/[^{}]*)\}")
_METHODS = ("GET", "POST", "PUT", "PATCH")
_OFFER_SCHEMES = ("openid-credential-offer", "haip-vci")

#: The placeholders each call may use, and the values it must name in its answer.
_CALLS: Mapping[str, tuple[frozenset[str], frozenset[str], frozenset[str]]] = {
    # name: (placeholders, required extracts, optional extracts)
    "offer": (
        frozenset({"configuration_ids", "configuration", "persona", "tx_code"}),
        frozenset({"offer"}),
        frozenset({"tx_code", "link"}),
    ),
    "request": (
        frozenset(
            {"dcql_query", "response_mode", "request_uri_method", "same_device", "redirect_uri"}
        ),
        frozenset({"request_url"}),
        frozenset({"transaction_id"}),
    ),
    "result": (
        frozenset({"transaction_id", "request_url"}),
        frozenset({"accepted"}),
        frozenset({"reason", "state", "details"}),
    ),
}


class AdapterError(ValueError):
    """An adapter description cannot be used; the message names the entry."""


# --- reading the description ------------------------------------------------------------------


def _extract(value: Any, where: str) -> Extract:
    if isinstance(value, str):
        if value and not value.startswith("/"):
            raise AdapterError(f"{where}: a JSON Pointer starts with '/' (or is empty)")
        return Extract(pointer=value)
    if isinstance(value, dict):
        unknown = set(value) - {"pointer", "template", "quote", "accepted", "refused"}
        if unknown:
            raise AdapterError(f"{where}: unknown keys {sorted(unknown)}")
        pointer, template = value.get("pointer"), value.get("template")
        if (pointer is None) == (template is None):
            raise AdapterError(f"{where}: give exactly one of `pointer` and `template`")
        if pointer is not None and (
            not isinstance(pointer, str) or (pointer and not pointer.startswith("/"))
        ):
            raise AdapterError(f"{where}.pointer: a JSON Pointer starts with '/'")
        if template is not None and not isinstance(template, str):
            raise AdapterError(f"{where}.template: a string is required")
        lists = {}
        for key in ("accepted", "refused"):
            listed = value.get(key, [])
            if not isinstance(listed, list):
                raise AdapterError(f"{where}.{key}: a list of values is required")
            lists[key] = tuple(listed)
        return Extract(
            pointer=pointer,
            template=template,
            quote=bool(value.get("quote", False)),
            accepted=lists["accepted"],
            refused=lists["refused"],
        )
    raise AdapterError(f"{where}: a JSON Pointer or a mapping is required")


def _placeholders(value: Any) -> set[str]:
    if isinstance(value, str):
        return {m.group(1) for m in _PLACEHOLDER.finditer(value)}
    if isinstance(value, dict):
        return set().union(*(_placeholders(v) for v in value.values()), set())
    if isinstance(value, list):
        return set().union(*(_placeholders(v) for v in value), set())
    return set()


def _call(name: str, value: Any, where: str) -> Call:
    if not isinstance(value, dict):
        raise AdapterError(f"{where}: expected a mapping")
    allowed, required, optional = _CALLS[name]
    method = str(value.get("method", "GET" if name == "result" else "POST")).upper()
    if method not in _METHODS:
        raise AdapterError(f"{where}.method: {method!r} is not one of {_METHODS}")
    url = value.get("url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise AdapterError(f"{where}.url: an http(s) URL is required")
    headers = value.get("headers") or {}
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise AdapterError(f"{where}.headers: a mapping of strings is required")
    body = value.get("body")
    used = _placeholders([url, headers, body])
    unknown = {p for p in used if ":" not in p} - allowed
    if unknown:
        raise AdapterError(
            f"{where}: unknown placeholder(s) {sorted(unknown)}; known: {sorted(allowed)}"
        )
    extracts = {}
    for key in sorted(required | optional):
        if key in value:
            extracts[key] = _extract(value[key], f"{where}.{key}")
    missing = required - set(extracts)
    if missing:
        raise AdapterError(f"{where}: say where the answer holds {sorted(missing)}")
    known = {"method", "url", "headers", "body", "form", "ok"} | required | optional
    stray = set(value) - known
    if stray:
        raise AdapterError(f"{where}: unknown keys {sorted(stray)}")
    if value.get("form") and not isinstance(body, dict):
        raise AdapterError(f"{where}.body: a form-encoded body is a mapping")
    ok = value.get("ok", [200, 201])
    if not isinstance(ok, list) or not all(isinstance(s, int) for s in ok):
        raise AdapterError(f"{where}.ok: a list of HTTP status codes is required")
    return Call(
        method=method,
        url=url,
        headers={str(k): v for k, v in headers.items()},
        body=body,
        form=bool(value.get("form", False)),
        extract=extracts,
        ok=tuple(ok),
    )


def parse_adapter(value: Any, where: str) -> Adapter:
    """The ``adapter`` entry of a target, checked before anything runs."""
    if not isinstance(value, dict):
        raise AdapterError(f"{where}: expected a mapping")
    stray = set(value) - set(_CALLS)
    if stray:
        raise AdapterError(f"{where}: unknown calls {sorted(stray)}; known: {sorted(_CALLS)}")
    calls = {name: _call(name, value[name], f"{where}.{name}") for name in _CALLS if name in value}
    return Adapter(**calls)


def default_issuer_adapter(offer_endpoint: str) -> Adapter:
    """Passerelle's own issuer test API, as the ``offer_endpoint`` shorthand names it."""
    return Adapter(
        offer=Call(
            method="POST",
            url=offer_endpoint,
            body={
                "credential_configuration_ids": "{configuration_ids}",
                "persona": "{persona}",
                "tx_code": "{tx_code}",
            },
            extract={
                "offer": Extract(pointer="/credential_offer"),
                "tx_code": Extract(pointer="/tx_code"),
            },
        )
    )


def default_verifier_adapter(
    transactions_endpoint: str | None, result_endpoint: str | None
) -> Adapter:
    """Passerelle's own verifier test API, as the ``transactions_endpoint`` and
    ``result_endpoint`` shorthands name it."""
    request = result = None
    if transactions_endpoint is not None:
        request = Call(
            method="POST",
            url=transactions_endpoint,
            body={
                "dcql_query": "{dcql_query}",
                "response_mode": "{response_mode}",
                "request_uri_method": "{request_uri_method}",
                "same_device": "{same_device}",
                "redirect_uri": "{redirect_uri}",
            },
            extract={
                "request_url": Extract(pointer="/request_url"),
                "transaction_id": Extract(pointer="/transaction_id"),
            },
        )
    if result_endpoint is not None:
        result = Call(
            method="GET",
            url=result_endpoint,
            extract={
                "accepted": Extract(pointer="/result/accepted"),
                "reason": Extract(pointer="/result/reason"),
                "state": Extract(pointer="/state"),
                "details": Extract(pointer="/result"),
            },
        )
    return Adapter(request=request, result=result)


# --- filling templates, reading answers -------------------------------------------------------


_ABSENT = object()


def _secret(name: str, base: Path | None) -> str:
    kind, _, ref = name.partition(":")
    if kind == "env":
        value = os.environ.get(ref)
        if value is None:
            raise CheckSkipped(f"the adapter reads ${ref} from the environment, which is unset")
        return value
    path = Path(ref)
    if not path.is_absolute() and base is not None:
        path = base / path
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise CheckSkipped(f"the adapter reads {path}, which cannot be read: {exc}") from exc


def render(template: Any, values: Mapping[str, Any], *, base: Path | None = None) -> Any:
    """``template`` with its placeholders filled (see the module docstring)."""
    if isinstance(template, str):
        whole = _PLACEHOLDER.fullmatch(template)
        if whole is not None:
            name = whole.group(1)
            if ":" in name:
                return _secret(name, base)
            return values.get(name, _ABSENT)

        def text(match: re.Match[str]) -> str:
            name = match.group(1)
            if ":" in name:
                return _secret(name, base)
            value = values.get(name)
            if value is None:
                return ""
            return value if isinstance(value, str) else json.dumps(value)

        return _PLACEHOLDER.sub(text, template)
    if isinstance(template, dict):
        out = {}
        for key, item in template.items():
            value = render(item, values, base=base)
            if value is not _ABSENT and value is not None:
                out[key] = value
        return out
    if isinstance(template, list):
        return [v for v in (render(i, values, base=base) for i in template) if v is not _ABSENT]
    return template


def resolve_pointer(document: Any, pointer: str) -> Any:
    """RFC 6901: the value at ``pointer``, or ``None`` where there is none."""
    if pointer == "":
        return document
    value = document
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict):
            if token not in value:
                return None
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            return None
    return value


def _read(extract: Extract, document: Any) -> Any:
    if extract.template is not None:
        missing: list[str] = []

        def fill(match: re.Match[str]) -> str:
            value = resolve_pointer(document, match.group(1))
            if value is None:
                missing.append(match.group(1))
                return ""
            text = value if isinstance(value, str) else json.dumps(value)
            return quote(text, safe="") if extract.quote else text

        out = _POINTER_PART.sub(fill, extract.template)
        return None if missing else out
    assert extract.pointer is not None
    return resolve_pointer(document, extract.pointer)


def _send(
    ctx: CheckContext, target: Target, call: Call, values: Mapping[str, Any], what: str
) -> Any:
    base = target.get("base_dir")
    base_dir = Path(base) if isinstance(base, str) else None
    url = render(call.url, {k: quote(str(v), safe="") for k, v in values.items() if v is not None})
    rendered = {k: render(v, values, base=base_dir) for k, v in call.headers.items()}
    # A header whose only placeholder has no value is left out, like a body member.
    headers = {k: str(v) for k, v in rendered.items() if v is not _ABSENT and v is not None}
    kwargs: dict[str, Any] = {"headers": headers}
    if call.body is not None:
        body = render(call.body, values, base=base_dir)
        if call.form:
            kwargs["data"] = {
                k: v if isinstance(v, str) else json.dumps(v) for k, v in dict(body).items()
            }
        else:
            kwargs["json"] = body
    response = ctx.http.request(call.method, str(url), **kwargs)
    if response.status_code not in call.ok:
        raise CheckFailed(
            f"{target.name} adapter ({what}): {call.method} {url} answered HTTP "
            f"{response.status_code}",
            body=response.text[:500],
        )
    try:
        return response.json()
    except ValueError:
        return response.text


# --- offers -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MadeOffer:
    """A credential offer as the wallet reads it, and how the wallet would be handed it."""

    raw: dict[str, Any]
    """The ``credential_offer`` object (fetched when it came by reference)."""
    link: str
    """An offer link or URL for a wallet: as the target gave it, or built by value."""
    tx_code: str | None


def _fetch_offer(ctx: CheckContext, uri: str) -> dict[str, Any]:
    response = ctx.http.get(uri, headers={"Accept": "application/json"})
    if response.status_code != 200:
        raise CheckFailed(
            f"credential_offer_uri: GET {uri} answered HTTP {response.status_code}", url=uri
        )
    return ctx.json_object(response, "credential offer (by reference)")


def resolve_offer(ctx: CheckContext, value: Any) -> tuple[dict[str, Any], str]:
    """An offer given in any form a wallet meets (by value, by reference, as a link):
    the offer object, and a link a wallet can be handed."""
    if isinstance(value, dict):
        text = json.dumps(value, separators=(",", ":"))
        return value, f"openid-credential-offer://?credential_offer={quote(text, safe='')}"
    if not isinstance(value, str) or not value.strip():
        raise CheckFailed("the adapter's answer holds no credential offer", offer=value)
    text = value.strip()
    if text.startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError as exc:
            raise CheckFailed("the credential offer is not JSON") from exc
        if not isinstance(parsed, dict):
            raise CheckFailed("the credential offer is not a JSON object")
        return resolve_offer(ctx, parsed)
    parts = urlsplit(text)
    if parts.scheme in ("http", "https") and not parts.query:
        # A bare URL is the offer's reference (what credential_offer_uri would carry).
        return _fetch_offer(ctx, text), text
    try:
        link = parse_offer_link(text, allow_loopback_http=ctx.suite.allow_insecure_loopback)
    except PasserelleError as exc:
        raise CheckFailed(f"credential offer link: {exc.detail}", reason=str(exc.reason)) from exc
    if link.credential_offer_uri is not None:
        return _fetch_offer(ctx, link.credential_offer_uri), text
    raw = json.loads(parse_qs(parts.query)["credential_offer"][0])
    assert isinstance(raw, dict)  # parse_offer_link parsed it as an object
    return raw, text


def _static(ctx: CheckContext, target: Target, key: str) -> str | None:
    """A one-shot input of the targets file or the command line: given once, then spent."""
    value = target.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise CheckError(ErrorClass.SUITE, f"targets.{target.name}.{key}: a URL is required")
    used = f"adapters:static:{target.name}:{key}"
    if ctx.shared_state.get(used):
        return None
    ctx.shared_state[used] = True
    return value


def _no_call(target: Target, key: str, what: str) -> CheckSkipped:
    if target.get(key) is not None:
        return CheckSkipped(
            f"{target.name} was given one static {key} and it is spent; describe its API "
            f"under `adapter.{what}` for checks that need another"
        )
    return CheckSkipped(f"the targets file gives no `adapter.{what}` (or {key}) for {target.name}")


def make_offer(
    ctx: CheckContext,
    issuer: Target,
    configuration_ids: Sequence[str],
    persona: str,
    *,
    tx_code: bool = True,
) -> MadeOffer:
    """A fresh pre-authorized offer from the issuer, the way its targets entry says."""
    static = _static(ctx, issuer, "offer")
    if static is not None:
        raw, link = resolve_offer(ctx, static)
        pin = issuer.get("tx_code")
        return MadeOffer(raw=raw, link=link, tx_code=str(pin) if pin is not None else None)
    call = issuer.adapter.offer if issuer.adapter is not None else None
    if call is None:
        given = interactive_offer(ctx, issuer, configuration_ids)
        if given is None:
            raise _no_call(issuer, "offer", "offer")
        raw, link = resolve_offer(ctx, given.offer)
        ctx.record(reviewed_by_person=True, person_said="pasted an offer")
        return MadeOffer(raw=raw, link=link, tx_code=given.tx_code)
    values = {
        "configuration_ids": list(configuration_ids),
        "configuration": configuration_ids[0] if configuration_ids else None,
        "persona": persona,
        "tx_code": tx_code,
    }
    answer = _send(ctx, issuer, call, values, "offer")
    raw, link = resolve_offer(ctx, _read(call.extract["offer"], answer))
    if "link" in call.extract:
        given = _read(call.extract["link"], answer)
        link = given if isinstance(given, str) and given else link
    pin = _read(call.extract["tx_code"], answer) if "tx_code" in call.extract else None
    return MadeOffer(raw=raw, link=link, tx_code=str(pin) if pin is not None else None)


# --- presentation requests and verdicts -------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MadeRequest:
    transaction_id: str
    request_url: str
    body: Any


def make_request(
    ctx: CheckContext,
    verifier: Target,
    dcql_query: Mapping[str, Any],
    *,
    response_mode: str | None = None,
    request_uri_method: str | None = None,
    same_device: bool | None = None,
    redirect_uri: str | None = None,
) -> MadeRequest:
    """A fresh presentation request from the verifier, the way its targets entry says
    (``same_device`` and ``redirect_uri``: a same-device flow returning to a frontend)."""
    static = _static(ctx, verifier, "request_url")
    if static is not None:
        return MadeRequest(transaction_id="static", request_url=static, body={})
    call = verifier.adapter.request if verifier.adapter is not None else None
    if call is None:
        raise _no_call(verifier, "request_url", "request")
    values = {
        "dcql_query": dict(dcql_query),
        "response_mode": response_mode,
        "request_uri_method": request_uri_method,
        "same_device": same_device,
        "redirect_uri": redirect_uri,
    }
    answer = _send(ctx, verifier, call, values, "request")
    request_url = _read(call.extract["request_url"], answer)
    if not isinstance(request_url, str) or not request_url:
        raise CheckError(
            ErrorClass.UNPARSEABLE,
            f"{verifier.name} adapter (request): the answer holds no request URL",
        )
    tid = (
        _read(call.extract["transaction_id"], answer) if "transaction_id" in call.extract else None
    )
    return MadeRequest(
        transaction_id=str(tid) if tid is not None else request_url,
        request_url=request_url,
        body=answer,
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    state: str | None
    result: Mapping[str, Any] | None
    """``accepted`` (bool) and ``reason``, with the verifier's own details; ``None``
    while it has not decided."""


def read_verdict(ctx: CheckContext, verifier: Target, made: MadeRequest) -> Verdict:
    """The verifier's verdict on ``made``, read once, the way its targets entry says.
    No result adapter: ``result`` is ``None`` (only the HTTP answer is judged)."""
    call = verifier.adapter.result if verifier.adapter is not None else None
    if call is None:
        return Verdict(state=None, result=None)
    values = {"transaction_id": made.transaction_id, "request_url": made.request_url}
    answer = _send(ctx, verifier, call, values, "result")
    rule = call.extract["accepted"]
    value = _read(rule, answer)
    accepted: bool | None
    if rule.accepted or rule.refused:
        accepted = True if value in rule.accepted else False if value in rule.refused else None
    else:
        accepted = value if isinstance(value, bool) else None
    state = _read(call.extract["state"], answer) if "state" in call.extract else None
    if accepted is None:
        return Verdict(state=str(state) if state is not None else None, result=None)
    details = _read(call.extract["details"], answer) if "details" in call.extract else None
    result: dict[str, Any] = dict(details) if isinstance(details, dict) else {}
    result["accepted"] = accepted
    reason = _read(call.extract["reason"], answer) if "reason" in call.extract else None
    if isinstance(reason, str):
        result["reason"] = reason
    return Verdict(state=str(state) if state is not None else None, result=result)
