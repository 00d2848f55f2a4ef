"""A test-side wallet for the issuer: just enough OpenID4VCI to drive it from tests
(offers, token, key proofs, credential requests), built on the core's JOSE."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from passerelle.jose import KeySigner, public_jwk, sign_jws

PRE = "urn:ietf:params:oauth:grant-type:pre-authorized_code"


def proof(
    client: TestClient,
    key: ec.EllipticCurvePrivateKey,
    *,
    nonce: str | None = "fresh",
    aud: str | None = None,
    iat: datetime | None = None,
    typ: str = "openid4vci-proof+jwt",
) -> str:
    issuer = client.get("/.well-known/openid-credential-issuer").json()["credential_issuer"]
    if nonce == "fresh":
        nonce = client.post("/nonce").json()["c_nonce"]
    claims: dict[str, Any] = {
        "aud": aud or issuer,
        "iat": int((iat or datetime.now(UTC)).timestamp()),
    }
    if nonce is not None:
        claims["nonce"] = nonce
    return sign_jws({"typ": typ, "jwk": public_jwk(key)}, claims, KeySigner(key))


def offer(client: TestClient, config: str, persona: str, *, tx_code: bool = True) -> dict[str, Any]:
    response = client.post(
        "/offers",
        json={"credential_configuration_ids": [config], "persona": persona, "tx_code": tx_code},
    )
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def token(client: TestClient, made: dict[str, Any], *, tx_code: str | None = "same") -> Any:
    code = made["credential_offer"]["grants"][PRE]["pre-authorized_code"]
    form = {"grant_type": PRE, "pre-authorized_code": code}
    pin = made["tx_code"] if tx_code == "same" else tx_code
    if pin is not None:
        form["tx_code"] = pin
    return client.post("/token", data=form)


def access(client: TestClient, config: str, persona: str) -> str:
    response = token(client, offer(client, config, persona))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


def credential(client: TestClient, bearer: str, body: dict[str, Any]) -> Any:
    return client.post("/credential", json=body, headers={"Authorization": f"Bearer {bearer}"})


def persona_of(client: TestClient, config: str) -> str:
    from passerelle.services.catalog import load_catalog
    from passerelle.services.issuer.profile import load_profile

    profile_id = "ca-issuer" if config.startswith(("ca-", "conformity")) else "eu-issuer"
    profile = load_profile(profile_id, catalog=load_catalog())
    return sorted(load_catalog().types[profile.configurations[config].samples_type].samples)[0]
