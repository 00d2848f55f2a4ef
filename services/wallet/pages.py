"""The wallet's pages for people: what it holds (with delete and export), an offer
form, the consent page and the outcomes. Rendered by the shared templates; every
value is escaped there."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Annotated, Any, cast
from urllib.parse import urlsplit

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from passerelle import JsonObject
from passerelle.services.catalog import Catalog
from passerelle.services.display import (
    ClaimLine,
    claim_lines,
    issuer_label,
    path_lines,
    type_label,
)
from passerelle.services.pages import answer_of, explain_reason, human, render

from .holder import HeldCredential
from .state import HolderDep, PresenterDep

__all__ = ["pages_router"]

pages_router = APIRouter(tags=["pages"])
_SERVICE = "Passerelle development wallet"


def _page(template: str, title: str, *, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(
        render(template, title=title, service=_SERVICE, **context),
        status_code=status_code,
        headers={"Cache-Control": "no-store"},
    )


def _held_lines(catalog: Catalog, held: HeldCredential, paths: Sequence[Any]) -> list[ClaimLine]:
    return path_lines(catalog, held.credential_type, held.claims, paths)


def _options(
    catalog: Catalog,
    query_id: str,
    planned: Mapping[str, Any],
    offered: Sequence[Mapping[str, Any]],
    held: Mapping[str, HeldCredential],
) -> list[dict[str, Any]]:
    """Each credential the person may choose for one query, its claims split into
    required and optional (with the optional ones' indices for the toggles)."""
    default = str(planned["credential_id"])
    if not any(o["credential_id"] == default for o in offered):
        # A quirk planned a credential of its own: show exactly that plan, no choice.
        offered = [{"credential_id": default, "disclose": planned["disclose"], "optional": []}]
    views = []
    for option in offered:
        credential = held[str(option["credential_id"])]
        disclose = planned["disclose"] if option["credential_id"] == default else option["disclose"]
        optional = [tuple(p) for p in option["optional"]]
        lines = _held_lines(catalog, credential, disclose)
        views.append(
            {
                "credential_id": credential.credential_id,
                "default": credential.credential_id == default,
                "type": type_label(catalog, credential.credential_type),
                "issuer": issuer_label(
                    credential.token, format=credential.format, issuer=credential.issuer
                ),
                "required": [line for line in lines if line.path not in optional],
                "optional": [
                    (optional.index(line.path), line) for line in lines if line.path in optional
                ],
            }
        )
    return views


def _consent_view(
    prepared: JsonObject, catalog: Catalog, held: list[HeldCredential]
) -> dict[str, Any]:
    by_id = {c.credential_id: c for c in held}
    plan = cast("dict[str, list[dict[str, Any]]]", prepared["plan"])
    options = cast("dict[str, list[dict[str, Any]]]", prepared.get("options") or {})
    queries = [
        {
            "id": query_id,
            "options": _options(catalog, query_id, item, options.get(query_id, []), by_id),
            # An mdoc verifier says which elements it intends to keep (intent_to_retain).
            "retained": [".".join(map(str, p)) for p in item.get("intent_to_retain", [])],
        }
        for query_id, items in plan.items()
        for item in items
    ]
    problem = cast("dict[str, Any] | None", prepared.get("problem"))
    return {
        "pending_id": prepared["pending_id"],
        "who": prepared.get("who") or {"client_id": prepared["verifier"]},
        "purpose": prepared.get("purpose"),
        "can_answer": prepared["can_answer"],
        "queries": queries,
        "problem": explain_reason(problem.get("reason")) if problem else None,
    }


@pages_router.get("/present", response_class=HTMLResponse)
def review(request: str, presenter: PresenterDep) -> HTMLResponse:
    """The consent page: who asks, what for, and exactly what would be disclosed."""
    prepared = presenter.prepare(request)
    if "pending_id" not in prepared:
        # The verifier's request_uri host being down is not the person's fault.
        down = prepared.get("reason") == "fetch.unreachable"
        return _page(
            "wallet_refused.html",
            "Request refused",
            status_code=503 if down else 400,
            explained=explain_reason(prepared.get("reason") or "input.malformed"),
            detail=prepared.get("detail"),
        )
    holder = presenter.holder
    view = _consent_view(prepared, holder.catalog, holder.credentials())
    return _page("wallet_consent.html", "Presentation request", **view)


def _split(values: Sequence[str] | None, parts: int) -> list[list[str]]:
    return [v.split("|") for v in values or () if v.count("|") == parts - 1]


def _choices(
    choice: Sequence[str] | None, keep: Sequence[str] | None, offered: Mapping[str, Any]
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The page's radio buttons and toggles as ``complete``'s ``chosen`` and ``left_out``."""
    chosen = {q: c for q, c in _split(choice, 2)}
    kept: dict[tuple[str, str], set[str]] = {}
    for query_id, credential_id, index in _split(keep, 3):
        kept.setdefault((query_id, credential_id), set()).add(index)
    left_out: dict[str, list[str]] = {}
    for query_id, options in offered.items():
        # One option has no radio button: it is the plan's own credential.
        first: dict[str, Any] = next(iter(options), {})
        pick = chosen.get(query_id) or first.get("credential_id")
        option = next((o for o in options if o["credential_id"] == pick), None)
        if option is None:
            continue
        shown = {str(i) for i in range(len(option["optional"]))}
        dropped = sorted(shown - kept.get((query_id, str(pick)), set()))
        if dropped:
            left_out[query_id] = dropped
    return chosen, left_out


@pages_router.post("/present/{pending_id}", response_class=HTMLResponse, response_model=None)
def answer(
    pending_id: str,
    consent: Annotated[str, Form()],
    presenter: PresenterDep,
    toggles: Annotated[str | None, Form()] = None,
    choice: Annotated[list[str] | None, Form()] = None,
    keep: Annotated[list[str] | None, Form()] = None,
) -> HTMLResponse | RedirectResponse:
    chosen: dict[str, str] = {}
    left_out: dict[str, list[str]] = {}
    if toggles:
        offered = presenter.pending_options(pending_id)
        chosen, left_out = _choices(choice, keep, offered)
    outcome = presenter.complete(pending_id, consent=consent, chosen=chosen, left_out=left_out)
    redirect = outcome.get("redirect_uri")
    if _web_address(redirect):
        # OpenID4VP §8.2: "When this parameter is present the Wallet MUST redirect the
        # user agent to this URI" (HAIP 1.0 §5.1: the same-device flow goes on there).
        return RedirectResponse(str(redirect), status_code=303)
    reason, detail = _why(outcome)
    disclosed = cast("dict[str, list[list[Any]]]", outcome.get("disclosed") or {})
    return _page(
        "wallet_sent.html",
        "Answer sent" if outcome.get("accepted") else "Not accepted",
        accepted=bool(outcome.get("accepted")),
        verifier=outcome.get("verifier"),
        disclosed=human([".".join(str(c) for c in p) for ps in disclosed.values() for p in ps]),
        # Any other scheme (javascript:, data:, an app's own) would run or open with
        # this wallet's origin: it is named as refused, never linked.
        unfollowed=isinstance(redirect, str),
        explained=explain_reason(reason),
        detail=detail,
    )


def _web_address(value: object) -> bool:
    """Whether a verifier's redirect_uri is an http(s) address the wallet may send its
    user agent to (RFC 3986 §3.1: schemes are case-insensitive)."""
    if not isinstance(value, str):
        return False
    parts = urlsplit(value)
    return parts.scheme.lower() in ("http", "https") and bool(parts.netloc)


def _why(outcome: JsonObject) -> tuple[str, str | None]:
    """The reason and detail of an outcome: the wallet's own, else what the verifier
    said in its error body (never "None")."""
    if outcome.get("reason"):
        return str(outcome["reason"]), str(outcome.get("detail") or "") or None
    said = answer_of(outcome.get("verifier_answer"))
    status = outcome.get("verifier_status")
    detail = said.get("error_description") or (
        f"the verifier answered HTTP {status}" if status else None
    )
    return said.get("reason") or "oid4vp.response_invalid", detail


def _received_view(catalog: Catalog, outcome: JsonObject) -> dict[str, Any]:
    vct = str(outcome.get("credential_type") or "")
    claims = outcome.get("claims")
    return {
        "accepted": bool(outcome.get("accepted")),
        "type": type_label(catalog, vct) if vct else "",
        "issuer": outcome.get("issuer"),
        "claims": claim_lines(catalog, vct, claims) if isinstance(claims, dict) else [],
        "reason": outcome.get("reason") or "input.malformed",
        "detail": outcome.get("detail"),
    }


@pages_router.post("/receive", response_class=HTMLResponse)
def receive(
    offer: Annotated[str, Form()],
    holder: HolderDep,
    tx_code: Annotated[str | None, Form()] = None,
) -> HTMLResponse:
    """The page form of POST /api/offers: paste an offer link, type the code."""
    outcomes = holder.accept_offer(offer.strip(), tx_code=(tx_code or "").strip() or None)
    views = [_received_view(holder.catalog, o) for o in outcomes]
    return _page("wallet_received.html", "Credential offer", outcomes=views)


@pages_router.post("/credentials/{credential_id}/delete")
def delete(credential_id: str, holder: HolderDep) -> RedirectResponse:
    holder.forget(credential_id)
    return RedirectResponse("/", status_code=303)


@pages_router.get("/credentials/{credential_id}/export", response_model=None)
def export(credential_id: str, holder: HolderDep) -> Response:
    """The credential as issued, for ``passerelle inspect`` (no holder key in it)."""
    held = next((c for c in holder.credentials() if c.credential_id == credential_id), None)
    if held is None:
        return _page(
            "message.html",
            "No such credential",
            status_code=404,
            message="This wallet holds no such credential (deleted?).",
            back="/",
        )
    # What `passerelle inspect` reads: an SD-JWT, a JWT, or a base64url mdoc.
    name = {"dc+sd-jwt": "credential.sd-jwt", "mso_mdoc": "credential.mdoc"}.get(
        held.format, "credential.jwt"
    )
    return PlainTextResponse(
        held.token + "\n",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
        },
    )


def _credential_view(catalog: Catalog, held: HeldCredential) -> dict[str, Any]:
    return {
        "id": held.credential_id,
        "type": type_label(catalog, held.credential_type),
        "format": held.format,
        "issuer": issuer_label(held.token, format=held.format, issuer=held.issuer),
        "claims": claim_lines(catalog, held.credential_type, held.claims, format=held.format),
    }


def _sentence(reason: object) -> str:
    explained = explain_reason(reason)
    return explained.sentence if explained is not None else ""


@pages_router.get("/", response_class=HTMLResponse)
def index(holder: HolderDep, offer: str = "") -> HTMLResponse:
    """What the wallet holds and what it decided; ``offer`` fills the offer form (the
    issuer page's "open in the development wallet" button)."""
    decisions = [
        {
            "kind": d.get("kind") or "",
            "accepted": bool(d.get("accepted")),
            "reason": d.get("reason") or "",
            "at": str(d.get("at") or "")[:19].replace("T", " "),
            "sentence": _sentence(d.get("reason")),
        }
        for d in reversed(holder.decisions())
    ]
    credentials = [_credential_view(holder.catalog, c) for c in holder.credentials()]
    return _page(
        "wallet_index.html", "Wallet", offer=offer, credentials=credentials, decisions=decisions
    )
