"""The trust decision of DESIGN §6, as one pure function over an immutable snapshot.

Steps, in order, each recorded in the decision's trace whatever its outcome::

    1 trust_list      the lists and the registry snapshot are authentic and fresh
    2 issuer_key      the issuer key is resolved: x5c chain to a listed certificate,
                      JWT VC Issuer Metadata at an https ``iss``, or (data-space path)
                      the DID document of a ``did:web`` ``iss``
    3 home_framework  EU (a LoTE lists the chain) or Canada (the registry knows ``iss``)
    4 authorized      at home, for this credential type, now (LoTE service type and
                      status plus our credential-type extension; TRQP authorization)
    5 recognition     a foreign issuer is covered by an agreement in force, in scope

A ``did:web`` issuer is found at home like the others: by certificate, when its
verification method's ``publicKeyJwk`` carries an ``x5c`` that chains to a listed
certificate; otherwise in the Canadian registry under the URL the DID names
(``did:web:issuer.example:ca`` → ``https://issuer.example/ca``), because the registry's
entity ids are the issuers' URLs. The DID document is served under that very URL
(did:web "Read"), so the party the registry entry names is the one answering for it.

Status (6) and holder binding (7) are checked by the presentation verifier, which
appends its own steps to the same trace. Failing is not exceptional here: a verifier
wants the decision and its trace either way, so :func:`evaluate_trust` returns a
:class:`TrustDecision`, and :meth:`TrustDecision.raise_for_failure` is opt-in.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from cryptography import x509

from .._errors import PasserelleError, Reason
from .._json import JsonObject, JsonValue
from ..sd_jwt_vc import (
    IssuerKeyMethod,
    IssuerKeyPolicy,
    ResolvedIssuerKey,
    resolve_issuer_key_from,
)
from ..x509 import TrustAnchors, certificate_to_der
from ._lote import (
    LOTE_TYPE_PID_PROVIDERS,
    LOTE_TYPE_PUB_EAA_PROVIDERS,
    LOTE_TYPE_WRPAC_PROVIDERS,
    SVC_TYPE_PID_ISSUANCE,
    SVC_TYPE_PUB_EAA_ISSUANCE,
    ListedService,
    VerifiedLote,
)
from ._recognition import Framework, RecognitionAgreement
from ._registry_snapshot import VerifiedRegistry
from ._trqp import AuthorizationAnswer, AuthorizationQuery, Standing, answer_authorization

__all__ = [
    "IssuerIdentity",
    "StepOutcome",
    "TrustDecision",
    "TrustSnapshot",
    "TrustStep",
    "evaluate_trust",
]

ISSUE_ACTION = "issue"
ISSUANCE_SERVICE_TYPES = frozenset({SVC_TYPE_PID_ISSUANCE, SVC_TYPE_PUB_EAA_ISSUANCE})
"""The LoTE service types whose holders issue credentials (the rest revoke, or certify)."""


class StepOutcome(enum.StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustStep:
    step: str
    outcome: StepOutcome
    detail: str
    reason: Reason | None = None
    evidence: JsonObject = field(default_factory=dict)

    def as_dict(self) -> JsonObject:
        return {
            "step": self.step,
            "outcome": str(self.outcome),
            "reason": None if self.reason is None else str(self.reason),
            "detail": self.detail,
            "evidence": self.evidence,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustSnapshot:
    """What a verifier trusts, verified and frozen: built once per list refresh.

    ``home`` is the verifier's framework; ``None`` is a wallet's view, for which an
    issuer trusted in its own framework is trusted and no recognition is asked.
    """

    home: Framework | None
    eu_lists: tuple[VerifiedLote, ...] = ()
    ca_registry: VerifiedRegistry | None = None
    recognitions: tuple[RecognitionAgreement, ...] = ()
    _listed_certs: TrustAnchors = field(init=False, repr=False, compare=False)
    _issuer_certs: TrustAnchors = field(init=False, repr=False, compare=False)
    _mdoc_listed_certs: TrustAnchors = field(init=False, repr=False, compare=False)
    _mdoc_issuer_certs: TrustAnchors = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The snapshot is immutable, so the path validator's stores are built here once,
        # not on every decision (their cost grows with the number of listed entities).
        seen: dict[bytes, x509.Certificate] = {}
        issuing: dict[bytes, x509.Certificate] = {}
        for lote in self.eu_lists:
            for service in lote.services:
                for cert in service.listed_certificates:
                    der = certificate_to_der(cert)
                    seen.setdefault(der, cert)
                    if service.service_type in ISSUANCE_SERVICE_TYPES:
                        issuing.setdefault(der, cert)
        object.__setattr__(self, "_listed_certs", TrustAnchors(seen.values()))
        object.__setattr__(self, "_issuer_certs", TrustAnchors(issuing.values()))
        # Issuers the registry knows by certificate (mdoc IACAs, our extension) anchor an
        # mdoc's x5chain only: they say nothing about an x5c header of another format.
        held = (
            [cert for _, cert in self.ca_registry.registry.certificates] if self.ca_registry else []
        )
        for cert in held:
            der = certificate_to_der(cert)
            seen.setdefault(der, cert)
            issuing.setdefault(der, cert)
        object.__setattr__(self, "_mdoc_listed_certs", TrustAnchors(seen.values()))
        object.__setattr__(self, "_mdoc_issuer_certs", TrustAnchors(issuing.values()))

    @property
    def x5c_anchors(self) -> TrustAnchors:
        """Every certificate an EU list names, withdrawn or not: a withdrawn service must
        fail as ``trust.service_withdrawn`` at step 4, not as an unknown chain."""
        return self._listed_certs

    def anchors_for(self, issuer: IssuerIdentity) -> tuple[TrustAnchors, TrustAnchors]:
        """The issuers' anchors and every listed certificate, for ``issuer``'s chain: an
        mdoc's x5chain may also end at a certificate the Canadian registry holds."""
        if issuer.x5chain:
            return self._mdoc_issuer_certs, self._mdoc_listed_certs
        return self._issuer_certs, self._listed_certs

    @property
    def issuer_anchors(self) -> TrustAnchors:
        """The certificates of the issuance services (withdrawn or not): the anchors a
        credential's chain is tried against first."""
        return self._issuer_certs


@dataclass(frozen=True, slots=True, kw_only=True)
class IssuerIdentity:
    """What the credential says about its issuer, before anything is trusted: ``iss``,
    and the ``x5c`` and ``kid`` of the signature's protected header."""

    iss: JsonValue = None
    x5c: JsonValue = None
    kid: JsonValue = None
    x5chain: bool = False
    """The ``x5c`` is an mdoc's x5chain (document signer to IACA): certificates the
    Canadian registry holds for an entity anchor it too (our extension)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class TrustDecision:
    trusted: bool
    reason: Reason | None
    framework: Framework | None
    issuer: ResolvedIssuerKey | None
    steps: tuple[TrustStep, ...]

    def raise_for_failure(self) -> None:
        if not self.trusted:
            failed = next(s for s in self.steps if s.outcome is StepOutcome.FAILED)
            assert failed.reason is not None
            raise PasserelleError(failed.reason, f"{failed.step}: {failed.detail}")

    def as_dict(self) -> JsonObject:
        return {
            "trusted": self.trusted,
            "reason": None if self.reason is None else str(self.reason),
            "framework": None if self.framework is None else str(self.framework),
            "issuer": None if self.issuer is None else self.issuer.issuer,
            "steps": [s.as_dict() for s in self.steps],
        }


class _Failed(Exception):
    def __init__(self, step: TrustStep) -> None:
        self.step = step


@dataclass(slots=True)
class _Trace:
    steps: list[TrustStep] = field(default_factory=list)

    def passed(self, step: str, detail: str, **evidence: JsonValue) -> None:
        self.steps.append(
            TrustStep(step=step, outcome=StepOutcome.PASSED, detail=detail, evidence=evidence)
        )

    def skipped(self, step: str, detail: str) -> None:
        self.steps.append(TrustStep(step=step, outcome=StepOutcome.SKIPPED, detail=detail))

    def fail(self, step: str, reason: Reason, detail: str, **evidence: JsonValue) -> _Failed:
        failed = TrustStep(
            step=step, outcome=StepOutcome.FAILED, reason=reason, detail=detail, evidence=evidence
        )
        self.steps.append(failed)
        return _Failed(failed)


_LIST_NAMES: Mapping[str, str] = {
    LOTE_TYPE_PID_PROVIDERS: "pid-providers",
    LOTE_TYPE_PUB_EAA_PROVIDERS: "pubeaa-providers",
    LOTE_TYPE_WRPAC_PROVIDERS: "wrpac-providers",
}


def _list_names(lists: Sequence[VerifiedLote]) -> list[JsonObject]:
    """The EU lists in ``lists`` by short name and sequence number, for refusals that
    must say which list an entity was looked for in."""
    return [
        {"list": _LIST_NAMES.get(lote.list_type, lote.list_type), "sequence": lote.sequence_number}
        for lote in lists
    ]


def _check_lists(snapshot: TrustSnapshot, now: datetime, trace: _Trace) -> None:
    lists: list[JsonValue] = []
    for lote in snapshot.eu_lists:
        if now >= lote.next_update:
            raise trace.fail(
                "trust_list",
                Reason.TRUST_LIST_STALE,
                f"{lote.list_type} was due for update at {lote.next_update.isoformat()}",
            )
        lists.append({"list": lote.list_type, "sequence": lote.sequence_number})
    registry = snapshot.ca_registry
    if registry is not None:
        if now >= registry.next_update:
            raise trace.fail(
                "trust_list",
                Reason.TRUST_LIST_STALE,
                f"the Canadian registry snapshot was due at {registry.next_update.isoformat()}",
            )
        lists.append({"list": "ca-registry", "sequence": registry.sequence_number})
    trace.passed("trust_list", "every list is authentic and fresh", lists=lists)


def _resolve_key(
    issuer: IssuerIdentity,
    snapshot: TrustSnapshot,
    metadata: Mapping[str, JsonObject],
    now: datetime,
    trace: _Trace,
    allow_insecure_loopback: bool,
    did_documents: Mapping[str, JsonObject] | None = None,
    allow_loopback: bool = False,
) -> ResolvedIssuerKey:
    def resolve(anchors: TrustAnchors) -> ResolvedIssuerKey:
        policy = IssuerKeyPolicy(
            x5c_anchors=anchors,
            issuer_metadata=metadata,
            did_documents=did_documents or {},
            allow_insecure_loopback=allow_insecure_loopback,
            allow_loopback=allow_loopback,
        )
        return resolve_issuer_key_from(
            iss=issuer.iss, x5c=issuer.x5c, kid=issuer.kid, policy=policy, now=now
        )

    issuing, listed = snapshot.anchors_for(issuer)
    try:
        try:
            # Issuers' anchors first: the store to search is smaller. A chain to any other
            # listed certificate (a relying-party CA, say) is then found with every
            # anchor, so that step 4 names what it is listed for.
            resolved = resolve(issuing if issuing else listed)
        except PasserelleError as exc:
            if exc.reason is not Reason.X509_CHAIN_INVALID or not issuing:
                raise
            resolved = resolve(listed)
    except PasserelleError as exc:
        registry = snapshot.ca_registry
        if (
            issuer.x5c is None
            and registry is not None
            and isinstance(issuer.iss, str)
            and issuer.iss not in metadata
            and not registry.registry.knows_entity(issuer.iss)
        ):
            # Metadata is fetched only for issuers the registry lists: say which entry
            # is missing rather than only that no key was found.
            raise trace.fail(
                "issuer_key",
                exc.reason,
                f"{exc.detail}: {issuer.iss} is not in the Canadian registry "
                f"{registry.registry.authority_id} (#{registry.sequence_number}), and only "
                "a listed issuer's JWT VC Issuer Metadata is fetched",
                registry={
                    "authority": registry.registry.authority_id,
                    "sequence": registry.sequence_number,
                    "entity_id": issuer.iss,
                },
            ) from exc
        if issuer.x5c is None or exc.reason is not Reason.X509_CHAIN_INVALID:
            raise trace.fail("issuer_key", exc.reason, exc.detail) from exc
        # Say where the chain was looked for: the partner whose CA is on none of these
        # lists knows which one it must join (and whether the list in force is current).
        held = _list_names(snapshot.eu_lists)
        named = ", ".join(f"{n['list']} #{n['sequence']}" for n in held)
        raise trace.fail(
            "issuer_key",
            exc.reason,
            f"{exc.detail}; the x5c chain reaches no certificate on the EU lists held ({named})",
            lists=list[JsonValue](held),
        ) from exc
    evidence: JsonObject = {"method": str(resolved.method), "issuer": resolved.issuer}
    if resolved.method is IssuerKeyMethod.DID_WEB:
        evidence["did"] = resolved.iss
    if resolved.chain is not None:
        evidence["chain"] = list(resolved.chain.subjects) or [
            c.subject.rfc4514_string() for c in resolved.chain.chain
        ]
    trace.passed("issuer_key", f"key resolved by {resolved.method}", **evidence)
    return resolved


@dataclass(slots=True, kw_only=True)
class _Home:
    """Where the issuer is at home; internal to one evaluation (not frozen, as a frozen
    dataclass sets each field through object.__setattr__, on every decision)."""

    framework: Framework
    service: ListedService | None = None
    answer: AuthorizationAnswer | None = None
    refusal: PasserelleError | None = None


def _ask_registry(
    registry: VerifiedRegistry, entity: str, credential_type: str, now: datetime
) -> AuthorizationAnswer | PasserelleError:
    query = AuthorizationQuery(
        entity_id=entity,
        authority_id=registry.registry.authority_id,
        action=ISSUE_ACTION,
        resource=credential_type,
    )
    try:
        return answer_authorization(registry.registry, query, now=now)
    except PasserelleError as exc:
        return exc


def _find_home(
    resolved: ResolvedIssuerKey,
    credential_type: str,
    snapshot: TrustSnapshot,
    now: datetime,
    trace: _Trace,
    *,
    x5chain: bool = False,
) -> _Home:
    if resolved.chain is not None:
        for lote in snapshot.eu_lists:
            services = lote.find_services(certificate_chain=resolved.chain.chain)
            if services:
                # Several services may name the same CA (issuance and revocation, say):
                # prefer an issuance service listed for this type, then any issuance one.
                issuing = [s for s in services if s.service_type in ISSUANCE_SERVICE_TYPES]
                service = issuing[0] if issuing else services[0]
                for candidate in issuing:
                    if credential_type in candidate.credential_types:
                        service = candidate
                        break
                trace.passed(
                    "home_framework",
                    f"listed by {lote.operator_name} as {service.entity_name}",
                    framework="eu",
                    list=lote.list_type,
                    entity=service.entity_name,
                    matched_by=service.matched_by,
                )
                return _Home(framework=Framework.EU, service=service)
    registry = snapshot.ca_registry
    if registry is not None:
        entity = resolved.issuer
        if x5chain and resolved.chain is not None:
            # An mdoc chain to a certificate the registry holds for an entity is its.
            entity = registry.registry.entity_for_anchor(resolved.chain.anchor) or entity
        answer = _ask_registry(registry, entity, credential_type, now)
        unknown = isinstance(answer, PasserelleError) and answer.reason in (
            Reason.TRQP_UNKNOWN_ENTITY,
            Reason.TRQP_UNKNOWN_AUTHORITY,
        )
        if not unknown:
            trace.passed(
                "home_framework",
                f"known to {registry.registry.name}",
                framework="ca",
                authority=registry.registry.authority_id,
            )
            if isinstance(answer, PasserelleError):
                return _Home(framework=Framework.CA, refusal=answer)
            return _Home(framework=Framework.CA, answer=answer)
    raise trace.fail(
        "home_framework",
        Reason.TRUST_ISSUER_NOT_LISTED,
        f"{resolved.issuer} is in no EU list and not in the Canadian registry",
    )


_WITHDRAWN = {Standing.REVOKED, Standing.TERMINATED}


def _check_authorized(home: _Home, credential_type: str, trace: _Trace) -> None:
    if home.service is not None:
        if home.service.service_type not in ISSUANCE_SERVICE_TYPES:
            raise trace.fail(
                "authorized",
                Reason.TRUST_NOT_AUTHORIZED_FOR_TYPE,
                f"{home.service.entity_name} is listed for {home.service.service_type}, "
                "not as an issuer",
            )
        try:
            home.service.check_authorized(credential_type=credential_type)
        except PasserelleError as exc:
            raise trace.fail("authorized", exc.reason, exc.detail) from exc
        trace.passed(
            "authorized",
            f"{home.service.entity_name} is listed for {credential_type}",
            service_type=home.service.service_type,
            status=home.service.status,
        )
        return
    if home.refusal is not None:
        # The entity is known (step 3); an unknown resource or action means it is not
        # authorised for this type: "listed for another credential type".
        raise trace.fail("authorized", Reason.TRUST_NOT_AUTHORIZED_FOR_TYPE, home.refusal.detail)
    answer = home.answer
    assert answer is not None
    evidence: JsonObject = {"trqp": answer.as_json()}
    if not answer.authorized:
        reason = (
            Reason.TRUST_SERVICE_WITHDRAWN
            if answer.standing in _WITHDRAWN
            else Reason.TRUST_NOT_AUTHORIZED_FOR_TYPE
        )
        raise trace.fail("authorized", reason, answer.message or "not authorized", **evidence)
    trace.passed("authorized", answer.message or "authorized", **evidence)


def _claim_values(claims: JsonObject, path: Sequence[str | int]) -> list[str]:
    node: JsonValue = claims
    for component in path:
        if isinstance(component, str) and isinstance(node, dict):
            node = node.get(component)
        elif isinstance(component, int) and isinstance(node, list) and component < len(node):
            node = node[component]
        else:
            return []
    if isinstance(node, str):
        return [node]
    return [v for v in node if isinstance(v, str)] if isinstance(node, list) else []


def _check_recognition(
    home: _Home,
    credential_type: str,
    claims: JsonObject | None,
    snapshot: TrustSnapshot,
    now: datetime,
    trace: _Trace,
) -> None:
    framework = home.framework
    if snapshot.home is None or framework is snapshot.home:
        trace.skipped("recognition", "home issuer: no recognition needed")
        return
    # What the issuer is at home: its LoTE service type, or the TRQP action "issue".
    home_service = home.service.service_type if home.service is not None else ISSUE_ACTION
    agreements: list[RecognitionAgreement] = []
    in_force: list[RecognitionAgreement] = []
    for agreement in snapshot.recognitions:
        if agreement.pointing is snapshot.home and agreement.pointed is framework:
            agreements.append(agreement)
            if agreement.in_force(now):
                in_force.append(agreement)
    if not agreements:
        raise trace.fail(
            "recognition",
            Reason.TRUST_NOT_RECOGNIZED,
            f"{snapshot.home} has no recognition agreement for {framework} issuers",
        )
    if not in_force:
        raise trace.fail(
            "recognition",
            Reason.TRUST_RECOGNITION_EXPIRED,
            f"no agreement recognising {framework} issuers is in force",
            agreements=[a.id for a in agreements],
        )
    for agreement in in_force:
        equivalence = agreement.equivalence_for(credential_type)
        if (
            equivalence is None
            or not equivalence.granted
            or equivalence.pointed_service != home_service
        ):
            continue
        if equivalence.scope is not None:
            values = _claim_values(claims or {}, equivalence.scope.claim)
            if not values or not set(values) <= equivalence.scope.allowed:
                raise trace.fail(
                    "recognition",
                    Reason.TRUST_RECOGNITION_OUT_OF_SCOPE,
                    f"{agreement.id} recognises {credential_type} only for "
                    f"{', '.join(sorted(equivalence.scope.allowed))}, "
                    f"not {', '.join(map(str, values)) or 'a missing value'}",
                    agreement=agreement.id,
                )
        trace.passed(
            "recognition",
            f"{agreement.title} covers {credential_type}",
            agreement=agreement.id,
            treated_as=equivalence.pointing_service_type,
            assurance_mapping=dict(equivalence.assurance_mapping),
        )
        return
    raise trace.fail(
        "recognition",
        Reason.TRUST_RECOGNITION_OUT_OF_SCOPE,
        f"no agreement in force covers {credential_type}",
        agreements=[a.id for a in in_force],
    )


def evaluate_trust(
    *,
    issuer: IssuerIdentity,
    credential_type: str,
    snapshot: TrustSnapshot,
    now: datetime,
    issuer_metadata: Mapping[str, JsonObject] | None = None,
    claims: JsonObject | None = None,
    allow_insecure_loopback: bool = False,
    did_documents: Mapping[str, JsonObject] | None = None,
    allow_loopback: bool = False,
) -> TrustDecision:
    """Decide whether to trust an issuer for ``credential_type`` now, with the trace.

    ``issuer_metadata`` holds JWT VC Issuer Metadata the caller fetched for an https
    ``iss``; ``did_documents`` holds the DID documents it fetched for a ``did:web``
    ``iss`` (by DID; ``kid`` names the method); ``claims`` are the disclosed claims, for
    agreements scoped by claim value. ``allow_insecure_loopback`` and ``allow_loopback``
    are the development relaxations of :class:`passerelle.sd_jwt_vc.IssuerKeyPolicy`.
    The returned key must then verify the credential's signature: trust in an issuer
    says nothing until the signature is checked with the key this step resolved.
    """
    trace = _Trace()
    resolved: ResolvedIssuerKey | None = None
    framework: Framework | None = None
    try:
        _check_lists(snapshot, now, trace)
        resolved = _resolve_key(
            issuer,
            snapshot,
            issuer_metadata or {},
            now,
            trace,
            allow_insecure_loopback,
            did_documents,
            allow_loopback,
        )
        home = _find_home(resolved, credential_type, snapshot, now, trace, x5chain=issuer.x5chain)
        framework = home.framework
        _check_authorized(home, credential_type, trace)
        _check_recognition(home, credential_type, claims, snapshot, now, trace)
    except _Failed as failed:
        return TrustDecision(
            trusted=False,
            reason=failed.step.reason,
            framework=framework,
            issuer=resolved,
            steps=tuple(trace.steps),
        )
    return TrustDecision(
        trusted=True, reason=None, framework=framework, issuer=resolved, steps=tuple(trace.steps)
    )
