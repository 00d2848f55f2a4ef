"""The issuers' data-space path: VC Data Model 2.0 ``vc+jwt`` credentials for did:web
holders, the issuer's DID document, and the two Bitstring Status Lists behind them."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from passerelle import JsonObject, PasserelleError, Reason
from passerelle.jose import decode_unverified_jws, load_public_jwk, public_jwk
from passerelle.services.issuer.app import create_issuer_app
from passerelle.services.pki import did_web_identifier, init_pki, load_pki
from passerelle.services.runtime import utc_now
from passerelle.services.trust.build import build_with_pki, load_recognitions
from passerelle.services.trust.sources import load_source
from passerelle.status_list import check_bitstring_status
from passerelle.trust import (
    EU_LIST_TYPES,
    Framework,
    IssuerIdentity,
    StepOutcome,
    TrustDecision,
    evaluate_trust,
    load_trust_snapshot,
)
from passerelle.vc import VerifiedW3cCredential, verify_vc_jose
from passerelle.x509 import verify_x5c_chain
from tests.conftest import SeededRandom

ROOT = Path(__file__).parents[2]
SKEW = timedelta(seconds=30)
CA_SME = "did:web:127.0.0.1%3A8106:sme"
EU_SME = "did:web:127.0.0.1%3A8107:sme"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("issuer-dcp")
    init_pki(path, now=utc_now())
    return path


@pytest.fixture(scope="module")
def ca(data_dir: Path) -> TestClient:
    return TestClient(create_issuer_app(profile_name="ca-issuer", data_dir=data_dir))


@pytest.fixture(scope="module")
def eu(data_dir: Path) -> TestClient:
    return TestClient(create_issuer_app(profile_name="eu-issuer", data_dir=data_dir))


def _admin(data_dir: Path, issuer: str) -> dict[str, str]:
    token = os.environ.get("PASSERELLE_ADMIN_TOKEN") or (
        (data_dir / issuer / "admin-token").read_text().strip()
    )
    return {"Authorization": f"Bearer {token}"}


def _issue(client: TestClient, data_dir: Path, body: dict[str, Any]) -> dict[str, Any]:
    issuer = "ca-issuer" if _is_ca(client) else "eu-issuer"
    response = client.post("/admin/dcp/credentials", json=body, headers=_admin(data_dir, issuer))
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    answer: dict[str, Any] = response.json()
    return answer


def _is_ca(client: TestClient) -> bool:
    return bool(client.get("/health").json()["profile"] == "ca-issuer")


def _verify_with_did_document(client: TestClient, token: str) -> VerifiedW3cCredential:
    """Resolve the key the way a DCP verifier does: header kid → verification method of
    the issuer's DID document, listed under assertionMethod."""
    document = client.get("/.well-known/did.json").json()
    kid = decode_unverified_jws(token).header["kid"]
    assert isinstance(kid, str)
    assert kid.split("#")[0] == document["id"]
    assert kid in document["assertionMethod"]
    method = next(m for m in document["verificationMethod"] if m["id"] == kid)
    return verify_vc_jose(
        token,
        issuer_key=load_public_jwk(method["publicKeyJwk"]),
        algorithms=["ES256"],
        now=utc_now(),
        skew=SKEW,
    )


def _status_list(client: TestClient, url: str) -> JsonObject:
    """Fetch and verify the status list credential at ``url``; its payload."""
    response = client.get(url)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vc+jwt")
    return _verify_with_did_document(client, response.text).credential


def _check(client: TestClient, entry: JsonObject) -> None:
    url = entry["statusListCredential"]
    assert isinstance(url, str)
    check_bitstring_status(entry, _status_list(client, url), now=utc_now())


def _entries(issued: dict[str, Any]) -> dict[str, JsonObject]:
    payload = decode_unverified_jws(issued["credential"]).payload_json()
    status = payload["credentialStatus"]
    assert isinstance(status, list)
    return {str(e["statusPurpose"]): e for e in status if isinstance(e, dict)}


# --- the DID document and the credential ------------------------------------------------


@pytest.mark.parametrize(
    ("issuer", "holder", "w3c_type", "persona", "claim"),
    [
        ("ca", CA_SME, "BusinessRegistrationCredential", "boulangerie-cote", "entity_name"),
        ("ca", CA_SME, "DataSpaceMembershipCredential", "boulangerie-cote", "memberOf"),
        ("eu", EU_SME, "LegalPersonCredential", "atelier-brule", "legal_name"),
        ("eu", EU_SME, "DataSpaceMembershipCredential", "atelier-brule", "memberOf"),
    ],
)
def test_credential_verifies_with_the_key_of_the_did_document(
    request: pytest.FixtureRequest,
    data_dir: Path,
    issuer: str,
    holder: str,
    w3c_type: str,
    persona: str,
    claim: str,
) -> None:
    client: TestClient = request.getfixturevalue(issuer)
    base = client.get("/.well-known/openid-credential-issuer").json()["credential_issuer"]
    did = did_web_identifier(base)
    assert did.startswith("did:web:127.0.0.1%3A810")  # the port percent-encoded
    document = client.get("/.well-known/did.json")
    assert document.status_code == 200
    assert document.json()["id"] == did
    issued = _issue(client, data_dir, {"holder": holder, "type": w3c_type, "persona": persona})
    verified = _verify_with_did_document(client, issued["credential"])
    header = decode_unverified_jws(issued["credential"]).header
    assert header["typ"] == "vc+jwt"
    assert "x5c" not in header  # the key is found through the DID document only
    assert verified.issuer == did == issued["issuer"]
    assert verified.subject_id == holder
    assert verified.types == ("VerifiableCredential", w3c_type)
    assert verified.credential["@context"] == ["https://www.w3.org/ns/credentials/v2"]
    assert verified.credential["id"] == f"urn:uuid:{issued['credential_id']}"
    subject = verified.credential["credentialSubject"]
    assert isinstance(subject, dict)
    assert claim in subject
    assert "vct" not in subject  # SD-JWT VC members do not leak into a VC 2.0 subject
    assert verified.valid_from is not None
    assert verified.valid_until is not None
    assert verified.valid_from <= utc_now() < verified.valid_until
    assert issued["format"] == "jwt"
    assert issued["profile"] == "vc20-bssl/jwt"
    assert issued["credential_type"] == w3c_type


def test_did_document_lists_one_json_web_key_for_assertions(
    ca: TestClient, eu: TestClient, data_dir: Path
) -> None:
    pki = load_pki(data_dir)
    for client, key, x5c in ((ca, "ca-issuer", False), (eu, "eu-pubeaa-provider", True)):
        response = client.get("/.well-known/did.json")
        assert response.headers["content-type"].startswith("application/did+json")
        document = response.json()
        [method] = document["verificationMethod"]
        assert method["type"] == "JsonWebKey"
        assert method["controller"] == document["id"]
        assert method["id"] == f"{document['id']}#{pki.jwk(key)['kid']}"
        assert document["assertionMethod"] == [method["id"]]
        assert "authentication" not in document  # an issuer asserts; it does not log in
        jwk = method["publicKeyJwk"]
        assert "d" not in jwk
        published = public_jwk(load_public_jwk(jwk))
        assert published == public_jwk(pki.private_key(key))
        assert ("x5c" in jwk) is x5c
        if x5c:
            # The EU issuer's chain leads to the certificate its LoTE lists, and certifies
            # the very key of the document.
            chain = verify_x5c_chain(jwk["x5c"], anchors=[pki.anchor(key)], now=utc_now())
            assert public_jwk(chain.public_key) == published


def test_explicit_subject_claims(ca: TestClient, data_dir: Path) -> None:
    subject = {
        "memberOf": "https://dataspace.passerelle.example/ca-eu",
        "membershipType": "AssociateMember",
        "since": "2026-03-01T00:00:00Z",
    }
    issued = _issue(
        ca,
        data_dir,
        {"holder": CA_SME, "type": "DataSpaceMembershipCredential", "subject": subject},
    )
    verified = _verify_with_did_document(ca, issued["credential"])
    assert verified.credential["credentialSubject"] == {"id": CA_SME, **subject}


# --- status ------------------------------------------------------------------------------


def test_both_status_entries_are_present_and_valid(eu: TestClient, data_dir: Path) -> None:
    issued = _issue(
        eu,
        data_dir,
        {"holder": EU_SME, "type": "LegalPersonCredential", "persona": "atelier-brule"},
    )
    entries = _entries(issued)
    assert set(entries) == {"revocation", "suspension"}
    base = eu.get("/.well-known/openid-credential-issuer").json()["credential_issuer"]
    for purpose, entry in entries.items():
        assert entry["type"] == "BitstringStatusListEntry"
        assert entry["statusListCredential"] == f"{base}/status/bitstring/{purpose}"
        assert isinstance(entry["statusListIndex"], str)
        assert entry["statusListIndex"].isdigit()
        assert issued["status"][purpose] == entry
        _check(eu, entry)


def test_status_list_credential_is_short_lived_and_signed_by_the_did(
    ca: TestClient,
) -> None:
    document = ca.get("/.well-known/did.json").json()
    for purpose in ("revocation", "suspension"):
        response = ca.get(f"/status/bitstring/{purpose}")
        header = decode_unverified_jws(response.text).header
        assert header["kid"] == document["assertionMethod"][0]
        payload = _status_list(ca, f"/status/bitstring/{purpose}")
        assert payload["issuer"] == document["id"]
        assert payload["type"] == ["VerifiableCredential", "BitstringStatusListCredential"]
        subject = payload["credentialSubject"]
        assert isinstance(subject, dict)
        assert subject["statusPurpose"] == purpose
        assert subject["ttl"] == 300_000
        # DCP's vc20-bssl/jwt: caches go by validUntil, so it must come soon.
        assert "validUntil" in payload
        assert "max-age=300" in response.headers["cache-control"]
    assert ca.get("/status/bitstring/refresh").status_code == 404


def test_revoke_flips_the_revocation_bit_only(ca: TestClient, data_dir: Path) -> None:
    body = {"holder": CA_SME, "type": "BusinessRegistrationCredential", "persona": "cedar-tide"}
    target, bystander = _issue(ca, data_dir, body), _issue(ca, data_dir, body)
    admin = _admin(data_dir, "ca-issuer")
    response = ca.post(f"/admin/credentials/{target['credential_id']}/revoke", headers=admin)
    assert response.status_code == 200, response.text
    entries = _entries(target)
    with pytest.raises(PasserelleError) as caught:
        _check(ca, entries["revocation"])
    assert caught.value.reason is Reason.STATUS_REVOKED
    _check(ca, entries["suspension"])
    for entry in _entries(bystander).values():
        _check(ca, entry)
    # Revocation is final: nothing lifts it.
    response = ca.post(f"/admin/credentials/{target['credential_id']}/reinstate", headers=admin)
    assert response.status_code == 400
    assert response.json()["reason"] == "input.malformed"
    with pytest.raises(PasserelleError):
        _check(ca, entries["revocation"])
    rows = ca.get("/admin/issuances", headers=admin).json()
    row = next(r for r in rows if r["credential_id"] == target["credential_id"])
    assert row["configuration"] == "dcp:BusinessRegistrationCredential"
    assert row["status"] == "revoke"
    assert "entity_name" not in str(row)  # the admin view holds no claims


def test_suspend_and_reinstate(eu: TestClient, data_dir: Path) -> None:
    issued = _issue(
        eu,
        data_dir,
        {"holder": EU_SME, "type": "DataSpaceMembershipCredential", "persona": "nordlicht-gmbh"},
    )
    admin = _admin(data_dir, "eu-issuer")
    entries = _entries(issued)
    assert eu.post(
        f"/admin/credentials/{issued['credential_id']}/suspend", headers=admin
    ).is_success
    with pytest.raises(PasserelleError) as caught:
        _check(eu, entries["suspension"])
    assert caught.value.reason is Reason.STATUS_SUSPENDED
    _check(eu, entries["revocation"])
    assert eu.post(
        f"/admin/credentials/{issued['credential_id']}/reinstate", headers=admin
    ).is_success
    _check(eu, entries["suspension"])


# --- authentication and bad requests -----------------------------------------------------


def test_admin_token_is_required(ca: TestClient, data_dir: Path) -> None:
    body = {"holder": CA_SME, "type": "BusinessRegistrationCredential", "persona": "cedar-tide"}
    assert ca.post("/admin/dcp/credentials", json=body).status_code == 401
    wrong = {"Authorization": "Bearer not-the-token"}
    response = ca.post("/admin/dcp/credentials", json=body, headers=wrong)
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    issued = _issue(ca, data_dir, body)
    assert ca.post(f"/admin/credentials/{issued['credential_id']}/revoke").status_code == 401


MEMBERSHIP = {
    "memberOf": "https://dataspace.passerelle.example/ca-eu",
    "membershipType": "FullMember",
    "since": "2026-03-01T00:00:00Z",
}
GOOD = {"holder": CA_SME, "type": "DataSpaceMembershipCredential", "subject": MEMBERSHIP}


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"not json", "input.malformed"),
        (b"[]", "input.malformed"),
        ({**GOOD, "extra": 1}, "input.malformed"),
        ({k: v for k, v in GOOD.items() if k != "holder"}, "did.invalid"),
        (
            {**GOOD, "holder": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"},
            "did.invalid",
        ),
        ({**GOOD, "holder": "did:web:sme.example#key-1"}, "did.invalid"),
        ({**GOOD, "holder": "did:web:sme.example%2Fpath"}, "did.invalid"),
        ({**GOOD, "holder": "https://sme.example"}, "did.invalid"),
        ({**GOOD, "type": "LegalPersonCredential"}, "input.malformed"),  # EU's, not CA's
        ({**GOOD, "type": ["DataSpaceMembershipCredential"]}, "input.malformed"),
        ({**GOOD, "persona": "boulangerie-cote"}, "input.malformed"),  # both
        ({k: v for k, v in GOOD.items() if k != "subject"}, "input.malformed"),  # neither
        ({**GOOD, "subject": "FullMember"}, "input.malformed"),
        (
            {"holder": CA_SME, "type": "DataSpaceMembershipCredential", "persona": "nobody"},
            "input.malformed",
        ),
        ({**GOOD, "subject": {**MEMBERSHIP, "since": "last year"}}, "schema.violation"),
        ({**GOOD, "subject": {**MEMBERSHIP, "membershipType": "Owner"}}, "schema.violation"),
        ({**GOOD, "subject": {**MEMBERSHIP, "role": "admin"}}, "schema.violation"),
        ({**GOOD, "subject": {"memberOf": MEMBERSHIP["memberOf"]}}, "schema.violation"),
        ({**GOOD, "subject": {**MEMBERSHIP, "id": "did:web:other.example"}}, "input.malformed"),
        ({**GOOD, "subject": {**MEMBERSHIP, "iss": "did:web:other.example"}}, "input.malformed"),
        (
            {
                "holder": CA_SME,
                "type": "BusinessRegistrationCredential",
                "subject": {"entity_name": "No Registration Id Ltd"},
            },
            "schema.violation",
        ),
    ],
)
def test_bad_requests_are_400_with_a_reason(
    ca: TestClient, data_dir: Path, body: dict[str, Any] | bytes, reason: str
) -> None:
    admin = _admin(data_dir, "ca-issuer")
    if isinstance(body, bytes):
        response = ca.post(
            "/admin/dcp/credentials",
            content=body,
            headers={**admin, "Content-Type": "application/json"},
        )
    else:
        response = ca.post("/admin/dcp/credentials", json=body, headers=admin)
    assert response.status_code == 400, response.text
    assert response.json()["reason"] == reason
    assert response.json()["error_description"]


def test_health_states_the_dcp_profile(ca: TestClient) -> None:
    assert ca.get("/health").json()["versions"]["dcp_profile"] == "vc20-bssl/jwt"


# --- persistence -------------------------------------------------------------------------


class _ReplayedIndexDraws:
    """Fresh bytes for credential ids, but the same sequence of index draws in every
    instance: a restarted issuer that forgot its allocations would hand out the very
    indexes it handed out before."""

    def __init__(self) -> None:
        self._draws = SeededRandom(11)

    def token_bytes(self, n: int, /) -> bytes:
        return os.urandom(n) if n == 16 else self._draws.token_bytes(n)


def test_indexes_are_not_reused_across_a_restart(tmp_path: Path) -> None:
    init_pki(tmp_path, now=utc_now())
    body = {"holder": CA_SME, "type": "DataSpaceMembershipCredential", "persona": "cedar-tide"}

    def run() -> list[dict[str, str]]:
        app = create_issuer_app(
            profile_name="ca-issuer", data_dir=tmp_path, random=_ReplayedIndexDraws()
        )
        with TestClient(app) as client:
            answers = [_issue(client, tmp_path, body) for _ in range(4)]
        app.state.store.close()
        return [{p: e["statusListIndex"] for p, e in a["status"].items()} for a in answers]

    before, after = run(), run()
    for purpose in ("revocation", "suspension"):
        first = [r[purpose] for r in before]
        second = [r[purpose] for r in after]
        assert len(set(first)) == 4
        assert len(set(second)) == 4
        assert not set(first) & set(second), purpose


# --- trust sources -----------------------------------------------------------------------


def test_trust_sources_authorise_the_data_space_types() -> None:
    registry = load_source(ROOT / "trust_lists" / "ca" / "registry.yaml")
    authorised = {
        (a["entity_id"], a["resource"])
        for a in registry["authorizations"]  # type: ignore[union-attr]
        if isinstance(a, dict) and a["action"] == "issue"
    }
    for w3c_type in ("BusinessRegistrationCredential", "DataSpaceMembershipCredential"):
        assert ("${CA_ISSUER}", w3c_type) in authorised
    lote = load_source(ROOT / "trust_lists" / "eu" / "pubeaa-providers.yaml")
    types = {
        t
        for entity in lote["entities"]  # type: ignore[union-attr]
        if isinstance(entity, dict)
        for service in entity["services"]  # type: ignore[union-attr]
        if isinstance(service, dict)
        for t in service["credential_types"]  # type: ignore[union-attr]
    }
    assert {"LegalPersonCredential", "DataSpaceMembershipCredential"} <= types
    agreements = {a.id: a for a in load_recognitions(ROOT / "trust_lists")}
    for agreement, w3c_type, pointed in (
        (
            "ca-recognizes-eu",
            "LegalPersonCredential",
            "http://uri.etsi.org/19602/SvcType/PubEAA/Issuance",
        ),
        (
            "ca-recognizes-eu",
            "DataSpaceMembershipCredential",
            "http://uri.etsi.org/19602/SvcType/PubEAA/Issuance",
        ),
        ("eu-recognizes-ca", "BusinessRegistrationCredential", "issue"),
        ("eu-recognizes-ca", "DataSpaceMembershipCredential", "issue"),
    ):
        equivalence = agreements[agreement].equivalence_for(w3c_type)
        assert equivalence is not None, (agreement, w3c_type)
        assert equivalence.granted
        assert equivalence.pointed_service == pointed


@pytest.mark.parametrize(
    ("issuer", "holder", "w3c_type", "persona", "home", "framework"),
    [
        # Each side's credentials, at home and across the border.
        ("ca", CA_SME, "BusinessRegistrationCredential", "boulangerie-cote", "eu", "ca"),
        ("ca", CA_SME, "DataSpaceMembershipCredential", "boulangerie-cote", "eu", "ca"),
        ("ca", CA_SME, "DataSpaceMembershipCredential", "boulangerie-cote", "ca", "ca"),
        ("eu", EU_SME, "LegalPersonCredential", "atelier-brule", "ca", "eu"),
        ("eu", EU_SME, "DataSpaceMembershipCredential", "atelier-brule", "ca", "eu"),
        ("eu", EU_SME, "DataSpaceMembershipCredential", "atelier-brule", "eu", "eu"),
    ],
)
def test_the_shared_trust_decision_accepts_the_issued_credentials(
    request: pytest.FixtureRequest,
    data_dir: Path,
    issuer: str,
    holder: str,
    w3c_type: str,
    persona: str,
    home: str,
    framework: str,
) -> None:
    """DESIGN §6 over the lists `passerelle init` signs: key from the DID document, home
    framework (LoTE by the JWK's x5c, or the registry by the DID's URL), authorisation
    for the W3C type, and the recognition agreement across the border."""
    client: TestClient = request.getfixturevalue(issuer)
    issued = _issue(client, data_dir, {"holder": holder, "type": w3c_type, "persona": persona})
    decision = _decide(client, data_dir, issued, credential_type=w3c_type, home=home)
    assert decision.trusted, decision.as_dict()
    assert decision.framework is Framework(framework)
    steps = {step.step: step.outcome for step in decision.steps}
    across = StepOutcome.PASSED if home != framework else StepOutcome.SKIPPED
    assert steps["recognition"] is across


@pytest.mark.parametrize(
    ("issuer", "holder", "persona"),
    [("ca", CA_SME, "cedar-tide"), ("eu", EU_SME, "nordlicht-gmbh")],
)
def test_the_trust_decision_still_depends_on_the_type(
    request: pytest.FixtureRequest, data_dir: Path, issuer: str, holder: str, persona: str
) -> None:
    client: TestClient = request.getfixturevalue(issuer)
    body = {"holder": holder, "type": "DataSpaceMembershipCredential", "persona": persona}
    issued = _issue(client, data_dir, body)
    decision = _decide(
        client, data_dir, issued, credential_type="ConformityCredential", home=issuer
    )
    assert not decision.trusted
    assert decision.reason is Reason.TRUST_NOT_AUTHORIZED_FOR_TYPE


def _decide(
    client: TestClient,
    data_dir: Path,
    issued: dict[str, Any],
    *,
    credential_type: str,
    home: str,
) -> TrustDecision:
    now = utc_now()
    build_with_pki(data_dir=data_dir, sources=ROOT / "trust_lists", now=now)
    pki = load_pki(data_dir)
    trust = data_dir / "trust"
    snapshot = load_trust_snapshot(
        home=Framework(home),
        eu_lists={name: (trust / "eu" / f"{name}.jwt").read_text() for name in EU_LIST_TYPES},
        registry=(trust / "ca" / "registry.jwt").read_text(),
        recognitions=load_recognitions(ROOT / "trust_lists"),
        eu_operator_anchors=[pki.anchor("eu-lote-operator")],
        ca_operator_anchors=[pki.anchor("ca-registry-operator")],
        now=now,
    )
    document = client.get("/.well-known/did.json").json()
    return evaluate_trust(
        issuer=IssuerIdentity(
            iss=issued["issuer"], kid=decode_unverified_jws(issued["credential"]).header["kid"]
        ),
        credential_type=credential_type,
        snapshot=snapshot,
        now=now,
        did_documents={document["id"]: document},
        allow_insecure_loopback=True,  # the issuers' did:web name http loopback URLs here
    )
