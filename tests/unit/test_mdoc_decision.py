"""The ``mso_mdoc`` format adapter of the decision pipeline: the same steps as the other
formats (trust through the EU list or the Canadian registry by x5chain, MSO signature,
status, device signature over the SessionTranscript, schema), each failure at its step."""

from __future__ import annotations

from datetime import date, timedelta

import cbor2
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import Reason
from passerelle._json import b64url_decode, b64url_encode
from passerelle.decision import DecisionPolicy, authority_keys_of, decide_credential
from passerelle.jose import KeySigner
from passerelle.mdoc import (
    DOCTYPE_MDL,
    DOCTYPE_PID,
    NAMESPACE_MDL,
    NAMESPACE_PID,
    StatusReference,
    ValidityInfo,
    create_device_response,
    create_issuer_signed,
    create_openid4vp_session_transcript,
)
from passerelle.status_list import (
    StatusValue,
    create_status_list,
    create_status_list_token,
    verify_status_list_token,
    with_status,
)
from passerelle.trust import Framework, StepOutcome
from passerelle.x509 import encode_x5c
from tests.conftest import NOW, SeededRandom
from tests.trust_world import TrustWorld, document_signer, iaca

STATUS_URI = "https://issuer.test/status/mdoc"
TRANSCRIPT = create_openid4vp_session_transcript(
    client_id="x509_hash:abc", nonce="n-1", response_uri="https://v.test/r", jwk_thumbprint=None
)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> TrustWorld:
    w = TrustWorld(now=NOW, tmp=tmp_path_factory.mktemp("mdoc-decision"))
    w.build()
    return w


def _issue(
    signer: tuple[object, ec.EllipticCurvePrivateKey],
    holder: ec.EllipticCurvePrivateKey,
    *,
    doc_type: str,
    namespace: str,
    valid_until: timedelta = timedelta(days=10),
) -> bytes:
    return create_issuer_signed(
        doc_type=doc_type,
        namespaces={
            namespace: {
                "family_name": "Tremblay",
                "given_name": "Éloïse",
                "birth_date": date(1991, 4, 17),
                "age_over_18": True,
            }
        },
        device_key=holder.public_key(),
        validity=ValidityInfo(
            signed=NOW - timedelta(hours=1),
            valid_from=NOW - timedelta(hours=1),
            valid_until=NOW + valid_until,
        ),
        signer_key=signer[1],
        certificate_chain=[signer[0]],  # type: ignore[list-item]
        random=SeededRandom(),
        status=StatusReference(idx=3, uri=STATUS_URI),
    )


def _present(issued: bytes, holder: ec.EllipticCurvePrivateKey, namespace: str) -> str:
    response = create_device_response(
        issued,
        disclose={namespace: ["given_name", "family_name", "age_over_18"]},
        session_transcript=TRANSCRIPT,
        device_key=holder,
    )
    return b64url_encode(response)


def _status(world: TrustWorld, signer_key: ec.EllipticCurvePrivateKey, value: StatusValue):  # type: ignore[no-untyped-def]
    sl = with_status(create_status_list(bits=2, size=64), 3, value)
    token = create_status_list_token(
        sl,
        uri=STATUS_URI,
        signer=KeySigner(signer_key),
        now=NOW,
        ttl=timedelta(minutes=5),
        valid_for=timedelta(days=1),
    )
    return {
        STATUS_URI: verify_status_list_token(
            token,
            expected_uri=STATUS_URI,
            key=signer_key.public_key(),
            algorithms=["ES256"],
            now=NOW,
            skew=timedelta(0),
        )
    }


def _decide(world, token, *, home, signer_key, value=StatusValue.VALID, **kw):  # type: ignore[no-untyped-def]
    args = {
        "format": "mso_mdoc",
        "trust": world.snapshot(home),
        "policy": DecisionPolicy(),
        "now": NOW,
        "status_lists": _status(world, signer_key, value),
        "session_transcript": TRANSCRIPT,
        **kw,
    }
    return decide_credential(token, **args)


def test_an_eu_pid_mdoc_is_accepted_by_a_canadian_verifier(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    issued = _issue(world.eu_mdoc_signer, holder, doc_type=DOCTYPE_PID, namespace=NAMESPACE_PID)
    token = _present(issued, holder, NAMESPACE_PID)
    decision = _decide(world, token, home=Framework.CA, signer_key=world.eu_mdoc_signer[1])
    assert decision.accepted, decision.steps
    assert [s.step for s in decision.steps] == [
        "trust_list", "issuer_key", "home_framework", "authorized", "recognition",
        "signature", "status", "holder_binding",
    ]  # fmt: skip
    assert decision.credential_type == DOCTYPE_PID
    assert decision.claims == {
        NAMESPACE_PID: {"given_name": "Éloïse", "family_name": "Tremblay", "age_over_18": True}
    }
    assert decision.holder_bound
    home = next(s for s in decision.steps if s.step == "home_framework")
    assert home.evidence["framework"] == "eu"


def test_the_issuer_aki_is_read_from_the_x5chain_the_decision_verified(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    issued = _issue(world.eu_mdoc_signer, holder, doc_type=DOCTYPE_PID, namespace=NAMESPACE_PID)
    token = _present(issued, holder, NAMESPACE_PID)
    from_token = authority_keys_of(token, "mso_mdoc")
    assert len(from_token) == 1
    decision = _decide(world, token, home=Framework.CA, signer_key=world.eu_mdoc_signer[1])
    assert decision.accepted
    assert authority_keys_of(token, "mso_mdoc", decision) == from_token
    assert authority_keys_of("not an mdoc", "mso_mdoc", decision) == from_token


def test_a_canadian_mdl_is_found_in_the_registry_by_its_iaca(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    issued = _issue(world.ca_mdoc_signer, holder, doc_type=DOCTYPE_MDL, namespace=NAMESPACE_MDL)
    token = _present(issued, holder, NAMESPACE_MDL)
    decision = _decide(world, token, home=Framework.EU, signer_key=world.ca_mdoc_signer[1])
    assert decision.accepted, decision.steps
    home = next(s for s in decision.steps if s.step == "home_framework")
    assert home.evidence["framework"] == "ca"
    recognition = next(s for s in decision.steps if s.step == "recognition")
    assert recognition.outcome is StepOutcome.PASSED


def test_an_iaca_on_no_list_is_refused(world: TrustWorld) -> None:
    rogue = document_signer(NOW, iaca(NOW, "Rogue IACA", country="CA"), "Rogue signer")
    holder = ec.generate_private_key(ec.SECP256R1())
    issued = _issue(rogue, holder, doc_type=DOCTYPE_MDL, namespace=NAMESPACE_MDL)
    decision = _decide(
        world, _present(issued, holder, NAMESPACE_MDL), home=Framework.EU, signer_key=rogue[1]
    )
    assert not decision.accepted
    assert decision.steps[-1].step == "issuer_key"
    assert decision.reason is Reason.X509_CHAIN_INVALID


def test_the_eu_iaca_is_not_authorised_for_the_mdl(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    issued = _issue(world.eu_mdoc_signer, holder, doc_type=DOCTYPE_MDL, namespace=NAMESPACE_MDL)
    decision = _decide(
        world,
        _present(issued, holder, NAMESPACE_MDL),
        home=Framework.EU,
        signer_key=world.eu_mdoc_signer[1],
    )
    assert not decision.accepted
    assert decision.steps[-1].step == "authorized"


def test_another_session_transcript_fails_holder_binding_after_status(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    issued = _issue(world.eu_mdoc_signer, holder, doc_type=DOCTYPE_PID, namespace=NAMESPACE_PID)
    other = create_openid4vp_session_transcript(
        client_id="x509_hash:abc", nonce="n-2", response_uri="https://v.test/r", jwk_thumbprint=None
    )
    decision = _decide(
        world,
        _present(issued, holder, NAMESPACE_PID),
        home=Framework.CA,
        signer_key=world.eu_mdoc_signer[1],
        session_transcript=other,
    )
    assert decision.reason is Reason.MDOC_DEVICE_SIGNATURE_INVALID
    assert [s.step for s in decision.steps][-3:] == ["signature", "status", "holder_binding"]


def test_a_tampered_element_fails_the_signature_step(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    issued = _issue(world.eu_mdoc_signer, holder, doc_type=DOCTYPE_PID, namespace=NAMESPACE_PID)
    response = cbor2.loads(b64url_decode(_present(issued, holder, NAMESPACE_PID)))
    items = response["documents"][0]["issuerSigned"]["nameSpaces"][NAMESPACE_PID]
    item = cbor2.loads(items[0].value)
    item["elementValue"] = "Mallory" if isinstance(item["elementValue"], str) else False
    items[0] = cbor2.CBORTag(24, cbor2.dumps(item))
    decision = _decide(
        world,
        b64url_encode(cbor2.dumps(response)),
        home=Framework.CA,
        signer_key=world.eu_mdoc_signer[1],
    )
    assert decision.reason is Reason.MDOC_DIGEST_MISMATCH
    assert decision.steps[-1].step == "signature"


def test_revoked_expired_and_unwanted(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    signer = world.eu_mdoc_signer
    issued = _issue(signer, holder, doc_type=DOCTYPE_PID, namespace=NAMESPACE_PID)
    token = _present(issued, holder, NAMESPACE_PID)
    revoked = _decide(
        world, token, home=Framework.CA, signer_key=signer[1], value=StatusValue.INVALID
    )
    assert revoked.reason is Reason.STATUS_REVOKED
    assert revoked.steps[-1].step == "status"
    unwanted = _decide(
        world,
        token,
        home=Framework.CA,
        signer_key=signer[1],
        policy=DecisionPolicy(accepted_types=frozenset({DOCTYPE_MDL})),
    )
    assert unwanted.reason is Reason.MDOC_DOCTYPE_MISMATCH
    later = _decide(world, token, home=Framework.CA, signer_key=signer[1])
    assert later.accepted
    expired = decide_credential(
        token,
        format="mso_mdoc",
        trust=world.snapshot(Framework.CA, now=NOW + timedelta(days=11)),
        policy=DecisionPolicy(require_status=False),
        now=NOW + timedelta(days=11),
        session_transcript=TRANSCRIPT,
    )
    assert expired.reason is Reason.MDOC_EXPIRED
    garbage = decide_credential(
        "%%%", format="mso_mdoc", trust=world.snapshot(Framework.CA), policy=DecisionPolicy(),
        now=NOW,
    )  # fmt: skip
    assert garbage.steps[-1].step == "parse"
    assert not garbage.accepted


def test_on_receipt_the_device_key_must_be_the_wallets(world: TrustWorld) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    issued = b64url_encode(
        _issue(world.eu_mdoc_signer, holder, doc_type=DOCTYPE_PID, namespace=NAMESPACE_PID)
    )
    args = {
        "format": "mso_mdoc",
        "trust": world.snapshot(Framework.EU),
        "policy": DecisionPolicy(require_status=False),
        "now": NOW,
    }
    mine = decide_credential(issued, expected_holder=holder.public_key(), **args)  # type: ignore[arg-type]
    assert mine.accepted, mine.steps
    assert [s.outcome for s in mine.steps if s.step == "holder_binding"] == [StepOutcome.SKIPPED]
    other = ec.generate_private_key(ec.SECP256R1()).public_key()
    theirs = decide_credential(issued, expected_holder=other, **args)  # type: ignore[arg-type]
    assert theirs.reason is Reason.MDOC_DEVICE_KEY_INVALID
    assert theirs.steps[-1].step == "holder_key"


def test_encode_x5c_is_what_the_adapter_sends(world: TrustWorld) -> None:
    # The issuer identity of an mdoc is its x5chain, as an x5c header would carry it.
    from passerelle.decision import credential_references

    holder = ec.generate_private_key(ec.SECP256R1())
    issued = b64url_encode(
        _issue(world.ca_mdoc_signer, holder, doc_type=DOCTYPE_MDL, namespace=NAMESPACE_MDL)
    )
    refs = credential_references(issued, format="mso_mdoc")
    assert refs.issuer.x5c == encode_x5c([world.ca_mdoc_signer[0]])
    assert refs.status_uri == STATUS_URI
    assert refs.credential_type == DOCTYPE_MDL


def test_the_registry_iaca_anchors_mdocs_only(world: TrustWorld) -> None:
    # The same document signer signing an SD-JWT VC's x5c: the registry's certificates
    # extension speaks for an mdoc's x5chain, not for another format's x5c header.
    from passerelle.trust import IssuerIdentity, evaluate_trust

    x5c = encode_x5c([world.ca_mdoc_signer[0]])
    snapshot = world.snapshot(Framework.CA)
    as_mdoc = evaluate_trust(
        issuer=IssuerIdentity(x5c=x5c, x5chain=True),
        credential_type=DOCTYPE_MDL,
        snapshot=snapshot,
        now=NOW,
    )
    assert as_mdoc.trusted, as_mdoc.steps
    as_header = evaluate_trust(
        issuer=IssuerIdentity(x5c=x5c),
        credential_type="https://credentials.passerelle.example/ca/person/v1",
        snapshot=snapshot,
        now=NOW,
    )
    assert not as_header.trusted
    assert as_header.reason is Reason.X509_CHAIN_INVALID


def test_a_refused_mdoc_lists_its_later_steps_as_not_run(world: TrustWorld) -> None:
    # The mdoc adapter does not go on after a refusal yet: it says so, step by step.
    rogue = document_signer(NOW, iaca(NOW, "Rogue IACA", country="CA"), "Rogue signer")
    holder = ec.generate_private_key(ec.SECP256R1())
    issued = _issue(rogue, holder, doc_type=DOCTYPE_MDL, namespace=NAMESPACE_MDL)
    decision = _decide(
        world, _present(issued, holder, NAMESPACE_MDL), home=Framework.EU, signer_key=rogue[1]
    )
    assert decision.steps[-1].step == "issuer_key"
    later = [(f.step.step, f.status, f.depends_on) for f in decision.findings]
    assert later == [
        ("signature", "not_run", "issuer_key"),
        ("status", "not_run", "issuer_key"),
        ("holder_binding", "not_run", "issuer_key"),
        ("schema", "not_run", "issuer_key"),
    ]


def test_a_revoked_mdoc_for_another_session_shows_both(world: TrustWorld) -> None:
    # Status comes first, so it decides; the device signature is still checked, as a finding.
    holder = ec.generate_private_key(ec.SECP256R1())
    issued = _issue(world.eu_mdoc_signer, holder, doc_type=DOCTYPE_PID, namespace=NAMESPACE_PID)
    other = create_openid4vp_session_transcript(
        client_id="x509_hash:abc", nonce="n-2", response_uri="https://v.test/r", jwk_thumbprint=None
    )
    decision = _decide(
        world,
        _present(issued, holder, NAMESPACE_PID),
        home=Framework.CA,
        signer_key=world.eu_mdoc_signer[1],
        session_transcript=other,
        value=StatusValue.INVALID,
    )
    assert decision.reason is Reason.STATUS_REVOKED
    assert decision.steps[-1].step == "status"
    (binding,) = (f for f in decision.findings if f.step.step == "holder_binding")
    assert binding.status == "finding"
    assert binding.step.reason is Reason.MDOC_DEVICE_SIGNATURE_INVALID
