"""mdoc interoperability through the SERVICES, not only the core (issue 19).

``test_mdoc_interop.py`` pins the core against ``@animo-id/mdoc`` and ``pymdoccbor``.
Here the mdocs come from our issuer service (OpenID4VCI, ``mso_mdoc``), the
DeviceResponse from our wallet's presentation code, and the judge is our running
verifier service (a transaction, its signed request, its ``response_uri``):

- ``@animo-id/mdoc`` verifies the IssuerSigned our EU and Canadian issuers issue, and
  the DeviceResponse our wallet makes for an encrypted OpenID4VP request;
- our verifiers (Canadian, ``direct_post``; EU, ``direct_post.jwt``) accept a
  DeviceResponse ``@animo-id/mdoc`` issued and signed;
- tampered versions are refused by both sides.

The SessionTranscript handed to the peer is built here by hand from the OpenID4VP 1.0
Appendix B.2.6.1 text (cbor2 and hashlib), not by our code: the peer (0.5.2) knows only
the older ISO/IEC 18013-7 draft transcript with an mdoc-generated nonce.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import cbor2
import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding
from fastapi.testclient import TestClient
from peers import run_node

from passerelle.jose import decode_unverified_jws, jwk_thumbprint, private_jwk, public_jwk
from passerelle.mdoc import DOCTYPE_MDL, DOCTYPE_PID, NAMESPACE_PID
from passerelle.oid4vp import (
    AuthorizationRequest,
    ClientMetadata,
    ResponseMode,
    direct_post_form,
    direct_post_jwt_form,
    encrypt_response,
    encryption_jwk,
)
from passerelle.services.catalog import data_root
from passerelle.services.issuer.app import create_issuer_app
from passerelle.services.launcher import ROLES, start_stack
from passerelle.services.pki import Pki, init_pki, load_pki
from passerelle.services.runtime import utc_now
from passerelle.services.scenarios import free_ports, stack_hosts
from passerelle.services.trust.build import build_with_pki
from passerelle.services.wallet.mdoc import present_mdoc
from passerelle.services.wallet.quirks import WalletBehaviour
from tests.issuer_client import access, credential, persona_of, proof

pytestmark = pytest.mark.interop

PEER = Path(__file__).resolve().parent / "mdoc_peer.mjs"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _node(request: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    return run_node(PEER, request, package="@animo-id/mdoc")  # type: ignore[arg-type]


def _node_ok(request: dict[str, Any]) -> dict[str, Any]:
    code, answer = _node(request)
    assert code == 0, answer
    return answer


def _node_refuses(request: dict[str, Any]) -> None:
    code, answer = _node(request)
    assert code == 1, answer
    assert answer.get("error")


def _transcript(client_id: str, nonce: str, response_uri: str, jwk: object | None) -> bytes:
    """OpenID4VP 1.0 B.2.6.1, from its text: [null, null, ["OpenID4VPHandover",
    sha256(cbor([clientId, nonce, jwkThumbprint-or-null, responseUri]))]]."""
    thumbprint = None if jwk is None else _unb64(jwk_thumbprint(jwk))  # type: ignore[arg-type]
    info = cbor2.dumps([client_id, nonce, thumbprint, response_uri])
    return bytes(cbor2.dumps([None, None, ["OpenID4VPHandover", hashlib.sha256(info).digest()]]))


def _tamper(cbor_bytes: bytes, *, device_response: bool) -> bytes:
    decoded = cbor2.loads(cbor_bytes)
    issuer_signed = decoded["documents"][0]["issuerSigned"] if device_response else decoded
    items = next(iter(issuer_signed["nameSpaces"].values()))
    item = cbor2.loads(items[0].value)
    value = item["elementValue"]
    item["elementValue"] = (not value) if isinstance(value, bool) else f"{value}x"
    items[0] = cbor2.CBORTag(24, cbor2.dumps(item))
    return bytes(cbor2.dumps(decoded))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("mdoc-services")
    init_pki(path, now=utc_now())
    return path


def _der(pki: Pki, name: str) -> str:
    return _b64(pki.certificate(name).public_bytes(Encoding.DER))


def _issue(data_dir: Path, profile: str, config: str) -> tuple[bytes, ec.EllipticCurvePrivateKey]:
    client = TestClient(create_issuer_app(profile_name=profile, data_dir=data_dir))
    holder = ec.generate_private_key(ec.SECP256R1())
    bearer = access(client, config, persona_of(client, config))
    response = credential(
        client,
        bearer,
        {"credential_configuration_id": config, "proofs": {"jwt": [proof(client, holder)]}},
    )
    assert response.status_code == 200, response.text
    return _unb64(response.json()["credentials"][0]["credential"]), holder


# --- @animo-id/mdoc verifies what our issuers and our wallet make ---------------------------


@pytest.mark.parametrize(
    ("profile", "config", "doctype", "iaca"),
    [
        ("eu-issuer", "eu-pid-mdoc", DOCTYPE_PID, "eu-pid-iaca"),
        ("ca-issuer", "ca-mdl-mdoc", DOCTYPE_MDL, "ca-mdl-iaca"),
    ],
)
def test_animo_verifies_what_our_issuers_issue(
    data_dir: Path, profile: str, config: str, doctype: str, iaca: str
) -> None:
    issued, _ = _issue(data_dir, profile, config)
    pki = load_pki(data_dir)
    request = {
        "op": "verifyIssuerSigned",
        "docType": doctype,
        "trusted": [_der(pki, iaca)],
        "now": utc_now().isoformat(),
    }
    answer = _node_ok({**request, "issuerSigned": _b64(issued)})
    assert answer["docType"] == doctype
    (elements,) = answer["nameSpaces"].values()
    assert elements["family_name"]
    _node_refuses({**request, "issuerSigned": _b64(_tamper(issued, device_response=False))})
    # Under the other side's IACA, not trusted.
    other = "ca-mdl-iaca" if iaca == "eu-pid-iaca" else "eu-pid-iaca"
    _node_refuses({**request, "issuerSigned": _b64(issued), "trusted": [_der(pki, other)]})


def test_animo_verifies_our_wallets_device_response(data_dir: Path) -> None:
    issued, holder = _issue(data_dir, "eu-issuer", "eu-pid-mdoc")
    verifier_key = ec.generate_private_key(ec.SECP256R1())
    enc = encryption_jwk(verifier_key.public_key(), kid="enc-1")
    request = AuthorizationRequest(
        client_id="x509_hash:interop-verifier",
        response_mode=ResponseMode.DIRECT_POST_JWT,
        response_uri="https://verifier.example/response/1",
        nonce="n-0S6_WzA2Mj",
        state="s-1",
        dcql_query={"credentials": []},
        client_metadata=ClientMetadata(jwks={"keys": [enc]}),
    )
    shown = present_mdoc(
        _b64(issued),
        claims={},
        holder_key=holder,
        disclose=[(NAMESPACE_PID, "given_name"), (NAMESPACE_PID, "age_over_18")],
        request=request,
        behaviour=WalletBehaviour(),
    )
    transcript = _transcript(request.client_id, request.nonce, request.response_uri, enc)
    pki = load_pki(data_dir)
    base = {"op": "verify", "trusted": [_der(pki, "eu-pid-iaca")], "now": utc_now().isoformat()}
    answer = _node_ok({**base, "deviceResponse": shown, "sessionTranscript": _b64(transcript)})
    assert answer["documents"] == [
        {
            "docType": DOCTYPE_PID,
            "nameSpaces": {NAMESPACE_PID: {"given_name": "Björn", "age_over_18": True}},
        }
    ]
    tampered = _tamper(_unb64(shown), device_response=True)
    _node_refuses({**base, "deviceResponse": _b64(tampered), "sessionTranscript": _b64(transcript)})
    # The transcript of an unencrypted response (no thumbprint) is another session.
    plain = _transcript(request.client_id, request.nonce, request.response_uri, None)
    _node_refuses({**base, "deviceResponse": shown, "sessionTranscript": _b64(plain)})


# --- our verifiers accept what @animo-id/mdoc makes ----------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, str], Path]]:
    data_dir = tmp_path_factory.mktemp("mdoc-stack")
    hosts = stack_hosts(free_ports(len(ROLES)))
    init_pki(data_dir, now=utc_now(), hosts=hosts)
    build_with_pki(data_dir=data_dir, sources=data_root() / "trust_lists", now=utc_now())
    running = start_stack(data_dir=data_dir, hosts=hosts, roles=ROLES)
    try:
        yield running.urls, data_dir
    finally:
        running.stop()


def _animo_mdoc(pki: Pki, device: ec.EllipticCurvePrivateKey) -> str:
    """An EU PID mdoc issued by the peer, signed with our EU document signer's key and
    certificate (so that trust flows through the EU list as for ours)."""
    now = utc_now()
    issued = _node_ok(
        {
            "op": "issue",
            "docType": DOCTYPE_PID,
            "nameSpaces": {
                NAMESPACE_PID: {"given_name": "Anna", "family_name": "Nowak", "age_over_18": True}
            },
            "devicePublicJwk": public_jwk(device.public_key()),
            "issuerPrivateJwk": private_jwk(pki.private_key("eu-pid-mdoc-signer")),
            "issuerCertificate": _der(pki, "eu-pid-mdoc-signer"),
            "validity": {
                "signed": (now - timedelta(minutes=1)).isoformat(),
                "validFrom": (now - timedelta(minutes=1)).isoformat(),
                "validUntil": (now + timedelta(days=1)).isoformat(),
            },
        }
    )
    return str(issued["mdoc"])


QUERY = {
    "credentials": [
        {
            "id": "pid_mdoc",
            "format": "mso_mdoc",
            "meta": {"doctype_value": DOCTYPE_PID},
            "claims": [
                {"path": [NAMESPACE_PID, "given_name"]},
                {"path": [NAMESPACE_PID, "age_over_18"]},
            ],
        }
    ]
}


def _answer(
    urls: dict[str, str], verifier: str, response: str | None, device: Any
) -> dict[str, Any]:
    """Open a transaction, read its signed request, have the peer answer it (or send
    ``response`` as is), and return the verifier's result."""
    made = httpx.post(f"{urls[verifier]}/transactions", json={"dcql_query": QUERY}).json()
    token = httpx.get(made["request_uri"]).text
    claims = decode_unverified_jws(token).payload_json()
    jwks = (claims.get("client_metadata") or {}).get("jwks")
    encrypted = claims["response_mode"] == "direct_post.jwt"
    key = jwks["keys"][0] if encrypted else None
    transcript = _transcript(claims["client_id"], claims["nonce"], claims["response_uri"], key)
    if response is None:
        response = _node_ok(
            {
                "op": "present",
                "mdoc": device["mdoc"],
                "docType": DOCTYPE_PID,
                "disclose": {NAMESPACE_PID: ["given_name", "age_over_18"]},
                "devicePrivateJwk": private_jwk(device["key"]),
                "sessionTranscript": _b64(transcript),
            }
        )["deviceResponse"]
    vp_token: Any = {"pid_mdoc": [response]}
    if encrypted:
        payload: Any = {"vp_token": vp_token, "state": claims.get("state")}
        form = direct_post_jwt_form(
            encrypt_response(payload, verifier_jwks=jwks, enc_values_supported=None)
        )
    else:
        form = direct_post_form(vp_token, claims.get("state"))
    httpx.post(claims["response_uri"], data=form)
    result = httpx.get(f"{urls[verifier]}/transactions/{made['transaction_id']}").json()
    return {**(result.get("result") or {}), "_response": response}


@pytest.mark.parametrize("verifier", ["ca-verifier", "eu-verifier"])
def test_our_verifier_accepts_an_animo_device_response(
    stack: tuple[dict[str, str], Path], verifier: str
) -> None:
    urls, data_dir = stack
    device_key = ec.generate_private_key(ec.SECP256R1())
    device = {"mdoc": _animo_mdoc(load_pki(data_dir), device_key), "key": device_key}
    result = _answer(urls, verifier, None, device)
    assert result["accepted"] is True, result
    assert result["claims"]["pid_mdoc"][0] == {
        NAMESPACE_PID: {"given_name": "Anna", "age_over_18": True}
    }
    steps = {s["step"]: s["outcome"] for s in result["credentials"]["pid_mdoc"][0]["steps"]}
    assert steps["holder_binding"] == "passed"
    assert steps["signature"] == "passed"
    # The same DeviceResponse, tampered, in a fresh transaction: refused at the MSO.
    tampered = _b64(_tamper(_unb64(result["_response"]), device_response=True))
    refused = _answer(urls, verifier, tampered, device)
    assert refused["accepted"] is False
    assert refused["reason"] == "mdoc.digest_mismatch"
    # Replayed into another transaction (another nonce): the device signature fails.
    replayed = _answer(urls, verifier, result["_response"], device)
    assert replayed["reason"] == "mdoc.device_signature_invalid"
