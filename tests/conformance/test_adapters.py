"""Declarative adapters, one-shot inputs and anchors from files, against in-memory targets."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle.conformance import (
    CheckContext,
    CheckError,
    CheckFailed,
    CheckSkipped,
    Suite,
    TargetsError,
    load_targets,
)
from passerelle.conformance._adapters import (
    AdapterError,
    MadeRequest,
    make_offer,
    make_request,
    parse_adapter,
    read_verdict,
    render,
    resolve_pointer,
)
from passerelle.conformance._context import RecordingHttp
from passerelle.conformance._identities import file_identity, resolve_anchors
from passerelle.x509 import build_ca_certificate, build_name

ISSUER = "https://issuer.example"
PRE_AUTHORIZED = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
OFFER = {
    "credential_issuer": ISSUER,
    "credential_configuration_ids": ["pid"],
    "grants": {
        "urn:ietf:params:oauth:grant-type:pre-authorized_code": {"pre-authorized_code": "c"}
    },
}


def _ctx(handler: Any, text: str) -> tuple[CheckContext, list[httpx.Request]]:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return handler(request)  # type: ignore[no-any-return]

    targets = load_targets(text)
    target = next(iter(targets.targets.values()))
    http = RecordingHttp(timeout=5, transport=httpx.MockTransport(record))
    ctx = CheckContext(
        target=target, targets=targets.targets, suite=Suite(), http=http, shared_state={}
    )
    return ctx, seen


ISSUER_FILE = """
targets:
  acme:
    role: issuer
    url: https://issuer.example
    adapter:
      offer:
        url: https://issuer.example/admin/offers
        headers: {X-Key: "{env:ACME_TEST_KEY}"}
        body: {types: "{configuration_ids}", who: {name: "{persona}"}, pin: "{tx_code}"}
        offer: /data/link
        tx_code: /data/pin
"""


def test_the_offer_call_fills_typed_placeholders_and_follows_a_by_reference_link(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ACME_TEST_KEY", "k-123")
    link = "haip-vci://?credential_offer_uri=" + quote(f"{ISSUER}/offers/1", safe="")

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/admin/offers":
            return httpx.Response(201, json={"data": {"link": link, "pin": "493817"}})
        return httpx.Response(200, json=OFFER)

    ctx, seen = _ctx(handler, ISSUER_FILE)
    made = make_offer(ctx, ctx.target, ["pid"], "ada", tx_code=True)
    assert json.loads(seen[0].content) == {"types": ["pid"], "who": {"name": "ada"}, "pin": True}
    assert seen[0].headers["x-key"] == "k-123"
    assert str(seen[1].url) == f"{ISSUER}/offers/1"
    assert made.raw == OFFER
    assert made.tx_code == "493817"
    assert made.link == link


@pytest.mark.parametrize(
    "given",
    [
        OFFER,
        json.dumps(OFFER),
        "openid-credential-offer://?credential_offer=" + quote(json.dumps(OFFER), safe=""),
        "haip-vci://?credential_offer=" + quote(json.dumps(OFFER), safe=""),
        f"{ISSUER}/offers/9",
    ],
)
def test_offers_are_accepted_by_value_by_reference_and_as_links(given: Any) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/admin/offers":
            return httpx.Response(200, json={"data": {"link": given}})
        return httpx.Response(200, json=OFFER)

    ctx, _ = _ctx(handler, ISSUER_FILE.replace('headers: {X-Key: "{env:ACME_TEST_KEY}"}', ""))
    assert make_offer(ctx, ctx.target, ["pid"], "ada").raw == OFFER


def test_an_answer_without_the_offer_fails_and_a_refused_call_fails_with_its_status() -> None:
    text = ISSUER_FILE.replace('headers: {X-Key: "{env:ACME_TEST_KEY}"}', "")
    ctx, _ = _ctx(lambda r: httpx.Response(201, json={"data": {}}), text)
    with pytest.raises(CheckFailed):
        make_offer(ctx, ctx.target, ["pid"], "ada")
    ctx, _ = _ctx(lambda r: httpx.Response(403, json={}), text)
    with pytest.raises(CheckFailed, match="HTTP 403"):
        make_offer(ctx, ctx.target, ["pid"], "ada")


def test_a_missing_secret_skips_rather_than_sending_an_empty_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ACME_TEST_KEY", raising=False)
    ctx, seen = _ctx(lambda r: httpx.Response(500), ISSUER_FILE)
    with pytest.raises(CheckSkipped):
        make_offer(ctx, ctx.target, ["pid"], "ada")
    assert seen == []


def test_a_static_offer_serves_one_flow_then_the_checks_are_skipped() -> None:
    text = f"""
targets:
  one-shot:
    role: issuer
    url: {ISSUER}
    offer: "openid-credential-offer://?credential_offer={quote(json.dumps(OFFER), safe="")}"
"""
    ctx, seen = _ctx(lambda r: httpx.Response(500), text)
    assert make_offer(ctx, ctx.target, ["pid"], "ada").raw == OFFER
    with pytest.raises(CheckSkipped):
        make_offer(ctx, ctx.target, ["pid"], "ada")
    assert seen == []


VERIFIER_FILE = """
targets:
  acme-verifier:
    role: verifier
    url: https://verifier.example
    adapter:
      request:
        url: https://verifier.example/admin/v
        body: {dcql: "{dcql_query}", mode: "{response_mode}"}
        request_url:
          template: "openid4vp://?client_id={/cid}&request_uri={/uri}"
          quote: true
        transaction_id: /ref
      result:
        url: https://verifier.example/admin/v/{transaction_id}
        accepted: {pointer: /status, accepted: [ok], refused: [bad]}
        reason: /why
"""


def test_request_and_verdict_calls() -> None:
    status = {"value": "pending"}

    def handler(request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            return httpx.Response(
                201, json={"ref": "t/1", "cid": "x509_hash:abc", "uri": "https://v.example/r"}
            )
        return httpx.Response(200, json={"status": status["value"], "why": "kb_jwt.nonce"})

    ctx, seen = _ctx(handler, VERIFIER_FILE)
    made = make_request(ctx, ctx.target, {"credentials": []})
    # An absent response_mode is left out of the body, not sent as null.
    assert json.loads(seen[0].content) == {"dcql": {"credentials": []}}
    assert made.request_url == (
        "openid4vp://?client_id=x509_hash%3Aabc&request_uri=https%3A%2F%2Fv.example%2Fr"
    )
    assert read_verdict(ctx, ctx.target, made).result is None
    # The transaction id is percent-encoded into the result URL.
    assert seen[-1].url.raw_path == b"/admin/v/t%2F1"
    status["value"] = "bad"
    verdict = read_verdict(ctx, ctx.target, made)
    assert verdict.result == {"accepted": False, "reason": "kb_jwt.nonce"}
    status["value"] = "ok"
    result = read_verdict(ctx, ctx.target, made).result
    assert result is not None
    assert result["accepted"] is True


def test_no_result_call_means_no_verdict_to_read() -> None:
    ctx, seen = _ctx(lambda r: httpx.Response(500), VERIFIER_FILE.split("      result:")[0])
    made = MadeRequest(transaction_id="t", request_url="openid4vp://x", body={})
    assert read_verdict(ctx, ctx.target, made).result is None
    assert seen == []


@pytest.mark.parametrize(
    ("adapter", "fault"),
    [
        ({"offer": {"url": "https://x.example", "body": {"a": "{nope}"}, "offer": ""}}, "nope"),
        ({"offer": {"url": "https://x.example"}}, "offer"),
        ({"offer": {"url": "ftp://x.example", "offer": ""}}, "url"),
        ({"offer": {"url": "https://x.example", "offer": "data"}}, "Pointer"),
        ({"result": {"url": "https://x.example", "accepted": "/a", "extra": 1}}, "extra"),
        ({"verdict": {}}, "verdict"),
        ({"offer": {"url": "https://x.example", "form": True, "body": "x", "offer": ""}}, "form"),
    ],
)
def test_unusable_adapters_are_refused_before_anything_runs(adapter: Any, fault: str) -> None:
    with pytest.raises(AdapterError, match=fault):
        parse_adapter(adapter, "targets.x.adapter")


def test_a_target_gives_an_adapter_or_the_shorthand_never_both() -> None:
    with pytest.raises(TargetsError, match="not both"):
        load_targets(
            ISSUER_FILE.replace(
                "    adapter:", "    offer_endpoint: https://i.example/o\n    adapter:"
            )
        )


def test_placeholders_and_pointers() -> None:
    values = {"ids": ["a"], "flag": False, "gone": None, "name": "n"}
    assert render({"x": "{ids}", "y": "{flag}", "z": "{gone}", "w": "id-{name}"}, values) == {
        "x": ["a"],
        "y": False,
        "w": "id-n",
    }
    document = {"a/b": {"c~d": [1, 2]}}
    assert resolve_pointer(document, "/a~1b/c~0d/1") == 2
    assert resolve_pointer(document, "/missing") is None
    assert resolve_pointer(document, "") == document


def test_anchors_and_identities_from_pem_and_der_files(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    key = ec.generate_private_key(ec.SECP256R1())
    ca = build_ca_certificate(
        subject=build_name(common_name="Partner CA"),
        key=key,
        not_before=now - timedelta(minutes=1),
        not_after=now + timedelta(days=1),
        serial=7,
    )
    (tmp_path / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "ca.der").write_bytes(ca.public_bytes(serialization.Encoding.DER))
    entries = [{"file": str(tmp_path / "ca.pem")}, {"file": str(tmp_path / "ca.der")}]
    assert resolve_anchors(entries, by_name=None, what="t") == [ca, ca]
    (tmp_path / "id.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    identity = file_identity(
        {"certificate": str(tmp_path / "ca.pem"), "key": str(tmp_path / "id.key")}, what="t"
    )
    assert identity is not None
    assert identity.leaf == ca
    assert file_identity("eu-pid-provider", what="t") is None
    other = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "other.key").write_bytes(
        other.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(CheckError):
        file_identity(
            {"certificate": str(tmp_path / "ca.pem"), "key": str(tmp_path / "other.key")},
            what="t",
        )


def test_relative_files_are_read_next_to_the_targets_file(tmp_path: Path) -> None:
    text = """
targets:
  v:
    role: verifier
    url: https://v.example
    access_anchors: [{file: ca.pem}, eu-wrpac-provider-ca]
    issuer_identity: {certificate: id.pem, key: id.key}
"""
    target = load_targets(text, base_dir=tmp_path).targets["v"]
    assert target.get("access_anchors") == [
        {"file": str(tmp_path / "ca.pem")},
        "eu-wrpac-provider-ca",
    ]
    assert target.get("issuer_identity") == {
        "certificate": str(tmp_path / "id.pem"),
        "key": str(tmp_path / "id.key"),
    }
