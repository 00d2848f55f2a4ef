"""After the step that refuses a credential, the trace goes on where that is safe: the
decision (accepted, reason, steps ending at the refusing step) is exactly what it was,
and ``findings`` show what the later checks found, or that they could not run."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import Reason
from passerelle.decision import CredentialDecision, DecisionPolicy
from passerelle.jose import KeySigner
from passerelle.services.catalog import load_catalog
from passerelle.services.verifier.pages import live_fragment
from passerelle.status_list import (
    StatusValue,
)
from passerelle.trust import StepOutcome
from passerelle.vc import did_jwk_from_key, issue_jwt_vc_json
from tests.conftest import NOW
from tests.decisions import decide, issue_pid, present, status_lists
from tests.trust_world import TrustWorld


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> TrustWorld:
    w = TrustWorld(now=NOW, tmp=tmp_path_factory.mktemp("findings"))
    w.build()
    return w


@pytest.fixture(scope="module")
def stranger(world: TrustWorld) -> TrustWorld:
    """An issuer PKI that is on none of the world's lists."""
    return TrustWorld(now=NOW, tmp=Path(world.tmp) / "stranger")


def _found(decision: CredentialDecision) -> dict[str, Any]:
    return {f["step"]: f for f in _listed(decision, "findings")}


def _listed(decision: CredentialDecision, key: str) -> list[Any]:
    value: Any = decision.as_dict()[key]
    return list(value)


def test_an_accepted_decision_has_no_findings(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    decision = decide(world, present(issue_pid(world, holder), holder))
    assert decision.accepted
    assert decision.findings == ()
    assert all(s["status"] == s["outcome"] for s in _listed(decision, "steps"))


def test_bad_signature_and_revoked_status_show_both_the_reason_stays_the_signature(
    world: TrustWorld,
) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    forger = ec.generate_private_key(ec.SECP256R1())
    # The listed issuer's certificate, but signed with another key.
    token = present(issue_pid(world, holder, signing_key=forger), holder)
    revoked = status_lists(world, StatusValue.INVALID)
    decision = decide(world, token, status_lists=revoked)
    assert not decision.accepted
    assert decision.reason is Reason.JWS_INVALID_SIGNATURE
    assert decision.steps[-1].step == "signature"
    assert decision.steps[-1].outcome is StepOutcome.FAILED
    found = _found(decision)
    assert found["status"]["outcome"] == "failed"
    assert found["status"]["reason"] == str(Reason.STATUS_REVOKED)
    assert found["status"]["status"] == "finding"
    assert found["status"]["unverified"] is True  # its index came from an unverified payload
    # The KB-JWT is checked with the cnf of a verified credential: it cannot run.
    assert found["holder_binding"]["status"] == "not_run"
    assert found["holder_binding"]["depends_on"] == "signature"
    # The same credential with a valid status: the decision does not move at all.
    same = decide(world, token)
    assert (same.accepted, same.reason, same.steps) == (False, decision.reason, decision.steps)
    assert _found(same)["status"]["outcome"] == "passed"


def test_untrusted_issuer_with_an_expired_credential_shows_both(
    world: TrustWorld, stranger: TrustWorld
) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    old = present(issue_pid(stranger, holder, issued=NOW - timedelta(days=60)), holder)
    # As the verifier does: no status list is fetched for a credential that failed.
    decision = decide(world, old, status_lists={})
    assert decision.reason is Reason.X509_CHAIN_INVALID
    assert decision.steps[-1].step == "issuer_key"
    found = _found(decision)
    signature = found["signature"]
    assert (signature["outcome"], signature["reason"]) == ("failed", str(Reason.CREDENTIAL_EXPIRED))
    assert signature["untrusted_key"] is True
    assert "not trusted" in signature["detail"]
    assert found["status"]["status"] == "not_run"
    assert found["status"]["depends_on"] == "signature"


def test_untrusted_issuer_with_a_good_signature_goes_on_with_the_x5c_key(
    world: TrustWorld, stranger: TrustWorld
) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    token = present(issue_pid(stranger, holder), holder)
    decision = decide(world, token, status_lists={})
    assert decision.reason is Reason.X509_CHAIN_INVALID
    found = _found(decision)
    assert found["signature"]["outcome"] == "passed"
    assert found["signature"]["untrusted_key"] is True
    assert "x5c leaf" in found["signature"]["detail"]
    assert found["holder_binding"]["outcome"] == "passed"
    assert found["holder_binding"]["untrusted_key"] is True
    # No status list was fetched for an untrusted issuer: not run, never an outage.
    assert found["status"]["status"] == "not_run"
    assert found["status"]["depends_on"] == "issuer_key"
    assert found["status"]["reason"] is None


def test_an_unread_credential_runs_nothing_after_parse(world: TrustWorld) -> None:
    decision = decide(world, "not~an~sd-jwt")
    assert decision.steps[-1].step == "parse"
    assert decision.findings
    for finding in _listed(decision, "findings"):
        assert (finding["status"], finding["depends_on"]) == ("not_run", "parse")
        assert finding["outcome"] == "skipped"


def test_after_an_unwanted_type_trust_and_signature_are_findings(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    token = present(issue_pid(world, holder), holder)
    decision = decide(world, token, policy=DecisionPolicy(accepted_types=frozenset({"other"})))
    assert decision.reason is Reason.SD_JWT_VC_VCT_MISMATCH
    assert [s.step for s in decision.steps] == ["credential_type"]
    found = _found(decision)
    assert found["issuer_key"]["outcome"] == "passed"
    assert found["signature"]["outcome"] == "passed"
    assert found["signature"]["untrusted_key"] is False
    assert found["status"]["outcome"] == "passed"


def test_after_a_failed_status_later_checks_still_run(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    token = present(issue_pid(world, holder), holder)
    decision = decide(world, token, status_lists=status_lists(world, StatusValue.INVALID))
    assert decision.reason is Reason.STATUS_REVOKED
    assert decision.steps[-1].step == "status"
    found = _found(decision)
    assert found["holder_binding"]["outcome"] == "passed"
    assert found["holder_binding"]["unverified"] is False


def test_the_verifier_page_lists_the_later_findings(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    forger = ec.generate_private_key(ec.SECP256R1())
    token = present(issue_pid(world, holder, signing_key=forger), holder)
    decision = decide(world, token, status_lists=status_lists(world, StatusValue.INVALID))
    result = {
        "accepted": False,
        "reason": str(decision.reason),
        "detail": "pid: signature",
        "credentials": {"pid": [decision.as_dict()]},
    }
    page = live_fragment(catalog=load_catalog(), row={"state": "failed", "result": result})
    trace = page[page.index('<table class="trace">') :]
    trace = trace[: trace.index("</table>")]
    assert "After the first failed check" in trace
    rows = re.findall(r'<tr class="finding ([^"]*)">(.*?)</tr>', trace, flags=re.S)
    by_step = {re.findall(r"^<td>\S+ (\w+)</td>", cells)[0]: (css, cells) for css, cells in rows}
    css, cells = by_step["status"]
    assert css == "failed"
    assert "status.revoked" in cells
    assert "evaluated on unverified data" in cells
    css, cells = by_step["holder_binding"]
    assert css == "skipped not-run"
    assert "not run: depends on signature" in cells
    # The refusing step is still the decision's last row, before the findings.
    decided = re.findall(r'<tr class="(passed|failed|skipped)"><td>\S+ (\w+)</td>', trace)
    assert decided[-1] == ("failed", "signature")
    assert "the decision stops at the first failed check" not in trace


def test_a_jwt_vc_from_an_unlisted_did_jwk_issuer_is_checked_with_that_key(
    world: TrustWorld,
) -> None:
    issuer = ec.generate_private_key(ec.SECP256R1())
    did = did_jwk_from_key(issuer.public_key())
    holder = did_jwk_from_key(ec.generate_private_key(ec.SECP256R1()).public_key())

    def issued(expires: str) -> str:
        credential: dict[str, Any] = {
            "@context": ["https://www.w3.org/2018/credentials/v1"],
            "type": ["VerifiableCredential", "BusinessRegistrationCredential"],
            "issuer": did,
            "issuanceDate": "2026-01-01T00:00:00Z",
            "expirationDate": expires,
            "credentialSubject": {"id": holder, "legalName": "Passerelle Inc."},
        }
        return issue_jwt_vc_json(credential, signer=KeySigner(issuer), kid=None, now=NOW)

    for expires, outcome, reason in (
        ("2027-01-01T00:00:00Z", "passed", None),
        ("2026-06-01T00:00:00Z", "failed", str(Reason.CREDENTIAL_EXPIRED)),
    ):
        decision = decide(
            world, issued(expires), format="jwt_vc_json", key_binding=None, status_lists={}
        )
        assert not decision.accepted
        assert decision.steps[-1].outcome is StepOutcome.FAILED
        assert decision.steps[-1].step in ("issuer_key", "home_framework")
        signature = _found(decision)["signature"]
        assert (signature["outcome"], signature["reason"]) == (outcome, reason)
        assert signature["untrusted_key"] is True
        assert "did:jwk" in signature["detail"]
