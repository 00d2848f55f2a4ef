"""The trust decision of DESIGN §6, path by path, each with its exact reason code.

Every case builds the real sources of trust_lists/ with a PKI made in the test, signs
them with the real build, loads them as a verifier does, and evaluates one issuer.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from passerelle import PasserelleError, Reason
from passerelle._json import MAX_INPUT_BYTES
from passerelle.jose import KeySigner
from passerelle.trust import (
    MAX_REGISTRY_SNAPSHOT_BYTES,
    Framework,
    IssuerIdentity,
    StepOutcome,
    evaluate_trust,
    sign_registry_snapshot,
    verify_registry_snapshot,
)
from passerelle.x509 import encode_x5c
from tests.conftest import NOW
from tests.pki import forged_leaf, self_signed_leaf
from tests.trust_world import TrustWorld

PID = "urn:eudi:pid:1"
LEGAL = "https://credentials.passerelle.example/eu/legal-person/v1"
CA_PERSON = "https://credentials.passerelle.example/ca/person/v1"
CONFORMITY = "https://credentials.passerelle.example/untp/conformity-attestation/v1"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> TrustWorld:
    w = TrustWorld(now=NOW, tmp=tmp_path_factory.mktemp("world"))
    w.build()
    return w


def _decide(world: TrustWorld, home: Framework, issuer: IssuerIdentity, vct: str, **kw):  # type: ignore[no-untyped-def]
    return evaluate_trust(
        issuer=issuer,
        credential_type=vct,
        snapshot=kw.pop("snapshot", None) or world.snapshot(home),
        now=kw.pop("now", NOW),
        issuer_metadata=world.ca_metadata(),
        **kw,
    )


def _steps(decision) -> dict[str, StepOutcome]:  # type: ignore[no-untyped-def]
    return {s.step: s.outcome for s in decision.steps}


def test_home_eu_issuer_is_trusted(world: TrustWorld) -> None:
    decision = _decide(world, Framework.EU, world.eu_issuer(world.pid_signer), PID)
    assert decision.trusted, decision.as_dict()
    assert decision.framework is Framework.EU
    assert _steps(decision) == {
        "trust_list": StepOutcome.PASSED,
        "issuer_key": StepOutcome.PASSED,
        "home_framework": StepOutcome.PASSED,
        "authorized": StepOutcome.PASSED,
        "recognition": StepOutcome.SKIPPED,
    }


def test_home_ca_issuer_is_trusted_through_the_registry(world: TrustWorld) -> None:
    decision = _decide(world, Framework.CA, world.ca_identity(), CA_PERSON)
    assert decision.trusted, decision.as_dict()
    assert decision.framework is Framework.CA
    authorized = next(s for s in decision.steps if s.step == "authorized")
    assert authorized.evidence["trqp"]["authorized"] is True  # type: ignore[index]


@pytest.mark.parametrize(
    ("home", "issuer", "vct"),
    [
        (Framework.CA, "pid", PID),
        (Framework.CA, "pubeaa", LEGAL),
        (Framework.EU, "ca", CA_PERSON),
    ],
)
def test_foreign_issuer_recognised(
    world: TrustWorld, home: Framework, issuer: str, vct: str
) -> None:
    identity = {
        "pid": world.eu_issuer(world.pid_signer),
        "pubeaa": world.eu_issuer(world.pubeaa_signer),
        "ca": world.ca_identity(),
    }[issuer]
    decision = _decide(world, home, identity, vct)
    assert decision.trusted, decision.as_dict()
    recognition = next(s for s in decision.steps if s.step == "recognition")
    assert recognition.outcome is StepOutcome.PASSED
    assert (
        recognition.evidence["agreement"] == f"{home}-recognizes-{'ca' if home == 'eu' else 'eu'}"
    )


def test_conformity_in_scope_and_out_of_scope(world: TrustWorld) -> None:
    issuer = world.ca_identity()
    inside = {"scope": {"product_category": "radio-equipment"}}
    outside = {"scope": {"product_category": "ai-systems"}}
    assert _decide(world, Framework.EU, issuer, CONFORMITY, claims=inside).trusted
    decision = _decide(world, Framework.EU, issuer, CONFORMITY, claims=outside)
    assert decision.reason is Reason.TRUST_RECOGNITION_OUT_OF_SCOPE


def test_foreign_issuer_without_an_agreement(world: TrustWorld) -> None:
    snapshot = world.snapshot(Framework.EU)
    bare = type(snapshot)(
        home=snapshot.home, eu_lists=snapshot.eu_lists, ca_registry=snapshot.ca_registry
    )
    decision = _decide(world, Framework.EU, world.ca_identity(), CA_PERSON, snapshot=bare)
    assert decision.reason is Reason.TRUST_NOT_RECOGNIZED


def test_recognition_no_longer_in_force(world: TrustWorld) -> None:
    late = NOW.replace(year=2028, month=2)
    # The lists would be stale by then; rebuild them at that date in a world of its own.
    decision = _decide(world, Framework.EU, world.ca_identity(), CA_PERSON)
    assert decision.trusted
    w = TrustWorld(now=late, tmp=world.tmp / "late")
    w.build()
    registry_expired = evaluate_trust(
        issuer=w.ca_identity(),
        credential_type=CA_PERSON,
        snapshot=w.snapshot(Framework.EU),
        now=late,
        issuer_metadata=w.ca_metadata(),
    )
    # In 2028 the registry record has lapsed too: the home step fails first.
    assert registry_expired.reason is Reason.TRUST_NOT_AUTHORIZED_FOR_TYPE
    pid = evaluate_trust(
        issuer=w.eu_issuer(w.pid_signer),
        credential_type=PID,
        snapshot=w.snapshot(Framework.CA),
        now=late,
    )
    assert pid.reason is Reason.TRUST_RECOGNITION_EXPIRED


def test_issuer_not_listed(world: TrustWorld) -> None:
    stranger = "https://stranger.test"
    decision = evaluate_trust(
        issuer=world.ca_identity(stranger),
        credential_type=CA_PERSON,
        snapshot=world.snapshot(Framework.CA),
        now=NOW,
        issuer_metadata=world.ca_metadata(stranger),
    )
    assert decision.reason is Reason.TRUST_ISSUER_NOT_LISTED


@pytest.mark.parametrize(
    ("home", "issuer", "vct"),
    [(Framework.EU, "pid", LEGAL), (Framework.CA, "ca", PID)],
)
def test_listed_for_another_credential_type(
    world: TrustWorld, home: Framework, issuer: str, vct: str
) -> None:
    identity = world.eu_issuer(world.pid_signer) if issuer == "pid" else world.ca_identity()
    decision = _decide(world, home, identity, vct)
    assert decision.reason is Reason.TRUST_NOT_AUTHORIZED_FOR_TYPE


def test_withdrawn_service(tmp_path: Path) -> None:
    w = TrustWorld(now=NOW, tmp=tmp_path)
    source = w.sources / "eu" / "pubeaa-providers.yaml"
    source.write_text(source.read_text().replace("status: notified", "status: withdrawn"))
    w.build()
    decision = evaluate_trust(
        issuer=w.eu_issuer(w.pubeaa_signer),
        credential_type=LEGAL,
        snapshot=w.snapshot(Framework.EU),
        now=NOW,
    )
    assert decision.reason is Reason.TRUST_SERVICE_WITHDRAWN


def test_revoked_registry_record(tmp_path: Path) -> None:
    w = TrustWorld(now=NOW, tmp=tmp_path)
    source = w.sources / "ca" / "registry.yaml"
    text = source.read_text()
    marker = "resource: https://credentials.passerelle.example/ca/person/v1\n    status: current"
    assert marker in text
    source.write_text(text.replace(marker, marker.replace("current", "revoked"), 1))
    w.build()
    decision = evaluate_trust(
        issuer=w.ca_identity(),
        credential_type=CA_PERSON,
        snapshot=w.snapshot(Framework.CA),
        now=NOW,
        issuer_metadata=w.ca_metadata(),
    )
    assert decision.reason is Reason.TRUST_SERVICE_WITHDRAWN


def test_stale_list_fails_closed(world: TrustWorld) -> None:
    snapshot = world.snapshot(Framework.EU)
    later = NOW + timedelta(days=31)
    decision = _decide(
        world, Framework.EU, world.eu_issuer(world.pid_signer), PID, snapshot=snapshot, now=later
    )
    assert decision.reason is Reason.TRUST_LIST_STALE
    assert decision.steps[0].outcome is StepOutcome.FAILED
    with pytest.raises(PasserelleError) as err:
        world.snapshot(Framework.EU, now=later)
    assert err.value.reason is Reason.TRUST_LIST_STALE


def test_rollback_is_refused(world: TrustWorld) -> None:
    with pytest.raises(PasserelleError) as err:
        world.snapshot(Framework.EU, last_seen={"pid-providers": 99})
    assert err.value.reason is Reason.TRUST_LIST_ROLLBACK


def test_tampered_list_signature(tmp_path: Path) -> None:
    w = TrustWorld(now=NOW, tmp=tmp_path)
    w.build()
    path = w.data_dir / "trust" / "eu" / "pid-providers.jwt"
    head, body, sig = path.read_text().split(".")
    flipped = sig[:10] + ("A" if sig[10] != "A" else "B") + sig[11:]
    path.write_text(f"{head}.{body}.{flipped}")
    with pytest.raises(PasserelleError) as err:
        w.snapshot(Framework.EU)
    assert err.value.reason is Reason.TRUST_LIST_SIGNATURE


def test_broken_chain(world: TrustWorld) -> None:
    forged = forged_leaf(NOW, world.pid_ca[0])
    decision = _decide(world, Framework.EU, IssuerIdentity(x5c=encode_x5c([forged])), PID)
    assert decision.reason is Reason.X509_CHAIN_INVALID
    assert _steps(decision)["issuer_key"] is StepOutcome.FAILED


def test_self_signed_leaf(world: TrustWorld) -> None:
    cert, _ = self_signed_leaf(NOW, "EU PID Provider signer")
    decision = _decide(world, Framework.EU, IssuerIdentity(x5c=encode_x5c([cert])), PID)
    assert decision.reason is Reason.X509_SELF_SIGNED_LEAF


def test_decision_raises_on_request(world: TrustWorld) -> None:
    decision = _decide(world, Framework.EU, world.eu_issuer(world.pid_signer), LEGAL)
    with pytest.raises(PasserelleError) as err:
        decision.raise_for_failure()
    assert err.value.reason is Reason.TRUST_NOT_AUTHORIZED_FOR_TYPE
    _decide(world, Framework.EU, world.eu_issuer(world.pid_signer), PID).raise_for_failure()


_REVOCATION_SERVICE = """    services:
      - name: PID revocation
        type: revocation
        certificate: eu-pid-provider-ca
        credential_types:
          - urn:eudi:pid:1
"""


def _with_revocation_service(tmp_path: Path, *, keep_issuance: bool) -> TrustWorld:
    w = TrustWorld(now=NOW, tmp=tmp_path)
    source = w.sources / "eu" / "pid-providers.yaml"
    text = source.read_text()
    marker = "    services:\n      - name: PID issuance\n"
    assert marker in text
    if keep_issuance:
        # The revocation service comes first: the issuer must still be found as an issuer.
        text = text.replace(marker, _REVOCATION_SERVICE + "      - name: PID issuance\n")
    else:
        start = text.index(marker)
        text = text[:start] + _REVOCATION_SERVICE
    source.write_text(text)
    w.build()
    return w


def test_a_revocation_service_does_not_make_an_issuer(tmp_path: Path) -> None:
    w = _with_revocation_service(tmp_path, keep_issuance=False)
    decision = evaluate_trust(
        issuer=w.eu_issuer(w.pid_signer),
        credential_type=PID,
        snapshot=w.snapshot(Framework.EU),
        now=NOW,
    )
    assert decision.reason is Reason.TRUST_NOT_AUTHORIZED_FOR_TYPE


def test_the_issuance_service_wins_over_an_earlier_revocation_service(tmp_path: Path) -> None:
    w = _with_revocation_service(tmp_path, keep_issuance=True)
    decision = evaluate_trust(
        issuer=w.eu_issuer(w.pid_signer),
        credential_type=PID,
        snapshot=w.snapshot(Framework.EU),
        now=NOW,
    )
    assert decision.trusted, decision.as_dict()


def test_a_list_loaded_under_another_name_is_refused(world: TrustWorld) -> None:
    from passerelle.services.trust.build import load_recognitions
    from passerelle.trust import load_trust_snapshot

    lists, registry = world.tokens()
    swapped = {**lists, "pid-providers": lists["wrpac-providers"]}
    with pytest.raises(PasserelleError) as err:
        load_trust_snapshot(
            home=Framework.EU,
            eu_lists=swapped,
            registry=registry,
            recognitions=load_recognitions(world.sources),
            eu_operator_anchors=[world.eu_operator_root[0]],
            ca_operator_anchors=[world.ca_operator_root[0]],
            now=NOW,
        )
    assert err.value.reason is Reason.TRUST_LIST_MALFORMED


def _registry_of(world: TrustWorld, records: int) -> str:
    authorizations = [
        {
            "name": f"issuer {i}",
            "entity_id": f"https://issuer-{i}.example",
            "action": "issue",
            "resource": "https://credentials.passerelle.example/ca/person/v1",
            "status": "current",
            "valid_from": "2026-01-01T00:00:00Z",
            "valid_until": "2028-01-01T00:00:00Z",
        }
        for i in range(records)
    ]
    return sign_registry_snapshot(
        {
            "operator": {"authority_id": "https://trust.ca.example", "name": "Registry"},
            "authorizations": authorizations,  # type: ignore[dict-item]
        },
        substitutions={},
        sequence_number=1,
        issued_at=world.now,
        next_update=world.now + timedelta(days=1),
        signer=KeySigner(world.ca_operator[1]),
        x5c=encode_x5c([world.ca_operator[0]]),
    )


def test_a_registry_larger_than_the_generic_input_cap_loads(world: TrustWorld) -> None:
    # 5,000 records are ~1.6 MB signed, over the 1 MiB cap of ordinary inputs: a trust
    # registry has a cap of its own, sized for 100,000 records and more.
    token = _registry_of(world, 5000)
    assert len(token) > MAX_INPUT_BYTES
    verified = verify_registry_snapshot(
        token, operator_anchors=[world.ca_operator_root[0]], now=world.now
    )
    assert len(verified.registry.authorizations) == 5000


def test_a_registry_over_its_cap_is_refused(
    world: TrustWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = _registry_of(world, 50)
    monkeypatch.setattr(
        "passerelle.trust._registry_snapshot.MAX_REGISTRY_SNAPSHOT_BYTES", len(token) - 1
    )
    with pytest.raises(PasserelleError) as refused:
        verify_registry_snapshot(token, operator_anchors=[world.ca_operator_root[0]], now=world.now)
    assert refused.value.reason is Reason.TRUST_LIST_MALFORMED
    assert MAX_REGISTRY_SNAPSHOT_BYTES >= 32 << 20
