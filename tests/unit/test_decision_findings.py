"""After the step that refuses a credential, the trace goes on where that is safe: the
decision (accepted, reason, steps ending at the refusing step) is exactly what it was,
and ``findings`` show what the later checks found, or that they could not run."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import Reason
from passerelle.decision import CredentialDecision, DecisionPolicy, decide_credential
from passerelle.jose import KeySigner
from passerelle.sd_jwt import KeyBindingCheck, KeyBindingInput, present_sd_jwt
from passerelle.sd_jwt_vc import issue_sd_jwt_vc
from passerelle.services.catalog import load_catalog
from passerelle.services.verifier.pages import live_fragment
from passerelle.status_list import (
    StatusValue,
    create_status_list,
    create_status_list_token,
    create_status_reference,
    verify_status_list_token,
    with_status,
)
from passerelle.trust import Framework, StepOutcome
from passerelle.vc import did_jwk_from_key, issue_jwt_vc_json
from passerelle.x509 import encode_x5c
from tests.conftest import NOW, SeededRandom
from tests.trust_world import TrustWorld

PID = "urn:eudi:pid:1"
STATUS_URI = "https://eu-issuer.test/status/1"
NONCE, AUD = "n-1", "x509_hash:ca-verifier"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> TrustWorld:
    w = TrustWorld(now=NOW, tmp=tmp_path_factory.mktemp("findings"))
    w.build()
    return w


@pytest.fixture(scope="module")
def stranger(world: TrustWorld) -> TrustWorld:
    """An issuer PKI that is on none of the world's lists."""
    return TrustWorld(now=NOW, tmp=Path(world.tmp) / "stranger")


def _pid(
    world: TrustWorld,
    holder: ec.EllipticCurvePrivateKey,
    *,
    signing_key: ec.EllipticCurvePrivateKey | None = None,
    issued: datetime = NOW,
) -> str:
    return issue_sd_jwt_vc(
        {"given_name": "Zoé", "age_equal_or_over": {"18": True}},
        vct=PID,
        signer=KeySigner(signing_key or world.pid_signer[1]),
        random=SeededRandom(),
        now=issued,
        disclosable=[("given_name",), ("age_equal_or_over", "18")],
        holder_key=holder.public_key(),
        valid_for=timedelta(days=30),
        status=create_status_reference(idx=7, uri=STATUS_URI),
        x5c=encode_x5c([world.pid_signer[0]]),
    )


def _status(world: TrustWorld, value: StatusValue):  # type: ignore[no-untyped-def]
    sl = with_status(create_status_list(bits=2, size=1024), 7, value)
    token = create_status_list_token(
        sl,
        uri=STATUS_URI,
        signer=KeySigner(world.pid_signer[1]),
        now=NOW,
        ttl=timedelta(minutes=5),
        valid_for=timedelta(days=1),
        x5c=encode_x5c([world.pid_signer[0]]),
    )
    verified = verify_status_list_token(
        token,
        expected_uri=STATUS_URI,
        key=world.pid_signer[1].public_key(),
        algorithms=["ES256"],
        now=NOW,
        skew=timedelta(0),
    )
    return {STATUS_URI: verified}


def _present(token: str, holder: ec.EllipticCurvePrivateKey) -> str:
    binding = KeyBindingInput(signer=KeySigner(holder), nonce=NONCE, audience=AUD, now=NOW)
    return present_sd_jwt(token, disclose=[("age_equal_or_over", "18")], key_binding=binding)


def _decide(world: TrustWorld, token: str, **kw: Any) -> CredentialDecision:
    options = {
        "format": "dc+sd-jwt",
        "trust": world.snapshot(Framework.CA),
        "policy": DecisionPolicy(),
        "now": NOW,
        "status_lists": _status(world, StatusValue.VALID),
        "key_binding": KeyBindingCheck(nonce=NONCE, audience=AUD),
    }
    options.update(kw)
    return decide_credential(token, **options)


def _found(decision: CredentialDecision) -> dict[str, Any]:
    return {f["step"]: f for f in _listed(decision, "findings")}


def _listed(decision: CredentialDecision, key: str) -> list[Any]:
    value: Any = decision.as_dict()[key]
    return list(value)


def test_an_accepted_decision_has_no_findings(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    decision = _decide(world, _present(_pid(world, holder), holder))
    assert decision.accepted
    assert decision.findings == ()
    assert all(s["status"] == s["outcome"] for s in _listed(decision, "steps"))


def test_bad_signature_and_revoked_status_show_both_the_reason_stays_the_signature(
    world: TrustWorld,
) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    forger = ec.generate_private_key(ec.SECP256R1())
    # The listed issuer's certificate, but signed with another key.
    token = _present(_pid(world, holder, signing_key=forger), holder)
    revoked = _status(world, StatusValue.INVALID)
    decision = _decide(world, token, status_lists=revoked)
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
    same = _decide(world, token)
    assert (same.accepted, same.reason, same.steps) == (False, decision.reason, decision.steps)
    assert _found(same)["status"]["outcome"] == "passed"


def test_untrusted_issuer_with_an_expired_credential_shows_both(
    world: TrustWorld, stranger: TrustWorld
) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    old = _present(_pid(stranger, holder, issued=NOW - timedelta(days=60)), holder)
    # As the verifier does: no status list is fetched for a credential that failed.
    decision = _decide(world, old, status_lists={})
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
    token = _present(_pid(stranger, holder), holder)
    decision = _decide(world, token, status_lists={})
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
    decision = _decide(world, "not~an~sd-jwt")
    assert decision.steps[-1].step == "parse"
    assert decision.findings
    for finding in _listed(decision, "findings"):
        assert (finding["status"], finding["depends_on"]) == ("not_run", "parse")
        assert finding["outcome"] == "skipped"


def test_after_an_unwanted_type_trust_and_signature_are_findings(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    token = _present(_pid(world, holder), holder)
    decision = _decide(world, token, policy=DecisionPolicy(accepted_types=frozenset({"other"})))
    assert decision.reason is Reason.SD_JWT_VC_VCT_MISMATCH
    assert [s.step for s in decision.steps] == ["credential_type"]
    found = _found(decision)
    assert found["issuer_key"]["outcome"] == "passed"
    assert found["signature"]["outcome"] == "passed"
    assert found["signature"]["untrusted_key"] is False
    assert found["status"]["outcome"] == "passed"


def test_after_a_failed_status_later_checks_still_run(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    token = _present(_pid(world, holder), holder)
    decision = _decide(world, token, status_lists=_status(world, StatusValue.INVALID))
    assert decision.reason is Reason.STATUS_REVOKED
    assert decision.steps[-1].step == "status"
    found = _found(decision)
    assert found["holder_binding"]["outcome"] == "passed"
    assert found["holder_binding"]["unverified"] is False


def test_the_verifier_page_lists_the_later_findings(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    forger = ec.generate_private_key(ec.SECP256R1())
    token = _present(_pid(world, holder, signing_key=forger), holder)
    decision = _decide(world, token, status_lists=_status(world, StatusValue.INVALID))
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
        decision = _decide(
            world, issued(expires), format="jwt_vc_json", key_binding=None, status_lists={}
        )
        assert not decision.accepted
        assert decision.steps[-1].outcome is StepOutcome.FAILED
        assert decision.steps[-1].step in ("issuer_key", "home_framework")
        signature = _found(decision)["signature"]
        assert (signature["outcome"], signature["reason"]) == (outcome, reason)
        assert signature["untrusted_key"] is True
        assert "did:jwk" in signature["detail"]
