"""The verifier's pages for people: its policies, and one request with its QR code,
what it asks, its live status and the decision trace. Rendered by the shared
templates; every value is escaped there."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from passerelle import PasserelleError
from passerelle.dcql import DcqlQuery, parse_dcql_query
from passerelle.explain import finding_note
from passerelle.services.catalog import Catalog
from passerelle.services.display import claim_label, claim_lines, type_label
from passerelle.services.pages import explain_reason, human, render

from .profile import VerifierProfile

__all__ = ["index_page", "live_fragment", "transaction_page"]

_STATUS = {
    "created": ("Waiting for a wallet", "No wallet has opened the request yet.", ""),
    "request_fetched": (
        "A wallet opened the request",
        "Waiting for the person to decide in their wallet.",
        "",
    ),
    "response_received": ("Answer received", "Checking the presentation.", ""),
    "verified": ("Accepted", "The presentation was verified.", "passed"),
    "failed": ("Refused", "The answer was refused; the reason is below.", "failed"),
    "expired": ("Expired", "The request expired before a wallet answered.", "skipped"),
}
_MARK = {"passed": "✔", "failed": "✘", "skipped": "·"}


def index_page(profile: VerifierProfile) -> str:
    policies = [
        {"name": name, "description": policy.description}
        for name, policy in profile.policies.items()
    ]
    return render(
        "verifier_index.html",
        title=f"Verifier ({profile.id})",
        service="Passerelle verifier",
        client_id_prefix=profile.client_id_prefix,
        modes=human(list(profile.response_modes)),
        policies=policies,
    )


def _constraint(values: tuple[Any, ...] | None) -> str:
    return f" (must be {human(list(values))})" if values else ""


def _asked(catalog: Catalog, query: DcqlQuery) -> list[dict[str, str]]:
    """Each credential query as a sentence: which types, which claims."""
    out = []
    for q in query.credentials:
        vcts = list(q.vct_values or ())
        kinds = [type_label(catalog, v) for v in vcts] or [
            " + ".join(t) for t in q.type_values or ()
        ]
        if q.doctype_value:
            kinds.append(q.doctype_value)
        claims = [
            claim_label(catalog, vcts[0] if vcts else "", c.path) + _constraint(c.values)
            for c in q.claims or ()
        ]
        labels = {
            c.id: claim_label(catalog, vcts[0] if vcts else "", c.path) for c in q.claims or ()
        }
        sets = "; or ".join(" + ".join(labels.get(i, i) for i in s) for s in q.claim_sets or ())
        out.append(
            {
                "id": q.id,
                "types": " or ".join(kinds) or q.format,
                "claims": ", ".join(claims),
                "sets": sets,
            }
        )
    return out


def _sets(query: DcqlQuery) -> str:
    sentences = []
    for s in query.credential_sets or ():
        options = " or ".join(" and ".join(o) for o in s.options)
        sentences.append(("One of: " if s.required else "Optionally: ") + options + ".")
    return " ".join(sentences)


def _hint(reason: object) -> str:
    explained = explain_reason(reason)
    return explained.hint if explained is not None else ""


def _step_view(step: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **{k: step.get(k) for k in ("step", "detail", "reason")},
        "outcome": str(step.get("outcome") or ""),
        "mark": _MARK.get(str(step.get("outcome")), "?"),
        "hint": _hint(step.get("reason")),
    }


def _finding_view(finding: Mapping[str, Any]) -> dict[str, Any]:
    """A check after the refusing one: what it found, and why it is only a finding."""
    view = _step_view(finding)
    view["note"] = finding_note(finding)
    if finding.get("status") == "not_run":
        view["outcome"], view["mark"], view["hint"] = "skipped not-run", _MARK["skipped"], ""
    return view


def _credential_views(catalog: Catalog, result: Mapping[str, Any]) -> list[dict[str, Any]]:
    views = []
    for query_id, decisions in (result.get("credentials") or {}).items():
        originals = (result.get("claims") or {}).get(query_id) or []
        mapped = (result.get("mapped") or {}).get(query_id) or []
        for i, decision in enumerate(decisions or ()):
            vct = str(decision.get("credential_type") or "")
            original = originals[i] if i < len(originals) else {}
            home = mapped[i] if i < len(mapped) else {}
            home_vct = str(home.get("vct") or vct) if isinstance(home, dict) else vct
            steps = [_step_view(step) for step in decision.get("steps", ())]
            findings = [_finding_view(f) for f in decision.get("findings") or ()]
            views.append(
                {
                    "query_id": query_id,
                    # A result stored before decisions carried findings: say so.
                    "stopped": not decision.get("accepted")
                    and bool(steps)
                    and steps[-1]["outcome"] == "failed"
                    and "findings" not in decision,
                    "findings": findings,
                    "type": type_label(catalog, vct) if vct else decision.get("format"),
                    "steps": steps,
                    "original": claim_lines(catalog, vct, original)
                    if isinstance(original, dict)
                    else [],
                    "mapped_type": type_label(catalog, home_vct),
                    "mapped": claim_lines(catalog, home_vct, home)
                    if isinstance(home, dict)
                    else [],
                    "unmapped": human((result.get("unmapped") or {}).get(query_id) or []),
                }
            )
    return views


def _live_context(catalog: Catalog, row: Mapping[str, Any]) -> dict[str, Any]:
    state = str(row.get("state") or "created")
    status, detail, css = _STATUS.get(state, (state.replace("_", " ").capitalize(), "", ""))
    if row.get("awaiting_response_code"):
        # §14.2: decided, but shown only to the frontend the wallet was sent back to.
        detail = "The result is shown on the page the wallet returns to, with its response code."
    result = row.get("result") or None
    view = None
    if isinstance(result, dict):
        view = {
            "accepted": bool(result.get("accepted")),
            "explained": explain_reason(result.get("reason") or "oid4vp.response_invalid"),
            "detail": result.get("detail"),
            "credentials": _credential_views(catalog, result),
        }
    return {
        "state": state,
        "status": status,
        "status_detail": detail,
        "status_class": css,
        "done": view is not None or state in ("verified", "failed", "expired"),
        "result": view,
    }


def live_fragment(*, catalog: Catalog, row: Mapping[str, Any]) -> str:
    """The part of the transaction page that changes: status and decision."""
    return render("verifier_live.html", **_live_context(catalog, row))


def transaction_page(
    *,
    profile: VerifierProfile,
    catalog: Catalog,
    url: str,
    live_url: str,
    row: Mapping[str, Any],
) -> str:
    try:
        query = parse_dcql_query(row.get("dcql_query") or {})
        asked, sets = _asked(catalog, query), _sets(query)
    except PasserelleError:
        asked, sets = [], ""
    policy = profile.policies.get(str(row.get("policy"))) if row.get("policy") else None
    return render(
        "verifier_transaction.html",
        title=f"Presentation request ({profile.id})",
        service="Passerelle verifier",
        url=url,
        live_url=live_url,
        description=policy.description if policy is not None else None,
        asked=asked,
        sets=sets,
        **_live_context(catalog, row),
    )
