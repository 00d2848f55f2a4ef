"""The conformance suite against a system that has no Passerelle test API.

"Acme" (``tests/interop/acme_issuer_verifier.mjs``) is an issuer and verifier built on
the OpenWallet Foundation npm libraries, with its own admin API and its own CA. The
suite tests it from ``conformance/targets/partner-example.yaml`` alone, exactly as
``docs/conformance.md`` walks through it: Acme's CA as a PEM file, a suite identity
Acme issued under that CA, adapters for Acme's admin API, and the documented command.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle.jose import private_jwk
from passerelle.x509 import (
    LeafUsage,
    build_ca_certificate,
    build_leaf_certificate,
    build_name,
    encode_x5c,
)
from tests.interop.peers import NODE_MODULES, require_node_peer

ROOT = Path(__file__).resolve().parents[2]
DOUBLE = ROOT / "tests" / "interop" / "acme_issuer_verifier.mjs"
EXAMPLE = ROOT / "conformance" / "targets" / "partner-example.yaml"
API_KEY = "acme-test-key-not-a-secret"


@dataclass(frozen=True)
class Acme:
    base: str
    workdir: Path


def _pem(cert: Any) -> bytes:
    return bytes(cert.public_bytes(serialization.Encoding.PEM))


def _partner_pki(directory: Path) -> dict[str, Any]:
    """Acme's own CA and certificates, generated here; the suite's identity is a
    certificate Acme issued, so nobody needs the testbed operator's CA key."""
    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = build_ca_certificate(
        subject=build_name(common_name="Acme Root CA", organization="Acme", country="NO"),
        key=ca_key,
        not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=30),
        serial=1001,
        path_length=0,
    )

    def leaf(name: str, serial: int, usage: LeafUsage, dns: tuple[str, ...] = ()) -> Any:
        key = ec.generate_private_key(ec.SECP256R1())
        cert = build_leaf_certificate(
            subject=build_name(common_name=name, organization="Acme"),
            public_key=key.public_key(),
            issuer_cert=ca,
            issuer_key=ca_key,
            not_before=now - timedelta(minutes=5),
            not_after=now + timedelta(days=30),
            serial=serial,
            usage=usage,
            dns_names=dns,
        )
        return key, cert

    issuer_key, issuer_cert = leaf("Acme Credential Issuer", 1002, LeafUsage.SIGNING)
    verifier_key, verifier_cert = leaf("Acme Verifier", 1003, LeafUsage.ACCESS, ("localhost",))
    suite_key, suite_cert = leaf("Conformance suite (issued by Acme)", 1004, LeafUsage.SIGNING)
    (directory / "acme-ca.pem").write_bytes(_pem(ca))
    (directory / "suite-issuer.pem").write_bytes(_pem(suite_cert) + _pem(ca))
    (directory / "suite-issuer.key").write_bytes(
        suite_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return {
        "apiKey": API_KEY,
        "issuerJwk": private_jwk(issuer_key),
        "issuerX5c": encode_x5c([issuer_cert, ca]),
        "verifierJwk": private_jwk(verifier_key),
        "verifierX5c": encode_x5c([verifier_cert]),
        "anchorsPem": [_pem(ca).decode()],
    }


@pytest.fixture
def acme_factory(tmp_path: Path) -> Iterator[Any]:
    require_node_peer()
    assert NODE_MODULES.is_dir()
    started: list[subprocess.Popen[str]] = []

    def start(quirks: tuple[str, ...] = ()) -> Acme:
        workdir = tmp_path / f"acme-{len(started)}"
        workdir.mkdir()
        config = {**_partner_pki(workdir), "quirks": list(quirks)}
        process = subprocess.Popen(
            ["node", str(DOUBLE)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(json.dumps(config) + "\n")
        process.stdin.flush()
        line = process.stdout.readline()  # blocks until Acme listens (or exits)
        assert line, "the Acme double exited before listening"
        shutil.copy(EXAMPLE, workdir / "targets.yaml")
        return Acme(base=json.loads(line)["base"], workdir=workdir)

    yield start
    for process in started:
        process.terminate()
        process.wait(timeout=30)


def _documented_command() -> list[str]:
    """The command of the worked example in docs/conformance.md, word for word."""
    doc = (ROOT / "docs" / "conformance.md").read_text()
    lines = [line.strip() for line in doc.splitlines()]
    found = [
        line
        for line in lines
        if line.startswith("passerelle conformance run --targets targets.yaml")
    ]
    assert len(found) == 1, "docs/conformance.md: the worked example's command moved"
    return shlex.split(found[0])


def _run(acme: Acme, *extra: str, documented: bool = False) -> tuple[int, dict[str, Any]]:
    """Run the suite from the partner's directory (the documented command, or ours)."""
    report = acme.workdir / "report"
    if documented:
        argv = [a.replace("$ACME_URL", acme.base) for a in _documented_command()][1:]
    else:
        argv = ["conformance", "run", "--targets", "targets.yaml", "--set", f"acme={acme.base}"]
        argv += ["--report", "report", *extra]
    completed = subprocess.run(
        [sys.executable, "-c", "from passerelle.cli import main; main()", *argv],
        cwd=acme.workdir,
        env={**os.environ, "ACME_API_KEY": API_KEY},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert (report / "report.json").is_file(), completed.stdout + completed.stderr
    return completed.returncode, json.loads((report / "report.json").read_text())


def _by_id(report: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(r["check_id"], r["subject"]): r for r in report["results"]}


def test_issuer_and_verifier_plans_run_from_a_targets_file_with_adapters_only(
    acme_factory: Any,
) -> None:
    acme = acme_factory()
    _, report = _run(acme, documented=True)
    assert report["plans"] == ["issuer", "verifier"]
    results = _by_id(report)
    for plan, subject in (("issuer", "acme-issuer"), ("verifier", "acme-verifier")):
        mine = [r for r in report["results"] if r["plan"] == plan and r["subject"] == subject]
        passed = [r for r in mine if r["status"] == "passed"]
        decided = [r for r in mine if r["status"] != "skipped"]
        # The plan ran against Acme: many of its checks passed, and most of those that
        # apply to it (a skip names a feature Acme does not offer, HAIP's among them).
        missed = [(r["check_id"], r["status"], r["message"]) for r in decided if r not in passed]
        assert len(passed) >= 10, missed
        assert len(passed) >= len(decided) // 2, missed
    # The offer came through Acme's admin API as a by-reference link, was followed,
    # redeemed, and the credential's x5c chain ends at Acme's CA given as a PEM file.
    assert results[("ISS-CRED-01", "acme-issuer")]["status"] == "passed"
    assert results[("ISS-SDJWT-05", "acme-issuer")]["status"] == "passed"
    assert results[("ISS-CRED-03", "acme-issuer")]["status"] == "passed"
    # The verifier's request (signed under Acme's access CA, a PEM file) was verified,
    # and Acme's verdicts, read through its admin API, went both ways.
    assert results[("VER-PRES-02", "acme-verifier")]["status"] == "passed"
    assert results[("VER-CRED-01", "acme-verifier")]["status"] == "passed"
    # The findings the guide quotes from this run.
    assert results[("ISS-CRED-11", "acme-issuer")]["status"] == "failed"
    assert results[("VER-REQ-05", "acme-verifier")]["status"] == "failed"


def test_a_quirk_of_the_third_party_issuer_fails_a_named_check(acme_factory: Any) -> None:
    acme = acme_factory(("ignore-nonce",))
    code, report = _run(acme, "--plan", "issuer", "--check", "ISS-CRED-03")
    result = _by_id(report)[("ISS-CRED-03", "acme-issuer")]
    assert result["status"] == "failed"
    assert result["error_class"] == "non-conformance"
    # Failed because a proof with a nonce Acme never gave was honoured with a credential.
    credential_calls = [e for e in result["exchanges"] if e["url"].endswith("/credential")]
    assert credential_calls
    assert credential_calls[-1]["status"] == 200
    assert code == 1


def test_a_one_shot_offer_on_the_command_line_runs_one_issuance(acme_factory: Any) -> None:
    """No adapter at all: one offer, made by hand in Acme's admin API, given to the run."""
    acme = acme_factory()
    made = httpx.post(
        f"{acme.base}/admin/v1/issuance",
        headers={"X-Acme-Key": API_KEY},
        json={"template": "AcmeMembership", "holder": {"name": "alan-turing"}, "requirePin": False},
    )
    assert made.status_code == 201
    link = made.json()["data"]["offerLink"]
    (acme.workdir / "one-shot.yaml").write_text(
        "targets:\n"
        "  acme-issuer:\n"
        "    role: issuer\n"
        "    profile: eu-haip\n"
        f"    url: {acme.base}\n"
        "    key_discovery: x5c\n"
        "    trust_anchors: [{file: acme-ca.pem}]\n"
        "    configurations: {AcmeMembership: {persona: alan-turing}}\n"
    )
    report = acme.workdir / "one-shot-report"
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "from passerelle.cli import main; main()",
            *("conformance", "run", "--targets", "one-shot.yaml", "--plan", "issuer"),
            *("--check", "ISS-CRED-01", "--check", "ISS-SDJWT-05", "--check", "ISS-CRED-03"),
            *("--offer", link, "--report", str(report)),
        ],
        cwd=acme.workdir,
        capture_output=True,
        text=True,
        timeout=600,
    )
    results = _by_id(json.loads((report / "report.json").read_text()))
    assert results[("ISS-CRED-01", "acme-issuer")]["status"] == "passed", completed.stdout
    assert results[("ISS-SDJWT-05", "acme-issuer")]["status"] == "passed"
    # The one offer is spent: a check that needs another is skipped, never passed.
    assert results[("ISS-CRED-03", "acme-issuer")]["status"] == "skipped"
