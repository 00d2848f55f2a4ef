"""The credential decision pipeline: every step recorded, each failure family of
DESIGN §2 scenario 5 stopped at its own step with its own reason code."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import Fault, PasserelleError, Reason
from passerelle._json import b64url_encode
from passerelle.dcql import parse_dcql_query
from passerelle.decision import (
    DecisionPolicy,
    FetchedInputs,
    authority_keys_of,
    decide_presentation,
)
from passerelle.jose import KeySigner
from passerelle.sd_jwt import parse_sd_jwt
from passerelle.sd_jwt_vc import issue_sd_jwt_vc
from passerelle.status_list import (
    StatusValue,
)
from passerelle.trust import Framework, StepOutcome
from tests.conftest import NOW, SeededRandom
from tests.decisions import (
    AUD,
    NONCE,
    PID,
    STATUS_URI,
    decide,
    issue_pid,
    present,
    status_lists,
)
from tests.trust_world import TrustWorld

CONFORMITY = "https://credentials.passerelle.example/untp/conformity-attestation/v1"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> TrustWorld:
    w = TrustWorld(now=NOW, tmp=tmp_path_factory.mktemp("decision"))
    w.build()
    return w


def test_an_eu_pid_is_accepted_by_a_canadian_verifier(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    decision = decide(world, present(issue_pid(world, holder), holder))
    assert decision.accepted, decision.as_dict()
    assert decision.holder_bound
    assert decision.claims["age_equal_or_over"] == {"18": True}
    assert [s.step for s in decision.steps] == [
        "trust_list", "issuer_key", "home_framework", "authorized", "recognition",
        "signature", "status", "holder_binding",
    ]  # fmt: skip


def test_the_issuer_aki_is_read_from_the_chain_the_decision_verified(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    token = present(issue_pid(world, holder), holder)
    from_token = authority_keys_of(token, "dc+sd-jwt")
    assert len(from_token) == 1
    accepted = decide(world, token)
    assert accepted.trust is not None
    assert accepted.trust.issuer is not None
    assert accepted.trust.issuer.chain is not None
    assert authority_keys_of(token, "dc+sd-jwt", accepted) == from_token
    # The verified leaf is what is read, not the token again.
    assert authority_keys_of("not an SD-JWT", "dc+sd-jwt", accepted) == from_token
    # Where no chain was verified (an issuer on no list of ours), the token is read.
    stranger = TrustWorld(now=NOW, tmp=Path(world.tmp) / "stranger-aki")
    foreign = present(issue_pid(stranger, holder), holder)
    refused = decide(world, foreign)
    assert refused.trust is not None
    assert refused.trust.issuer is None
    assert len(authority_keys_of(foreign, "dc+sd-jwt", refused)) == 1
    assert authority_keys_of(foreign, "dc+sd-jwt", refused) != from_token
    assert authority_keys_of(token, "jwt_vc_json", accepted) == frozenset()


@pytest.mark.parametrize("matches", [True, False])
def test_a_query_for_the_issuers_aki_is_answered_from_the_decision(
    world: TrustWorld, matches: bool
) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    token = present(issue_pid(world, holder), holder)
    (aki,) = authority_keys_of(token, "dc+sd-jwt")
    query = parse_dcql_query(
        {
            "credentials": [
                {
                    "id": "pid",
                    "format": "dc+sd-jwt",
                    "meta": {"vct_values": [PID]},
                    "trusted_authorities": [
                        {
                            "type": "aki",
                            "values": [aki if matches else "s9tIpPmhxdiuNkHMEWNpYim8S8Y"],
                        }
                    ],
                }
            ]
        }
    )
    decision = decide_presentation(
        {"pid": [token]},
        query=query,
        trust=world.snapshot(Framework.CA),
        policy=DecisionPolicy(),
        now=NOW,
        nonce=NONCE,
        audience=AUD,
        inputs={token: FetchedInputs(status_lists=status_lists(world))},
    )
    assert decision.accepted is matches, decision.as_dict()
    if not matches:
        # The credential passed; the query's trusted_authorities did not.
        assert decision.credentials["pid"][0].accepted
        assert decision.reason is Reason.DCQL_UNTRUSTED_AUTHORITY


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (StatusValue.INVALID, Reason.STATUS_REVOKED),
        (StatusValue.SUSPENDED, Reason.STATUS_SUSPENDED),
    ],
)
def test_revoked_and_suspended(world: TrustWorld, value: StatusValue, reason: Reason) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    decision = decide(
        world,
        present(issue_pid(world, holder), holder),
        status_lists=status_lists(world, value=value),
    )
    assert decision.reason is reason
    assert decision.steps[-1].step == "status"


def test_missing_status_list_fails_when_status_is_required(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    token = present(issue_pid(world, holder), holder)
    refused = decide(world, token, status_lists={})
    assert refused.reason is Reason.STATUS_UNAVAILABLE
    assert PasserelleError(Reason.STATUS_UNAVAILABLE, "").fault is Fault.DEPENDENCY
    lenient = decide(world, token, status_lists={}, policy=DecisionPolicy(require_status=False))
    assert lenient.accepted
    assert [s.outcome for s in lenient.steps if s.step == "status"] == [StepOutcome.SKIPPED]


def test_a_status_list_that_did_not_verify_fails_even_when_status_is_optional(
    world: TrustWorld,
) -> None:
    # Relaxing require_status forgives an outage, never a forged or expired list.
    holder = ec.generate_private_key(ec.SECP256R1())
    token = present(issue_pid(world, holder), holder)
    forged = PasserelleError(Reason.STATUS_LIST_INVALID, "signature does not verify")
    for rules in (DecisionPolicy(), DecisionPolicy(require_status=False)):
        decision = decide(
            world, token, status_lists={}, status_failures={STATUS_URI: forged}, policy=rules
        )
        assert decision.reason is Reason.STATUS_LIST_INVALID
    down = PasserelleError(Reason.STATUS_UNAVAILABLE, "connection refused")
    strict = decide(world, token, status_lists={}, status_failures={STATUS_URI: down})
    assert strict.reason is Reason.STATUS_UNAVAILABLE
    relaxed = decide(
        world,
        token,
        status_lists={},
        status_failures={STATUS_URI: down},
        policy=DecisionPolicy(require_status=False),
    )
    assert relaxed.accepted


def test_expired_credential(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    old = issue_pid(world, holder, issued=NOW - timedelta(days=60))
    decision = decide(world, present(old, holder))
    assert decision.reason is Reason.CREDENTIAL_EXPIRED
    assert decision.steps[-1].step == "signature"


def test_tampered_disclosure_wrong_nonce_and_untrusted_issuer(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    shown = present(issue_pid(world, holder), holder)
    victim = parse_sd_jwt(shown).disclosures[0]
    forged = b64url_encode(json.dumps([victim.salt, victim.name, {"18": False}]).encode())
    assert (
        decide(world, shown.replace(victim.encoded, forged)).reason
        is Reason.SD_JWT_UNREFERENCED_DISCLOSURE
    )
    other = present(issue_pid(world, holder), holder, nonce="someone-else")
    assert decide(world, other).reason is Reason.KB_JWT_NONCE_MISMATCH
    stranger = TrustWorld(now=NOW, tmp=Path(world.tmp) / "stranger")
    foreign = present(issue_pid(stranger, holder), holder)
    assert decide(world, foreign).reason is Reason.X509_CHAIN_INVALID


def _conformity(world: TrustWorld, category: str) -> str:
    return issue_sd_jwt_vc(
        {"scope": {"product_category": category}, "assessment_result": "pass"},
        vct=CONFORMITY,
        signer=KeySigner(world.ca_issuer_key),
        random=SeededRandom(),
        now=NOW,
        disclosable=[("assessment_result",)],
        issuer="https://ca-issuer.test",
        kid="ca-1",
    )


def test_conformity_is_accepted_only_within_the_recognised_scope(world: TrustWorld) -> None:
    options = {
        "trust": world.snapshot(Framework.EU),
        "issuer_metadata": world.ca_metadata(),
        "key_binding": None,
        "status_lists": {},
    }
    inside = decide(world, _conformity(world, "radio-equipment"), **options)
    assert inside.accepted, inside.as_dict()
    outside = decide(world, _conformity(world, "ai-systems"), **options)
    assert outside.reason is Reason.TRUST_RECOGNITION_OUT_OF_SCOPE


def test_unaccepted_type_and_garbage(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    token = present(issue_pid(world, holder), holder)
    only_business = DecisionPolicy(accepted_types=frozenset({"https://example/other"}))
    assert decide(world, token, policy=only_business).reason is Reason.SD_JWT_VC_VCT_MISMATCH
    assert not decide(world, "not-a-token").accepted


def test_on_receipt_a_credential_must_be_bound_to_the_wallets_key(world: TrustWorld) -> None:
    holder, someone = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    token = issue_pid(world, holder)
    options = {"key_binding": None, "status_lists": status_lists(world)}
    assert decide(world, token, expected_holder=holder.public_key(), **options).accepted
    refused = decide(world, token, expected_holder=someone.public_key(), **options)
    assert refused.reason is Reason.SD_JWT_VC_CNF_INVALID
    assert refused.steps[-1].step == "holder_key"
