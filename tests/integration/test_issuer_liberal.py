"""Both issuers accept what OpenID4VCI 1.0 allows, not only what our own wallet sends.

The OpenID Foundation issuer happy flow adds random unknown members to every request;
OpenID4VCI 1.0 says, at each endpoint, that they are ignored:

- §5.1.3 (authorization requests, pushed or not): "The Authorization Server MUST
  ignore any unrecognized parameters."
- §6.1 (token): "The Authorization Server MUST ignore any unrecognized parameters."
- §8.2 (credential): "The Credential Issuer MUST ignore any unrecognized parameters."
- §9.1 (deferred) and §11.1 (notification): "The Credential Issuer MUST ignore any
  unrecognized parameters."

The nonce endpoint (§7.1) defines no request parameters at all, so anything sent to it
is unrecognized.

And a wallet that names itself at the token endpoint (``client_id``, as the
``clientAuthenticationNone`` of ``@openid4vc/oauth2`` does by default) may still leave
``iss`` out of its key proof: Appendix F.1 "``iss``: OPTIONAL (string). The value of
this claim MUST be the ``client_id`` of the Client making the Credential request."
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from passerelle.jose import KeySigner, public_jwk, sign_jws
from passerelle.services.issuer.app import create_issuer_app
from passerelle.services.pki import init_pki
from passerelle.services.runtime import utc_now
from tests.issuer_client import PRE, credential, offer, persona_of, proof

CLIENT_ID = "stock-wallet"


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("issuer-liberal")
    init_pki(path, now=utc_now())
    return path


@pytest.fixture(scope="module", params=["ca-issuer", "eu-issuer"])
def issuer(request: pytest.FixtureRequest, data_dir: Path) -> TestClient:
    return TestClient(create_issuer_app(profile_name=request.param, data_dir=data_dir))


def _config(client: TestClient) -> str:
    metadata = client.get("/.well-known/openid-credential-issuer").json()
    configurations = metadata["credential_configurations_supported"]
    # An immediate dc+sd-jwt configuration (no deferred one), the first by name.
    chosen: list[str] = sorted(
        cid
        for cid, c in configurations.items()
        if c["format"] == "dc+sd-jwt" and not cid.startswith("conformity")
    )
    return chosen[0]


def _noise() -> dict[str, str]:
    """Random unknown members, fresh for each request, as the OIDF suite sends them."""
    return {f"x_{secrets.token_hex(4)}": secrets.token_urlsafe(8) for _ in range(3)}


def _proof_with(client: TestClient, key: ec.EllipticCurvePrivateKey, claims: dict[str, Any]) -> str:
    issuer_id = client.get("/.well-known/openid-credential-issuer").json()["credential_issuer"]
    nonce = client.post("/nonce", data=_noise()).json()["c_nonce"]
    body = {"aud": issuer_id, "iat": int(utc_now().timestamp()), "nonce": nonce, **claims}
    return sign_jws({"typ": "openid4vci-proof+jwt", "jwk": public_jwk(key)}, body, KeySigner(key))


def _pre_authorized_token(client: TestClient, config: str, **extra: str) -> str:
    made = offer(client, config, persona_of(client, config))
    code = made["credential_offer"]["grants"][PRE]["pre-authorized_code"]
    form = {"grant_type": PRE, "pre-authorized_code": code, "tx_code": made["tx_code"]}
    response = client.post("/token", data={**form, **extra, **_noise()})
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def _skip_haip_code_grant(issuer: TestClient) -> None:
    server = issuer.get("/.well-known/oauth-authorization-server").json()
    if "attest_jwt_client_auth" in server["token_endpoint_auth_methods_supported"]:
        pytest.skip("this code grant needs a wallet attestation and DPoP: test_issuer_haip.py")


def test_pre_authorized_flow_ignores_unknown_parameters_everywhere(issuer: TestClient) -> None:
    config = _config(issuer)
    holder = ec.generate_private_key(ec.SECP256R1())
    bearer = _pre_authorized_token(issuer, config)
    body = {
        "credential_configuration_id": config,
        "proofs": {"jwt": [_proof_with(issuer, holder, {})]},
        **_noise(),
        "x_object": {"nested": [1, 2, {"deep": True}]},
    }
    response = credential(issuer, bearer, body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert len(answer["credentials"]) == 1
    notified = issuer.post(
        "/notification",
        json={
            "notification_id": answer["notification_id"],
            "event": "credential_accepted",
            **_noise(),
        },
        headers={"Authorization": f"Bearer {bearer}"},
    )
    assert notified.status_code == 204, notified.text


def test_identified_client_may_leave_iss_out_of_its_proof(issuer: TestClient) -> None:
    """The stock @openid4vc wallet's shape: client_id at the token endpoint, no ``iss``."""
    config = _config(issuer)
    holder = ec.generate_private_key(ec.SECP256R1())
    bearer = _pre_authorized_token(issuer, config, client_id=CLIENT_ID)
    body = {"credential_configuration_id": config, "proofs": {"jwt": [proof(issuer, holder)]}}
    response = credential(issuer, bearer, body)
    assert response.status_code == 200, response.text


def test_identified_client_proof_naming_another_client_is_refused(issuer: TestClient) -> None:
    """Appendix F.1: present, ``iss`` "MUST be the client_id of the Client making the
    Credential request"."""
    config = _config(issuer)
    holder = ec.generate_private_key(ec.SECP256R1())
    bearer = _pre_authorized_token(issuer, config, client_id=CLIENT_ID)
    good = {"iss": CLIENT_ID}
    body = {
        "credential_configuration_id": config,
        "proofs": {"jwt": [_proof_with(issuer, holder, {"iss": "someone-else"})]},
    }
    response = credential(issuer, bearer, body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_proof"
    body["proofs"] = {"jwt": [_proof_with(issuer, holder, good)]}
    assert credential(issuer, bearer, body).status_code == 200


def test_anonymous_access_with_iss_in_the_proof_is_refused(issuer: TestClient) -> None:
    """Appendix F.1: "This claim MUST be omitted if the access token authorizing the
    issuance call was obtained from a Pre-Authorized Code Flow through anonymous access
    to the token endpoint." No client_id was given that ``iss`` could be held to."""
    config = _config(issuer)
    holder = ec.generate_private_key(ec.SECP256R1())
    bearer = _pre_authorized_token(issuer, config)
    body = {
        "credential_configuration_id": config,
        "proofs": {"jwt": [_proof_with(issuer, holder, {"iss": CLIENT_ID})]},
    }
    response = credential(issuer, bearer, body)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_proof"


def test_authorization_code_flow_ignores_unknown_parameters(issuer: TestClient) -> None:
    _skip_haip_code_grant(issuer)
    config = _config(issuer)
    metadata = issuer.get("/.well-known/openid-credential-issuer").json()
    scope = metadata["credential_configurations_supported"][config]["scope"]
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    par = issuer.post(
        "/par",
        data={
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": "http://127.0.0.1/cb",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "scope": f"{scope} x-unknown-scope",
            "state": "s1",
            **_noise(),
        },
    )
    assert par.status_code == 201, par.text
    request_uri = par.json()["request_uri"]
    page = issuer.get(
        "/authorize", params={"client_id": CLIENT_ID, "request_uri": request_uri, **_noise()}
    )
    assert page.status_code == 200, page.text
    login = issuer.post(
        "/authorize",
        data={"request_uri": request_uri, "persona": persona_of(issuer, config)},
        follow_redirects=False,
    )
    assert login.status_code == 303, login.text
    code = parse_qs(urlsplit(login.headers["location"]).query)["code"][0]
    token = issuer.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://127.0.0.1/cb",
            "code_verifier": verifier,
            "client_id": CLIENT_ID,
            **_noise(),
        },
    )
    assert token.status_code == 200, token.text
    holder = ec.generate_private_key(ec.SECP256R1())
    response = credential(
        issuer,
        token.json()["access_token"],
        {"credential_configuration_id": config, "proofs": {"jwt": [proof(issuer, holder)]}},
    )
    assert response.status_code == 200, response.text


# --- authorization_details in the Token Request (§6.1 example) -------------------------


def _details(config: str) -> str:
    return json.dumps([{"type": "openid_credential", "credential_configuration_id": config}])


def test_token_request_with_authorization_details_gets_credential_identifiers(
    issuer: TestClient,
) -> None:
    """§6.2: ``authorization_details`` is "REQUIRED when the ``authorization_details``
    parameter ... is used in either the Authorization Request or Token Request", with
    ``credential_identifiers``, which "The Wallet MUST use ... in subsequent Credential
    Requests" (the §6.1 example Token Request of the pre-authorized flow carries one)."""
    config = _config(issuer)
    made = offer(issuer, config, persona_of(issuer, config))
    code = made["credential_offer"]["grants"][PRE]["pre-authorized_code"]
    response = issuer.post(
        "/token",
        data={
            "grant_type": PRE,
            "pre-authorized_code": code,
            "tx_code": made["tx_code"],
            "authorization_details": _details(config),
        },
    )
    assert response.status_code == 200, response.text
    body = response.json()
    (detail,) = body["authorization_details"]
    assert detail["type"] == "openid_credential"
    assert detail["credential_configuration_id"] == config
    (identifier,) = detail["credential_identifiers"]
    holder = ec.generate_private_key(ec.SECP256R1())
    bearer = body["access_token"]
    by_config = credential(
        issuer,
        bearer,
        {"credential_configuration_id": config, "proofs": {"jwt": [proof(issuer, holder)]}},
    )
    # §8.2: credential_configuration_id "MUST NOT be used" once identifiers were returned.
    assert by_config.status_code in (400, 403), by_config.text
    issued = credential(
        issuer,
        bearer,
        {"credential_identifier": identifier, "proofs": {"jwt": [proof(issuer, holder)]}},
    )
    assert issued.status_code == 200, issued.text
    assert len(issued.json()["credentials"]) == 1


def test_token_request_asking_for_a_configuration_not_offered_is_refused(
    issuer: TestClient,
) -> None:
    config = _config(issuer)
    made = offer(issuer, config, persona_of(issuer, config))
    code = made["credential_offer"]["grants"][PRE]["pre-authorized_code"]
    metadata = issuer.get("/.well-known/openid-credential-issuer").json()
    other = next(c for c in metadata["credential_configurations_supported"] if c != config)
    response = issuer.post(
        "/token",
        data={
            "grant_type": PRE,
            "pre-authorized_code": code,
            "tx_code": made["tx_code"],
            "authorization_details": _details(other),
        },
    )
    assert response.status_code == 400, response.text
    assert response.json()["error"] == "invalid_authorization_details"


def test_authorization_details_at_par_are_answered_in_the_token_response(
    issuer: TestClient,
) -> None:
    _skip_haip_code_grant(issuer)
    config = _config(issuer)
    verifier = secrets.token_urlsafe(48)
    challenge = (
        base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    )
    par = issuer.post(
        "/par",
        data={
            "response_type": "code",
            "client_id": CLIENT_ID,
            "redirect_uri": "http://127.0.0.1/cb",
            "code_challenge": challenge,
            "code_challenge_method": "S256",
            "authorization_details": _details(config),
        },
    )
    assert par.status_code == 201, par.text
    request_uri = par.json()["request_uri"]
    login = issuer.post(
        "/authorize",
        data={"request_uri": request_uri, "persona": persona_of(issuer, config)},
        follow_redirects=False,
    )
    assert login.status_code == 303, login.text
    code = parse_qs(urlsplit(login.headers["location"]).query)["code"][0]
    token = issuer.post(
        "/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": "http://127.0.0.1/cb",
            "code_verifier": verifier,
            "client_id": CLIENT_ID,
        },
    )
    assert token.status_code == 200, token.text
    (detail,) = token.json()["authorization_details"]
    assert detail["credential_configuration_id"] == config
    assert detail["credential_identifiers"]
