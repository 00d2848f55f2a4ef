"""One decision about one credential: the pipeline a verifier runs on a presentation and
a wallet runs on receipt, as a pure function of the credential, snapshots and ``now``.

Steps, appended to the trust trace of :func:`passerelle.trust.evaluate_trust`::

    1-5  trust (lists, issuer key, home framework, authorisation, recognition)
    6    signature           the credential verifies with the key step 2 resolved
    7    status              Token Status List, from the caller's verified list
    8    holder_binding      KB-JWT (nonce, aud, iat, sd_hash) when asked for
    9    schema              the disclosed claims against the type's JSON Schema

The caller fetches first (issuer metadata, status lists) and passes what it fetched;
:func:`credential_references` says what to fetch. Nothing here raises for a peer's
fault: the decision carries the failing step and its reason code.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .._errors import PasserelleError, Reason
from .._json import JsonObject, JsonValue
from ..catalog import validate_claims
from ..jose import decode_unverified_jws
from ..sd_jwt import KeyBindingCheck, parse_sd_jwt, process_disclosures
from ..sd_jwt_vc import IssuerKeyPolicy, verify_sd_jwt_vc
from ..status_list import VerifiedStatusList, check_status
from ..trust import (
    IssuerIdentity,
    StepOutcome,
    TrustDecision,
    TrustSnapshot,
    TrustStep,
    evaluate_trust,
)
from ..vc import verify_jwt_vc_json

__all__ = [
    "CredentialDecision",
    "CredentialReferences",
    "DecisionPolicy",
    "credential_references",
    "decide_credential",
]

FORMATS = ("dc+sd-jwt", "jwt_vc_json")


@dataclass(frozen=True, slots=True, kw_only=True)
class DecisionPolicy:
    """What a relying party requires, as data (no branches per jurisdiction)."""

    algorithms: tuple[str, ...] = ("ES256",)
    skew: timedelta = timedelta(seconds=60)
    require_status: bool = True
    accepted_types: frozenset[str] | None = None
    allow_insecure_loopback: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialReferences:
    """What the caller must fetch before deciding: issuer metadata and status lists."""

    format: str
    credential_type: str
    issuer: IssuerIdentity
    status_uri: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class CredentialDecision:
    accepted: bool
    reason: Reason | None
    format: str
    credential_type: str
    claims: JsonObject
    trust: TrustDecision | None
    steps: tuple[TrustStep, ...]
    holder_bound: bool = False
    evidence: JsonObject = field(default_factory=dict)

    def as_dict(self) -> JsonObject:
        return {
            "accepted": self.accepted,
            "reason": None if self.reason is None else str(self.reason),
            "format": self.format,
            "credential_type": self.credential_type,
            "holder_bound": self.holder_bound,
            "steps": [s.as_dict() for s in self.steps],
        }


def credential_references(token: str, *, format: str) -> CredentialReferences:
    """Read, WITHOUT verifying, what a decision about ``token`` will need fetched."""
    if format == "dc+sd-jwt":
        parsed = parse_sd_jwt(token)
        payload, header = parsed.unverified_payload(), parsed.issuer_jwt.header
        vct = payload.get("vct")
        status = payload.get("status")
        entry = status.get("status_list") if isinstance(status, dict) else None
        uri = entry.get("uri") if isinstance(entry, dict) else None
        return CredentialReferences(
            format=format,
            credential_type=str(vct),
            issuer=IssuerIdentity(
                iss=payload.get("iss"), x5c=header.get("x5c"), kid=header.get("kid")
            ),
            status_uri=uri if isinstance(uri, str) else None,
        )
    if format == "jwt_vc_json":
        jws = decode_unverified_jws(token, what="jwt_vc_json credential")
        payload = jws.payload_json()
        vc = payload.get("vc")
        types = vc.get("type") if isinstance(vc, dict) else None
        kind = types[-1] if isinstance(types, list) and types else "VerifiableCredential"
        return CredentialReferences(
            format=format,
            credential_type=str(kind),
            issuer=IssuerIdentity(
                iss=payload.get("iss"), x5c=jws.header.get("x5c"), kid=jws.header.get("kid")
            ),
            status_uri=None,
        )
    raise PasserelleError(Reason.INPUT_MALFORMED, f"unsupported credential format {format!r}")


def _unverified_claims(token: str, format: str) -> JsonObject:
    if format == "dc+sd-jwt":
        parsed = parse_sd_jwt(token)
        return process_disclosures(parsed, parsed.unverified_payload()).claims
    vc = decode_unverified_jws(token, what="jwt_vc_json credential").payload_json().get("vc")
    subject = vc.get("credentialSubject") if isinstance(vc, dict) else None
    return subject if isinstance(subject, dict) else {}


def _step(
    name: str,
    outcome: StepOutcome,
    detail: str,
    reason: Reason | None = None,
    **evidence: JsonValue,
) -> TrustStep:
    return TrustStep(step=name, outcome=outcome, detail=detail, reason=reason, evidence=evidence)


def decide_credential(
    token: str,
    *,
    format: str,
    trust: TrustSnapshot,
    policy: DecisionPolicy,
    now: datetime,
    issuer_metadata: Mapping[str, JsonObject] | None = None,
    status_lists: Mapping[str, VerifiedStatusList] | None = None,
    key_binding: KeyBindingCheck | None = None,
    schemas: Mapping[str, JsonObject] | None = None,
    type_metadata: Mapping[str, bytes] | None = None,
) -> CredentialDecision:
    """Decide whether to accept ``token``; the decision holds every step's outcome."""
    try:
        refs = credential_references(token, format=format)
    except PasserelleError as exc:
        failed = _step("parse", StepOutcome.FAILED, exc.detail, exc.reason)
        return CredentialDecision(
            accepted=False,
            reason=exc.reason,
            format=format,
            credential_type="",
            claims={},
            trust=None,
            steps=(failed,),
        )
    steps: list[TrustStep] = []

    def refuse(
        step: str, exc: PasserelleError, trust_decision: TrustDecision | None, claims: JsonObject
    ) -> CredentialDecision:
        steps.append(_step(step, StepOutcome.FAILED, exc.detail, exc.reason))
        return CredentialDecision(
            accepted=False,
            reason=exc.reason,
            format=format,
            credential_type=refs.credential_type,
            claims=claims,
            trust=trust_decision,
            steps=tuple(steps),
        )

    if policy.accepted_types is not None and refs.credential_type not in policy.accepted_types:
        unwanted = PasserelleError(
            Reason.SD_JWT_VC_VCT_MISMATCH, f"{refs.credential_type} is not accepted here"
        )
        return refuse("credential_type", unwanted, None, {})
    metadata = dict(issuer_metadata or {})
    # Trust first, on what the credential says about its issuer: a key found through a
    # list is the only key its signature may verify with. Claim-scoped recognition reads
    # the claims before the signature check; the decision is accepted only if the
    # signature then verifies those very claims.
    try:
        claimed = _unverified_claims(token, format)
    except PasserelleError as exc:
        return refuse("parse", exc, None, {})
    decision = evaluate_trust(
        issuer=refs.issuer,
        credential_type=refs.credential_type,
        snapshot=trust,
        now=now,
        issuer_metadata=metadata,
        claims=claimed,
        allow_insecure_loopback=policy.allow_insecure_loopback,
    )
    steps.extend(decision.steps)
    if not decision.trusted:
        return CredentialDecision(
            accepted=False,
            reason=decision.reason,
            format=format,
            credential_type=refs.credential_type,
            claims={},
            trust=decision,
            steps=tuple(steps),
        )
    assert decision.issuer is not None
    keys = IssuerKeyPolicy(
        x5c_anchors=trust.x5c_anchors,
        issuer_metadata=metadata,
        allow_insecure_loopback=policy.allow_insecure_loopback,
    )
    claims: JsonObject
    holder_bound = False
    try:
        if format == "dc+sd-jwt":
            verified = verify_sd_jwt_vc(
                token,
                keys=keys,
                algorithms=policy.algorithms,
                now=now,
                skew=policy.skew,
                key_binding=key_binding,
                type_metadata=type_metadata,
            )
            claims, holder_bound = verified.claims, verified.holder_bound
        else:
            w3c = verify_jwt_vc_json(
                token,
                issuer_key=decision.issuer.key,
                algorithms=policy.algorithms,
                now=now,
                skew=policy.skew,
            )
            claims = dict(w3c.credential.get("credentialSubject", {}))  # type: ignore[arg-type]
    except PasserelleError as exc:
        return refuse("signature", exc, decision, {})
    steps.append(
        _step(
            "signature",
            StepOutcome.PASSED,
            f"verified with the key found by {decision.issuer.method}",
        )
    )
    reference = claims.get("status")
    if refs.status_uri is not None and isinstance(reference, dict):
        status_list = (status_lists or {}).get(refs.status_uri)
        if status_list is None:
            if policy.require_status:
                missing = PasserelleError(
                    Reason.STATUS_LIST_INVALID, f"status list {refs.status_uri} was not available"
                )
                return refuse("status", missing, decision, claims)
            steps.append(
                _step("status", StepOutcome.SKIPPED, "status list not fetched; policy allows it")
            )
        else:
            try:
                check_status(reference, status_list)
            except PasserelleError as exc:
                return refuse("status", exc, decision, claims)
            steps.append(
                _step(
                    "status",
                    StepOutcome.PASSED,
                    "valid in the issuer's status list",
                    uri=refs.status_uri,
                )
            )
    else:
        steps.append(_step("status", StepOutcome.SKIPPED, "the credential names no status list"))
    if key_binding is not None:
        steps.append(
            _step(
                "holder_binding", StepOutcome.PASSED, "KB-JWT verified (nonce, aud, iat, sd_hash)"
            )
        )
    else:
        steps.append(_step("holder_binding", StepOutcome.SKIPPED, "no key binding asked for"))
    schema = (schemas or {}).get(refs.credential_type)
    if schema is not None:
        try:
            validate_claims(claims, schema=schema)
        except PasserelleError as exc:
            return refuse("schema", exc, decision, claims)
        steps.append(
            _step("schema", StepOutcome.PASSED, "disclosed claims match the shared schema")
        )
    return CredentialDecision(
        accepted=True,
        reason=None,
        format=format,
        credential_type=refs.credential_type,
        claims=claims,
        trust=decision,
        steps=tuple(steps),
        holder_bound=holder_bound,
    )
