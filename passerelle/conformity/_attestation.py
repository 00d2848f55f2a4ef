"""One conformance attestation: what it says, how it is signed, how it is checked.

The credential (VCDM 2.0, ``vc+jwt``, VC-JOSE-COSE §3.1.1)::

    {"@context": ["https://www.w3.org/ns/credentials/v2"],
     "type": ["VerifiableCredential", "ConformanceAttestation"],
     "issuer": {"id": <the laboratory>, "name": ...},
     "validFrom": ..., "validUntil": ...,
     "credentialSubject": {
        "id": <the target's identifier: its URL, or its DID>,
        "name": <its name in the targets file>, "role": ..., "profile": ...,
        "plans": [...], "versions": {<plan>: <what it tests>, "suite": ...},
        "counts": {"passed": n, "failed": n, ...}, "unexpected": [<check ids>],
        "conformant": <no unexpected result>,
        "report": {"name": "report.json", "digestSHA256": <hex>},
        "assessedAt": <when the run finished>}}

The signature's protected header carries the laboratory's ``x5c`` chain: a relying
party finds the laboratory on its trust lists (service for ``ConformanceAttestation``)
exactly as it finds any issuer, and refuses an attestation signed by anyone else.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from .._errors import PasserelleError, Reason, local_error
from .._json import JsonObject, JsonValue
from .._time import parse_date_time
from ..jose import Signer, decode_unverified_jws, sign_jws
from ..trust import IssuerIdentity, TrustDecision, TrustSnapshot, evaluate_trust
from ..vc import VC_JWT_TYP, VC_V2_CONTEXT, verify_vc_jose

__all__ = [
    "CONFORMANCE_ATTESTATION_TYPE",
    "ConformanceSummary",
    "VerifiedConformanceAttestation",
    "build_conformance_attestation",
    "report_digest",
    "sign_conformance_attestation",
    "verify_conformance_attestation",
]

CONFORMANCE_ATTESTATION_TYPE = "ConformanceAttestation"
_ALGORITHMS = ("ES256", "ES384", "EdDSA", "Ed25519")
_WHAT = "conformance attestation"


def report_digest(report: bytes) -> str:
    """The SHA-256 of a report's bytes, lower-case hex."""
    return hashlib.sha256(report).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True, kw_only=True)
class ConformanceSummary:
    """What a run found about one target."""

    subject: str
    name: str
    role: str
    profile: str
    plans: tuple[str, ...]
    versions: Mapping[str, str]
    counts: Mapping[str, int]
    unexpected: tuple[str, ...]
    report_sha256: str
    assessed_at: datetime
    reviewed_by_person: tuple[str, ...] = ()
    """Checks whose verdict is a person's answer (interactive runs), not an observation."""
    extra: Mapping[str, JsonValue] = field(default_factory=dict)

    @property
    def conformant(self) -> bool:
        return not self.unexpected

    def as_subject(self) -> JsonObject:
        subject: JsonObject = {
            **self.extra,
            "id": self.subject,
            "name": self.name,
            "role": self.role,
            "profile": self.profile,
            "plans": list(self.plans),
            "versions": dict(self.versions),
            "counts": dict(self.counts),
            "unexpected": list(self.unexpected),
            "reviewedByPerson": list(self.reviewed_by_person),
            "conformant": self.conformant,
            "report": {"name": "report.json", "digestSHA256": self.report_sha256},
            "assessedAt": _iso(self.assessed_at),
        }
        return subject


def build_conformance_attestation(
    summary: ConformanceSummary,
    *,
    issuer: str,
    issuer_name: str,
    now: datetime,
    valid_for: timedelta,
) -> JsonObject:
    """The VCDM 2.0 credential for ``summary``, valid from ``now`` for ``valid_for``."""
    if valid_for <= timedelta(0):
        raise local_error(Reason.CONFORMANCE_ATTESTATION_INVALID, "valid_for must be positive")
    return {
        "@context": [VC_V2_CONTEXT],
        "type": ["VerifiableCredential", CONFORMANCE_ATTESTATION_TYPE],
        "issuer": {"id": issuer, "name": issuer_name},
        "validFrom": _iso(now),
        "validUntil": _iso(now + valid_for),
        "credentialSubject": summary.as_subject(),
    }


def sign_conformance_attestation(
    credential: JsonObject, *, signer: Signer, x5c: Sequence[str]
) -> str:
    """``credential`` as a ``vc+jwt`` whose header names the signer's ``x5c`` chain."""
    if not x5c:
        raise local_error(Reason.CONFORMANCE_ATTESTATION_INVALID, "x5c must not be empty")
    header: dict[str, object] = {"typ": VC_JWT_TYP, "cty": "vc", "x5c": list(x5c)}
    return sign_jws(header, credential, signer)


@dataclass(frozen=True, slots=True, kw_only=True)
class VerifiedConformanceAttestation:
    summary: ConformanceSummary
    issuer: str
    signer: str
    """The subject of the signing certificate, as the lists know it."""
    valid_from: datetime | None
    valid_until: datetime | None
    trust: TrustDecision


def _invalid(detail: str) -> PasserelleError:
    return PasserelleError(Reason.CONFORMANCE_ATTESTATION_INVALID, f"{_WHAT}: {detail}")


def _string(subject: JsonObject, name: str) -> str:
    value = subject.get(name)
    if not isinstance(value, str) or not value:
        raise _invalid(f"credentialSubject.{name} is not a non-empty string")
    return value


def _strings(value: JsonValue, name: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _invalid(f"credentialSubject.{name} is not an array of strings")
    return tuple(str(v) for v in value)


def _read_summary(subject: JsonObject) -> ConformanceSummary:
    counts = subject.get("counts")
    if not isinstance(counts, dict) or not all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in counts.values()
    ):
        raise _invalid("credentialSubject.counts is not an object of counts")
    versions = subject.get("versions")
    if not isinstance(versions, dict) or not all(isinstance(v, str) for v in versions.values()):
        raise _invalid("credentialSubject.versions is not an object of strings")
    report = subject.get("report")
    digest = report.get("digestSHA256") if isinstance(report, dict) else None
    if not isinstance(digest, str) or len(digest) != 64:
        raise _invalid("credentialSubject.report.digestSHA256 is not a SHA-256 in hex")
    unexpected = _strings(subject.get("unexpected"), "unexpected")
    reviewed = _strings(subject.get("reviewedByPerson", []), "reviewedByPerson")
    if subject.get("conformant") is not (not unexpected):
        raise _invalid("credentialSubject.conformant contradicts its unexpected results")
    assessed = parse_date_time(
        subject.get("assessedAt"),
        what="credentialSubject.assessedAt",
        reason=Reason.CONFORMANCE_ATTESTATION_INVALID,
    )
    return ConformanceSummary(
        subject=_string(subject, "id"),
        name=_string(subject, "name"),
        role=_string(subject, "role"),
        profile=_string(subject, "profile"),
        plans=_strings(subject.get("plans"), "plans"),
        versions={str(k): str(v) for k, v in versions.items()},
        counts={str(k): v for k, v in counts.items() if isinstance(v, int)},
        unexpected=unexpected,
        reviewed_by_person=reviewed,
        report_sha256=digest.lower(),
        assessed_at=assessed,
    )


def verify_conformance_attestation(
    token: str,
    *,
    trust: TrustSnapshot,
    now: datetime,
    skew: timedelta = timedelta(seconds=60),
    report: bytes | None = None,
    subject: str | None = None,
    max_age: timedelta | None = None,
    accept_person_reviewed: bool = False,
    algorithms: Collection[str] = _ALGORITHMS,
) -> VerifiedConformanceAttestation:
    """Verify a conformance attestation, or raise.

    In order: the signer is a laboratory the lists trust for ``ConformanceAttestation``
    (its ``x5c`` chain, the list's service; ``trust.*``); the ``vc+jwt`` signature,
    shape and validity period under the key that step resolved (``jws.*``, ``vc.*``,
    ``credential.expired``); the attestation's own content
    (``conformance.attestation_invalid``); then what the caller asks for: the digest
    of ``report`` (``conformance.report_digest_mismatch``), the ``subject``
    (``conformance.subject_mismatch``), an assessment no older than ``max_age``
    (``conformance.attestation_expired``).
    """
    unverified = decode_unverified_jws(token, what=_WHAT)
    x5c = unverified.header.get("x5c")
    if not isinstance(x5c, list) or not x5c:
        raise _invalid("the protected header carries no x5c chain")
    claimed_issuer = unverified.payload_json(what=_WHAT).get("issuer")
    claimed = claimed_issuer.get("id") if isinstance(claimed_issuer, dict) else claimed_issuer
    decision = evaluate_trust(
        issuer=IssuerIdentity(iss=claimed if isinstance(claimed, str) else None, x5c=x5c),
        credential_type=CONFORMANCE_ATTESTATION_TYPE,
        snapshot=trust,
        now=now,
    )
    decision.raise_for_failure()
    assert decision.issuer is not None  # trusted: a key was resolved
    verified = verify_vc_jose(
        token, issuer_key=decision.issuer.key, algorithms=algorithms, now=now, skew=skew
    )
    if CONFORMANCE_ATTESTATION_TYPE not in verified.types:
        raise _invalid(f"its types {list(verified.types)} lack {CONFORMANCE_ATTESTATION_TYPE}")
    subjects = verified.credential.get("credentialSubject")
    if not isinstance(subjects, dict):
        raise _invalid("credentialSubject is not one object")
    summary = _read_summary(subjects)
    if report is not None and report_digest(report) != summary.report_sha256:
        raise PasserelleError(
            Reason.CONFORMANCE_REPORT_MISMATCH,
            f"the report's SHA-256 is {report_digest(report)}, the attestation says "
            f"{summary.report_sha256}",
        )
    if subject is not None and summary.subject != subject:
        raise PasserelleError(
            Reason.CONFORMANCE_SUBJECT_MISMATCH,
            f"the attestation is about {summary.subject!r}, not {subject!r}",
        )
    if summary.reviewed_by_person and not accept_person_reviewed:
        # A person's answer is usually the target's own operator speaking about the target:
        # evidence, never an observation a relying party should take as the suite's verdict.
        raise PasserelleError(
            Reason.CONFORMANCE_PERSON_REVIEWED,
            "verdicts given by a person, not observed by the suite: "
            + ", ".join(summary.reviewed_by_person),
        )
    if summary.assessed_at > now + skew:
        # A run that has not happened yet cannot vouch for anything, and would outlive
        # any max_age.
        raise PasserelleError(
            Reason.CONFORMANCE_ATTESTATION_INVALID,
            f"assessed at {summary.assessed_at.isoformat()}, after now",
        )
    if max_age is not None and now - summary.assessed_at > max_age:
        raise PasserelleError(
            Reason.CONFORMANCE_ATTESTATION_EXPIRED,
            f"assessed at {summary.assessed_at.isoformat()}, older than {max_age}",
        )
    return VerifiedConformanceAttestation(
        summary=summary,
        issuer=verified.issuer,
        signer=decision.issuer.issuer,
        valid_from=verified.valid_from,
        valid_until=verified.valid_until,
        trust=decision,
    )
