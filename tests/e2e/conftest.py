"""The whole stack on loopback ports, once per test module: trust service, both
issuers, the wallet, both verifiers, on a fresh data directory."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from passerelle.services.catalog import data_root
from passerelle.services.launcher import ROLES, start_stack
from passerelle.services.pki import init_pki
from passerelle.services.runtime import utc_now
from passerelle.services.scenarios import StackClient, free_ports, stack_hosts
from passerelle.services.trust.build import build_with_pki


class Stack(StackClient):
    """The scenario client, with the assertions tests want on every step."""

    def receive(
        self, issuer: str, config: str, persona: str, *, grant: str | None = None
    ) -> dict[str, Any]:
        outcome = super().receive(issuer, config, persona, grant=grant)
        assert outcome["accepted"], outcome
        return outcome

    def transaction(
        self, verifier: str, policy: str | None = None, **options: Any
    ) -> dict[str, Any]:  # type: ignore[override]
        return super().transaction(verifier, **({"policy": policy} if policy else {}), **options)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("stack")
    hosts = stack_hosts(free_ports(len(ROLES)))
    init_pki(data_dir, now=utc_now(), hosts=hosts)
    build_with_pki(data_dir=data_dir, sources=data_root() / "trust_lists", now=utc_now())
    running = start_stack(data_dir=data_dir, hosts=hosts, roles=ROLES)
    try:
        yield Stack(urls=running.urls, data_dir=data_dir, timeout=300.0)
    finally:
        running.stop()
