"""The issuer over OpenID4VCI 1.0: happy paths for both profiles, and the negatives of
the OpenID Foundation issuer test plan plus the ones it lacks, each with the exact
error code of OpenID4VCI 1.0 / RFC 6749."""

from __future__ import annotations

import base64
import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from passerelle.jose import KeySigner, public_jwk, sign_jws
from passerelle.sd_jwt_vc import IssuerKeyPolicy, verify_sd_jwt_vc
from passerelle.services.issuer.app import create_issuer_app
from passerelle.services.pki import init_pki, load_pki
from passerelle.services.runtime import utc_now
from passerelle.status_list import verify_status_list_token
from tests.issuer_client import PRE, access, credential, offer, persona_of, proof, token


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("issuer")
    init_pki(path, now=utc_now())
    return path


@pytest.fixture(scope="module")
def ca(data_dir: Path) -> TestClient:
    return TestClient(create_issuer_app(profile_name="ca-issuer", data_dir=data_dir))


@pytest.fixture(scope="module")
def eu(data_dir: Path) -> TestClient:
    return TestClient(create_issuer_app(profile_name="eu-issuer", data_dir=data_dir))


# --- happy paths ------------------------------------------------------------------------


def test_metadata_states_versions_and_both_languages(ca: TestClient) -> None:
    metadata = ca.get("/.well-known/openid-credential-issuer").json()
    assert metadata["nonce_endpoint"].endswith("/nonce")
    configuration = metadata["credential_configurations_supported"]["ca-person-sd-jwt"]
    assert configuration["format"] == "dc+sd-jwt"
    locales = {d["locale"] for d in metadata["display"]}
    assert {"en-CA", "fr-CA"} <= locales
    assert "OpenID4VCI 1.0" in ca.get("/health").json()["versions"]["openid4vci"]
    assert metadata["passerelle_versions"]["sd_jwt"] == "RFC 9901"


@pytest.mark.parametrize(
    ("issuer", "config"),
    [
        ("ca", "ca-person-sd-jwt"),
        ("ca", "ca-business-registration-sd-jwt"),
        ("eu", "eu-pid-sd-jwt"),
        ("eu", "eu-legal-person-sd-jwt"),
    ],
)
def test_pre_authorized_flow_issues_a_verifiable_credential(
    request: pytest.FixtureRequest, data_dir: Path, issuer: str, config: str
) -> None:
    client: TestClient = request.getfixturevalue(issuer)
    holder = ec.generate_private_key(ec.SECP256R1())
    bearer = access(client, config, persona_of(client, config))
    response = credential(
        client,
        bearer,
        {"credential_configuration_id": config, "proofs": {"jwt": [proof(client, holder)]}},
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    issued = response.json()["credentials"][0]["credential"]
    pki = load_pki(data_dir)
    base = client.get("/.well-known/openid-credential-issuer").json()["credential_issuer"]
    keys = (
        IssuerKeyPolicy(
            x5c_anchors=[
                pki.anchor(
                    config.replace("eu-pid-sd-jwt", "eu-pid-provider").replace(
                        "eu-legal-person-sd-jwt", "eu-pubeaa-provider"
                    )
                )
            ]
        )
        if issuer == "eu"
        else IssuerKeyPolicy(
            issuer_metadata={base: client.get("/.well-known/jwt-vc-issuer").json()},
            allow_insecure_loopback=True,
        )
    )
    verified = verify_sd_jwt_vc(issued, keys=keys, algorithms=["ES256"], now=utc_now())
    assert verified.claims["cnf"]["jwk"] == public_jwk(holder)  # type: ignore[index]


def test_batch_issuance_is_unlinkable(ca: TestClient) -> None:
    holders = [ec.generate_private_key(ec.SECP256R1()) for _ in range(3)]
    bearer = access(ca, "ca-person-sd-jwt", persona_of(ca, "ca-person-sd-jwt"))
    nonce = ca.post("/nonce").json()["c_nonce"]
    proofs = [proof(ca, h, nonce=nonce) for h in holders]
    response = credential(
        ca, bearer, {"credential_configuration_id": "ca-person-sd-jwt", "proofs": {"jwt": proofs}}
    )
    assert response.status_code == 200, response.text
    tokens = [c["credential"] for c in response.json()["credentials"]]
    from passerelle.sd_jwt import parse_sd_jwt

    payloads = [parse_sd_jwt(t).unverified_payload() for t in tokens]
    assert len({p["status"]["status_list"]["idx"] for p in payloads}) == 3  # type: ignore[index]
    assert len({p["cnf"]["jwk"]["x"] for p in payloads}) == 3  # type: ignore[index]
    salts = [{d.salt for d in parse_sd_jwt(t).disclosures} for t in tokens]
    assert not (salts[0] & salts[1])
    assert not (salts[1] & salts[2])
    assert len({p["iat"] for p in payloads}) == 1  # one day for all: nothing to link by
    assert payloads[0]["iat"] % 86400 == 0  # type: ignore[operator]


def test_authorization_code_flow_with_par_and_pkce(ca: TestClient) -> None:
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    par = ca.post(
        "/par",
        data={
            "response_type": "code",
            "client_id": "test-wallet",
            "redirect_uri": "http://127.0.0.1/cb",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "scope": "ca-person-sd-jwt",
            "state": "s1",
        },
    )
    assert par.status_code == 201, par.text
    request_uri = par.json()["request_uri"]
    page = ca.get("/authorize", params={"client_id": "test-wallet", "request_uri": request_uri})
    assert page.status_code == 200
    assert "persona" in page.text
    persona = persona_of(ca, "ca-person-sd-jwt")
    login = ca.post(
        "/authorize", data={"request_uri": request_uri, "persona": persona}, follow_redirects=False
    )
    assert login.status_code == 303
    query = parse_qs(urlsplit(login.headers["location"]).query)
    assert query["state"] == ["s1"]
    form = {
        "grant_type": "authorization_code",
        "code": query["code"][0],
        "redirect_uri": "http://127.0.0.1/cb",
        "code_verifier": "wrong" * 10,
    }
    bad = ca.post("/token", data=form)
    assert bad.json()["error"] == "invalid_grant"
    # The failed attempt spent the code, as RFC 6749 §10.5 advises: start again.
    login = ca.post(
        "/authorize",
        data={"request_uri": request_uri, "persona": persona},
        follow_redirects=False,
    )
    assert login.status_code == 400  # the pushed request was single-use too


def _code_for(ca: TestClient, client_id: str, verifier: str) -> str:
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    par = ca.post(
        "/par",
        data={
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": "http://127.0.0.1/cb",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "scope": "ca-person-sd-jwt",
        },
    )
    assert par.status_code == 201, par.text
    login = ca.post(
        "/authorize",
        data={
            "request_uri": par.json()["request_uri"],
            "persona": persona_of(ca, "ca-person-sd-jwt"),
        },
        follow_redirects=False,
    )
    return parse_qs(urlsplit(login.headers["location"]).query)["code"][0]


@pytest.mark.parametrize(
    ("sent", "status", "error"),
    [
        ("test-wallet", 200, None),
        (None, 400, "invalid_request"),
        ("other-wallet", 400, "invalid_grant"),
    ],
)
def test_a_code_is_redeemed_by_the_client_it_was_issued_to(
    ca: TestClient, sent: str | None, status: int, error: str | None
) -> None:
    # RFC 6749 §4.1.3: client_id is "REQUIRED, if the client is not authenticating with
    # the authorization server", which must "ensure that the authorization code was issued
    # to "client_id"". The Canadian issuer does not authenticate wallets (no attestation).
    verifier = secrets.token_urlsafe(48)
    form = {
        "grant_type": "authorization_code",
        "code": _code_for(ca, "test-wallet", verifier),
        "redirect_uri": "http://127.0.0.1/cb",
        "code_verifier": verifier,
    }
    if sent is not None:
        form["client_id"] = sent
    response = ca.post("/token", data=form)
    assert response.status_code == status, response.text
    assert response.json().get("error") == error


# --- negatives: the OpenID Foundation issuer plan, and what it lacks ---------------------


def _error(response: Any) -> str:
    assert response.status_code in (400, 401), response.text
    return str(response.json()["error"])


def test_invalid_nonce(ca: TestClient) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    bearer = access(ca, "ca-person-sd-jwt", persona_of(ca, "ca-person-sd-jwt"))
    body = {
        "credential_configuration_id": "ca-person-sd-jwt",
        "proofs": {"jwt": [proof(ca, holder, nonce="not-issued")]},
    }
    assert _error(credential(ca, bearer, body)) == "invalid_nonce"
    # §8.3.1.2: a proof without any c_nonce is invalid_proof, not invalid_nonce.
    body["proofs"] = {"jwt": [proof(ca, holder, nonce=None)]}
    assert _error(credential(ca, bearer, body)) == "invalid_proof"


def test_invalid_proof_signature(ca: TestClient) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    bearer = access(ca, "ca-person-sd-jwt", persona_of(ca, "ca-person-sd-jwt"))
    good = proof(ca, holder)
    head, body, sig = good.split(".")
    forged = f"{head}.{body}.{sig[:-4]}AAAA"
    assert (
        _error(
            credential(
                ca,
                bearer,
                {"credential_configuration_id": "ca-person-sd-jwt", "proofs": {"jwt": [forged]}},
            )
        )
        == "invalid_proof"
    )


def test_missing_proof(ca: TestClient) -> None:
    bearer = access(ca, "ca-person-sd-jwt", persona_of(ca, "ca-person-sd-jwt"))
    assert _error(credential(ca, bearer, {"credential_configuration_id": "ca-person-sd-jwt"})) in (
        "invalid_proof",
        "invalid_credential_request",
    )


def test_singular_proof_is_not_1_0(ca: TestClient) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    bearer = access(ca, "ca-person-sd-jwt", persona_of(ca, "ca-person-sd-jwt"))
    body = {
        "credential_configuration_id": "ca-person-sd-jwt",
        "proof": {"proof_type": "jwt", "jwt": proof(ca, holder)},
    }
    # §8.3.1.2: "invalid_proof: The proofs parameter in the Credential Request is
    # invalid: (1) if the field is missing"
    assert _error(credential(ca, bearer, body)) == "invalid_proof"
    # §8.2 "The Credential Issuer MUST ignore any unrecognized parameters": beside
    # `proofs`, the draft parameter changes nothing.
    body["proofs"] = {"jwt": [proof(ca, holder)]}
    response = credential(ca, bearer, body)
    assert response.status_code == 200, response.text


def test_access_token_in_the_query_string(ca: TestClient) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    bearer = access(ca, "ca-person-sd-jwt", persona_of(ca, "ca-person-sd-jwt"))
    response = ca.post(
        f"/credential?access_token={bearer}",
        json={
            "credential_configuration_id": "ca-person-sd-jwt",
            "proofs": {"jwt": [proof(ca, holder)]},
        },
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"


def test_unknown_credential_configuration_and_identifier(ca: TestClient) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    bearer = access(ca, "ca-person-sd-jwt", persona_of(ca, "ca-person-sd-jwt"))
    proofs = {"jwt": [proof(ca, holder)]}
    assert (
        _error(credential(ca, bearer, {"credential_configuration_id": "nope", "proofs": proofs}))
        == "unknown_credential_configuration"
    )
    assert (
        _error(credential(ca, bearer, {"credential_identifier": "nope", "proofs": proofs}))
        == "unknown_credential_identifier"
    )


def test_wrong_proof_audience(ca: TestClient) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    bearer = access(ca, "ca-person-sd-jwt", persona_of(ca, "ca-person-sd-jwt"))
    body = {
        "credential_configuration_id": "ca-person-sd-jwt",
        "proofs": {"jwt": [proof(ca, holder, aud="https://other.example")]},
    }
    assert _error(credential(ca, bearer, body)) == "invalid_proof"


def test_proof_issued_in_the_future(ca: TestClient) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    bearer = access(ca, "ca-person-sd-jwt", persona_of(ca, "ca-person-sd-jwt"))
    later = datetime.now(UTC) + timedelta(hours=1)
    body = {
        "credential_configuration_id": "ca-person-sd-jwt",
        "proofs": {"jwt": [proof(ca, holder, iat=later)]},
    }
    assert _error(credential(ca, bearer, body)) == "invalid_proof"


def test_wrong_proof_typ(ca: TestClient) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    bearer = access(ca, "ca-person-sd-jwt", persona_of(ca, "ca-person-sd-jwt"))
    body = {
        "credential_configuration_id": "ca-person-sd-jwt",
        "proofs": {"jwt": [proof(ca, holder, typ="JWT")]},
    }
    assert _error(credential(ca, bearer, body)) == "invalid_proof"


def test_wrong_reused_and_missing_tx_code(ca: TestClient) -> None:
    made = offer(ca, "ca-person-sd-jwt", persona_of(ca, "ca-person-sd-jwt"))
    assert (
        token(ca, made, tx_code="000000" if made["tx_code"] != "000000" else "111111").json()[
            "error"
        ]
        == "invalid_grant"
    )
    again = offer(ca, "ca-person-sd-jwt", persona_of(ca, "ca-person-sd-jwt"))
    assert token(ca, again, tx_code=None).json()["error"] in ("invalid_grant", "invalid_request")
    fresh = offer(ca, "ca-person-sd-jwt", persona_of(ca, "ca-person-sd-jwt"))
    assert token(ca, fresh).status_code == 200
    reused = token(ca, fresh)
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"


def test_expired_pre_authorized_code(data_dir: Path) -> None:
    clock = {"now": utc_now()}
    client = TestClient(
        create_issuer_app(
            profile_name="ca-issuer",
            data_dir=data_dir,
            clock=lambda: clock["now"],
            store_url="sqlite://:memory:",
        )
    )
    made = offer(client, "ca-person-sd-jwt", persona_of(client, "ca-person-sd-jwt"))
    clock["now"] += timedelta(hours=1)
    assert token(client, made).json()["error"] == "invalid_grant"


def test_unsupported_grant_type_and_malformed_requests(ca: TestClient) -> None:
    assert (
        ca.post("/token", data={"grant_type": "password"}).json()["error"]
        == "unsupported_grant_type"
    )
    assert ca.post("/token", data={"grant_type": PRE}).json()["error"] == "invalid_request"
    bearer = access(ca, "ca-person-sd-jwt", persona_of(ca, "ca-person-sd-jwt"))
    response = ca.post(
        "/credential",
        content=b"{not json",
        headers={"Authorization": f"Bearer {bearer}", "Content-Type": "application/json"},
    )
    assert response.status_code == 400


# --- deferred issuance, notification, status, admin --------------------------------------


def test_deferred_issuance_then_notification(data_dir: Path) -> None:
    clock = {"now": utc_now()}
    client = TestClient(
        create_issuer_app(
            profile_name="ca-issuer",
            data_dir=data_dir,
            clock=lambda: clock["now"],
            store_url="sqlite://:memory:",
        )
    )
    holder = ec.generate_private_key(ec.SECP256R1())
    config = "conformity-attestation-sd-jwt"
    bearer = access(client, config, persona_of(client, config))
    nonce = client.post("/nonce").json()["c_nonce"]
    claims = {
        "aud": client.get("/.well-known/openid-credential-issuer").json()["credential_issuer"],
        "iat": int(clock["now"].timestamp()),
        "nonce": nonce,
    }
    jwt = sign_jws(
        {"typ": "openid4vci-proof+jwt", "jwk": public_jwk(holder)}, claims, KeySigner(holder)
    )
    pending = credential(
        client, bearer, {"credential_configuration_id": config, "proofs": {"jwt": [jwt]}}
    )
    assert pending.status_code == 202, pending.text
    transaction = pending.json()["transaction_id"]
    headers = {"Authorization": f"Bearer {bearer}"}
    early = client.post(
        "/deferred_credential", json={"transaction_id": transaction}, headers=headers
    )
    assert early.status_code == 202
    clock["now"] += timedelta(seconds=5)
    ready = client.post(
        "/deferred_credential", json={"transaction_id": transaction}, headers=headers
    )
    assert ready.status_code == 200, ready.text
    notification_id = ready.json()["notification_id"]
    assert (
        client.post(
            "/deferred_credential", json={"transaction_id": transaction}, headers=headers
        ).json()["error"]
        == "invalid_transaction_id"
    )
    ok = client.post(
        "/notification",
        json={"notification_id": notification_id, "event": "credential_accepted"},
        headers=headers,
    )
    assert ok.status_code == 204
    bad = client.post(
        "/notification",
        json={"notification_id": "nope", "event": "credential_accepted"},
        headers=headers,
    )
    assert bad.json()["error"] == "invalid_notification_id"


def test_admin_revocation_shows_in_the_status_list(ca: TestClient, data_dir: Path) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    bearer = access(ca, "ca-person-sd-jwt", persona_of(ca, "ca-person-sd-jwt"))
    issued = credential(
        ca,
        bearer,
        {"credential_configuration_id": "ca-person-sd-jwt", "proofs": {"jwt": [proof(ca, holder)]}},
    ).json()
    admin = {
        "Authorization": "Bearer " + (data_dir / "ca-issuer" / "admin-token").read_text().strip()
    }
    rows = ca.get("/admin/issuances", headers=admin).json()
    assert all("given_name" not in str(r) for r in rows)  # no personal data in the admin view
    from passerelle.sd_jwt import parse_sd_jwt

    index = parse_sd_jwt(issued["credentials"][0]["credential"]).unverified_payload()["status"][
        "status_list"
    ]["idx"]  # type: ignore[index]
    target = next(r for r in rows if r["status_index"] == index)
    assert ca.post(f"/admin/credentials/{target['credential_id']}/revoke").status_code == 401
    assert (
        ca.post(f"/admin/credentials/{target['credential_id']}/revoke", headers=admin).status_code
        == 200
    )
    pki = load_pki(data_dir)
    base = ca.get("/.well-known/openid-credential-issuer").json()["credential_issuer"]
    verified = verify_status_list_token(
        ca.get("/status/ca-issuer").text,
        expected_uri=f"{base}/status/ca-issuer",
        key=pki.signer("ca-issuer").public_key,
        algorithms=["ES256"],
        now=utc_now(),
        skew=timedelta(seconds=30),
    )
    assert verified.status_list.get(index) == 1


def test_jwt_vc_json_issuance_binds_the_holder_by_did_jwk(ca: TestClient) -> None:
    from passerelle.jose import load_public_jwk
    from passerelle.vc import did_jwk_from_key, verify_jwt_vc_json

    holder = ec.generate_private_key(ec.SECP256R1())
    config = "ca-person-jwt-vc"
    bearer = access(ca, config, persona_of(ca, config))
    response = credential(
        ca, bearer, {"credential_configuration_id": config, "proofs": {"jwt": [proof(ca, holder)]}}
    )
    assert response.status_code == 200, response.text
    jwk = ca.get("/.well-known/jwt-vc-issuer").json()["jwks"]["keys"][0]
    key = load_public_jwk({k: v for k, v in jwk.items() if k in ("kty", "crv", "x", "y")})
    verified = verify_jwt_vc_json(
        response.json()["credentials"][0]["credential"],
        issuer_key=key,
        algorithms=["ES256"],
        now=utc_now(),
        skew=timedelta(seconds=30),
    )
    assert verified.subject_id == did_jwk_from_key(holder.public_key())
    assert "CanadianPersonCredential" in verified.types


def test_a_configuration_id_is_not_a_credential_identifier(ca: TestClient) -> None:
    # The token response returned no credential_identifiers, so none can be used (§8.2).
    holder = ec.generate_private_key(ec.SECP256R1())
    bearer = access(ca, "ca-person-sd-jwt", persona_of(ca, "ca-person-sd-jwt"))
    body = {"credential_identifier": "ca-person-sd-jwt", "proofs": {"jwt": [proof(ca, holder)]}}
    assert _error(credential(ca, bearer, body)) == "unknown_credential_identifier"


def test_dpop_without_a_proof_is_not_a_token(ca: TestClient) -> None:
    holder = ec.generate_private_key(ec.SECP256R1())
    bearer = access(ca, "ca-person-sd-jwt", persona_of(ca, "ca-person-sd-jwt"))
    body = {
        "credential_configuration_id": "ca-person-sd-jwt",
        "proofs": {"jwt": [proof(ca, holder)]},
    }
    response = ca.post("/credential", json=body, headers={"Authorization": f"DPoP {bearer}"})
    assert response.status_code == 401
