"""Results as credentials: `passerelle conformance run` signs one attestation per target,
and `passerelle conformance verify` checks it against the trust lists and its report."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from passerelle import PasserelleError, Reason
from passerelle.conformance._local import local_targets_text, prepare_data_dir
from passerelle.conformance.attestations import trust_snapshot_from_files
from passerelle.conformity import verify_conformance_attestation
from passerelle.services.launcher import ROLES, start_stack

PASSERELLE = [sys.executable, "-c", "from passerelle.cli import main; main()"]


def _cli(args: list[str], cwd: Path) -> tuple[int, str]:
    done = subprocess.run(
        [*PASSERELLE, *args],
        cwd=cwd,
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


@pytest.fixture(scope="module")
def attested(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A run of a few checks against a stack, with its reports and attestations."""
    base = tmp_path_factory.mktemp("attested")
    data_dir = base / "stack"
    hosts = prepare_data_dir(data_dir)
    stack = start_stack(data_dir=data_dir, hosts=hosts, roles=ROLES)
    try:
        text = local_targets_text()
        for name, value in {**stack.urls, "data_dir": str(data_dir)}.items():
            text = text.replace("${" + name + "}", value)
        (base / "targets.yaml").write_text(text)
        args = ["conformance", "run", "--targets", str(base / "targets.yaml")]
        args += ["--report", str(base / "r")]
        for check in ("ISS-META-01", "ISS-NONCE-01", "VER-REQ-02", "VER-KB-02"):
            args += ["--check", check]
        code, output = _cli(args, base)
    finally:
        stack.stop()
    # The verdicts are the run's business; what is tested here is that they are attested.
    assert code in (0, 1), output[-3000:]
    assert (base / "r" / "report.json").is_file(), output[-3000:]
    return base, data_dir, stack.urls


def test_run_writes_one_attestation_per_judged_target(attested) -> None:  # type: ignore[no-untyped-def]
    base, _, _ = attested
    written = sorted(p.name for p in (base / "r" / "attestations").iterdir())
    assert written == ["ca-issuer.jwt", "ca-verifier.jwt", "eu-issuer.jwt", "eu-verifier.jwt"]


def test_an_attestation_verifies_against_the_lists_and_says_what_was_run(attested) -> None:  # type: ignore[no-untyped-def]
    base, data_dir, urls = attested
    now = datetime.now(UTC)
    token = (base / "r" / "attestations" / "eu-verifier.jwt").read_text().strip()
    verified = verify_conformance_attestation(
        token,
        trust=trust_snapshot_from_files(data_dir, now=now),
        now=now,
        report=(base / "r" / "report.json").read_bytes(),
        subject=urls["eu-verifier"],
    )
    summary = verified.summary
    assert summary.name == "eu-verifier"
    assert summary.role == "verifier"
    assert summary.plans == ("verifier",)
    report = json.loads((base / "r" / "report.json").read_text())
    mine = [r for r in report["results"] if r["subject"] == "eu-verifier"]
    assert len(mine) == 2
    for status in ("passed", "failed", "warning", "skipped", "error"):
        assert summary.counts[status] == sum(1 for r in mine if r["status"] == status)
    assert summary.unexpected == tuple(sorted(r["check_id"] for r in mine if r["unexpected"]))
    assert summary.conformant is (not summary.unexpected)
    assert "OpenID4VP 1.0" in summary.versions["verifier"]
    assert "Conformance Laboratory" in verified.signer
    # Months later it is no longer current for a party that asks for a fresh one.
    with pytest.raises(PasserelleError) as stale:
        verify_conformance_attestation(
            token,
            trust=trust_snapshot_from_files(data_dir, now=now),
            now=now + timedelta(days=2),
            max_age=timedelta(days=1),
        )
    assert stale.value.reason is Reason.CONFORMANCE_ATTESTATION_EXPIRED


def test_verify_accepts_the_attestation_and_its_report(attested) -> None:  # type: ignore[no-untyped-def]
    base, data_dir, _ = attested
    code, output = _cli(
        [
            "conformance",
            "verify",
            str(base / "r" / "attestations" / "ca-issuer.jwt"),
            "--report",
            str(base / "r" / "report.json"),
            "--data-dir",
            str(data_dir),
        ],
        base,
    )
    assert code == 0, output
    assert "verified" in output


def _tampered(token: str) -> str:
    """The same attestation with one count raised, the signature left as it was."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["counts"]["passed"] += 1
    raw = json.dumps(claims).encode()
    return f"{header}.{base64.urlsafe_b64encode(raw).rstrip(b'=').decode()}.{signature}"


def test_verify_refuses_a_tampered_copy_and_a_changed_report(attested, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    base, data_dir, _ = attested
    original = (base / "r" / "attestations" / "ca-issuer.jwt").read_text().strip()
    tampered = tmp_path / "tampered.jwt"
    tampered.write_text(_tampered(original))
    code, output = _cli(
        ["conformance", "verify", str(tampered), "--data-dir", str(data_dir)], tmp_path
    )
    assert code == 1, output
    assert "jws.invalid_signature" in output

    report = json.loads((base / "r" / "report.json").read_text())
    report["results"][0]["status"] = (
        "passed" if report["results"][0]["status"] != "passed" else "failed"
    )
    changed = tmp_path / "report.json"
    changed.write_text(json.dumps(report))
    code, output = _cli(
        [
            "conformance",
            "verify",
            str(base / "r" / "attestations" / "ca-issuer.jwt"),
            "--report",
            str(changed),
            "--data-dir",
            str(data_dir),
        ],
        tmp_path,
    )
    assert code == 1, output
    assert "conformance.report_digest_mismatch" in output


def test_an_attestation_signed_by_anyone_else_is_untrusted(attested) -> None:  # type: ignore[no-untyped-def]
    from passerelle.conformity import (
        build_conformance_attestation,
        sign_conformance_attestation,
    )
    from passerelle.jose import decode_unverified_jws
    from passerelle.services.pki import load_pki

    base, data_dir, _ = attested
    now = datetime.now(UTC)
    token = (base / "r" / "attestations" / "ca-issuer.jwt").read_text().strip()
    credential = decode_unverified_jws(token).payload_json()
    pki = load_pki(data_dir)
    # A listed issuer, but listed for other credential types: not a conformance laboratory.
    forged = sign_conformance_attestation(
        credential, signer=pki.signer("eu-pid-provider"), x5c=pki.x5c("eu-pid-provider")
    )
    with pytest.raises(PasserelleError) as refused:
        verify_conformance_attestation(
            forged, trust=trust_snapshot_from_files(data_dir, now=now), now=now
        )
    assert str(refused.value.reason).startswith("trust.")
    assert build_conformance_attestation  # the builder is public API too


@pytest.mark.parametrize(
    "assessed_at",
    [
        pytest.param("2026-12-01T10:00:00", id="no-time-zone"),
        pytest.param("next week", id="not-a-date"),
        pytest.param(None, id="in-the-future"),
    ],
)
def test_a_signed_attestation_with_a_bad_assessment_date_is_refused(  # type: ignore[no-untyped-def]
    attested, assessed_at: str | None
) -> None:
    from passerelle.conformity import sign_conformance_attestation
    from passerelle.jose import decode_unverified_jws
    from passerelle.services.pki import load_pki

    base, data_dir, _ = attested
    now = datetime.now(UTC)
    token = (base / "r" / "attestations" / "ca-issuer.jwt").read_text().strip()
    credential = decode_unverified_jws(token).payload_json()
    future = (now + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    credential["credentialSubject"]["assessedAt"] = assessed_at or future  # type: ignore[index]
    pki = load_pki(data_dir)
    # Signed by the laboratory itself: only the content is wrong.
    resigned = sign_conformance_attestation(
        credential, signer=pki.signer("conformance-lab"), x5c=pki.x5c("conformance-lab")
    )
    with pytest.raises(PasserelleError) as refused:
        verify_conformance_attestation(
            resigned,
            trust=trust_snapshot_from_files(data_dir, now=now),
            now=now,
            max_age=timedelta(days=90),
        )
    assert refused.value.reason is Reason.CONFORMANCE_ATTESTATION_INVALID


def test_verdicts_a_person_gave_are_named_and_refused_unless_accepted(attested) -> None:  # type: ignore[no-untyped-def]
    from passerelle.conformity import sign_conformance_attestation
    from passerelle.jose import decode_unverified_jws
    from passerelle.services.pki import load_pki

    base, data_dir, _ = attested
    now = datetime.now(UTC)
    token = (base / "r" / "attestations" / "ca-issuer.jwt").read_text().strip()
    credential = decode_unverified_jws(token).payload_json()
    # The run was observed from end to end: nothing in it is a person's word.
    assert credential["credentialSubject"]["reviewedByPerson"] == []  # type: ignore[index]
    credential["credentialSubject"]["reviewedByPerson"] = ["WAL-01"]  # type: ignore[index]
    pki = load_pki(data_dir)
    resigned = sign_conformance_attestation(
        credential, signer=pki.signer("conformance-lab"), x5c=pki.x5c("conformance-lab")
    )
    trust = trust_snapshot_from_files(data_dir, now=now)
    with pytest.raises(PasserelleError) as refused:
        verify_conformance_attestation(resigned, trust=trust, now=now)
    assert refused.value.reason is Reason.CONFORMANCE_PERSON_REVIEWED
    accepted = verify_conformance_attestation(
        resigned, trust=trust, now=now, accept_person_reviewed=True
    )
    assert accepted.summary.reviewed_by_person == ("WAL-01",)
