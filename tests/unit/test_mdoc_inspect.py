"""``passerelle inspect`` on mdocs: an IssuerSigned and a DeviceResponse, base64url or
hex; elements shown; verified with --anchor (and the OpenID4VP request parameters for
device authentication); a tampered one exits 1 with its reason code."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from passerelle import mdoc
from passerelle._json import b64url_encode
from passerelle.cli import app
from passerelle.x509 import certificate_to_pem
from tests.unit.mdoc_world import CLIENT_ID, NONCE, NOW, RESPONSE_URI, World, retag_items

runner = CliRunner()
AT = str(int(NOW.timestamp()))


@pytest.fixture(scope="module")
def world() -> World:
    return World()


@pytest.fixture
def anchor(world: World, tmp_path: Path) -> Path:
    path = tmp_path / "iaca.pem"
    path.write_text(certificate_to_pem(world.iaca))
    return path


def _inspect(*args: str) -> tuple[int, dict[str, object]]:
    result = runner.invoke(app, ["inspect", *args, "--json", "--at", AT])
    return result.exit_code, json.loads(result.output)


def test_issuer_signed_decodes_and_verifies(world: World, anchor: Path) -> None:
    issued = b64url_encode(world.issue())
    code, report = _inspect(issued)
    assert code == 0
    assert report["format"] == "mso_mdoc"
    payload = report["payload"]
    assert isinstance(payload, dict)
    assert payload["kind"] == "IssuerSigned"
    assert payload["documents"][0]["docType"] == mdoc.DOCTYPE_MDL
    claims = report["claims"]
    assert isinstance(claims, dict)
    assert claims[mdoc.NAMESPACE_MDL]["birth_date"] == "1990-03-14"
    assert report["validity"]["state"] == "valid"  # type: ignore[index]
    assert report["verification"]["verified"] is False  # type: ignore[index]

    code, report = _inspect(issued, "--anchor", str(anchor))
    assert code == 0
    assert report["verification"]["verified"] is True  # type: ignore[index]


def test_device_response_as_hex_with_and_without_transcript(world: World, anchor: Path) -> None:
    response = world.present(world.issue(), "age_over_18").hex()
    code, report = _inspect(response, "--anchor", str(anchor))
    assert code == 0
    assert report["claims"] == {mdoc.NAMESPACE_MDL: {"age_over_18": True}}
    verification = report["verification"]
    assert isinstance(verification, dict)
    assert verification["verified"] is True
    assert str(verification["device_auth"]).startswith("not checked")

    bound = ["--aud", CLIENT_ID, "--nonce", NONCE, "--response-uri", RESPONSE_URI]
    code, report = _inspect(response, "--anchor", str(anchor), *bound)
    assert code == 0
    assert report["verification"]["device_auth"] == "signature"  # type: ignore[index]

    code, report = _inspect(response, "--anchor", str(anchor), *bound[:3], "other", *bound[4:])
    assert code == 1
    assert report["verification"]["reason"] == "mdoc.device_signature_invalid"  # type: ignore[index]


def test_tampered_mdoc_exits_1_with_its_reason(world: World, anchor: Path) -> None:
    def tamper(items: list[dict[str, object]]) -> None:
        items[0]["elementValue"] = "tampered"

    tampered = b64url_encode(retag_items(world.issue(), tamper))
    code, report = _inspect(tampered, "--anchor", str(anchor))
    assert code == 1
    assert report["verification"]["reason"] == "mdoc.digest_mismatch"  # type: ignore[index]


def test_bytes_are_shown_shortened(world: World) -> None:
    issued = world.issue(elements={"portrait": bytes(range(256)) * 4, "age_over_18": True})
    code, report = _inspect(b64url_encode(issued))
    assert code == 0
    portrait = report["claims"][mdoc.NAMESPACE_MDL]["portrait"]  # type: ignore[index]
    assert portrait.startswith("<1024 bytes: ")


def test_text_output_renders(world: World, anchor: Path) -> None:
    result = runner.invoke(
        app, ["inspect", b64url_encode(world.issue()), "--anchor", str(anchor), "--at", AT]
    )
    assert result.exit_code == 0, result.output
    assert "mso_mdoc" in result.output
    assert "verified" in result.output


def test_a_jwt_is_still_a_jwt() -> None:
    # Three base64url parts are never mistaken for an mdoc.
    result = runner.invoke(app, ["inspect", "e30.e30.", "--json"])
    assert json.loads(result.output)["format"] != "mso_mdoc"
