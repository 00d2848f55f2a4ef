"""did:web issuers in the shared trust decision (DESIGN §6 step 2, the data-space path).

An EU issuer is found by the certificate its DID document's ``publicKeyJwk`` carries in
``x5c``; a Canadian issuer by the URL its did:web names, which is its entity id in the
registry. The PKI and the lists are built in the test run (tests/trust_world.py)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import JsonObject, PasserelleError, Reason
from passerelle.dcp import create_dcp_presentation, key_resolver, verify_dcp_presentation
from passerelle.jose import KeySigner, public_jwk
from passerelle.sd_jwt_vc import IssuerKeyMethod, IssuerKeyPolicy, resolve_issuer_key_from
from passerelle.trust import (
    Framework,
    IssuerIdentity,
    StepOutcome,
    TrustDecision,
    TrustSnapshot,
    evaluate_trust,
)
from passerelle.vc import VC_V2_CONTEXT, issue_vc_jose
from passerelle.x509 import encode_x5c
from tests.conftest import NOW
from tests.pki import make_chain
from tests.trust_world import TrustWorld

LEGAL = "https://credentials.passerelle.example/eu/legal-person/v1"
CA_PERSON = "https://credentials.passerelle.example/ca/person/v1"
EU_DID = "did:web:register.eu.example"
CA_DID = "did:web:ca-issuer.test"  # names https://ca-issuer.test, the registry's entity id


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> TrustWorld:
    w = TrustWorld(now=NOW, tmp=tmp_path_factory.mktemp("world"))
    w.build()
    return w


@pytest.fixture(scope="module")
def snapshots(world: TrustWorld) -> dict[Framework, TrustSnapshot]:
    return {home: world.snapshot(home) for home in (Framework.EU, Framework.CA)}


def _document(
    did: str,
    key: ec.EllipticCurvePrivateKey,
    *,
    x5c: list[x509.Certificate] | None = None,
) -> JsonObject:
    jwk: JsonObject = dict(public_jwk(key))
    if x5c is not None:
        jwk["x5c"] = list(encode_x5c(x5c))
    method = f"{did}#key-1"
    return {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": did,
        "verificationMethod": [
            {"id": method, "type": "JsonWebKey2020", "controller": did, "publicKeyJwk": jwk}
        ],
        "assertionMethod": [method],
    }


def _eu_document(world: TrustWorld) -> JsonObject:
    cert, key = world.pubeaa_signer
    return _document(EU_DID, key, x5c=[cert])


def _ca_document(world: TrustWorld, did: str = CA_DID) -> JsonObject:
    return _document(did, world.ca_issuer_key)


def _decide(
    snapshots: dict[Framework, TrustSnapshot],
    home: Framework,
    did: str,
    document: JsonObject | None,
    credential_type: str,
    *,
    kid: str | None = None,
) -> TrustDecision:
    return evaluate_trust(
        issuer=IssuerIdentity(iss=did, kid=kid or f"{did}#key-1"),
        credential_type=credential_type,
        snapshot=snapshots[home],
        now=NOW,
        did_documents={} if document is None else {did: document},
    )


def _step(decision: TrustDecision, name: str) -> Any:
    return next(s for s in decision.steps if s.step == name)


def test_an_eu_issuer_is_found_by_the_certificate_in_its_did_document(
    world: TrustWorld, snapshots: dict[Framework, TrustSnapshot]
) -> None:
    decision = _decide(snapshots, Framework.EU, EU_DID, _eu_document(world), LEGAL)
    assert decision.trusted, decision.as_dict()
    assert decision.framework is Framework.EU
    assert decision.issuer is not None
    assert decision.issuer.method is IssuerKeyMethod.DID_WEB
    assert decision.issuer.chain is not None
    evidence = _step(decision, "issuer_key").evidence
    assert evidence["method"] == "did-web"
    assert evidence["did"] == EU_DID
    assert evidence["issuer"] == "https://register.eu.example"
    assert _step(decision, "home_framework").evidence["framework"] == "eu"


def test_an_eu_did_issuer_recognised_in_canada(
    world: TrustWorld, snapshots: dict[Framework, TrustSnapshot]
) -> None:
    decision = _decide(snapshots, Framework.CA, EU_DID, _eu_document(world), LEGAL)
    assert decision.trusted, decision.as_dict()
    assert _step(decision, "recognition").outcome is StepOutcome.PASSED


def test_a_canadian_issuer_is_found_in_the_registry_by_its_did_url(
    world: TrustWorld, snapshots: dict[Framework, TrustSnapshot]
) -> None:
    decision = _decide(snapshots, Framework.CA, CA_DID, _ca_document(world), CA_PERSON)
    assert decision.trusted, decision.as_dict()
    assert decision.framework is Framework.CA
    assert decision.issuer is not None
    assert decision.issuer.issuer == "https://ca-issuer.test"
    assert decision.issuer.iss == CA_DID
    assert decision.issuer.chain is None
    assert _step(decision, "authorized").evidence["trqp"]["authorized"] is True


def test_a_canadian_did_issuer_recognised_in_the_eu(
    world: TrustWorld, snapshots: dict[Framework, TrustSnapshot]
) -> None:
    decision = _decide(snapshots, Framework.EU, CA_DID, _ca_document(world), CA_PERSON)
    assert decision.trusted, decision.as_dict()
    assert _step(decision, "recognition").outcome is StepOutcome.PASSED


@pytest.mark.parametrize(
    "did",
    [
        "did:web:stranger.test",
        # The mapping is exact: a path names another URL, which the registry does not know.
        "did:web:ca-issuer.test:issuers:bc",
    ],
)
def test_a_did_the_registry_does_not_know(
    world: TrustWorld, snapshots: dict[Framework, TrustSnapshot], did: str
) -> None:
    decision = _decide(snapshots, Framework.CA, did, _ca_document(world, did), CA_PERSON)
    assert decision.reason is Reason.TRUST_ISSUER_NOT_LISTED


def test_listed_but_not_for_that_type(
    world: TrustWorld, snapshots: dict[Framework, TrustSnapshot]
) -> None:
    decision = _decide(snapshots, Framework.EU, EU_DID, _eu_document(world), CA_PERSON)
    assert decision.reason is Reason.TRUST_NOT_AUTHORIZED_FOR_TYPE


def _failure_case(world: TrustWorld, case: str) -> tuple[str, JsonObject | None, str | None]:
    """``(iss, the document fetched for it, kid)`` for each way step 2 can fail."""
    _, key = world.pubeaa_signer
    other_cert, _ = world.pid_signer
    return {
        # The kid is a key of another DID: the issuer is the DID of the method.
        "kid of another DID": (CA_DID, _ca_document(world), "did:web:stranger.test#key-1"),
        "unknown kid": (CA_DID, _ca_document(world), f"{CA_DID}#key-9"),
        # A document served for the DID that says it is another DID's.
        "document of another DID": (CA_DID, _ca_document(world, "did:web:stranger.test"), None),
        # The JWK and its x5c certificate hold different keys (RFC 7517 §4.7).
        "x5c of another key": (EU_DID, _document(EU_DID, key, x5c=[other_cert]), None),
        # A certificate chaining to no listed CA.
        "x5c to nowhere": (EU_DID, _document(EU_DID, key, x5c=[make_chain(NOW).leaf]), None),
        # No document fetched for the DID: nothing resolves it.
        "no document": (CA_DID, None, None),
    }[case]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("kid of another DID", Reason.DID_KEY_NOT_FOUND),
        ("unknown kid", Reason.DID_KEY_NOT_FOUND),
        ("document of another DID", Reason.DID_INVALID),
        ("x5c of another key", Reason.JWK_INVALID),
        ("x5c to nowhere", Reason.X509_CHAIN_INVALID),
        ("no document", Reason.SD_JWT_VC_ISSUER_KEY_UNRESOLVED),
    ],
)
def test_issuer_key_failures(
    world: TrustWorld, snapshots: dict[Framework, TrustSnapshot], case: str, reason: Reason
) -> None:
    did, document, kid = _failure_case(world, case)
    decision = _decide(snapshots, Framework.CA, did, document, CA_PERSON, kid=kid)
    assert decision.reason is reason, decision.as_dict()
    assert _step(decision, "issuer_key").outcome is StepOutcome.FAILED


def test_the_laptop_stack_maps_a_loopback_did_to_its_http_url(world: TrustWorld) -> None:
    did = "did:web:127.0.0.1%3A8101"
    document = _document(did, world.ca_issuer_key)
    relaxed = IssuerKeyPolicy(did_documents={did: document}, allow_insecure_loopback=True)
    resolved = resolve_issuer_key_from(
        iss=did, x5c=None, kid=f"{did}#key-1", policy=relaxed, now=NOW
    )
    assert resolved.issuer == "http://127.0.0.1:8101"  # services/pki.py DEFAULT_HOSTS form
    strict = IssuerKeyPolicy(did_documents={did: document})
    with pytest.raises(PasserelleError) as info:
        resolve_issuer_key_from(iss=did, x5c=None, kid=f"{did}#key-1", policy=strict, now=NOW)
    assert info.value.reason is Reason.DID_INVALID


def test_an_x5c_is_not_required_without_anchors(world: TrustWorld) -> None:
    # A wallet-like policy with DID documents only: the key resolves, no chain is built.
    policy = IssuerKeyPolicy(did_documents={EU_DID: _eu_document(world)})
    resolved = resolve_issuer_key_from(iss=EU_DID, x5c=None, kid=None, policy=policy, now=NOW)
    assert resolved.chain is None
    assert resolved.method is IssuerKeyMethod.DID_WEB


def test_a_dcp_presentation_then_the_trust_decision(
    world: TrustWorld, snapshots: dict[Framework, TrustSnapshot]
) -> None:
    """The data-space path end to end in the core: the provider verifies what the
    consumer's Credential Service answered, then asks the shared evaluator about the
    issuer with the documents it already fetched."""
    consumer = "did:web:eu-dataspace.example:sme"
    holder = KeySigner(ec.generate_private_key(ec.SECP256R1()))
    holder_document = _document(consumer, holder.key)  # type: ignore[arg-type]
    holder_document["authentication"] = [f"{consumer}#key-1"]
    credential: JsonObject = {
        "@context": [VC_V2_CONTEXT],
        "type": ["VerifiableCredential", "PersonCredential"],
        "issuer": CA_DID,
        "validFrom": "2026-01-01T00:00:00Z",
        "validUntil": "2027-06-01T00:00:00Z",
        "credentialSubject": {"id": consumer},
    }
    token = issue_vc_jose(credential, signer=KeySigner(world.ca_issuer_key), kid=f"{CA_DID}#key-1")
    vp = create_dcp_presentation(
        [token],
        holder_did=consumer,
        signer=holder,
        kid=f"{consumer}#key-1",
        audience="did:web:ca-dataspace.example:provider",
        now=NOW,
        lifetime=timedelta(minutes=5),
    )
    documents = {consumer: holder_document, CA_DID: _ca_document(world)}
    verified = verify_dcp_presentation(
        vp,
        holder_did=consumer,
        audience="did:web:ca-dataspace.example:provider",
        resolve_key=key_resolver(documents),
        now=NOW,
        required_types=("PersonCredential",),
    )
    (presented,) = verified.credentials
    decision = evaluate_trust(
        issuer=IssuerIdentity(iss=presented.issuer, kid=presented.kid),
        credential_type=CA_PERSON,
        snapshot=snapshots[Framework.EU],
        now=NOW,
        did_documents=documents,
    )
    assert decision.trusted, decision.as_dict()
    assert decision.issuer is not None
    assert decision.issuer.key.public_numbers() == world.ca_issuer_key.public_key().public_numbers()  # type: ignore[union-attr]
