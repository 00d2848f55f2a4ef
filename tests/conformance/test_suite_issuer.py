"""The suite's own issuer (the VCI wallet plan's counterpart) holds the rules it judges
wallets by: a nonce is spent once, refusals name their reason, the bearer scheme is read
case-insensitively, and its clock is the run's."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle.conformance._issuer_role import SuiteIssuer
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
