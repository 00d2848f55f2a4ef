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
from ..sd_jwt_vc import SD_JWT_VC_TYP, check_sd_jwt_vc_claims
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

    def as_dict(self) -> JsonObject:
        return {
            "accepted": self.accepted,
            "reason": None if self.reason is None else str(self.reason),
            "format": self.format,
            "credential_type": self.credential_type,
            "holder_bound": self.holder_bound,
            "steps": [s.as_dict() for s in self.steps],
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


def authority_keys_of(token: str, format: str) -> frozenset[str]:
    """The AuthorityKeyIdentifier of the issuer's signing certificate, base64url: what a
    DCQL ``trusted_authorities`` entry of type ``aki`` names. Read from the token as
    sent; meaningful once the decision verified that chain."""
    if format == "mso_mdoc":
        from ._mdoc import unverified_mdoc

        chain = unverified_mdoc(token)[0].x5chain
        if not chain:
            return frozenset()
        leaf = chain[0]
    elif format != "dc+sd-jwt":
        return frozenset()
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
        claimed = _unverified_claims(token, parsed)
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
    issuer_key = decision.issuer.key
    claims: JsonObject
    holder_bound = False
    types: tuple[str, ...] = refs.types
    w3c_status: tuple[JsonObject, ...] = ()
    try:
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
            check_sd_jwt_vc_claims(verified, type_metadata=type_metadata)
            claims = verified.claims
            holder_bound = verified.key_binding is not None
            bound_key = holder_key_of(claims) if "cnf" in claims else None
        else:

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
            claims = dict(w3c.credential.get("credentialSubject", {}))  # type: ignore[arg-type]
            types = w3c.types
            w3c_status = w3c.status
            bound_key = resolve_did_jwk(w3c.subject_id) if w3c.subject_id else None
    except PasserelleError as exc:
        return refuse("signature", exc, decision, {})
    steps.append(
        _step(
            "signature",
            StepOutcome.PASSED,
            f"verified with the key found by {decision.issuer.method}",
        )
    )
    if expected_holder is not None:
        # On receipt: the credential must be bound to the key the wallet proved, or the
        # wallet could never present it (and someone else might).
        if bound_key is None or jwk_thumbprint(bound_key) != jwk_thumbprint(expected_holder):
            unbound = PasserelleError(
                Reason.SD_JWT_VC_CNF_INVALID
                if format == "dc+sd-jwt"
                else Reason.VC_HOLDER_MISMATCH,
                "the credential is not bound to the holder key this wallet proved",
            )
            return refuse("holder_key", unbound, decision, claims)
        steps.append(_step("holder_key", StepOutcome.PASSED, "bound to the wallet's own key"))
        holder_bound = True  # cryptographically bound, to a key this wallet holds
    reference = claims.get("status")
    if reference is not None and refs.status_uri is None:
        malformed = PasserelleError(Reason.SD_JWT_VC_STATUS_INVALID, "status names no status list")
        return refuse("status", malformed, decision, claims)
    if refs.status_uri is not None and isinstance(reference, dict):
        status_list = (status_lists or {}).get(refs.status_uri)
        failure = (status_failures or {}).get(refs.status_uri)
        if status_list is None:
            if failure is not None and failure.reason is not Reason.STATUS_UNAVAILABLE:
                return refuse("status", failure, decision, claims)
            if policy.require_status:
                missing = failure or PasserelleError(
                    Reason.STATUS_UNAVAILABLE, f"status list {refs.status_uri} was not available"
                )
                return refuse("status", missing, decision, claims)
            steps.append(
                _step(
                    "status",
                    StepOutcome.SKIPPED,
                    "status list not available; the policy allows it",
                    uri=refs.status_uri,
                )
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
    elif w3c_status:
        # W3C Bitstring Status List §3.2: every entry's bit, in its purpose's list.
        for entry in w3c_status:
            url = entry.get("statusListCredential")
            key = url if isinstance(url, str) else ""
            listed = (w3c_status_lists or {}).get(key)
            failure = (status_failures or {}).get(key)
            if listed is None:
                if failure is not None and failure.reason is not Reason.STATUS_UNAVAILABLE:
                    return refuse("status", failure, decision, claims)
                if policy.require_status:
                    missing = failure or PasserelleError(
                        Reason.STATUS_UNAVAILABLE, f"status list {url!r} was not available"
                    )
                    return refuse("status", missing, decision, claims)
                skipped = "status list not available; the policy allows it"
                steps.append(_step("status", StepOutcome.SKIPPED, skipped, uri=key))
                continue
            try:
                check_bitstring_status(entry, listed, now=now)
            except PasserelleError as exc:
                return refuse("status", exc, decision, claims)
            steps.append(
                _step(
                    "status",
                    StepOutcome.PASSED,
                    f"not set in the issuer's {entry.get('statusPurpose')} list",
                    uri=url,
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
        types=types,
    )
