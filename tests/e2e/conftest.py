"""The whole stack on loopback ports, once per test module: trust service, both
issuers, the wallet, both verifiers, on a fresh data directory."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.catalog import data_root
from services.launcher import start_stack
from services.pki import init_pki
from services.runtime import utc_now
from services.trust.build import build_with_pki

ROLES = ("trust", "ca-issuer", "eu-issuer", "wallet", "ca-verifier", "eu-verifier")


def free_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [int(s.getsockname()[1]) for s in sockets]
    for s in sockets:
        s.close()
    return ports


@dataclass
class Stack:
    urls: dict[str, str]
    data_dir: Path

    def offer(self, issuer: str, config: str, persona: str, **options: Any) -> dict[str, Any]:
        body = {
            "credential_configuration_ids": [config],
            "persona": persona,
            "tx_code": True,
            **options,
        }
        response = httpx.post(f"{self.urls[issuer]}/offers", json=body)
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def receive(self, issuer: str, config: str, persona: str) -> dict[str, Any]:
        made = self.offer(issuer, config, persona)
        answer = httpx.post(
            f"{self.urls['wallet']}/api/offers",
            json={"offer": next(iter(made["links"].values())), "tx_code": made["tx_code"]},
            timeout=30,
        )
        outcome = answer.json()["outcomes"][0]
        assert outcome["accepted"], outcome
        return outcome  # type: ignore[no-any-return]

    def transaction(self, verifier: str, policy: str, **options: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{self.urls[verifier]}/transactions", json={"policy": policy, **options}
        )
        assert response.status_code == 201, response.text
        return response.json()  # type: ignore[no-any-return]

    def present(self, request_url: str, consent: str = "minimal") -> dict[str, Any]:
        answer = httpx.post(
            f"{self.urls['wallet']}/api/presentations",
            json={"request": request_url, "consent": consent},
            timeout=30,
        )
        return answer.json()  # type: ignore[no-any-return]

    def result(self, verifier: str, transaction_id: str) -> dict[str, Any]:
        return httpx.get(f"{self.urls[verifier]}/transactions/{transaction_id}").json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("stack")
    ports = free_ports(len(ROLES))
    hosts = {
        role: f"http://{'localhost' if 'verifier' in role else '127.0.0.1'}:{port}"
        for role, port in zip(ROLES, ports, strict=True)
    }
    init_pki(data_dir, now=utc_now(), hosts=hosts)
    build_with_pki(data_dir=data_dir, sources=data_root() / "trust_lists", now=utc_now())
    running = start_stack(data_dir=data_dir, hosts=hosts, roles=ROLES)
    try:
        yield Stack(urls=running.urls, data_dir=data_dir)
    finally:
        running.stop()
