"""Partners join a running stack: a partner file plus `passerelle trust build`, no
restart, and within 30 s the wallet accepts the partner's credentials and answers the
partner verifier's requests.

The partners are systems this stack did not set up:

- an EU PID issuer with a CA of its own: Passerelle's issuer code run on a data
  directory of its own (its PKI is generated there, so its CA is on no list);
- a verifier whose access certificates come from a CA generated in the test, signing
  its requests with the conformance suite's independent verifier (not services/);
- a Canadian issuer under an identifier of its own, with its own key in its JWT VC
  Issuer Metadata.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import JsonObject
from passerelle.conformance._verifier_role import SuiteVerifier, VerifierIdentity
from passerelle.jose import KeySigner
from passerelle.services.catalog import data_root
from passerelle.services.launcher import RunningStack, start_stack
from passerelle.services.pki import init_pki, load_pki
from passerelle.services.runtime import SecretsRandom, utc_now
from passerelle.services.scenarios import StackClient, free_ports, stack_hosts
from passerelle.services.trust.build import build_with_pki
from passerelle.x509 import (
    LeafUsage,
    build_ca_certificate,
    build_leaf_certificate,
    build_name,
    certificate_to_pem,
    draw_serial_number,
    encode_x5c,
)

PASSERELLE = [sys.executable, "-c", "from passerelle.cli import main; main()"]
ROLES = ("trust", "eu-issuer", "wallet", "ca-verifier", "eu-verifier")
# The acceptance bound; the stack's own freshness check runs every two seconds.
WITHIN = 30.0
PID_QUERY: JsonObject = {
    "credentials": [
        {
            "id": "pid",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["urn:eudi:pid:1"]},
            "claims": [{"path": ["given_name"]}],
        }
    ]
}


@dataclass
class World:
    data_dir: Path
    sources: Path
    client: StackClient
    stacks: list[RunningStack]

    def build(self) -> None:
        """What the partner's operator runs: the CLI, against the running stack's data."""
        command = ["trust", "build", "--data-dir", str(self.data_dir), "--sources"]
        done = subprocess.run(
            [*PASSERELLE, *command, str(self.sources)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr

    def add_partner(self, name: str, text: str) -> None:
        (self.sources / "partners" / name).write_text(text)
        self.build()

    def start_partner(self, role: str, directory: Path) -> str:
        """Passerelle's own service code as a partner's system, on a PKI of its own."""
        [port] = free_ports(1)
        url = f"http://127.0.0.1:{port}"
        init_pki(directory, now=utc_now(), hosts={role: url})
        running = start_stack(data_dir=directory, hosts={role: url}, roles=[role])
        self.stacks.append(running)
        self.client.urls[f"partner-{role}"] = url
        return url


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    root = tmp_path_factory.mktemp("partners")
    sources = root / "trust_lists"
    shutil.copytree(data_root() / "trust_lists", sources)
    data_dir = root / "stack"
    from passerelle.services.launcher import ROLES as ALL_ROLES

    hosts = stack_hosts(free_ports(len(ALL_ROLES)), ALL_ROLES)
    init_pki(data_dir, now=utc_now(), hosts=hosts)
    build_with_pki(data_dir=data_dir, sources=sources, now=utc_now())
    running = start_stack(data_dir=data_dir, hosts=hosts, roles=ROLES)
    world = World(
        data_dir=data_dir,
        sources=sources,
        client=StackClient(urls=dict(running.urls), data_dir=data_dir),
        stacks=[running],
    )
    try:
        yield world
    finally:
        for stack in reversed(world.stacks):
            stack.stop()


def _eventually(
    attempt: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool]
) -> tuple[dict[str, Any], float]:
    """Try until ``done`` or :data:`WITHIN` seconds; the last answer and the time taken."""
    start = time.monotonic()
    while True:
        answer = attempt()
        elapsed = time.monotonic() - start
        if done(answer) or elapsed > WITHIN:
            return answer, elapsed
        time.sleep(0.5)


def _entity(name: str, list_name: str, certificate_pem: str, extra: str = "") -> str:
    pem = "\n".join(f"          {line}" for line in certificate_pem.strip().splitlines())
    return f"""framework: eu
list: {list_name}
entity:
  name: {name}
  trade_name:
    - VATNO-987654321
  member_state: NO
  address:
    postal:
      street: Karl Johans gate 1
      locality: Oslo
      postal_code: 0154
      country: NO
    electronic:
      - mailto:trust@nordlys.example
  information_uris:
    - https://nordlys.example/terms
  services:
    - name: {name} service
      type: issuance
      certificate:
        pem: |
{pem}
{extra}"""


def test_an_eu_pid_issuer_joins_while_the_stack_runs(world: World, tmp_path: Path) -> None:
    world.start_partner("eu-issuer", tmp_path / "partner-pid")
    partner_ca = load_pki(tmp_path / "partner-pid").certificate("eu-pid-provider-ca")

    before = world.client.receive("partner-eu-issuer", "eu-pid-sd-jwt", "zoe-lefevre-dubois")
    assert before["accepted"] is False
    assert before["reason"] == "x509.chain_invalid", before
    step = next(s for s in before["steps"] if s["outcome"] == "failed")
    assert {"list": "pid-providers", "sequence": 1} in step["evidence"]["lists"]

    world.add_partner(
        "nordlys-pid.yaml",
        _entity(
            "Nordlys ID AS",
            "pid-providers",
            certificate_to_pem(partner_ca),
            extra="      credential_types:\n        - urn:eudi:pid:1\n",
        ),
    )
    after, elapsed = _eventually(
        lambda: world.client.receive("partner-eu-issuer", "eu-pid-sd-jwt", "zoe-lefevre-dubois"),
        lambda o: o.get("accepted") is True,
    )
    assert after["accepted"] is True, after
    assert elapsed <= WITHIN
    home = next(s for s in after["steps"] if s["step"] == "home_framework")
    assert home["evidence"]["entity"] == "Nordlys ID AS"

    # The EU verifier takes it too, through the same lists.
    tx = world.client.transaction("eu-verifier", policy="pid-equivalent")
    answered = world.client.present(tx["request_url"])
    assert answered["accepted"] is True, answered
    result = world.client.result("eu-verifier", tx["transaction_id"])
    assert result["result"]["accepted"] is True, result


def _access_ca() -> tuple[Any, ec.EllipticCurvePrivateKey]:
    now, random = utc_now(), SecretsRandom()
    key = ec.generate_private_key(ec.SECP256R1())
    ca = build_ca_certificate(
        subject=build_name(
            common_name="Nordlys Access CA", organization="Nordlys Tilgang AS", country="NO"
        ),
        key=key,
        not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=30),
        serial=draw_serial_number(random),
        path_length=0,
    )
    return ca, key


def _verifier_identity(ca: Any, ca_key: ec.EllipticCurvePrivateKey) -> VerifierIdentity:
    now = utc_now()
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = build_leaf_certificate(
        subject=build_name(common_name="Nordlys verifier", organization="Nordlys Tilgang AS"),
        public_key=key.public_key(),
        issuer_cert=ca,
        issuer_key=ca_key,
        not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=1),
        serial=draw_serial_number(SecretsRandom()),
        usage=LeafUsage.ACCESS,
        dns_names=["localhost"],
    )
    return VerifierIdentity(signer=KeySigner(key), x5c=tuple(encode_x5c([leaf])), leaf=leaf)


def test_a_partner_verifier_joins_the_wrpac_list_while_the_stack_runs(world: World) -> None:
    # The wallet holds a PID from the stack's own issuer to answer with.
    assert world.client.receive("eu-issuer", "eu-pid-sd-jwt", "zoe-lefevre-dubois")["accepted"]
    ca, ca_key = _access_ca()
    identity = _verifier_identity(ca, ca_key)
    with SuiteVerifier(host="localhost") as verifier:

        def ask() -> dict[str, Any]:
            pending = verifier.create_request(
                identity=identity,
                client_id="x509_san_dns:localhost",
                dcql_query=PID_QUERY,
                now=utc_now(),
            )
            answer = httpx.post(
                f"{world.client.urls['wallet']}/api/presentations",
                json={"request": pending.link, "consent": "minimal"},
                timeout=60,
            ).json()
            arrived = verifier.wait_for_arrival(pending, timeout=5 if "pending_id" in answer else 0)
            return {**answer, "arrived": [a.carries_presentation for a in arrived]}

        before = ask()
        assert before["accepted"] is False
        assert before["stage"] == "request"
        assert before["reason"] == "x509.chain_invalid", before
        assert "wrpac-providers" in before["detail"]  # the refusal names the list to join
        assert before["arrived"] == []

        world.add_partner(
            "nordlys-verifier.yaml",
            _entity("Nordlys Tilgang AS", "wrpac-providers", certificate_to_pem(ca)),
        )
        after, elapsed = _eventually(ask, lambda a: a.get("arrived") == [True])
        assert after["arrived"] == [True], after
        assert elapsed <= WITHIN


def test_a_canadian_issuer_joins_the_registry_while_the_stack_runs(
    world: World, tmp_path: Path
) -> None:
    iss = world.start_partner("ca-issuer", tmp_path / "partner-ca")
    before = world.client.receive("partner-ca-issuer", "ca-person-sd-jwt", "eloise-tremblay-gagnon")
    assert before["accepted"] is False
    # Its metadata is not even fetched: the refusal names the registry entry missing.
    assert before["reason"] == "sd_jwt_vc.issuer_key_unresolved"
    step = next(s for s in before["steps"] if s["outcome"] == "failed")
    assert step["evidence"]["registry"]["entity_id"] == iss

    sample = (world.sources / "partners" / "ca-issuer.yaml.sample").read_text()
    filled = {
        "<your organisation>": "Nordlys Canada Inc.",
        "<your issuer identifier, your credentials' iss>": iss.removeprefix("http://"),
        "<from, e.g. 2026-01-01T00:00:00Z>": "2026-01-01T00:00:00Z",
        "<until, e.g. 2028-01-01T00:00:00Z>": "2030-01-01T00:00:00Z",
    }
    for placeholder, value in filled.items():
        sample = sample.replace(placeholder, value)
    # The stack runs on plain http loopback, so is this partner's identifier.
    sample = sample.replace(f"https://{iss.removeprefix('http://')}", iss)
    assert not re.search(r"^[^#]*<[^<>]+>", sample, flags=re.MULTILINE)
    world.add_partner("nordlys-ca.yaml", sample)
    after, elapsed = _eventually(
        lambda: world.client.receive(
            "partner-ca-issuer", "ca-person-sd-jwt", "eloise-tremblay-gagnon"
        ),
        lambda o: o.get("accepted") is True,
    )
    assert after["accepted"] is True, after
    assert elapsed <= WITHIN
