"""The trust service over HTTP, and the CLI that prepares it, on a fresh data directory."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from passerelle.cli import app as cli
from passerelle.services.pki import load_pki
from passerelle.services.trust.app import create_trust_app
from passerelle.trust import verify_lote

SOURCES = Path(__file__).parents[2] / "trust_lists"
CA_PERSON = "https://credentials.passerelle.example/ca/person/v1"
runner = CliRunner()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("data")
    result = runner.invoke(cli, ["init", "--data-dir", str(path)])
    assert result.exit_code == 0, result.output
    return path


@pytest.fixture
def client(data_dir: Path) -> TestClient:
    return TestClient(create_trust_app(data_dir=data_dir, sources=SOURCES))


def test_init_is_idempotent(data_dir: Path) -> None:
    before = {p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}
    result = runner.invoke(cli, ["init", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "already built" in result.output
    after = {p: p.read_bytes() for p in data_dir.rglob("*") if p.is_file()}
    assert before == after


def test_health_states_versions_and_transport(client: TestClient) -> None:
    body = client.get("/health").json()
    assert body["transport"] == "http"
    assert "TRQP v2.0" in body["versions"]["trqp"]
    assert "119 602" in body["versions"]["lists_of_trusted_entities"]


def test_lists_are_published_with_caching_headers(client: TestClient, data_dir: Path) -> None:
    response = client.get("/eu/pid-providers.jwt")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/jose")
    # Rebuilt lists must reach relying services at once: caches revalidate every time.
    assert "no-cache" in response.headers["cache-control"]
    etag = response.headers["etag"]
    assert client.get("/eu/pid-providers.jwt", headers={"If-None-Match": etag}).status_code == 304
    pki = load_pki(data_dir)
    lote = verify_lote(response.text, operator_anchors=[pki.anchor("eu-lote-operator")], now=_now())
    assert lote.services[0].credential_types == ("urn:eudi:pid:1",)
    assert client.get("/eu/no-such-list.jwt").status_code == 404
    assert client.get("/ca/registry.jwt").status_code == 200


def _now():  # type: ignore[no-untyped-def]
    from passerelle.services.runtime import utc_now

    return utc_now()


def test_trqp_answers_from_the_built_registry(client: TestClient, data_dir: Path) -> None:
    hosts = load_pki(data_dir).hosts
    query = {
        "entity_id": hosts["ca-issuer"],
        "authority_id": hosts["trust"] + "/ca",
        "action": "issue",
        "resource": CA_PERSON,
    }
    answer = client.post("/ca/authorization", json=query)
    assert answer.status_code == 200, answer.text
    assert answer.json()["authorized"] is True
    assert "signed_answer" in answer.json()
    unknown = client.post("/ca/authorization", json={**query, "entity_id": "https://nobody.test"})
    assert unknown.status_code == 404
    assert unknown.headers["content-type"].startswith("application/problem+json")
    assert unknown.json()["reason"] == "trqp.unknown_entity"
    assert client.post("/ca/authorization", json={"entity_id": 3}).status_code == 400


def test_rebuild_is_picked_up_without_restart(client: TestClient, data_dir: Path) -> None:
    first = client.get("/eu/pubeaa-providers.jwt")
    result = runner.invoke(cli, ["trust", "build", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    second = client.get("/eu/pubeaa-providers.jwt")
    assert second.headers["etag"] != first.headers["etag"]
    pki = load_pki(data_dir)
    anchors = [pki.anchor("eu-lote-operator")]
    old = verify_lote(first.text, operator_anchors=anchors, now=_now())
    new = verify_lote(second.text, operator_anchors=anchors, now=_now())
    assert new.sequence_number == old.sequence_number + 1


def test_recognition_agreements_are_served(client: TestClient) -> None:
    body = client.get("/recognition/eu-recognizes-ca.json").json()
    assert body["pointing_party"]["framework"] == "eu"
    assert client.get("/recognition/nope.json").status_code == 404


def test_trust_verify_cli_catches_a_tampered_list(data_dir: Path, tmp_path: Path) -> None:
    token = (data_dir / "trust" / "eu" / "pid-providers.jwt").read_text()
    head, body, sig = token.split(".")
    tampered = tmp_path / "tampered.jwt"
    tampered.write_text(f"{head}.{body[:-4]}AAAA.{sig}")
    result = runner.invoke(
        cli, ["trust", "verify", str(tampered), "--data-dir", str(data_dir), "--json"]
    )
    assert result.exit_code == 1
    assert json.loads(result.output)["reason"] in (
        "trust.list_signature_invalid",
        "trust.list_malformed",
    )
    good = runner.invoke(
        cli,
        [
            "trust",
            "verify",
            str(data_dir / "trust" / "ca" / "registry.jwt"),
            "--data-dir",
            str(data_dir),
        ],
    )
    assert good.exit_code == 0, good.output


def test_a_registry_that_goes_stale_while_loaded_fails_closed(data_dir: Path) -> None:
    from datetime import timedelta

    clock = {"now": _now()}
    client = TestClient(
        create_trust_app(data_dir=data_dir, sources=SOURCES, clock=lambda: clock["now"])
    )
    hosts = load_pki(data_dir).hosts
    query = {
        "entity_id": hosts["ca-issuer"],
        "authority_id": hosts["trust"] + "/ca",
        "action": "issue",
        "resource": CA_PERSON,
    }
    assert client.post("/ca/authorization", json=query).json()["authorized"] is True
    clock["now"] += timedelta(days=45)  # past NextUpdate, with the registry already loaded
    stale = client.post("/ca/authorization", json=query)
    assert stale.status_code == 503
    assert stale.json()["reason"] == "trust.list_stale"
