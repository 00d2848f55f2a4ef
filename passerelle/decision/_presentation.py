"""The decision about a whole ``vp_token``: each presentation through
:func:`decide_credential` with key binding, then the DCQL query's satisfaction, then
the disclosed claims mapped into the verifier's home vocabulary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from .._errors import Fault, PasserelleError, Reason
from .._json import JsonObject, JsonValue
from ..catalog import CompiledSchema, Crosswalk, apply_crosswalk
from ..dcql import DcqlQuery, PresentedCredential, check_dcql_response
from ..sd_jwt import KeyBindingCheck
from ..status_list import VerifiedStatusList
from ..trust import TrustSnapshot
from ._credential import (
    CredentialDecision,
    DecisionPolicy,
    authority_keys_of,
    decide_credential,
    trust_tags_of,
)

__all__ = [
    "FetchedInputs",
    "PresentationDecision",
    "decide_presentation",
    "decision_trace",
    "policy_for",
    "presented_items",
    "refusal_of",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchedInputs:
    """What the caller fetched for one presentation (see ``credential_references``)."""

    issuer_metadata: Mapping[str, JsonObject] = field(default_factory=dict)
    status_lists: Mapping[str, VerifiedStatusList] = field(default_factory=dict)
    status_failures: Mapping[str, PasserelleError] = field(default_factory=dict)
    """Why a status list is not in ``status_lists`` (see ``decide_credential``)."""
    w3c_status_lists: Mapping[str, JsonObject] = field(default_factory=dict)
    """Verified BitstringStatusListCredential payloads, by URL (W3C credentials)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class PresentationDecision:
    accepted: bool
    reason: Reason | None
    detail: str
    credentials: Mapping[str, tuple[CredentialDecision, ...]]
    claims: Mapping[str, tuple[JsonObject, ...]]
    mapped: Mapping[str, tuple[JsonObject, ...]]
    unmapped: Mapping[str, tuple[str, ...]]
    over_disclosed: Mapping[str, tuple[tuple[str | int | None, ...], ...]]

    def as_dict(self) -> JsonObject:
        return {
            "accepted": self.accepted,
            "reason": None if self.reason is None else str(self.reason),
            "detail": self.detail,
            "credentials": {
                qid: [d.as_dict() for d in decisions] for qid, decisions in self.credentials.items()
            },
            "claims": {k: list(v) for k, v in self.claims.items()},
            "mapped": {k: list(v) for k, v in self.mapped.items()},
            "unmapped": {k: list(v) for k, v in self.unmapped.items()},
            "over_disclosed": {k: [list(p) for p in v] for k, v in self.over_disclosed.items()},
        }


def _formats(query: DcqlQuery) -> dict[str, str]:
    return {c.id: c.format for c in query.credentials}


def decide_presentation(
    vp_token: Mapping[str, JsonValue],
    *,
    query: DcqlQuery,
    trust: TrustSnapshot,
    policy: DecisionPolicy,
    now: datetime,
    nonce: str,
    audience: str,
    inputs: Mapping[str, FetchedInputs],
    schemas: Mapping[str, JsonObject | CompiledSchema] | None = None,
    type_metadata: Mapping[str, bytes] | None = None,
    crosswalks: Mapping[tuple[str, str], JsonObject | Crosswalk] | None = None,
    home_types: Sequence[str] = (),
    session_transcript: bytes | None = None,
) -> PresentationDecision:
    """Decide about a ``vp_token`` (OpenID4VP 1.0 §8.1: query id → presentations).

    ``inputs`` is keyed by presentation string. Every presentation must pass on its
    own; then the set of them must answer the query. ``session_transcript`` is the
    verifier's own OpenID4VP SessionTranscript, which binds ``mso_mdoc`` presentations.
    """
    formats = _formats(query)
    decisions: dict[str, tuple[CredentialDecision, ...]] = {}
    presented: dict[str, list[PresentedCredential]] = {}
    claims: dict[str, tuple[JsonObject, ...]] = {}

    def refuse(reason: Reason, detail: str) -> PresentationDecision:
        return PresentationDecision(
            accepted=False,
            reason=reason,
            detail=detail,
            credentials=decisions,
            claims=claims,
            mapped={},
            unmapped={},
            over_disclosed={},
        )

    for query_id, items in vp_token.items():
        if query_id not in formats:
            return refuse(
                Reason.DCQL_UNEXPECTED_QUERY_ID, f"vp_token answers no query {query_id!r}"
            )
        if not isinstance(items, list) or not items:
            return refuse(
                Reason.DCQL_RESPONSE_MISMATCH,
                f"{query_id}: presentations must be a non-empty array",
            )
        made: list[CredentialDecision] = []
        for item in items:
            if not isinstance(item, str):
                return refuse(
                    Reason.DCQL_RESPONSE_MISMATCH, f"{query_id}: a presentation is not a string"
                )
            fetched = inputs.get(item, FetchedInputs())
            decision = decide_credential(
                item,
                format=formats[query_id],
                trust=trust,
                policy=policy,
                now=now,
                issuer_metadata=fetched.issuer_metadata,
                status_lists=fetched.status_lists,
                status_failures=fetched.status_failures,
                w3c_status_lists=fetched.w3c_status_lists,
                key_binding=KeyBindingCheck(nonce=nonce, audience=audience),
                schemas=schemas,
                type_metadata=type_metadata,
                session_transcript=session_transcript,
            )
            made.append(decision)
            if not decision.accepted:
                decisions[query_id] = tuple(made)
                assert decision.reason is not None
                return refuse(decision.reason, f"{query_id}: {decision.steps[-1].detail}")
        decisions[query_id] = tuple(made)
        claims[query_id] = tuple(d.claims for d in made)
        presented[query_id] = [
            PresentedCredential(
                format=d.format,
                # DCQL addresses W3C credentials from the VC root (credentialSubject...),
                # mdocs by [namespace, element].
                claims=d.claims
                if d.format in ("dc+sd-jwt", "mso_mdoc")
                else {"credentialSubject": d.claims},
                holder_bound=d.holder_bound,
                vct=d.credential_type if d.format == "dc+sd-jwt" else None,
                doctype=d.credential_type if d.format == "mso_mdoc" else None,
                types=frozenset(d.types) if d.format == "jwt_vc_json" else frozenset(),
                issuer_aki=authority_keys_of(str(item), d.format, d),
                trust_tags=trust_tags_of(d),
            )
            for item, d in zip(items, made, strict=True)
        ]
    try:
        check = check_dcql_response(query, presented)
    except PasserelleError as exc:
        return refuse(exc.reason, exc.detail)
    mapped: dict[str, tuple[JsonObject, ...]] = {}
    unmapped: dict[str, tuple[str, ...]] = {}
    for query_id, answered in decisions.items():
        results = []
        missing: list[str] = []
        for d in answered:
            walk = next(
                (
                    doc
                    for (src, dst), doc in (crosswalks or {}).items()
                    if src == d.credential_type and dst in home_types
                ),
                None,
            )
            if walk is None:
                results.append(d.claims)
                continue
            result = apply_crosswalk(walk, d.claims)
            results.append(result.claims)
            missing.extend(result.unmapped)
        mapped[query_id] = tuple(results)
        unmapped[query_id] = tuple(missing)
    return PresentationDecision(
        accepted=True,
        reason=None,
        detail="every presentation verified and the query is answered",
        credentials=decisions,
        claims=claims,
        mapped=mapped,
        unmapped=unmapped,
        over_disclosed=dict(check.over_disclosed),
    )


def policy_for(
    policy: DecisionPolicy, *, require_status: bool | None, check_status: bool = True
) -> DecisionPolicy:
    """The rules for one transaction: the service's, but for a named policy's own
    ``require_status``; ``check_status`` off never requires a status check."""
    if require_status is None:
        return policy
    return replace(policy, require_status=require_status and check_status)


def presented_items(
    vp_token: Mapping[str, Sequence[JsonValue]], query: DcqlQuery
) -> list[tuple[str, str, str]]:
    """``(query id, format, presentation)`` for each presentation the caller must fetch
    inputs for: strings answering a query id (anything else is refused by
    :func:`decide_presentation` itself)."""
    formats = _formats(query)
    return [
        (query_id, formats[query_id], item)
        for query_id, items in vp_token.items()
        if query_id in formats
        for item in items
        if isinstance(item, str)
    ]


def decision_trace(decision: PresentationDecision) -> list[JsonObject]:
    """One ``check`` entry per step of each credential decision, in order."""
    return [
        {
            "query": query_id,
            "step": step.step,
            "outcome": str(step.outcome),
            "reason": None if step.reason is None else str(step.reason),
        }
        for query_id, decisions in decision.credentials.items()
        for d in decisions
        for step in d.steps
    ]


def refusal_of(decision: PresentationDecision) -> PasserelleError | None:
    """What the response endpoint answers for a refused presentation (None: accepted).
    A refusal is the wallet's ``invalid_request``, but for an outage of a dependency of
    ours, which stays ``temporarily_unavailable`` so the wallet may try again."""
    if decision.accepted:
        return None
    assert decision.reason is not None
    refusal = PasserelleError(decision.reason, decision.detail)
    if refusal.fault is not Fault.DEPENDENCY:
        refusal = refusal.for_wire("invalid_request")
    return refusal
