"""The suite's own issuer (the VCI wallet plan's counterpart) holds the rules it judges
wallets by: a nonce is spent once, refusals name their reason, the bearer scheme is read
case-insensitively, and its clock is the run's."""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle.conformance._issuer_role import SuiteIssuer, pkce_problem
from passerelle.jose import KeySigner, public_jwk
from passerelle.oid4vci import PRE_AUTHORIZED_CODE_GRANT, create_jwt_proof

VCT = "https://credentials.passerelle.example/test/v1"


def _proof(issuer: SuiteIssuer, key: ec.EllipticCurvePrivateKey, nonce: str, now: datetime) -> str:
    return create_jwt_proof(
        signer=KeySigner(key),
        holder_jwk=public_jwk(key.public_key()),
        audience=issuer.url,
        nonce=nonce,
        now=now,
    )


def test_a_nonce_is_spent_once_and_refusals_name_their_reason() -> None:
    now = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    with SuiteIssuer(vct=VCT, issue=lambda _key: "credential", clock=lambda: now) as issuer:
        token = httpx.post(
            f"{issuer.url}/token",
            data={
                "grant_type": PRE_AUTHORIZED_CODE_GRANT,
                "pre-authorized_code": issuer.state.pre_authorized_code,
            },
        ).json()["access_token"]
        # Lower-case scheme: RFC 7235 §2.1 makes the scheme case-insensitive.
        auth = {"Authorization": f"bearer {token}"}
        nonce = httpx.post(f"{issuer.url}/nonce").json()["c_nonce"]
        body = {"proofs": {"jwt": [_proof(issuer, key, nonce, now)]}}
        first = httpx.post(f"{issuer.url}/credential", json=body, headers=auth)
        assert first.status_code == 200, first.text
        replay = {"proofs": {"jwt": [_proof(issuer, key, nonce, now + timedelta(seconds=1))]}}
        again = httpx.post(f"{issuer.url}/credential", json=replay, headers=auth)
        assert again.status_code == 400
        assert again.json()["error"] == "invalid_nonce"
        assert again.json()["reason"].startswith("oid4vci.")
        missing = httpx.post(f"{issuer.url}/credential", json={}, headers=auth)
        assert missing.json()["reason"] == "oid4vci.proof_missing"


def test_proofs_are_judged_on_the_runs_clock() -> None:
    now = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    later = now + timedelta(days=1)  # the run's clock, a day ahead of the proof
    with SuiteIssuer(vct=VCT, issue=lambda _key: "credential", clock=lambda: later) as issuer:
        token = issuer.state.access_token
        nonce = httpx.post(f"{issuer.url}/nonce").json()["c_nonce"]
        body = {"proofs": {"jwt": [_proof(issuer, key, nonce, now)]}}
        stale = httpx.post(
            f"{issuer.url}/credential", json=body, headers={"Authorization": f"Bearer {token}"}
        )
        assert stale.status_code == 400
        assert stale.json()["error"] == "invalid_proof"


def test_the_code_flow_judges_pkce_and_a_deferred_answer_comes_once() -> None:
    verifier = "v" * 43
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    s256 = challenge.rstrip(b"=").decode()
    assert pkce_problem({"code_challenge": s256, "code_challenge_method": "S256"}, verifier) is None
    assert "S256" in str(pkce_problem({"code_challenge": verifier}, verifier))  # plain
    assert pkce_problem({"code_challenge": s256, "code_challenge_method": "S256"}, "w" * 43)
    assert pkce_problem({}, verifier)
    now = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    with SuiteIssuer(
        vct=VCT,
        issue=lambda _key: "credential",
        clock=lambda: now,
        authorization_code=True,
        deferred=True,
    ) as issuer:
        assert issuer.metadata()["deferred_credential_endpoint"].endswith("/deferred_credential")
        pushed = {
            "response_type": "code",
            "client_id": "wallet",
            "redirect_uri": "https://wallet.example/cb",
            "code_challenge": s256,
            "code_challenge_method": "S256",
            "state": "xyz",
        }
        request_uri = httpx.post(f"{issuer.url}/par", data=pushed).json()["request_uri"]
        login = httpx.post(f"{issuer.url}/authorize", data={"request_uri": request_uri})
        assert login.status_code == 303
        back = parse_qs(urlsplit(login.headers["location"]).query)
        assert back["state"] == ["xyz"]
        form = {
            "grant_type": "authorization_code",
            "code": back["code"][0],
            "redirect_uri": "https://wallet.example/cb",
            "code_verifier": "w" * 43,
        }
        wrong = httpx.post(f"{issuer.url}/token", data=form)
        assert wrong.json()["error"] == "invalid_grant"
        assert issuer.state.pkce_problems  # what the check judges the wallet by
        login = httpx.post(f"{issuer.url}/authorize", data={"request_uri": request_uri})
        code = parse_qs(urlsplit(login.headers["location"]).query)["code"][0]
        token = httpx.post(
            f"{issuer.url}/token", data={**form, "code": code, "code_verifier": verifier}
        ).json()["access_token"]
        auth = {"Authorization": f"Bearer {token}"}
        nonce = httpx.post(f"{issuer.url}/nonce").json()["c_nonce"]
        body = {
            "proofs": {
                "jwt": [
                    create_jwt_proof(
                        signer=KeySigner(key),
                        holder_jwk=public_jwk(key.public_key()),
                        audience=issuer.url,
                        nonce=nonce,
                        now=now,
                        client_id="wallet",
                    )
                ]
            }
        }
        deferred = httpx.post(f"{issuer.url}/credential", json=body, headers=auth)
        assert deferred.status_code == 202
        tid = deferred.json()["transaction_id"]
        unknown = httpx.post(
            f"{issuer.url}/deferred_credential", json={"transaction_id": "x"}, headers=auth
        )
        assert unknown.json()["error"] == "invalid_transaction_id"
        ready = httpx.post(
            f"{issuer.url}/deferred_credential", json={"transaction_id": tid}, headers=auth
        )
        assert ready.json()["credentials"] == [{"credential": "credential"}]
        again = httpx.post(
            f"{issuer.url}/deferred_credential", json={"transaction_id": tid}, headers=auth
        )
        assert again.status_code == 400
