"""``passerelle inspect``: decodes every format, verifies when given keys, and exits
non-zero with the reason code on a tampered token."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from typer.testing import CliRunner

from passerelle.cli import app
from passerelle.jose import KeySigner, public_jwk
from passerelle.sd_jwt import KeyBindingInput, parse_sd_jwt, present_sd_jwt
from passerelle.sd_jwt_vc import issue_sd_jwt_vc
from passerelle.vc import issue_jwt_vc_json
from passerelle.x509 import certificate_to_pem, encode_x5c
from tests.conftest import NOW, SeededRandom
from tests.pki import make_chain

runner = CliRunner()
AT = str(int(NOW.timestamp()))


@pytest.fixture
def issued(tmp_path: Path) -> dict[str, object]:
    chain = make_chain(NOW, name="EU PID Provider")
    holder = ec.generate_private_key(ec.SECP256R1())
    token = issue_sd_jwt_vc(
        {"given_name": "Zoé", "family_name": "Lefèvre"},
        vct="urn:eudi:pid:1",
        signer=KeySigner(chain.leaf_key),
        random=SeededRandom(),
        now=NOW,
        disclosable=[("given_name",), ("family_name",)],
        holder_key=holder.public_key(),
        valid_for=timedelta(days=30),
        x5c=encode_x5c([chain.leaf]),
    )
    shown = present_sd_jwt(
        token,
        disclose=[("given_name",)],
        key_binding=KeyBindingInput(signer=KeySigner(holder), nonce="n1", audience="aud1", now=NOW),
    )
    anchor = tmp_path / "anchor.pem"
    anchor.write_text(certificate_to_pem(chain.root))
    key = tmp_path / "issuer.jwk"
    key.write_text(json.dumps(public_jwk(chain.leaf_key)))
    return {"token": token, "shown": shown, "anchor": anchor, "key": key}


def test_decodes_disclosures_with_their_place(issued) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["inspect", str(issued["token"]), "--json", "--at", AT])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["format"] == "dc+sd-jwt"
    names = {d["name"]: d["path"] for d in report["disclosures"]}
    assert names == {"given_name": ["given_name"], "family_name": ["family_name"]}
    assert report["claims"]["given_name"] == "Zoé"
    assert report["validity"]["state"] == "valid"
    assert report["verification"]["verified"] is False


def test_verifies_with_an_anchor_and_key_binding(issued) -> None:  # type: ignore[no-untyped-def]
    args = ["inspect", str(issued["shown"]), "--anchor", str(issued["anchor"])]
    result = runner.invoke(app, [*args, "--nonce", "n1", "--aud", "aud1", "--json", "--at", AT])
    assert result.exit_code == 0, result.output
    verification = json.loads(result.output)["verification"]
    assert verification["verified"] is True
    assert verification["key_bound"] is True
    assert verification["key_from"] == "x5c"


def test_tampered_token_exits_non_zero_with_the_reason(issued) -> None:  # type: ignore[no-untyped-def]
    token = str(issued["token"])
    victim = next(d for d in parse_sd_jwt(token).disclosures if d.name == "family_name")
    from passerelle._json import b64url_encode

    forged = b64url_encode(json.dumps([victim.salt, "family_name", "Smith"]).encode())
    tampered = token.replace(victim.encoded, forged)
    result = runner.invoke(app, ["inspect", tampered, "--key", str(issued["key"]), "--at", AT])
    assert result.exit_code == 1
    assert "sd_jwt.unreferenced_disclosure" in result.output


def test_wrong_nonce_is_reported(issued) -> None:  # type: ignore[no-untyped-def]
    args = ["inspect", str(issued["shown"]), "--key", str(issued["key"]), "--json", "--at", AT]
    result = runner.invoke(app, [*args, "--nonce", "other", "--aud", "aud1"])
    assert result.exit_code == 1
    assert json.loads(result.output)["verification"]["reason"] == "kb_jwt.nonce_mismatch"


def test_reads_a_file_and_stdin(issued, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "token.txt"
    path.write_text(str(issued["token"]) + "\n")
    assert runner.invoke(app, ["inspect", str(path), "--json"]).exit_code == 0
    piped = runner.invoke(app, ["inspect", "-", "--json"], input=str(issued["token"]))
    assert json.loads(piped.output)["format"] == "dc+sd-jwt"


def test_jwt_vc_json_is_recognised_and_verified(tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    credential = {
        "@context": ["https://www.w3.org/2018/credentials/v1"],
        "type": ["VerifiableCredential", "BusinessRegistration"],
        "issuer": "https://ca-issuer.example",
        "issuanceDate": "2026-11-01T00:00:00Z",
        "credentialSubject": {"id": "did:example:holder", "entity_name": "Érable Inc."},
    }
    token = issue_jwt_vc_json(credential, signer=KeySigner(key), kid=None, now=NOW)
    jwk = tmp_path / "k.jwk"
    jwk.write_text(json.dumps(public_jwk(key)))
    result = runner.invoke(app, ["inspect", token, "--key", str(jwk), "--json", "--at", AT])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["format"] == "jwt_vc_json"
    assert report["verification"]["issuer"] == "https://ca-issuer.example"
    other = tmp_path / "other.jwk"
    other.write_text(json.dumps(public_jwk(ec.generate_private_key(ec.SECP256R1()))))
    bad = runner.invoke(app, ["inspect", token, "--key", str(other), "--at", AT])
    assert bad.exit_code == 1
    assert "jws.invalid_signature" in bad.output


def test_garbage_exits_non_zero() -> None:
    result = runner.invoke(app, ["inspect", "definitely-not-a-token", "--json"])
    assert result.exit_code == 1
    assert json.loads(result.output)["verification"]["reason"].startswith(("jws.", "input."))


def test_unreadable_key_is_a_usage_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    assert runner.invoke(app, ["inspect", "x", "--key", str(bad)]).exit_code == 2


def test_x5c_certificates_are_decoded_with_dates(issued) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["inspect", str(issued["token"]), "--json", "--at", AT])
    [leaf] = json.loads(result.output)["certificates"]
    assert "EU PID Provider" in leaf["subject"]
    assert leaf["issuer"] != leaf["subject"]
    assert leaf["state"] == "valid"
    assert leaf["not_after"].endswith(" UTC")
    shown = runner.invoke(app, ["inspect", str(issued["token"]), "--at", AT])
    assert "x5c certificates" in shown.output
    assert "validity valid: issued " in shown.output


def test_status_of_a_token_without_a_status_list_is_said(issued) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["inspect", str(issued["token"]), "--json", "--status"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["status"] == {
        "checked": False,
        "detail": "the token names no status list",
    }


@pytest.mark.parametrize(("value", "name", "code"), [(0, "VALID", 0), (1, "INVALID", 1)])
def test_status_is_read_from_the_list_and_verified_with_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: int, name: str, code: int
) -> None:
    from passerelle.cli._inspect import InspectOptions, check_token_status, describe_token
    from passerelle.jose import load_public_jwk
    from passerelle.status_list import create_status_list, create_status_list_token, with_status

    issuer = ec.generate_private_key(ec.SECP256R1())
    uri = "https://issuer.example/status/1"
    token = issue_sd_jwt_vc(
        {"given_name": "Zoé"},
        vct="urn:eudi:pid:1",
        signer=KeySigner(issuer),
        random=SeededRandom(),
        now=NOW,
        disclosable=[("given_name",)],
        valid_for=timedelta(days=30),
        status={"status_list": {"idx": 5, "uri": uri}},
    )
    listed = create_status_list_token(
        with_status(create_status_list(bits=1, size=16), 5, value),
        uri=uri,
        signer=KeySigner(issuer),
        now=NOW,
        ttl=None,
        valid_for=timedelta(days=1),
    )
    fetched: list[str] = []

    def fetch(address: str) -> str:
        fetched.append(address)
        return listed

    key = load_public_jwk(public_jwk(issuer))
    options = InspectOptions(now=NOW, key=key)
    status = check_token_status(describe_token(token, options), options, fetch)
    assert fetched == [uri]
    assert status == {"uri": uri, "idx": 5, "checked": True, "verified": True, "value": name}
    # A list signed by another key is not believed.
    stranger = InspectOptions(now=NOW, key=ec.generate_private_key(ec.SECP256R1()).public_key())
    refused = check_token_status(describe_token(token, stranger), stranger, fetch)
    assert refused["checked"] is False
    assert refused["reason"] == "jws.invalid_signature"
    # The command: exit 1 when the entry is not valid (revoked here), 0 when it is.
    monkeypatch.setattr("passerelle.cli._fetch_status_list", fetch)
    jwk = tmp_path / "issuer.jwk"
    jwk.write_text(json.dumps(public_jwk(issuer)))
    at = ["--at", AT, "--key", str(jwk), "--status"]
    shown = runner.invoke(app, ["inspect", token, *at])
    assert shown.exit_code == code, shown.output
    assert f"status {name} in {uri} index 5 (verified list)" in shown.output
