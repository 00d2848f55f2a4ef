"""The wallet receives from both issuers over real loopback HTTP, checks each
credential's signature, trust and schema, and refuses, with a reason code, what it
cannot trust."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.catalog import data_root
from services.launcher import start_stack
from services.pki import init_pki
from services.runtime import utc_now
from services.trust.build import build_with_pki

ROLES = ("trust", "ca-issuer", "eu-issuer", "wallet")


def _ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [int(s.getsockname()[1]) for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    data_dir: Path = tmp_path_factory.mktemp("stack")
    hosts = {
        role: f"http://127.0.0.1:{port}"
        for role, port in zip(ROLES, _ports(len(ROLES)), strict=True)
    }
    init_pki(data_dir, now=utc_now(), hosts=hosts)
    build_with_pki(data_dir=data_dir, sources=data_root() / "trust_lists", now=utc_now())
    running = start_stack(data_dir=data_dir, hosts=hosts, roles=ROLES)
    try:
        yield running.urls
    finally:
        running.stop()


def _offer(
    stack: dict[str, str], issuer: str, config: str, persona: str, **options: object
) -> dict:  # type: ignore[type-arg]
    body = {
        "credential_configuration_ids": [config],
        "persona": persona,
        "tx_code": True,
        **options,
    }
    response = httpx.post(f"{stack[issuer]}/offers", json=body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


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
    stack: dict[str, str], issuer: str, config: str, persona: str
) -> None:
    made = _offer(stack, issuer, config, persona)
    link = next(iter(made["links"].values()))
    answer = httpx.post(
        f"{stack['wallet']}/api/offers",
        json={"offer": link, "tx_code": made["tx_code"]},
        timeout=30,
    )
    outcome = answer.json()["outcomes"][0]
    assert outcome["accepted"], outcome
    steps = {s["step"]: s["outcome"] for s in outcome["steps"]}
    assert steps["signature"] == "passed"
    assert steps["authorized"] == "passed"
    held = httpx.get(f"{stack['wallet']}/api/credentials").json()
    assert any(c["credential_id"] == outcome["credential_id"] for c in held)


def test_wallet_runs_the_authorization_code_flow(stack: dict[str, str]) -> None:
    made = _offer(
        stack, "ca-issuer", "ca-person-sd-jwt", "rajinder-dhillon", grant="authorization_code"
    )
    answer = httpx.post(
        f"{stack['wallet']}/api/offers",
        json={"offer": made["credential_offer_uri"], "persona": "rajinder-dhillon"},
        timeout=30,
    )
    outcome = answer.json()["outcomes"][0]
    assert outcome["accepted"], outcome


def test_wallet_refuses_with_a_reason_and_keeps_the_refusal(stack: dict[str, str]) -> None:
    made = _offer(stack, "ca-issuer", "ca-person-sd-jwt", "aiyana-stonechild")
    answer = httpx.post(
        f"{stack['wallet']}/api/offers",
        json={
            "offer": made["credential_offer_uri"],
            "tx_code": "000000" if made["tx_code"] != "000000" else "1",
        },
        timeout=30,
    )
    outcome = answer.json()["outcomes"][0]
    assert outcome["accepted"] is False
    assert outcome["stage"] == "issuance"
    decisions = httpx.get(f"{stack['wallet']}/api/decisions").json()
    assert any(d["decision_id"] == outcome["decision_id"] for d in decisions)
