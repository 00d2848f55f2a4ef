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

The decision is that of the FIRST failed step, in the order above, and never changes;
only its trace goes on: the later steps that can be evaluated without trusting what
failed are recorded as ``findings`` (an untrusted issuer's signature checked with the
key its ``x5c`` names, labelled so; status and schema read from an unverified payload,
labelled so), the others as ``not_run`` with the step they depend on. See ._findings.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

from cryptography import x509

from .._errors import PasserelleError, Reason
from .._json import JsonObject, JsonValue, b64url_encode
from ..catalog import CompiledSchema, validate_claims
from ..jose import PublicKey, decode_unverified_jws, jwk_thumbprint
from ..sd_jwt import (
    KeyBindingCheck,
    SdJwt,
    holder_key_of,
    parse_sd_jwt,
    process_disclosures,
    verify_sd_jwt,
)
from ..sd_jwt_vc import SD_JWT_VC_TYP, IssuerKeyMethod, check_sd_jwt_vc_claims
from ..status_list import VerifiedStatusList, check_bitstring_status, check_status
from ..trust import (
    IssuerIdentity,
    StepOutcome,
    TrustDecision,
    TrustSnapshot,
    TrustStep,
    evaluate_trust,
)
from ..vc import (
    VerifiedW3cCredential,
    resolve_did_jwk,
    resolve_did_jwk_holder_key,
    verify_jwt_vc_json,
    verify_vp_jwt,
)
from ..x509 import decode_unverified_x5c
from ._findings import Finding, not_run, presented_key

__all__ = [
    "CredentialDecision",
    "CredentialReferences",
    "DecisionPolicy",
    "authority_keys_of",
    "credential_references",
    "decide_credential",
    "trust_tags_of",
]

FORMATS = ("dc+sd-jwt", "jwt_vc_json", "mso_mdoc")


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
    types: tuple[str, ...] = ()
    w3c_status_lists: tuple[str, ...] = ()
    """The ``statusListCredential`` URLs of a W3C credential's ``credentialStatus``."""


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
    types: tuple[str, ...] = ()
    evidence: JsonObject = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()
    """What the checks after a refusing step found: shown, never decided on (._findings)."""

    def as_dict(self) -> JsonObject:
        return {
            "accepted": self.accepted,
            "reason": None if self.reason is None else str(self.reason),
            "format": self.format,
            "credential_type": self.credential_type,
            "holder_bound": self.holder_bound,
            # ``status`` is added beside ``outcome`` so that a step and a finding read
            # alike; a decision's own steps are never not_run.
            "steps": [{**s.as_dict(), "status": str(s.outcome)} for s in self.steps],
            "findings": [f.as_dict() for f in self.findings],
        }


def credential_references(token: str | SdJwt, *, format: str) -> CredentialReferences:
    """Read, WITHOUT verifying, what a decision about ``token`` will need fetched.

    An SD-JWT may be passed already split (:func:`passerelle.sd_jwt.parse_sd_jwt`), so
    that a decision parses it once."""
    if format == "mso_mdoc" and isinstance(token, str):
        # The format adapter sits on top of this module (it builds these very types).
        from ._mdoc import mdoc_references

        return mdoc_references(token)
    if format == "dc+sd-jwt":
        parsed = token if isinstance(token, SdJwt) else parse_sd_jwt(token)
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
    if format == "jwt_vc_json" and isinstance(token, str):
        jws = decode_unverified_jws(inner_w3c_credential(token), what="jwt_vc_json credential")
        payload = jws.payload_json()
        vc = payload.get("vc")
        types = vc.get("type") if isinstance(vc, dict) else None
        all_types = tuple(str(t) for t in types) if isinstance(types, list) else ()
        kind = all_types[-1] if all_types else "VerifiableCredential"
        status = vc.get("credentialStatus") if isinstance(vc, dict) else None
        entries = status if isinstance(status, list) else [status]
        lists: list[str] = []
        for e in entries:
            url = e.get("statusListCredential") if isinstance(e, dict) else None
            if isinstance(url, str) and url not in lists:
                lists.append(url)
        return CredentialReferences(
            format=format,
            credential_type=kind,
            types=all_types,
            issuer=IssuerIdentity(
                iss=payload.get("iss"), x5c=jws.header.get("x5c"), kid=jws.header.get("kid")
            ),
            status_uri=None,
            w3c_status_lists=tuple(lists),
        )
    raise PasserelleError(Reason.INPUT_MALFORMED, f"unsupported credential format {format!r}")


def authority_keys_of(
    token: str, format: str, decision: CredentialDecision | None = None
) -> frozenset[str]:
    """The AuthorityKeyIdentifier of the issuer's signing certificate, base64url: what a
    DCQL ``trusted_authorities`` entry of type ``aki`` names. Read from the token as
    sent; meaningful once the decision verified that chain. Given that ``decision``, the
    leaf is the one its trust step verified from the token's own chain (``x5c``,
    ``x5chain``), and the token is not parsed again."""
    if format not in ("dc+sd-jwt", "mso_mdoc"):
        return frozenset()
    issuer = decision.trust.issuer if decision is not None and decision.trust else None
    if issuer is not None and issuer.method is IssuerKeyMethod.X5C and issuer.chain is not None:
        leaf = issuer.chain.leaf
    elif format == "mso_mdoc":
        from ._mdoc import unverified_mdoc

        chain = unverified_mdoc(token)[0].x5chain
        if not chain:
            return frozenset()
        leaf = chain[0]
    else:
        x5c = parse_sd_jwt(token).issuer_jwt.header.get("x5c")
        if not isinstance(x5c, list) or not x5c:
            return frozenset()
        leaf = decode_unverified_x5c(x5c)[0]
    try:
        aki = leaf.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
    except x509.ExtensionNotFound:
        return frozenset()
    return frozenset({b64url_encode(aki.key_identifier)}) if aki.key_identifier else frozenset()


def trust_tags_of(decision: CredentialDecision) -> frozenset[str]:
    """What trusted the issuer, for our DCQL extension types: the EU list type
    (``passerelle_lote``) or the TRQP authority id (``passerelle_trqp``)."""
    tags: set[str] = set()
    for step in decision.steps:
        if step.step == "home_framework" and step.outcome is StepOutcome.PASSED:
            for key in ("list", "authority"):
                value = step.evidence.get(key)
                if isinstance(value, str):
                    tags.add(value)
    return frozenset(tags)


def inner_w3c_credential(token: str) -> str:
    """The one credential of a ``jwt_vc_json`` VP JWT, or the token itself when it is a
    credential (issuance). Unverified: the VP and the credential are verified later."""
    payload = decode_unverified_jws(token, what="jwt_vc_json token").payload_json()
    vp = payload.get("vp")
    if vp is None:
        return token
    inner = vp.get("verifiableCredential") if isinstance(vp, dict) else None
    if not isinstance(inner, list) or len(inner) != 1 or not isinstance(inner[0], str):
        raise PasserelleError(
            Reason.VP_MALFORMED, "a presentation here carries exactly one credential"
        )
    return inner[0]


def _unverified_claims(token: str, parsed: SdJwt | None) -> JsonObject:
    if parsed is not None:
        return process_disclosures(parsed, parsed.unverified_payload()).claims
    credential = inner_w3c_credential(token)
    vc = decode_unverified_jws(credential, what="jwt_vc_json credential").payload_json().get("vc")
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
    w3c_status_lists: Mapping[str, JsonObject] | None = None,
    key_binding: KeyBindingCheck | None = None,
    schemas: Mapping[str, JsonObject | CompiledSchema] | None = None,
    type_metadata: Mapping[str, bytes] | None = None,
    expected_holder: PublicKey | None = None,
    status_failures: Mapping[str, PasserelleError] | None = None,
    session_transcript: bytes | None = None,
) -> CredentialDecision:
    """Decide whether to accept ``token``; the decision holds every step's outcome.

    With ``key_binding``, ``token`` is a presentation (an SD-JWT+KB, or a VP JWT around
    one ``jwt_vc_json`` credential). ``expected_holder`` is the wallet's check on receipt:
    the credential must be bound to that key. ``status_failures`` says why a status list
    the caller tried to fetch is missing: a list that arrived and did not verify fails
    as what it is, even where ``policy.require_status`` is off; a list that could not be
    had is ``status.unavailable``, which only ``require_status`` makes fatal.
    ``w3c_status_lists`` holds the verified payloads of the BitstringStatusListCredentials
    a W3C credential's ``credentialStatus`` names, by URL, each signed by the credential's
    issuer key (their failures are in ``status_failures`` too).
    ``session_transcript`` is an mdoc presentation's binding (OpenID4VP 1.0 Appendix B),
    which the ``mso_mdoc`` adapter checks in place of a KB-JWT."""
    if format == "mso_mdoc":
        from ._mdoc import decide_mdoc

        return decide_mdoc(
            token,
            trust=trust,
            policy=policy,
            now=now,
            status_lists=status_lists,
            status_failures=status_failures,
            session_transcript=session_transcript,
            schemas=schemas,
            expected_holder=expected_holder,
        )
    # One split of an SD-JWT serves the references, the claims read before trust and
    # the verification itself.
    parsed: SdJwt | None = None
    try:
        if format == "dc+sd-jwt":
            parsed = parse_sd_jwt(token)
        refs = credential_references(token if parsed is None else parsed, format=format)
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
            findings=tuple(_after_parse("parse")),
        )
    steps: list[TrustStep] = []
    inputs = _Inputs(
        token=token,
        parsed=parsed,
        format=format,
        refs=refs,
        policy=policy,
        now=now,
        status_lists=status_lists or {},
        w3c_status_lists=w3c_status_lists or {},
        status_failures=status_failures or {},
        key_binding=key_binding,
        expected_holder=expected_holder,
        schemas=schemas or {},
        type_metadata=type_metadata,
    )

    def refuse(
        step: str,
        exc: PasserelleError,
        trust_decision: TrustDecision | None,
        claims: JsonObject,
        findings: Iterable[Finding] = (),
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
            findings=tuple(findings),
        )

    metadata = dict(issuer_metadata or {})
    # Trust first, on what the credential says about its issuer: a key found through a
    # list is the only key its signature may verify with. Claim-scoped recognition reads
    # the claims before the signature check; the decision is accepted only if the
    # signature then verifies those very claims.
    try:
        claimed = _unverified_claims(token, parsed)
    except PasserelleError as exc:
        if policy.accepted_types is not None and refs.credential_type not in policy.accepted_types:
            unwanted = _unwanted(refs)
            return refuse("credential_type", unwanted, None, {}, _after_parse("credential_type"))
        return refuse("parse", exc, None, {}, _after_parse("parse"))
    decision = evaluate_trust(
        issuer=refs.issuer,
        credential_type=refs.credential_type,
        snapshot=trust,
        now=now,
        issuer_metadata=metadata,
        claims=claimed,
        allow_insecure_loopback=policy.allow_insecure_loopback,
    )
    if policy.accepted_types is not None and refs.credential_type not in policy.accepted_types:
        # The trust evaluation above is pure: after an unwanted type it is a finding.
        findings = [Finding(step=s) for s in decision.steps]
        findings += _beyond_trust(inputs, decision, claimed, failed="credential_type")
        return refuse("credential_type", _unwanted(refs), None, {}, findings)
    steps.extend(decision.steps)
    if not decision.trusted:
        failed_step = decision.steps[-1].step if decision.steps else "trust"
        return CredentialDecision(
            accepted=False,
            reason=decision.reason,
            format=format,
            credential_type=refs.credential_type,
            claims={},
            trust=decision,
            steps=tuple(steps),
            findings=tuple(_beyond_trust(inputs, decision, claimed, failed=failed_step)),
        )
    assert decision.issuer is not None
    issuer_key = decision.issuer.key
    try:
        verified = _verify(inputs, issuer_key)
    except PasserelleError as exc:
        later = _after_signature(inputs, claimed, None, failed="signature", unverified=True)
        return refuse("signature", exc, decision, {}, later)
    steps.append(
        _step(
            "signature",
            StepOutcome.PASSED,
            f"verified with the key found by {decision.issuer.method}",
        )
    )
    claims = verified.claims
    # The checks after the signature, in order; the first to fail decides, and what the
    # others then find is only shown (see ._findings).
    for done, step in enumerate(_later_steps(inputs, claims, verified, None), start=1):
        assert isinstance(step, TrustStep)  # while deciding, every check runs
        steps.append(step)
        if step.outcome is StepOutcome.FAILED:
            # The same checks again, knowing which one refused: the ones after it are
            # findings (a list the caller did not fetch is then not_run, not an outage).
            again = _after_signature(inputs, claims, verified, failed=step.step)
            return CredentialDecision(
                accepted=False,
                reason=step.reason,
                format=format,
                credential_type=refs.credential_type,
                claims=claims,
                trust=decision,
                steps=tuple(steps),
                findings=tuple(islice(again, done, None)),
            )
    return CredentialDecision(
        accepted=True,
        reason=None,
        format=format,
        credential_type=refs.credential_type,
        claims=claims,
        trust=decision,
        steps=tuple(steps),
        # On receipt, the holder_key step passed: cryptographically bound, to a key this
        # wallet holds.
        holder_bound=verified.holder_bound or expected_holder is not None,
        types=verified.types,
    )


def _unwanted(refs: CredentialReferences) -> PasserelleError:
    return PasserelleError(
        Reason.SD_JWT_VC_VCT_MISMATCH, f"{refs.credential_type} is not accepted here"
    )


# _Inputs and _Verified are built on every decision and never leave this module; they
# are not frozen because a frozen dataclass sets each field through object.__setattr__,
# which costs more than the rest of building them.
@dataclass(slots=True, kw_only=True)
class _Inputs:
    """What every step of one decision reads, whichever step refused it."""

    token: str
    parsed: SdJwt | None
    format: str
    refs: CredentialReferences
    policy: DecisionPolicy
    now: datetime
    status_lists: Mapping[str, VerifiedStatusList]
    w3c_status_lists: Mapping[str, JsonObject]
    status_failures: Mapping[str, PasserelleError]
    key_binding: KeyBindingCheck | None
    expected_holder: PublicKey | None
    schemas: Mapping[str, JsonObject | CompiledSchema]
    type_metadata: Mapping[str, bytes] | None


@dataclass(slots=True, kw_only=True)
class _Verified:
    claims: JsonObject
    holder_bound: bool
    types: tuple[str, ...]
    w3c_status: tuple[JsonObject, ...]
    bound_key: PublicKey | None


def _verify(inputs: _Inputs, issuer_key: PublicKey) -> _Verified:
    """The signature step: the credential (and its key binding, when asked for) verified
    with ``issuer_key``, or raise."""
    policy, now, key_binding = inputs.policy, inputs.now, inputs.key_binding
    parsed, token = inputs.parsed, inputs.token
    holder_bound = False
    if parsed is not None:
        # Only the key trust resolved may verify the signature: it is handed over as
        # the one key of a pinned policy, never looked up again from the token.
        verified = verify_sd_jwt(
            parsed,
            issuer_key=issuer_key,
            algorithms=policy.algorithms,
            now=now,
            skew=policy.skew,
            typ=SD_JWT_VC_TYP,
            key_binding=key_binding,
        )
        check_sd_jwt_vc_claims(verified, type_metadata=inputs.type_metadata)
        claims = verified.claims
        return _Verified(
            claims=claims,
            holder_bound=verified.key_binding is not None,
            types=inputs.refs.types,
            w3c_status=(),
            # With a KB-JWT, cnf.jwk was read already: its key, not a second parse.
            bound_key=verified.key_binding.holder_key
            if verified.key_binding is not None
            else (holder_key_of(claims) if "cnf" in claims else None),
        )

    def credential_verifier(credential: str) -> VerifiedW3cCredential:
        return verify_jwt_vc_json(
            credential,
            issuer_key=issuer_key,
            algorithms=policy.algorithms,
            now=now,
            skew=policy.skew,
        )

    if key_binding is not None:
        # A presentation: the VP JWT binds the credential to this verifier's nonce
        # and client id, signed by the holder the credential names (OpenID4VP §14.1.2).
        vp = verify_vp_jwt(
            token,
            format="jwt_vc_json",
            holder_key=resolve_did_jwk_holder_key,
            algorithms=policy.algorithms,
            audience=key_binding.audience,
            nonce=key_binding.nonce,
            now=now,
            skew=policy.skew,
            max_age=key_binding.max_age,
            credential_verifier=credential_verifier,
        )
        w3c = vp.credentials[0]
        holder_bound = True
    else:
        w3c = credential_verifier(token)
    return _Verified(
        claims=dict(w3c.credential.get("credentialSubject", {})),  # type: ignore[arg-type]
        holder_bound=holder_bound,
        types=w3c.types,
        w3c_status=w3c.status,
        bound_key=resolve_did_jwk(w3c.subject_id) if w3c.subject_id else None,
    )


_AFTER_PARSE = ("trust", "signature", "status", "holder_binding", "schema")


def _after_parse(failed: str) -> list[Finding]:
    return [not_run(s, failed, "the credential could not be read") for s in _AFTER_PARSE]


def _beyond_trust(
    inputs: _Inputs, decision: TrustDecision, claimed: JsonObject, *, failed: str
) -> list[Finding]:
    """After a refusal at or before trust: the signature, checked with the key trust
    resolved or else the one the credential names (not trusted), then the rest."""
    untrusted = not decision.trusted
    if decision.issuer is not None:
        key, source = decision.issuer.key, f"the key found by {decision.issuer.method}"
    else:
        presented = presented_key(inputs.refs.issuer)
        if presented is None:
            unread = not_run("signature", failed, "no key to check it with: trust resolved none")
            later = _after_signature(inputs, claimed, None, failed=failed, unverified=True)
            return [unread, *later]
        key, source = presented
    label = f"{source}, which is not trusted" if untrusted else source
    try:
        verified = _verify(inputs, key)
    except PasserelleError as exc:
        bad = _step("signature", StepOutcome.FAILED, f"{exc.detail} (with {label})", exc.reason)
        later = _after_signature(inputs, claimed, None, failed="signature", unverified=True)
        return [Finding(step=bad, untrusted_key=untrusted), *later]
    good = _step("signature", StepOutcome.PASSED, f"verified with {label}")
    later = _after_signature(
        inputs, verified.claims, verified, failed=failed, untrusted_key=untrusted
    )
    return [Finding(step=good, untrusted_key=untrusted), *later]


def _after_signature(
    inputs: _Inputs,
    claims: JsonObject,
    verified: _Verified | None,
    *,
    failed: str,
    unverified: bool = False,
    untrusted_key: bool = False,
) -> Iterator[Finding]:
    """:func:`_later_steps` as findings, after ``failed`` refused the decision;
    ``unverified`` and ``untrusted_key`` label what they read."""
    for result in _later_steps(inputs, claims, verified, failed):
        if isinstance(result, Finding):
            yield result
        else:
            yield Finding(step=result, unverified=unverified, untrusted_key=untrusted_key)


def _later_steps(
    inputs: _Inputs, claims: JsonObject, verified: _Verified | None, failed: str | None
) -> Iterator[TrustStep | Finding]:
    """Holder key, status, holder binding and schema, in order, each run whatever the
    one before it found: its step, or a ``not_run`` finding for a check that needs what
    is missing. ``failed`` names the step that already refused the decision (None while
    deciding); ``verified`` is None when the signature did not verify, and ``claims``
    are then read from the unverified credential. While deciding (no ``failed``, the
    signature verified) every check runs: each result is a step."""
    if inputs.expected_holder is not None:
        # On receipt: the credential must be bound to the key the wallet proved, or the
        # wallet could never present it (and someone else might).
        bound_key = None if verified is None else verified.bound_key
        if verified is None:
            unread = "the bound key is read from a verified credential"
            yield not_run("holder_key", "signature", unread)
        elif bound_key is None or jwk_thumbprint(bound_key) != jwk_thumbprint(
            inputs.expected_holder
        ):
            unbound = PasserelleError(
                Reason.SD_JWT_VC_CNF_INVALID
                if inputs.format == "dc+sd-jwt"
                else Reason.VC_HOLDER_MISMATCH,
                "the credential is not bound to the holder key this wallet proved",
            )
            yield _failed("holder_key", unbound)
        else:
            yield _step("holder_key", StepOutcome.PASSED, "bound to the wallet's own key")
    yield from _status_checks(inputs, claims, verified, failed)
    if inputs.key_binding is None:
        yield _step("holder_binding", StepOutcome.SKIPPED, "no key binding asked for")
    elif verified is None:
        yield not_run(
            "holder_binding", "signature", "the KB-JWT is checked with a verified credential's cnf"
        )
    else:
        yield _step(
            "holder_binding", StepOutcome.PASSED, "KB-JWT verified (nonce, aud, iat, sd_hash)"
        )
    schema = inputs.schemas.get(inputs.refs.credential_type)
    if schema is not None:
        try:
            validate_claims(claims, schema=schema)
        except PasserelleError as exc:
            yield _failed("schema", exc)
            return
        yield _step("schema", StepOutcome.PASSED, "disclosed claims match the shared schema")


def _failed(name: str, exc: PasserelleError) -> TrustStep:
    return _step(name, StepOutcome.FAILED, exc.detail, exc.reason)


def _status_checks(
    inputs: _Inputs,
    claims: JsonObject,
    verified: _Verified | None,
    failed: str | None,
) -> Iterator[TrustStep | Finding]:
    """The status step(s). Only lists the caller already holds are read: after a
    refusal, a list it did not fetch is ``not_run``, never an outage."""
    refs, policy = inputs.refs, inputs.policy
    unfetched = "the status list is fetched only for a credential that passed the steps before"
    reference = claims.get("status")
    w3c_status = () if verified is None else verified.w3c_status
    if reference is not None and refs.status_uri is None:
        malformed = PasserelleError(Reason.SD_JWT_VC_STATUS_INVALID, "status names no status list")
        yield _failed("status", malformed)
    elif refs.status_uri is not None and isinstance(reference, dict):
        status_list = inputs.status_lists.get(refs.status_uri)
        fetch_failure = inputs.status_failures.get(refs.status_uri)
        if status_list is None:
            if fetch_failure is not None and fetch_failure.reason is not Reason.STATUS_UNAVAILABLE:
                yield _failed("status", fetch_failure)
            elif failed is not None and fetch_failure is None:
                yield not_run("status", failed, unfetched)
            elif policy.require_status:
                missing = fetch_failure or PasserelleError(
                    Reason.STATUS_UNAVAILABLE, f"status list {refs.status_uri} was not available"
                )
                yield _failed("status", missing)
            else:
                yield _step(
                    "status",
                    StepOutcome.SKIPPED,
                    "status list not available; the policy allows it",
                    uri=refs.status_uri,
                )
        else:
            try:
                check_status(reference, status_list)
            except PasserelleError as exc:
                yield _failed("status", exc)
                return
            yield _step(
                "status",
                StepOutcome.PASSED,
                "valid in the issuer's status list",
                uri=refs.status_uri,
            )
    elif w3c_status:
        # W3C Bitstring Status List §3.2: every entry's bit, in its purpose's list.
        for entry in w3c_status:
            url = entry.get("statusListCredential")
            key = url if isinstance(url, str) else ""
            listed = inputs.w3c_status_lists.get(key)
            fetch_failure = inputs.status_failures.get(key)
            if listed is None:
                if (
                    fetch_failure is not None
                    and fetch_failure.reason is not Reason.STATUS_UNAVAILABLE
                ):
                    yield _failed("status", fetch_failure)
                elif failed is not None and fetch_failure is None:
                    yield not_run("status", failed, unfetched)
                elif policy.require_status:
                    missing = fetch_failure or PasserelleError(
                        Reason.STATUS_UNAVAILABLE, f"status list {url!r} was not available"
                    )
                    yield _failed("status", missing)
                else:
                    skipped = "status list not available; the policy allows it"
                    yield _step("status", StepOutcome.SKIPPED, skipped, uri=key)
                continue
            try:
                check_bitstring_status(entry, listed, now=inputs.now)
            except PasserelleError as exc:
                yield _failed("status", exc)
                continue
            yield _step(
                "status",
                StepOutcome.PASSED,
                f"not set in the issuer's {entry.get('statusPurpose')} list",
                uri=url,
            )
    elif verified is None and refs.w3c_status_lists:
        unread = "the status entries are read from a verified credential"
        yield not_run("status", "signature", unread)
    else:
        yield _step("status", StepOutcome.SKIPPED, "the credential names no status list")
