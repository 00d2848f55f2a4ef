"""``passerelle demo``: the cross-border scenarios of DESIGN §2, played on the core.

Each scenario is data: which credential type, which side issues and which verifies,
what the verifier asks for, what goes wrong on purpose, and the outcome expected.
Until the networked stack exists, issuer, wallet and verifier are the core functions
called in turn, with a development PKI made in memory for the run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec
from rich.console import Console
from rich.table import Table

from services.catalog import Catalog, CredentialType

from .._errors import PasserelleError, Reason
from .._json import JsonObject, b64url_encode
from .._random import RandomSource
from ..catalog import apply_crosswalk, resolve_type_metadata, validate_claims
from ..jose import KeySigner, public_jwk
from ..sd_jwt import ClaimPath, KeyBindingCheck, KeyBindingInput, parse_sd_jwt, present_sd_jwt
from ..sd_jwt_vc import (
    NEVER_DISCLOSABLE,
    IssuerKeyPolicy,
    disclosable_paths,
    issue_sd_jwt_vc,
    verify_sd_jwt_vc,
)
from ..x509 import LeafUsage, build_ca_certificate, build_leaf_certificate, build_name, encode_x5c

__all__ = ["SCENARIOS", "run_demo"]

Side = Literal["ca", "eu"]
Fault = Literal["none", "tampered_disclosure", "wrong_nonce", "expired", "unknown_issuer"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    title: str
    type_id: str
    issuer: Side
    verifier: Side
    request: tuple[ClaimPath, ...]
    fault: Fault = "none"
    expect: Reason | None = None


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        title="1. EU PID → Canadian verifier (age and name)",
        type_id="eu-pid",
        issuer="eu",
        verifier="ca",
        request=(("given_name",), ("family_name",), ("age_equal_or_over", "18")),
    ),
    Scenario(
        title="2. Canadian person credential → EU verifier (PID-equivalent claims)",
        type_id="ca-person",
        issuer="ca",
        verifier="eu",
        request=(("given_name",), ("family_name",), ("birthdate",)),
    ),
    Scenario(
        title="3a. Canadian business registration → EU verifier",
        type_id="ca-business-registration",
        issuer="ca",
        verifier="eu",
        request=(("registration_id",), ("entity_name",), ("entity_status",)),
    ),
    Scenario(
        title="3b. EU legal person → Canadian verifier",
        type_id="eu-legal-person",
        issuer="eu",
        verifier="ca",
        request=(("euid",), ("legal_name",), ("country",)),
    ),
    Scenario(
        title="4. Canadian conformity attestation → EU market surveillance",
        type_id="conformity-attestation",
        issuer="ca",
        verifier="eu",
        request=(("assessed_product",), ("scope",), ("assessment_result",)),
    ),
    Scenario(
        title="5a. Tampered disclosure is caught",
        type_id="eu-pid",
        issuer="eu",
        verifier="ca",
        request=(("given_name",),),
        fault="tampered_disclosure",
        expect=Reason.SD_JWT_UNREFERENCED_DISCLOSURE,
    ),
    Scenario(
        title="5b. Presentation for another verifier's nonce is caught",
        type_id="ca-person",
        issuer="ca",
        verifier="eu",
        request=(("given_name",),),
        fault="wrong_nonce",
        expect=Reason.KB_JWT_NONCE_MISMATCH,
    ),
    Scenario(
        title="5c. Expired credential is caught",
        type_id="eu-legal-person",
        issuer="eu",
        verifier="ca",
        request=(("legal_name",),),
        fault="expired",
        expect=Reason.CREDENTIAL_EXPIRED,
    ),
    Scenario(
        title="5d. Issuer outside the trust anchors is caught",
        type_id="eu-pid",
        issuer="eu",
        verifier="ca",
        request=(("given_name",),),
        fault="unknown_issuer",
        expect=Reason.X509_CHAIN_INVALID,
    ),
)

CA_ISSUER = "https://ca-issuer.passerelle.localhost"
VERIFIER_ID = {"ca": "x509_san_dns:ca-verifier.passerelle.localhost", "eu": "x509_hash:eu-verifier"}


@dataclass(slots=True)
class _Pki:
    """The development PKI of one run: an EU issuer chain (x5c, as HAIP asks) and a
    Canadian issuer key published as JWT VC Issuer Metadata."""

    now: datetime
    eu_root_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    eu_leaf_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    ca_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    eu_root: x509.Certificate | None = None
    eu_leaf: x509.Certificate | None = None

    def __post_init__(self) -> None:
        self.eu_root = build_ca_certificate(
            subject=build_name(common_name="EU PID Provider CA (demo)", country="BE"),
            key=self.eu_root_key,
            not_before=self.now - timedelta(days=1),
            not_after=self.now + timedelta(days=365),
            serial=1,
        )
        self.eu_leaf = build_leaf_certificate(
            subject=build_name(common_name="EU PID Provider (demo)", country="BE"),
            public_key=self.eu_leaf_key.public_key(),
            issuer_cert=self.eu_root,
            issuer_key=self.eu_root_key,
            not_before=self.now - timedelta(days=1),
            not_after=self.now + timedelta(days=90),
            serial=2,
            usage=LeafUsage.SIGNING,
        )

    def policy(self, *, trusted: bool = True) -> IssuerKeyPolicy:
        anchor = self.eu_root if trusted else _stranger_root(self.now)
        assert anchor is not None
        metadata: JsonObject = {
            "issuer": CA_ISSUER,
            "jwks": {"keys": [{**public_jwk(self.ca_key), "kid": "ca-1"}]},
        }
        return IssuerKeyPolicy(x5c_anchors=[anchor], issuer_metadata={CA_ISSUER: metadata})


def _stranger_root(now: datetime) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    return build_ca_certificate(
        subject=build_name(common_name="Somebody else's CA"),
        key=key,
        not_before=now - timedelta(days=1),
        not_after=now + timedelta(days=1),
        serial=3,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    scenario: Scenario
    ok: bool
    reason: str | None
    disclosed: JsonObject
    mapped: JsonObject | None
    unmapped: tuple[str, ...]


def _play(
    scenario: Scenario, catalog: Catalog, pki: _Pki, now: datetime, random: RandomSource
) -> Outcome:
    ctype: CredentialType = catalog.types[scenario.type_id]
    sample = next(iter(ctype.samples.values()))
    subject = {k: v for k, v in sample.items() if k not in NEVER_DISCLOSABLE | {"iat"}}
    validate_claims({**subject, "vct": ctype.vct}, schema=ctype.schema)
    resolved = resolve_type_metadata(ctype.vct, documents=catalog.type_metadata_documents)
    holder = ec.generate_private_key(ec.SECP256R1())
    issued_at = now - (timedelta(days=400) if scenario.fault == "expired" else timedelta(minutes=5))
    common = {
        "vct": ctype.vct,
        "random": random,
        "now": issued_at,
        "disclosable": disclosable_paths(resolved, subject),
        "holder_key": holder.public_key(),
        "valid_for": timedelta(days=365),
        "max_decoys": 2,
    }
    if scenario.issuer == "eu":
        assert pki.eu_leaf is not None
        x5c = encode_x5c([pki.eu_leaf])
        token = issue_sd_jwt_vc(subject, signer=KeySigner(pki.eu_leaf_key), x5c=x5c, **common)  # type: ignore[arg-type]
    else:
        token = issue_sd_jwt_vc(
            subject,
            signer=KeySigner(pki.ca_key),
            issuer=CA_ISSUER,
            kid="ca-1",
            **common,  # type: ignore[arg-type]
        )
    audience = VERIFIER_ID[scenario.verifier]
    nonce = b64url_encode(random.token_bytes(16))
    shown = present_sd_jwt(
        token,
        disclose=scenario.request,
        key_binding=KeyBindingInput(
            signer=KeySigner(holder),
            nonce="another-verifier" if scenario.fault == "wrong_nonce" else nonce,
            audience=audience,
            now=now,
        ),
    )
    if scenario.fault == "tampered_disclosure":
        victim = parse_sd_jwt(shown).disclosures[0]
        forged = b64url_encode(json.dumps([victim.salt, victim.name, "Mallory"]).encode())
        shown = shown.replace(victim.encoded, forged)
    try:
        verified = verify_sd_jwt_vc(
            shown,
            keys=pki.policy(trusted=scenario.fault != "unknown_issuer"),
            algorithms=["ES256"],
            now=now,
            key_binding=KeyBindingCheck(nonce=nonce, audience=audience),
            accepted_vcts=[ctype.vct],
            type_metadata=catalog.type_metadata_documents,
        )
    except PasserelleError as exc:
        return Outcome(
            scenario=scenario,
            ok=exc.reason is scenario.expect,
            reason=str(exc.reason),
            disclosed={},
            mapped=None,
            unmapped=(),
        )
    disclosed = {k: v for k, v in verified.claims.items() if k in {p[0] for p in scenario.request}}
    mapped: JsonObject | None = None
    unmapped: tuple[str, ...] = ()
    crosswalk = next(
        (doc for (src, _), doc in catalog.crosswalks.items() if src == ctype.vct),
        None,
    )
    if crosswalk is not None and scenario.verifier != scenario.issuer:
        result = apply_crosswalk(crosswalk, disclosed)
        mapped, unmapped = result.claims, result.unmapped
    return Outcome(
        scenario=scenario,
        ok=scenario.expect is None,
        reason=None,
        disclosed=disclosed,
        mapped=mapped,
        unmapped=unmapped,
    )


def run_demo(
    *,
    catalog: Catalog,
    now: datetime,
    random: RandomSource,
    console: Console,
    report: Path | None,
) -> bool:
    """Play every scenario; True when each ended as expected."""
    pki = _Pki(now=now)
    outcomes: list[Outcome] = []
    for scenario in SCENARIOS:
        console.rule(f"[bold]{scenario.title}")
        outcome = _play(scenario, catalog, pki, now, random)
        outcomes.append(outcome)
        side = {"ca": "Canada", "eu": "EU"}
        console.print(
            f"issuer: {side[scenario.issuer]}  verifier: {side[scenario.verifier]}  "
            f"asks for: {', '.join('.'.join(map(str, p)) for p in scenario.request)}"
        )
        if outcome.reason is None:
            disclosed = json.dumps(outcome.disclosed, ensure_ascii=False)
            console.print(f"[green]accepted[/green]; disclosed: {disclosed}")
            if outcome.mapped is not None:
                mapped = json.dumps(outcome.mapped, ensure_ascii=False)
                console.print(f"  in the verifier's vocabulary: {mapped}")
        else:
            console.print(f"[yellow]rejected[/yellow] with [bold]{outcome.reason}[/bold]")
        mark = "[green]as expected[/green]" if outcome.ok else "[red]DEVIATION[/red]"
        expected = scenario.expect or "accepted"
        console.print(f"expected: {expected} → {mark}")
    table = Table(title="Passerelle demo")
    for column in ("scenario", "expected", "outcome", "ok"):
        table.add_column(column)
    for o in outcomes:
        table.add_row(
            o.scenario.title,
            str(o.scenario.expect or "accepted"),
            o.reason or "accepted",
            "✔" if o.ok else "✘",
        )
    console.print(table)
    if report is not None:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(
            json.dumps(
                {
                    "run_at": now.isoformat(),
                    "scenarios": [
                        {
                            "title": o.scenario.title,
                            "expected": str(o.scenario.expect or "accepted"),
                            "outcome": o.reason or "accepted",
                            "as_expected": o.ok,
                            "disclosed": o.disclosed,
                            "mapped": o.mapped,
                            "unmapped": list(o.unmapped),
                        }
                        for o in outcomes
                    ],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        console.print(f"report written to {report}")
    return all(o.ok for o in outcomes)
