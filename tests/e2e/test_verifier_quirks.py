"""Each verifier quirk breaks exactly the requirement it names: a presentation the
clean verifier refuses is accepted by the quirky one (on stacks of their own)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle.sd_jwt import present_sd_jwt
from passerelle.services.catalog import data_root
from passerelle.services.launcher import ROLES, start_stack
from passerelle.services.pki import init_pki
from passerelle.services.runtime import utc_now
from passerelle.services.scenarios import free_ports, stack_hosts
from passerelle.services.trust.build import build_with_pki
from passerelle.services.verifier.quirks import VerifierQuirk
from tests.e2e.conftest import Stack
from tests.e2e.test_verifier_negatives import PID_PATHS, _bind, _honest, _open, _pid, _send


@pytest.fixture(scope="module")
def quirky(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    data_dir = tmp_path_factory.mktemp("quirky")
    hosts = stack_hosts(free_ports(len(ROLES)))
    init_pki(data_dir, now=utc_now(), hosts=hosts)
    build_with_pki(data_dir=data_dir, sources=data_root() / "trust_lists", now=utc_now())
    running = start_stack(
        data_dir=data_dir,
        hosts=hosts,
        roles=ROLES,
        # require_cnf_kid refuses what a clean verifier accepts (every credential here has
        # a minimal cnf.jwk): it would hide the acceptances these tests look for.
        quirks={
            "ca-verifier": [q for q in VerifierQuirk if q is not VerifierQuirk.REQUIRE_CNF_KID]
        },
    )
    try:
        yield Stack(urls=running.urls, data_dir=data_dir)
    finally:
        running.stop()


def test_nonce_and_audience_quirks(stack: Stack, quirky: Stack) -> None:
    for target, expected in ((stack, 400), (quirky, 200)):
        holder = ec.generate_private_key(ec.SECP256R1())
        attempt = _open(target, "age-and-name")
        shown = present_sd_jwt(
            _pid(target, holder),
            disclose=PID_PATHS,
            key_binding=_bind(
                holder, attempt, nonce="someone-elses", audience="x509_san_dns:evil.example"
            ),
        )
        status, result = _send(target, attempt, "pid", shown)
        assert status == expected, result


def test_accept_replay_quirk(stack: Stack, quirky: Stack) -> None:
    for target, expected in ((stack, 400), (quirky, 200)):
        holder = ec.generate_private_key(ec.SECP256R1())
        attempt = _open(target, "age-and-name")
        shown = _honest(target, attempt, holder)
        assert _send(target, attempt, "pid", shown)[0] == 200
        assert _send(target, attempt, "pid", shown)[0] == expected


def test_skip_status_quirk(quirky: Stack) -> None:
    from tests.e2e.test_scenarios import LEGAL, _ask, _only

    quirky.receive("eu-issuer", "eu-legal-person-sd-jwt", "atelier-brule")
    quirky.admin("eu-issuer", "eu-legal-person-sd-jwt", "revoke")
    _, result = _ask(quirky, "ca-verifier", _only("legal_person", LEGAL, [["legal_name"]]))
    assert result["result"]["accepted"] is True, result  # the clean verifier: status.revoked


def test_every_verifier_quirk_is_on_the_quirky_stack(quirky: Stack) -> None:
    import httpx

    health = httpx.get(f"{quirky.urls['ca-verifier']}/health").json()
    assert set(health["quirks"]) == {q.value for q in VerifierQuirk} - {"require_cnf_kid"}
