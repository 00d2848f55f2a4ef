"""OpenID4VP 1.0 against an implementation nobody here wrote: the OpenWallet Foundation
``@openid4vc/openid4vp`` 0.4.6 (with ``dcql`` 3.0.0 for the query and
``@sd-jwt/sd-jwt-vc`` 0.19.0 for the presentations), driven by ``oid4vp_peer.mjs``.

1. **Their wallet, our verifiers.** Credentials come from our issuers through the
   independent OpenID4VCI wallet (``oid4vci_wallet.mjs``) with a holder key the test
   keeps; the library resolves the request URL, verifies the signed request object
   (x5c chain to the WRPAC root), the ``dcql`` library picks the claims, @sd-jwt makes
   the presentation with its KB-JWT, and the library sends it by ``direct_post`` or
   ``direct_post.jwt`` (JWE to the verifier's ``client_metadata.jwks``). Both of our
   verifiers must record the transaction as ``verified``.
2. **Our wallet, their verifier.** A node:http verifier built on ``Openid4vpVerifier``
   signs its request (``x509_san_dns:localhost``, access certificate under the dev
   WRPAC CA), serves it by reference, parses (and decrypts) the response with the
   library and verifies each presentation with @sd-jwt (issuer key from ``x5c`` for the
   EU, from JWT VC Issuer Metadata for Canada) and the result against the query with
   ``dcql``. Our wallet answers through ``POST /api/presentations``.

The whole stack runs on plain HTTP over loopback (the development default), so both
node programs run with the library's documented ``allowInsecureUrls`` switch: these are
the extra, non-default cases. The library with its defaults (HTTPS, no switch) runs
against both verifiers in ``test_oid4vp_defaults.py``.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from peers import NODE_MODULES, peer_unavailable, require_node_peer

from passerelle import Reason
from passerelle._json import JsonObject, b64url_decode, parse_json_object
from passerelle.jose import private_jwk
from passerelle.services.catalog import data_root
from passerelle.services.launcher import start_stack
from passerelle.services.pki import Pki, init_pki, load_pki
from passerelle.services.runtime import utc_now
from passerelle.services.trust.build import build_with_pki
from passerelle.x509 import LeafUsage, build_leaf_certificate
from tests.e2e.conftest import ROLES, Stack, free_ports

pytestmark = pytest.mark.interop

HERE = Path(__file__).resolve().parent
PEER = HERE / "oid4vp_peer.mjs"
VCI_WALLET = HERE / "oid4vci_wallet.mjs"
STATIC_AUDIENCE = "https://self-issued.me/v2"
PID_VCT = "urn:eudi:pid:1"
CA_PERSON_VCT = "https://credentials.passerelle.example/ca/person/v1"
NOT_ANCHORED = "harness: the x5c chain does not end at a trusted anchor"


def require_oid4vp_peer() -> None:
    require_node_peer()
    for package in ("@openid4vc/openid4vp", "@openid4vc/openid4vci", "dcql"):
        if not (NODE_MODULES / package).is_dir():
            peer_unavailable(f"{package} is not installed: run `npm ci --prefix tests/interop`")


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


def _run(
    script: Path, request: dict[str, Any], *, timeout: float = 120
) -> tuple[int, dict[str, Any]]:
    completed = subprocess.run(
        ["node", str(script)],
        input=json.dumps(request) + "\n",
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.stdout, f"{script.name} wrote nothing; stderr: {completed.stderr}"
    answer = json.loads(completed.stdout.splitlines()[-1])
    assert isinstance(answer, dict)
    return completed.returncode, answer


def _query(*wanted: tuple[str, str]) -> JsonObject:
    """A DCQL query asking one SD-JWT VC per (id, vct), each for its given_name only."""
    return {
        "credentials": [
            {
                "id": query_id,
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [vct]},
                "claims": [{"path": ["given_name"]}],
            }
            for query_id, vct in wanted
        ]
    }


# --- credentials for the independent wallet -------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Held:
    token: str
    holder: ec.EllipticCurvePrivateKey
    vct: str


def obtain(stack: Stack, issuer: str, config: str, persona: str) -> Held:
    """An SD-JWT VC from our issuer, fetched by the independent OpenID4VCI wallet and
    bound to a holder key this test keeps (so the node wallet can present it)."""
    holder = ec.generate_private_key(ec.SECP256R1())
    made = stack.offer(issuer, config, persona)
    code, answer = _run(
        VCI_WALLET,
        {
            "op": "pre-authorized",
            "offer": next(iter(made["links"].values())),
            "txCode": made["tx_code"],
            "holderJwk": private_jwk(holder),
            "allowInsecureUrls": True,
        },
    )
    assert code == 0, answer
    credentials = answer["credentials"]
    assert isinstance(credentials, list)
    assert len(credentials) == 1
    token = credentials[0]
    assert isinstance(token, str)
    payload = parse_json_object(b64url_decode(token.split("~", 1)[0].split(".")[1]).decode())
    return Held(token=token, holder=holder, vct=str(payload["vct"]))


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The e2e stack (tests/e2e/conftest.py), built the same way for this module."""
    require_oid4vp_peer()
    data_dir = tmp_path_factory.mktemp("oid4vp-peer")
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


@pytest.fixture(scope="module")
def pki(stack: Stack) -> Pki:
    require_oid4vp_peer()
    return load_pki(stack.data_dir, now=utc_now())


@pytest.fixture(scope="module")
def eu_pid(stack: Stack, pki: Pki) -> Held:
    return obtain(stack, "eu-issuer", "eu-pid-sd-jwt", "zoe-lefevre-dubois")


@pytest.fixture(scope="module")
def ca_person(stack: Stack, pki: Pki) -> Held:
    return obtain(stack, "ca-issuer", "ca-person-sd-jwt", "eloise-tremblay-gagnon")


def node_wallet(
    pki: Pki, request_url: str, *held: Held, enc_values: list[str] | None = None
) -> tuple[int, dict[str, Any]]:
    message: dict[str, Any] = {
        "op": "wallet",
        "request": request_url,
        "credentials": [{"token": h.token, "holderJwk": private_jwk(h.holder)} for h in held],
        "trustAnchorsPem": [_pem(pki.anchor("eu-wrpac-provider-ca"))],
        "allowInsecureUrls": True,
    }
    if enc_values is not None:
        message["encValues"] = enc_values
    return _run(PEER, message)


# --- 1. their wallet → our verifiers ----------------------------------------------------------


CASES = [
    pytest.param("ca-verifier", "direct_post", "eu_pid", id="ca-verifier:direct_post:eu-pid"),
    pytest.param(
        "ca-verifier", "direct_post.jwt", "ca_person", id="ca-verifier:direct_post.jwt:ca-person"
    ),
    pytest.param(
        "eu-verifier", "direct_post.jwt", "eu_pid", id="eu-verifier:direct_post.jwt:eu-pid"
    ),
    pytest.param(
        "eu-verifier", "direct_post.jwt", "ca_person", id="eu-verifier:direct_post.jwt:ca-person"
    ),
]


@pytest.mark.parametrize(("verifier", "mode", "credential"), CASES)
def test_independent_wallet_is_accepted_by_our_verifier(
    stack: Stack,
    pki: Pki,
    request: pytest.FixtureRequest,
    verifier: str,
    mode: str,
    credential: str,
) -> None:
    held: Held = request.getfixturevalue(credential)
    made = httpx.post(
        f"{stack.urls[verifier]}/transactions",
        json={"dcql_query": _query(("person", held.vct)), "response_mode": mode},
    )
    assert made.status_code == 201, made.text
    transaction = made.json()

    code, answer = node_wallet(pki, transaction["request_url"], held)
    assert code == 0, answer
    assert answer["status"] == 200, answer
    assert answer["responseMode"] == mode
    assert answer["clientId"] == transaction["client_id"]
    expected_prefix = "x509_san_dns" if verifier == "ca-verifier" else "x509_hash"
    assert answer["clientPrefix"] == expected_prefix
    # What the library verified is what our verifier signed (OpenID4VP 1.0 §5.8).
    request_object = answer["requestObject"]
    assert isinstance(request_object, dict)
    assert request_object["header"]["typ"] == "oauth-authz-req+jwt"
    assert request_object["payload"]["aud"] == STATIC_AUDIENCE
    if mode == "direct_post.jwt":
        jwe = answer["jwe"]
        assert isinstance(jwe, dict)
        header = jwe["header"]
        assert header["alg"] == "ECDH-ES"
        assert header["enc"] == "A128GCM"
        assert isinstance(header["kid"], str)
    else:
        assert answer["jwe"] is None

    # Minimal disclosure by the peer, bound to the full client_id and the nonce.
    shown = answer["presented"]["person"][0]
    assert shown["claims"]["given_name"]
    assert "birthdate" not in shown["claims"]
    assert shown["kb"]["payload"]["aud"] == transaction["client_id"]

    result = stack.result(verifier, transaction["transaction_id"])
    assert result["state"] == "verified", result
    decision = result["result"]
    assert decision["accepted"] is True, decision
    steps = {s["step"]: s["outcome"] for s in decision["credentials"]["person"][0]["steps"]}
    assert steps["holder_binding"] == "passed"


@pytest.mark.parametrize("verifier", ["eu-verifier", "ca-verifier"])
def test_independent_wallet_encrypting_with_a256gcm_is_accepted(
    stack: Stack, pki: Pki, eu_pid: Held, verifier: str
) -> None:
    """HAIP 1.0 §5: A128GCM and A256GCM "MUST be supported by Verifiers". A wallet that
    supports A256GCM only picks it from our list, and our verifier decrypts it."""
    made = httpx.post(
        f"{stack.urls[verifier]}/transactions",
        json={"dcql_query": _query(("person", eu_pid.vct)), "response_mode": "direct_post.jwt"},
    )
    assert made.status_code == 201, made.text
    transaction = made.json()
    code, answer = node_wallet(pki, transaction["request_url"], eu_pid, enc_values=["A256GCM"])
    assert code == 0, answer
    assert answer["status"] == 200, answer
    assert answer["jwe"]["header"]["enc"] == "A256GCM"
    listed = answer["requestObject"]["payload"]["client_metadata"]
    assert listed["encrypted_response_enc_values_supported"] == ["A128GCM", "A256GCM"]
    result = stack.result(verifier, transaction["transaction_id"])
    assert result["state"] == "verified", result


def test_our_verifier_refuses_a_presentation_bound_to_another_verifier(
    stack: Stack,
    pki: Pki,
    eu_pid: Held,
) -> None:
    """The acceptance above is not vacuous: a presentation the peer made for the EU
    verifier, replayed to the Canadian one, fails on the KB-JWT audience/nonce."""
    first = httpx.post(
        f"{stack.urls['eu-verifier']}/transactions",
        json={"dcql_query": _query(("person", eu_pid.vct)), "response_mode": "direct_post.jwt"},
    ).json()
    # Only resolve and present to the EU verifier, then replay the vp_token elsewhere.
    code, answer = node_wallet(pki, first["request_url"], eu_pid)
    assert code == 0, answer
    other = httpx.post(
        f"{stack.urls['ca-verifier']}/transactions",
        json={"dcql_query": _query(("person", eu_pid.vct)), "response_mode": "direct_post"},
    ).json()
    # Fetch the request so the transaction can receive a response, as a wallet would.
    fetched = httpx.get(other["request_uri"])
    assert fetched.status_code == 200
    claims = parse_json_object(b64url_decode(fetched.text.split(".")[1]).decode())
    state = claims["state"]
    # The response_uri names the public request id, not the secret transaction id.
    replayed = httpx.post(
        str(claims["response_uri"]),
        data={"vp_token": json.dumps({"person": [_resent(answer)]}), "state": str(state)},
    )
    assert replayed.status_code == 400, replayed.text
    result = stack.result("ca-verifier", other["transaction_id"])
    assert result["state"] == "failed"
    # The nonce is checked first; the audience (x509_hash:... vs x509_san_dns:localhost)
    # would fail too.
    assert result["result"]["reason"] == Reason.KB_JWT_NONCE_MISMATCH.value, result


def test_independent_wallet_refuses_a_verifier_outside_its_anchors(
    stack: Stack,
    pki: Pki,
    eu_pid: Held,
) -> None:
    """The request object signer is really checked: anchored at the EU PID provider
    root instead of the WRPAC root, the peer wallet refuses our verifier."""
    made = stack.transaction("ca-verifier", "age-and-name", response_mode="direct_post")
    code, answer = _run(
        PEER,
        {
            "op": "wallet",
            "request": made["request_url"],
            "credentials": [{"token": eu_pid.token, "holderJwk": private_jwk(eu_pid.holder)}],
            "trustAnchorsPem": [_pem(pki.anchor("eu-pid-provider"))],
            "allowInsecureUrls": True,
        },
    )
    assert code == 1, answer
    assert answer["errorType"] == "Oauth2JwtVerificationError", answer
    assert answer["cause"] == NOT_ANCHORED, answer
    assert stack.result("ca-verifier", made["transaction_id"])["state"] == "request_fetched"


def _resent(answer: dict[str, Any]) -> str:
    token = answer["vpToken"]
    assert isinstance(token, dict)
    value = token["person"][0]
    assert isinstance(value, str)
    return value


# --- 2. our wallet → their verifier -----------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class NodeVerifier:
    base: str
    client_id: str

    def create(self, query: JsonObject, mode: str) -> dict[str, Any]:
        made = httpx.post(
            f"{self.base}/transactions", json={"dcql_query": query, "response_mode": mode}
        )
        assert made.status_code == 201, made.text
        return made.json()  # type: ignore[no-any-return]

    def result(self, transaction_id: str) -> dict[str, Any]:
        answer = httpx.get(f"{self.base}/transactions/{transaction_id}")
        return answer.json()  # type: ignore[no-any-return]


def access_certificate(pki: Pki) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A relying-party access certificate for ``localhost`` under the dev WRPAC CA, as
    the EU registration of an access certificate provider would issue it."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = utc_now()
    cert = build_leaf_certificate(
        subject=x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "oid4vc-ts test verifier")]),
        public_key=key.public_key(),
        issuer_cert=pki.certificate("eu-wrpac-provider-ca"),
        issuer_key=pki.private_key("eu-wrpac-provider-ca"),
        not_before=now - timedelta(minutes=5),
        not_after=now + timedelta(days=1),
        serial=int.from_bytes(os.urandom(8), "big") >> 1,
        usage=LeafUsage.ACCESS,
        dns_names=["localhost"],
    )
    return key, cert


def _start_verifier(pki: Pki, **options: object) -> Iterator[NodeVerifier]:
    key, cert = access_certificate(pki)
    der = cert.public_bytes(serialization.Encoding.DER)
    config = {
        "op": "verifier",
        "clientId": "x509_san_dns:localhost",
        "signingJwk": private_jwk(key),
        "x5c": [base64.b64encode(der).decode()],
        "issuerAnchorsPem": [_pem(pki.anchor("eu-pid-provider"))],
        "allowInsecureUrls": True,
        **options,
    }
    process = subprocess.Popen(
        ["node", str(PEER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdin is not None
        assert process.stdout is not None
        process.stdin.write(json.dumps(config) + "\n")
        process.stdin.flush()
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else "no output"
        started = parse_json_object(line)
        assert "error" not in started, started
        yield NodeVerifier(base=str(started["base"]), client_id="x509_san_dns:localhost")
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="module")
def node_verifier(pki: Pki) -> Iterator[NodeVerifier]:
    yield from _start_verifier(pki)


@pytest.fixture(scope="module")
def wallet_holds_both(stack: Stack) -> None:
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "jan-thart")
    stack.receive("ca-issuer", "ca-person-sd-jwt", "eloise-tremblay-gagnon")


@pytest.mark.parametrize("mode", ["direct_post", "direct_post.jwt"])
def test_our_wallet_is_accepted_by_the_independent_verifier(
    stack: Stack,
    node_verifier: NodeVerifier,
    wallet_holds_both: None,
    mode: str,
) -> None:
    query = _query(("eu_pid", PID_VCT), ("ca_person", CA_PERSON_VCT))
    made = node_verifier.create(query, mode)
    assert made["request_url"].startswith("openid4vp://?")

    wallet = stack.present(made["request_url"])
    assert wallet["accepted"], wallet
    assert wallet["response_mode"] == mode
    assert wallet["verifier"] == node_verifier.client_id

    result = node_verifier.result(made["transaction_id"])
    assert result["state"] == "verified", result
    outcome = result["result"]
    presentations = outcome["presentations"]
    eu = presentations["eu_pid"][0]
    ca = presentations["ca_person"][0]
    assert eu["issuerKeyMethod"] == "x5c"
    assert ca["issuerKeyMethod"] == "jwt-vc-issuer-metadata"
    assert eu["vct"] == PID_VCT
    assert ca["vct"] == CA_PERSON_VCT
    for shown in (eu, ca):
        assert shown["claims"]["given_name"]
        # Our wallet disclosed only what was asked.
        assert "family_name" not in shown["claims"]
        assert "birthdate" not in shown["claims"]
        assert shown["kbAud"] == node_verifier.client_id
    if mode == "direct_post.jwt":
        assert outcome["jarm"]["type"] == "Encrypted"
        assert outcome["jarm"]["header"]["alg"] == "ECDH-ES"
    else:
        assert outcome["jarm"] is None


def test_library_default_request_object_aud_is_refused_by_our_wallet(
    stack: Stack,
    pki: Pki,
    wallet_holds_both: None,
) -> None:
    """``@openid4vc/openid4vp`` 0.4.6 sets a Request Object's ``aud`` to the request_uri
    unless told otherwise. OpenID4VP 1.0 §5.8: "the aud claim MUST be
    "https://self-issued.me/v2", when Static Discovery metadata is used" — our wallet
    uses static discovery (it sends no wallet metadata), so it is right to refuse, as
    RFC 7519 §4.1.3 requires: "If the principal processing the claim does not identify
    itself with a value in the "aud" claim when this claim is present, then the JWT MUST
    be rejected." When a release changes the default, this fails: drop the override then."""
    for verifier in _start_verifier(pki, requestObjectAud=None):
        made = verifier.create(_query(("eu_pid", PID_VCT)), "direct_post")
        wallet = stack.present(made["request_url"])
        assert wallet["accepted"] is False
        assert wallet["stage"] == "request"
        assert wallet["reason"] == "oid4vp.request_object_aud_invalid", wallet
        assert verifier.result(made["transaction_id"])["state"] == "fetched"


def test_independent_verifier_refuses_an_issuer_outside_its_anchors(
    stack: Stack,
    pki: Pki,
    wallet_holds_both: None,
) -> None:
    """The node verifier really checks the issuer: with the WRPAC root as its only
    issuer anchor, the EU PID (x5c under the PID provider root) is refused, and our
    wallet reports the refusal."""
    for verifier in _start_verifier(
        pki, issuerAnchorsPem=[_pem(pki.anchor("eu-wrpac-provider-ca"))]
    ):
        made = verifier.create(_query(("eu_pid", PID_VCT)), "direct_post.jwt")
        wallet = stack.present(made["request_url"])
        assert wallet["accepted"] is False, wallet
        assert wallet["verifier_status"] == 400
        result = verifier.result(made["transaction_id"])
        assert result["state"] == "failed"
        # The harness's own message (stable), not the library's.
        assert result["result"]["error"] == NOT_ANCHORED, result
