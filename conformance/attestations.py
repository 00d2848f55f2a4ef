"""Results as credentials: one signed conformance attestation per target of a run.

At the end of a run, after ``report.json`` is written, the suite signs as the testbed's
conformance laboratory (the PKI entity ``conformance-lab``, listed on the EU Pub-EAA
providers list for ``ConformanceAttestation``) one ``vc+jwt`` per target it judged:
its identifier, the plans and what they test, the counts per status, the unexpected
results, the SHA-256 of ``report.json``, the date and the laboratory's identity. They
are written to ``attestations/<target>.jwt`` beside the reports. A relying party checks
one against the trust lists (:func:`passerelle.conformity.verify_conformance_attestation`);
``passerelle conformance verify`` does that from the command line, with the report.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from pathlib import Path

from passerelle import __version__
from passerelle.conformity import (
    ConformanceSummary,
    build_conformance_attestation,
    report_digest,
    sign_conformance_attestation,
)
from passerelle.services.pki import Pki
from passerelle.trust import EU_LIST_TYPES, TrustSnapshot, load_trust_snapshot

from ._context import Target
from ._registry import PLANS
from ._runner import Run

__all__ = [
    "LABORATORY",
    "LABORATORY_ID",
    "PLAN_VERSIONS",
    "VALIDITY",
    "attestation_path",
    "summarise",
    "trust_snapshot_from_files",
    "write_attestations",
]

LABORATORY = "conformance-lab"
"""The PKI entity the suite signs attestations as."""
LABORATORY_ID = "urn:passerelle:conformance-laboratory"
LABORATORY_NAME = "Passerelle Conformance Laboratory"
VALIDITY = timedelta(days=90)
"""How long an attestation stays valid: a relying party may ask for a fresher one."""

PLAN_VERSIONS: Mapping[str, str] = {
    "issuer": "OpenID4VCI 1.0; SD-JWT VC (draft-ietf-oauth-sd-jwt-vc); RFC 9901",
    "verifier": "OpenID4VP 1.0; HAIP 1.0; RFC 9901; Token Status List",
    "wallet": "OpenID4VP 1.0; DCQL; RFC 9901",
    "trust-list": "ETSI TS 119 602 (LoTE, JAdES B-B); ToIP TRQP v2",
    "schema": "passerelle shared schemas and crosswalks",
    "dataspace": "Dataspace Protocol 2025-1; DCP 1.0",
    "cross-border": "passerelle cross-border matrix",
}
"""What each plan tests, by the versions of the specifications it pins."""

_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def attestation_path(report_dir: Path, target: str) -> Path:
    return report_dir / "attestations" / f"{_SAFE.sub('_', target)}.jwt"


def _identifier(target: Target) -> str:
    """What the attestation is about: the target's DID when it has one (a connector),
    else its URL."""
    did = target.get("did")
    return did if isinstance(did, str) and did.startswith("did:") else target.url


def summarise(run: Run, target: Target, *, report_sha256: str) -> ConformanceSummary | None:
    """What ``run`` found about ``target``; None when no check judged it."""
    results = [r for r in run.results if r.subject == target.name]
    if not results:
        return None
    counts = {status: 0 for status in ("passed", "failed", "warning", "skipped", "error")}
    for r in results:
        counts[r.status.value] += 1
    plans = tuple(dict.fromkeys(r.check.plan for r in results))
    versions = {plan: PLAN_VERSIONS.get(plan, PLANS[plan].description) for plan in plans}
    versions["suite"] = f"passerelle {__version__}"
    return ConformanceSummary(
        subject=_identifier(target),
        name=target.name,
        role=target.role,
        profile=target.profile,
        plans=plans,
        versions=versions,
        counts=counts,
        unexpected=tuple(sorted({r.check.id for r in results if r.unexpected})),
        reviewed_by_person=tuple(
            sorted({r.check.id for r in results if r.evidence.get("reviewed_by_person") is True})
        ),
        report_sha256=report_sha256,
        assessed_at=run.finished_at or run.started_at,
    )


def write_attestations(run: Run, report_dir: Path, *, pki: Pki, now: datetime) -> dict[str, Path]:
    """Sign and write one attestation per judged target; ``report.json`` must exist."""
    digest = report_digest((report_dir / "report.json").read_bytes())
    signer, x5c = pki.signer(LABORATORY), pki.x5c(LABORATORY)
    written: dict[str, Path] = {}
    for name, target in run.targets.targets.items():
        summary = summarise(run, target, report_sha256=digest)
        if summary is None:
            continue
        credential = build_conformance_attestation(
            summary, issuer=LABORATORY_ID, issuer_name=LABORATORY_NAME, now=now, valid_for=VALIDITY
        )
        path = attestation_path(report_dir, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(sign_conformance_attestation(credential, signer=signer, x5c=x5c) + "\n")
        written[name] = path
    return written


def trust_snapshot_from_files(data_dir: Path, *, now: datetime) -> TrustSnapshot:
    """The trust lists a relying party of the development PKI holds, read from
    ``data_dir`` (signed by ``passerelle init`` / ``passerelle trust build``) and
    verified: what ``passerelle conformance verify`` checks an attestation against."""
    from passerelle.services.catalog import data_root
    from passerelle.services.pki import load_pki
    from passerelle.services.trust.build import load_recognitions, trust_dir

    pki = load_pki(data_dir, now=now)
    out = trust_dir(data_dir)
    return load_trust_snapshot(
        home=None,
        eu_lists={name: (out / "eu" / f"{name}.jwt").read_text() for name in EU_LIST_TYPES},
        registry=(out / "ca" / "registry.jwt").read_text(),
        recognitions=load_recognitions(data_root() / "trust_lists"),
        eu_operator_anchors=[pki.anchor("eu-lote-operator")],
        ca_operator_anchors=[pki.anchor("ca-registry-operator")],
        now=now,
    )
