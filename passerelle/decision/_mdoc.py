"""The ``mso_mdoc`` format adapter of the decision pipeline (ISO/IEC 18013-5).

The steps are the other formats' steps, in the same order, with what they mean here::

    1-5  trust           the x5chain (document signer to IACA) goes through
                         :func:`passerelle.trust.evaluate_trust` like an ``x5c`` header:
                         an IACA listed on an EU list, or held by the Canadian registry
    6    signature       the MSO's COSE_Sign1, then every disclosed element's digest, the
                         docType and the validity window (ISO/IEC 18013-5 §9.3.1)
    7    status          the MSO ``status`` (Token Status List, "Referenced Token in COSE")
    8    holder_binding  the device signature over DeviceAuthentication, built from the
                         verifier's own SessionTranscript (OpenID4VP 1.0 Appendix B.2.6)
    9    schema          the disclosed elements against the type's JSON Schema

The token is what travels in OpenID4VCI and OpenID4VP: an IssuerSigned (issuance,
Appendix A.2.4 of OpenID4VCI 1.0) or a DeviceResponse (presentation, OpenID4VP 1.0
Appendix B.2.4), base64url-encoded. Claims are ``{namespace: {element: value}}`` with
the CBOR values made JSON: full-dates and tdates as ISO 8601 strings, byte strings as
base64url.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from .._errors import PasserelleError, Reason
from .._json import JsonObject, JsonValue, b64url_encode
from ..catalog import CompiledSchema, validate_claims
from ..jose import PublicKey, jwk_thumbprint
from ..mdoc import (
    UnverifiedIssuerSigned,
    VerifiedMdoc,
    decode_unverified_mdoc,
    verify_device_response,
    verify_issuer_signed,
)
from ..status_list import VerifiedStatusList, check_status
from ..trust import (
    IssuerIdentity,
    StepOutcome,
    TrustDecision,
    TrustSnapshot,
    TrustStep,
    evaluate_trust,
)
from ._credential import CredentialDecision, CredentialReferences, DecisionPolicy
from ._findings import Finding, not_run

__all__ = [
    "FORMAT_MSO_MDOC",
    "decide_mdoc",
    "decode_mdoc_token",
    "mdoc_claims",
    "mdoc_references",
    "unverified_mdoc",
]

FORMAT_MSO_MDOC = "mso_mdoc"

#: Refusals that belong to device authentication (step 8), not to the MSO (step 6). The
#: core checks the issuer's part first, so when one of these is raised, the MSO held.
_DEVICE_REASONS = frozenset(
    {
        Reason.MDOC_DEVICE_SIGNATURE_INVALID,
        Reason.MDOC_DEVICE_AUTH_MISSING,
        Reason.MDOC_DEVICE_MAC_KEY_MISSING,
        Reason.MDOC_DEVICE_ELEMENT_UNAUTHORIZED,
    }
)


def decode_mdoc_token(token: str) -> bytes:
    """The CBOR bytes of a base64url ``mso_mdoc`` credential or presentation."""
    if not isinstance(token, str) or not token:
        raise PasserelleError(Reason.MDOC_MALFORMED, "an mso_mdoc token is a base64url string")
    try:
        return base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError) as exc:
        raise PasserelleError(Reason.MDOC_MALFORMED, "the mso_mdoc token is not base64url") from exc


def unverified_mdoc(token: str) -> tuple[UnverifiedIssuerSigned, bool]:
    """The one document of an mdoc token, taken apart WITHOUT verifying anything, and
    whether the token is a DeviceResponse (a presentation) rather than an IssuerSigned."""
    documents, is_response = decode_unverified_mdoc(decode_mdoc_token(token))
    if len(documents) != 1:
        raise PasserelleError(
            Reason.MDOC_NO_DOCUMENT if not documents else Reason.MDOC_MALFORMED,
            f"a presentation here carries exactly one document, not {len(documents)}",
        )
    return documents[0], is_response


def _json(value: object) -> JsonValue:
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bytes):
        return b64url_encode(value)
    if isinstance(value, Mapping):
        return {str(k): _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json(v) for v in value]
    tag_value = getattr(value, "value", None)
    return _json(tag_value) if tag_value is not None else str(value)


def mdoc_claims(namespaces: Mapping[str, Mapping[str, object]]) -> JsonObject:
    """``{namespace: {element: value}}`` as JSON (what DCQL and crosswalks address)."""
    return {ns: {k: _json(v) for k, v in elements.items()} for ns, elements in namespaces.items()}


def _x5c(document: UnverifiedIssuerSigned) -> list[JsonValue]:
    return [
        base64.b64encode(cert.public_bytes(Encoding.DER)).decode("ascii")
        for cert in document.x5chain
    ]


def mdoc_references(token: str) -> CredentialReferences:
    """What a decision about an mdoc needs fetched (its status list), read WITHOUT
    verifying. The issuer is named by its x5chain only: an mdoc has no ``iss``."""
    document, _ = unverified_mdoc(token)
    return CredentialReferences(
        format=FORMAT_MSO_MDOC,
        credential_type=document.doc_type,
        issuer=IssuerIdentity(x5c=_x5c(document), x5chain=True),
        status_uri=None if document.status is None else document.status.uri,
    )


def _step(name: str, outcome: StepOutcome, detail: str, reason: Reason | None = None) -> TrustStep:
    return TrustStep(step=name, outcome=outcome, detail=detail, reason=reason)


@dataclass(slots=True)
class _Run:
    """One decision in the making: the steps so far, and how to end it."""

    credential_type: str
    steps: list[TrustStep] = field(default_factory=list)
    trust: TrustDecision | None = None
    claims: JsonObject = field(default_factory=dict)

    def refuse(self, step: str, exc: PasserelleError) -> CredentialDecision:
        self.steps.append(_step(step, StepOutcome.FAILED, exc.detail, exc.reason))
        return CredentialDecision(
            accepted=False,
            reason=exc.reason,
            format=FORMAT_MSO_MDOC,
            credential_type=self.credential_type,
            claims=self.claims,
            trust=self.trust,
            steps=tuple(self.steps),
            findings=_not_evaluated(step),
        )

    # After the signature the checks are independent: the first to fail decides, and
    # the ones after it are run all the same, as findings (see ._findings).
    refused: PasserelleError | None = None
    later: list[Finding] = field(default_factory=list)

    def record(self, step: TrustStep) -> None:
        if self.refused is None:
            self.steps.append(step)
        else:
            self.later.append(Finding(step=step))

    def fail(self, step: str, exc: PasserelleError) -> None:
        self.record(_step(step, StepOutcome.FAILED, exc.detail, exc.reason))
        if self.refused is None:
            self.refused = exc

    def refused_decision(self) -> CredentialDecision:
        assert self.refused is not None
        return CredentialDecision(
            accepted=False,
            reason=self.refused.reason,
            format=FORMAT_MSO_MDOC,
            credential_type=self.credential_type,
            claims=self.claims,
            trust=self.trust,
            steps=tuple(self.steps),
            findings=tuple(self.later),
        )


_ORDER = ("trust", "signature", "holder_key", "status", "holder_binding", "schema")
_TRUST_STEPS = ("trust_list", "issuer_key", "home_framework", "authorized", "recognition")


def _not_evaluated(failed: str) -> tuple[Finding, ...]:
    """The steps after ``failed`` (parse, type, trust or signature), shown as not run:
    unlike the JWT formats (see ._findings), this adapter does not yet check an
    untrusted issuer's signature, nor read an unverified MSO."""
    at = "trust" if failed in _TRUST_STEPS else failed
    later = _ORDER[_ORDER.index(at) + 1 :] if at in _ORDER else _ORDER
    detail = "not evaluated for an mdoc after this failure"
    return tuple(not_run(name, failed, detail) for name in later if name != "holder_key")


def _verify(
    data: bytes,
    document: UnverifiedIssuerSigned,
    is_response: bool,
    *,
    anchor: x509.Certificate,
    now: datetime,
    skew: timedelta,
    session_transcript: bytes | None,
) -> VerifiedMdoc:
    if is_response and session_transcript is not None:
        return verify_device_response(
            data,
            session_transcript=session_transcript,
            anchors=[anchor],
            now=now,
            expected_doc_type=document.doc_type,
            clock_skew=skew,
        )
    # Issuance, or a first pass before the status list is fetched: the issuer's part.
    return verify_issuer_signed(
        document.encoded if is_response else data,
        anchors=[anchor],
        now=now,
        expected_doc_type=document.doc_type,
        clock_skew=skew,
    )


def _status_step(
    run: _Run,
    verified: VerifiedMdoc,
    policy: DecisionPolicy,
    status_lists: Mapping[str, VerifiedStatusList],
    status_failures: Mapping[str, PasserelleError],
) -> PasserelleError | None:
    if verified.status is None:
        run.record(_step("status", StepOutcome.SKIPPED, "the MSO names no status list"))
        return None
    uri = verified.status.uri
    listed, failure = status_lists.get(uri), status_failures.get(uri)
    if listed is None:
        if failure is not None and failure.reason is not Reason.STATUS_UNAVAILABLE:
            return failure
        if policy.require_status:
            return failure or PasserelleError(
                Reason.STATUS_UNAVAILABLE, f"status list {uri} was not available"
            )
        run.record(
            _step("status", StepOutcome.SKIPPED, "status list not available; the policy allows it")
        )
        return None
    try:
        check_status({"status_list": {"idx": verified.status.idx, "uri": uri}}, listed)
    except PasserelleError as exc:
        return exc
    run.record(_step("status", StepOutcome.PASSED, "valid in the issuer's status list"))
    return None


def decide_mdoc(
    token: str,
    *,
    trust: TrustSnapshot,
    policy: DecisionPolicy,
    now: datetime,
    status_lists: Mapping[str, VerifiedStatusList] | None = None,
    status_failures: Mapping[str, PasserelleError] | None = None,
    session_transcript: bytes | None = None,
    schemas: Mapping[str, JsonObject | CompiledSchema] | None = None,
    expected_holder: PublicKey | None = None,
) -> CredentialDecision:
    """Decide about an ``mso_mdoc`` token, as :func:`decide_credential` does for the
    other formats. ``session_transcript`` (the verifier's own) asks for device
    authentication: without it a DeviceResponse is judged on its issuer's part only."""
    run = _Run(credential_type="")
    try:
        document, is_response = unverified_mdoc(token)
        run.credential_type = document.doc_type
        claimed = mdoc_claims(document.elements)
    except PasserelleError as exc:
        return run.refuse("parse", exc)
    if policy.accepted_types is not None and document.doc_type not in policy.accepted_types:
        unwanted = PasserelleError(
            Reason.MDOC_DOCTYPE_MISMATCH, f"{document.doc_type} is not accepted here"
        )
        return run.refuse("credential_type", unwanted)
    decision = evaluate_trust(
        issuer=IssuerIdentity(x5c=_x5c(document), x5chain=True),
        credential_type=document.doc_type,
        snapshot=trust,
        now=now,
        claims=claimed,
        allow_insecure_loopback=policy.allow_insecure_loopback,
    )
    run.steps.extend(decision.steps)
    run.trust = decision
    if not decision.trusted:
        return CredentialDecision(
            accepted=False,
            reason=decision.reason,
            format=FORMAT_MSO_MDOC,
            credential_type=document.doc_type,
            claims={},
            trust=decision,
            steps=tuple(run.steps),
            findings=_not_evaluated(run.steps[-1].step if run.steps else "trust"),
        )
    assert decision.issuer is not None
    assert decision.issuer.chain is not None
    device_failure: PasserelleError | None = None
    try:
        verified = _verify(
            decode_mdoc_token(token),
            document,
            is_response,
            anchor=decision.issuer.chain.anchor,
            now=now,
            skew=policy.skew,
            session_transcript=session_transcript,
        )
    except PasserelleError as exc:
        if exc.reason not in _DEVICE_REASONS:
            return run.refuse("signature", exc)
        # The core checks the issuer's part first: the MSO held, the device did not.
        device_failure = exc
        verified = _verify(
            decode_mdoc_token(token), document, is_response, anchor=decision.issuer.chain.anchor,
            now=now, skew=policy.skew, session_transcript=None,
        )  # fmt: skip
    run.claims = mdoc_claims(verified.namespaces)
    run.steps.append(
        _step("signature", StepOutcome.PASSED, "MSO verified with the x5chain key; digests match")
    )
    if expected_holder is not None:
        if jwk_thumbprint(verified.device_key) != jwk_thumbprint(expected_holder):
            unbound = PasserelleError(
                Reason.MDOC_DEVICE_KEY_INVALID,
                "the MSO's device key is not the holder key this wallet proved",
            )
            run.fail("holder_key", unbound)
        else:
            run.record(_step("holder_key", StepOutcome.PASSED, "bound to the wallet's own key"))
    failure = _status_step(run, verified, policy, status_lists or {}, status_failures or {})
    if failure is not None:
        run.fail("status", failure)
    if device_failure is not None:
        run.fail("holder_binding", device_failure)
    elif verified.device_auth is not None:
        detail = f"device {verified.device_auth} over the SessionTranscript verified"
        run.record(_step("holder_binding", StepOutcome.PASSED, detail))
    else:
        run.record(_step("holder_binding", StepOutcome.SKIPPED, "no key binding asked for"))
    schema = (schemas or {}).get(document.doc_type)
    if schema is not None:
        try:
            validate_claims(run.claims, schema=schema)
        except PasserelleError as exc:
            run.fail("schema", exc)
        else:
            run.record(
                _step("schema", StepOutcome.PASSED, "disclosed elements match the shared schema")
            )
    if run.refused is not None:
        return run.refused_decision()
    return CredentialDecision(
        accepted=True,
        reason=None,
        format=FORMAT_MSO_MDOC,
        credential_type=document.doc_type,
        claims=run.claims,
        trust=decision,
        steps=tuple(run.steps),
        holder_bound=verified.device_auth is not None,
    )
