"""The wallet receives from both issuers over real loopback HTTP, checks each
credential's signature, trust and schema, and refuses, with a reason code, what it
cannot trust."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import Stack


def _offer(stack: Stack, issuer: str, config: str, persona: str, **options: object) -> dict:  # type: ignore[type-arg]
    return stack.offer(issuer, config, persona, **options)


@pytest.mark.parametrize(
    ("issuer", "config", "persona"),
    [
        ("eu-issuer", "eu-pid-sd-jwt", "zoe-lefevre-dubois"),
        ("eu-issuer", "eu-legal-person-sd-jwt", "atelier-brule"),
        ("ca-issuer", "ca-person-sd-jwt", "aiyana-stonechild"),
        ("ca-issuer", "ca-business-registration-jwt-vc", "boulangerie-cote"),
    ],
)
def test_wallet_accepts_trusted_credentials(
    stack: Stack, issuer: str, config: str, persona: str
) -> None:
    made = _offer(stack, issuer, config, persona)
    link = next(iter(made["links"].values()))
    answer = httpx.post(
        f"{stack.urls['wallet']}/api/offers",
        json={"offer": link, "tx_code": made["tx_code"]},
        timeout=120,
    )
    outcome = answer.json()["outcomes"][0]
    assert outcome["accepted"], outcome
    steps = {s["step"]: s["outcome"] for s in outcome["steps"]}
    assert steps["signature"] == "passed"
    assert steps["authorized"] == "passed"
    held = httpx.get(f"{stack.urls['wallet']}/api/credentials").json()
    assert any(c["credential_id"] == outcome["credential_id"] for c in held)


@pytest.mark.parametrize(
    ("issuer", "config", "persona"),
    [
        ("ca-issuer", "ca-person-sd-jwt", "rajinder-dhillon"),
        ("eu-issuer", "eu-pid-sd-jwt", "zoe-lefevre-dubois"),
    ],
)
def test_wallet_runs_the_authorization_code_flow(
    stack: Stack, issuer: str, config: str, persona: str
) -> None:
    made = _offer(stack, issuer, config, persona, grant="authorization_code")
    answer = httpx.post(
        f"{stack.urls['wallet']}/api/offers",
        json={"offer": made["credential_offer_uri"], "persona": persona},
        timeout=120,
    )
    outcome = answer.json()["outcomes"][0]
    assert outcome["accepted"], outcome
    steps = " | ".join(outcome.get("issuance_steps", []))
    if issuer == "eu-issuer":
        # The EU code grant is HAIP's: every step shows in what the wallet reports.
        for step in ("wallet attestation", "PAR", "DPoP nonce", "DPoP-bound", "key attestation"):
            assert step in steps, steps
        assert "encrypted credential response" in steps
        assert "credential request encrypted" in steps


def test_wallet_refuses_with_a_reason_and_keeps_the_refusal(stack: Stack) -> None:
    made = _offer(stack, "ca-issuer", "ca-person-sd-jwt", "aiyana-stonechild")
    answer = httpx.post(
        f"{stack.urls['wallet']}/api/offers",
        json={
            "offer": made["credential_offer_uri"],
            "tx_code": "000000" if made["tx_code"] != "000000" else "1",
        },
        timeout=120,
    )
    outcome = answer.json()["outcomes"][0]
    assert outcome["accepted"] is False
    assert outcome["stage"] == "issuance"
    decisions = httpx.get(f"{stack.urls['wallet']}/api/decisions").json()
    assert any(d["decision_id"] == outcome["decision_id"] for d in decisions)
