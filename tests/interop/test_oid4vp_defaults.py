"""OpenID4VP with peers run as their users run them, on a stack served over HTTPS.

1. **The npm wallet with its defaults, against both verifiers.** ``@openid4vc/openid4vp``
   0.4.6 (``oid4vp_peer.mjs``, op ``wallet``) without ``allowInsecureUrls`` or any other
   switch: it fetches the request object over verified TLS (``NODE_EXTRA_CA_CERTS``
   names the development TLS CA, as a wallet given that CA would), checks its ``x5c``
   up to the WRPAC root, and answers by ``direct_post`` and ``direct_post.jwt``.
   The Canadian verifier takes both modes; the EU one is HAIP 1.0 and takes
   ``direct_post.jwt`` only (HAIP, OpenID4VP profile, requirements for both the Wallet
   and the Verifier: "Response mode MUST be `direct_post.jwt`"), so its ``direct_post``
   case is a refusal the test pins.
2. **polaris-oid4vp (PyPI), an OpenID4VP 1.0 + HAIP verifier, against our wallet.**
   The package's own ``keygen`` makes its PKI (a CA, a request-signing leaf under it),
   exactly as its command line does for any deployment. Our wallet trusts that CA the
   way it trusts any partner verifier: a partner file under ``trust_lists/partners/``
   puts it on the EU list of WRPAC providers, and ``passerelle trust build`` signs the
   list. Polaris's ``Verifier`` signs a HAIP request (``x509_hash``, ``direct_post.jwt``,
   ``request_uri_method=post``, DCQL for a PID's ``given_name`` and ``family_name``);
   our wallet fetches it, answers, and polaris judges the response (issuer ``x5c``
   chained to the EU PID provider CA it is given, KB-JWT, nonce, audience, claims,
   nothing disclosed beyond the query) and answers 200.

   The polaris listener uses the stack's development TLS certificate (which names
   ``localhost``) instead of the self-signed one ``keygen`` writes: our wallet trusts
   only the development TLS CA, and a partner reachable over the internet would have a
   certificate from a public CA. That is TLS configuration, not protocol.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from peers import NODE_MODULES, peer_unavailable, require_node_peer, require_pypi_peer

from passerelle._json import JsonObject, b64url_decode, parse_json_object
from passerelle.jose import private_jwk
from passerelle.services.catalog import data_root
from passerelle.services.launcher import ROLES, start_stack
from passerelle.services.pki import Pki, init_pki, load_pki
from passerelle.services.runtime import utc_now
from passerelle.services.scenarios import backchannel_headers, free_ports
from passerelle.services.trust.build import build_with_pki

pytestmark = pytest.mark.interop

HERE = Path(__file__).resolve().parent
PEER = HERE / "oid4vp_peer.mjs"
VCI_WALLET = HERE / "oid4vci_wallet.mjs"
PID_VCT = "urn:eudi:pid:1"
CA_PERSON_VCT = "https://credentials.passerelle.example/ca/person/v1"
POLARIS_HOST = "localhost"


def require_peers() -> None:
    require_node_peer()
    for package in ("@openid4vc/openid4vp", "@openid4vc/openid4vci", "dcql"):
        if not (NODE_MODULES / package).is_dir():
            peer_unavailable(f"{package} is not installed: run `npm ci --prefix tests/interop`")
    require_pypi_peer("polaris_oid4vp")


def _pem(cert: x509.Certificate) -> str:
    return cert.public_bytes(serialization.Encoding.PEM).decode()


# --- the stack, over HTTPS, with polaris's CA as a partner on the WRPAC list ------------------


@dataclass
class TlsStack:
    urls: dict[str, str]
    pki: Pki
    polaris_pki: Path
    polaris_port: int
    http: httpx.Client = field(repr=False)
    data_dir: Path = field(repr=False)
    """Over TLS the backchannels take their tokens, which the stack wrote here."""

    def node(self, script: Path, request: JsonObject) -> tuple[int, dict[str, Any]]:
        """One request to a node peer, which trusts the development TLS CA through
        ``NODE_EXTRA_CA_CERTS`` and is given no other setting."""
        completed = subprocess.run(
            ["node", str(script)],
            input=json.dumps(request) + "\n",
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "NODE_EXTRA_CA_CERTS": str(self.pki.tls_ca)},
        )
        assert completed.stdout, f"{script.name} wrote nothing; stderr: {completed.stderr}"
        answer = json.loads(completed.stdout.splitlines()[-1])
        assert isinstance(answer, dict)
        return completed.returncode, answer

    def offer(self, issuer: str, config: str, persona: str) -> dict[str, Any]:
        response = self.http.post(
            f"{self.urls[issuer]}/offers",
            json={"credential_configuration_ids": [config], "persona": persona, "tx_code": True},
            headers=backchannel_headers(self.data_dir, issuer, name="admin-token"),
        )
        assert response.status_code == 201, response.text
        made = response.json()
        assert isinstance(made, dict)
        return made

    def receive(self, issuer: str, config: str, persona: str) -> None:
        """Our wallet takes an offer."""
        made = self.offer(issuer, config, persona)
        answer = self.http.post(
            f"{self.urls['wallet']}/api/offers",
            json={"offer": next(iter(made["links"].values())), "tx_code": made["tx_code"]},
            headers=backchannel_headers(self.data_dir, "wallet"),
        ).json()
        assert answer["outcomes"][0]["accepted"], answer

    def present(self, request_url: str) -> dict[str, Any]:
        answer = self.http.post(
            f"{self.urls['wallet']}/api/presentations",
            json={"request": request_url},
            headers=backchannel_headers(self.data_dir, "wallet"),
        ).json()
        assert isinstance(answer, dict)
        return answer

    def transaction(self, verifier: str, query: JsonObject, mode: str) -> httpx.Response:
        return self.http.post(
            f"{self.urls[verifier]}/transactions",
            json={"dcql_query": query, "response_mode": mode},
        )

    def result(self, verifier: str, transaction_id: str) -> dict[str, Any]:
        answer = self.http.get(f"{self.urls[verifier]}/transactions/{transaction_id}").json()
        assert isinstance(answer, dict)
        return answer


def _polaris_partner_file(anchor_pem: str) -> str:
    """A partner file for a verifier's access CA, as docs/partners.md describes one."""
    indented = "\n".join(f"          {line}" for line in anchor_pem.strip().splitlines())
    return f"""framework: eu
list: wrpac-providers
entity:
  name: Polaris interop verifier test CA
  trade_name:
    - VATFI-12345678
  member_state: "FI"
  address:
    postal:
      street: Testikatu 5
      locality: Espoo
      postal_code: "02150"
      country: FI
    electronic:
      - mailto:interop@polaris-test.example
  information_uris:
    - https://polaris-test.example/terms
  services:
    - name: Relying-party access certificates
      type: issuance
      certificate:
        pem: |
{indented}
"""


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsStack]:
    require_peers()
    from polaris_oid4vp.cli import FILES, keygen

    data_dir = tmp_path_factory.mktemp("oid4vp-defaults")
    *ports, polaris_port = free_ports(len(ROLES) + 1)
    hosts = {
        role: f"https://{'localhost' if 'verifier' in role else '127.0.0.1'}:{port}"
        for role, port in zip(ROLES, ports, strict=True)
    }
    # The partner's own PKI, made by the partner's own tool.
    polaris_pki = data_dir / "polaris-pki"
    keygen(polaris_pki, POLARIS_HOST)
    sources = data_dir / "trust-sources"
    shutil.copytree(data_root() / "trust_lists", sources)
    (sources / "partners" / "polaris-verifier.yaml").write_text(
        _polaris_partner_file((polaris_pki / FILES["anchor"]).read_text()), encoding="utf-8"
    )
    now = utc_now()
    init_pki(data_dir, now=now, hosts=hosts)
    build = build_with_pki(data_dir=data_dir, sources=sources, now=now)
    assert "polaris-verifier" in build.partners
    pki = load_pki(data_dir, now=now)
    running = start_stack(
        data_dir=data_dir,
        hosts=hosts,
        roles=ROLES,
        tls=(str(pki.tls_certfile), str(pki.tls_keyfile)),
    )
    http = httpx.Client(verify=ssl.create_default_context(cafile=str(pki.tls_ca)), timeout=60)
    try:
        yield TlsStack(
            urls=running.urls,
            pki=pki,
            polaris_pki=polaris_pki,
            polaris_port=polaris_port,
            http=http,
            data_dir=data_dir,
        )
    finally:
        http.close()
        running.stop()


# --- 1. the npm wallet, with its defaults, against our verifiers -----------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Held:
    token: str
    holder: ec.EllipticCurvePrivateKey
    vct: str


def _obtain(stack: TlsStack, issuer: str, config: str, persona: str) -> Held:
    """An SD-JWT VC for the npm wallet, from the npm OpenID4VCI client (defaults too)."""
    holder = ec.generate_private_key(ec.SECP256R1())
    made = stack.offer(issuer, config, persona)
    link = next(iter(made["links"].values()))
    code, answer = stack.node(
        VCI_WALLET,
        {
            "op": "pre-authorized",
            "offer": link,
            "txCode": made["tx_code"],
            "holderJwk": private_jwk(holder),
        },
    )
    assert code == 0, answer
    token = answer["credentials"][0]
    assert isinstance(token, str)
    payload = parse_json_object(b64url_decode(token.split("~", 1)[0].split(".")[1]).decode())
    return Held(token=token, holder=holder, vct=str(payload["vct"]))


@pytest.fixture(scope="module")
def eu_pid(stack: TlsStack) -> Held:
    return _obtain(stack, "eu-issuer", "eu-pid-sd-jwt", "zoe-lefevre-dubois")


@pytest.fixture(scope="module")
def ca_person(stack: TlsStack) -> Held:
    return _obtain(stack, "ca-issuer", "ca-person-sd-jwt", "eloise-tremblay-gagnon")


def _query(query_id: str, vct: str) -> JsonObject:
    return {
        "credentials": [
            {
                "id": query_id,
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [vct]},
                "claims": [{"path": ["given_name"]}],
            }
        ]
    }


DEFAULT_CASES = [
    pytest.param("ca-verifier", "direct_post", "eu_pid", id="ca-verifier:direct_post"),
    pytest.param("ca-verifier", "direct_post.jwt", "ca_person", id="ca-verifier:direct_post.jwt"),
    pytest.param("eu-verifier", "direct_post.jwt", "eu_pid", id="eu-verifier:direct_post.jwt"),
    pytest.param(
        "eu-verifier", "direct_post.jwt", "ca_person", id="eu-verifier:direct_post.jwt:ca-person"
    ),
]


@pytest.mark.parametrize(("verifier", "mode", "credential"), DEFAULT_CASES)
def test_npm_wallet_with_its_defaults_is_accepted_by_our_verifiers(
    stack: TlsStack, request: pytest.FixtureRequest, verifier: str, mode: str, credential: str
) -> None:
    held: Held = request.getfixturevalue(credential)
    made = stack.transaction(verifier, _query("person", held.vct), mode)
    assert made.status_code == 201, made.text
    transaction = made.json()
    assert transaction["request_url"].startswith(("openid4vp://", "haip-vp://"))

    code, answer = stack.node(
        PEER,
        {
            "op": "wallet",
            "request": transaction["request_url"],
            "credentials": [{"token": held.token, "holderJwk": private_jwk(held.holder)}],
            "trustAnchorsPem": [_pem(stack.pki.anchor("eu-wrpac-provider-ca"))],
        },
    )
    assert code == 0, answer
    assert answer["status"] == 200, answer
    assert answer["responseMode"] == mode
    assert answer["clientId"] == transaction["client_id"]
    assert (
        answer["jwe"] is None
        if mode == "direct_post"
        else answer["jwe"]["header"]["alg"] == "ECDH-ES"
    )
    result = stack.result(verifier, transaction["transaction_id"])
    assert result["state"] == "verified", result
    assert result["result"]["accepted"] is True


def test_eu_verifier_offers_only_haip_response_mode(stack: TlsStack) -> None:
    """HAIP: "Response mode MUST be `direct_post.jwt`". The EU verifier refuses to
    create a ``direct_post`` request, and says why (its profile)."""
    made = stack.transaction("eu-verifier", _query("person", PID_VCT), "direct_post")
    assert made.status_code == 400, made.text
    assert made.json()["reason"] == "oid4vp.profile_violation"


# --- 2. polaris-oid4vp's HAIP verifier against our wallet -------------------------------------


@dataclass
class Polaris:
    verifier: Any
    verdicts: list[tuple[int, dict[str, Any], Any]]
    done: threading.Event

    def launch_url(self, scheme: str = "openid4vp") -> tuple[Any, str]:
        """A new request and the link a wallet is launched with, as ``polaris-oid4vp
        serve`` prints it (the same query behind each scheme)."""
        session, _jar = self.verifier.new_request()
        params = self.verifier.authorization_request_params(session)
        return session, f"{scheme}://?" + urlencode(params)


@pytest.fixture(scope="module")
def polaris(stack: TlsStack) -> Iterator[Polaris]:
    from polaris_oid4vp.cli import _load_trust_anchors, verifier_from
    from polaris_oid4vp.serve import serve

    anchor = stack.polaris_pki.parent / "eu-pid-provider.pem"
    anchor.write_text(_pem(stack.pki.anchor("eu-pid-provider")), encoding="utf-8")
    verifier = verifier_from(
        stack.polaris_pki,
        POLARIS_HOST,
        stack.polaris_port,
        issuer_trust_anchors=_load_trust_anchors([str(anchor)]),
    )
    seen = Polaris(verifier=verifier, verdicts=[], done=threading.Event())

    def on_verdict(status: int, body: dict[str, Any], verdict: Any) -> None:
        seen.verdicts.append((status, body, verdict))
        seen.done.set()

    httpd = serve(
        verifier,
        host="127.0.0.1",
        port=stack.polaris_port,
        certfile=str(stack.pki.tls_certfile),
        keyfile=str(stack.pki.tls_keyfile),
        on_verdict=on_verdict,
    )
    try:
        yield seen
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def wallet_holds_a_pid(stack: TlsStack) -> None:
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "jan-thart")


@pytest.mark.parametrize("scheme", ["openid4vp", "haip-vp"])
def test_our_wallet_answers_a_polaris_haip_request_and_is_accepted(
    stack: TlsStack, polaris: Polaris, wallet_holds_a_pid: None, scheme: str
) -> None:
    polaris.done.clear()
    polaris.verdicts.clear()
    _session, url = polaris.launch_url(scheme)
    assert polaris.verifier.client_id.startswith("x509_hash:")

    outcome = stack.present(url)
    assert outcome["accepted"] is True, outcome
    assert outcome["verifier"] == polaris.verifier.client_id
    assert outcome["response_mode"] == "direct_post.jwt"
    assert outcome["verifier_status"] == 200
    assert polaris.done.wait(30)
    status, body, verdict = polaris.verdicts[-1]
    assert status == 200, verdict
    assert verdict.authentic is True, verdict
    # HAIP: a 200 carries only the redirect_uri, which our wallet reports.
    assert set(body) == {"redirect_uri"}
    assert outcome["redirect_uri"] == body["redirect_uri"]
    assert verdict.claims["vct"] == PID_VCT
    assert verdict.claims["given_name"]
    assert verdict.claims["family_name"]
    # Polaris refuses over-disclosure (OpenID4VP §6.4); ours sent only what was asked.
    assert "birthdate" not in verdict.claims
    assert verdict.issuer_anchor is not None


def test_our_wallet_refuses_a_polaris_verifier_whose_ca_nobody_listed(
    stack: TlsStack, wallet_holds_a_pid: None, tmp_path: Path
) -> None:
    """The acceptance above rests on the partner file: the same package with a PKI of
    its own that no list names is refused by our wallet before it answers."""
    from polaris_oid4vp.cli import keygen, verifier_from
    from polaris_oid4vp.serve import serve

    (port,) = free_ports(1)
    keygen(tmp_path, POLARIS_HOST)
    stranger = verifier_from(tmp_path, POLARIS_HOST, port)
    httpd = serve(
        stranger,
        host="127.0.0.1",
        port=port,
        certfile=str(stack.pki.tls_certfile),
        keyfile=str(stack.pki.tls_keyfile),
    )
    try:
        session, _jar = stranger.new_request()
        url = "openid4vp://?" + urlencode(stranger.authorization_request_params(session))
        outcome = stack.present(url)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert outcome["accepted"] is False, outcome
    assert outcome["stage"] == "request"
    assert outcome["reason"] == "x509.chain_invalid", outcome


def test_polaris_accepts_a_canadian_credential_from_our_wallet(stack: TlsStack) -> None:
    """Across the border: polaris asks for the Canadian person credential and trusts
    the Canadian issuer's key the way its API takes one (``issuer_jwks``, here read from
    the issuer's JWT VC Issuer Metadata)."""
    from polaris_oid4vp.cli import verifier_from
    from polaris_oid4vp.serve import serve

    stack.receive("ca-issuer", "ca-person-sd-jwt", "eloise-tremblay-gagnon")
    metadata = stack.http.get(f"{stack.urls['ca-issuer']}/.well-known/jwt-vc-issuer").json()
    (port,) = free_ports(1)
    verifier = verifier_from(
        stack.polaris_pki,
        POLARIS_HOST,
        port,
        issuer_jwks=metadata["jwks"]["keys"],
        vct_values=[CA_PERSON_VCT],
    )
    verdicts: list[tuple[int, Any]] = []
    done = threading.Event()

    def on_verdict(status: int, _body: dict[str, Any], verdict: Any) -> None:
        verdicts.append((status, verdict))
        done.set()

    httpd = serve(
        verifier,
        host="127.0.0.1",
        port=port,
        certfile=str(stack.pki.tls_certfile),
        keyfile=str(stack.pki.tls_keyfile),
        on_verdict=on_verdict,
    )
    try:
        session, _jar = verifier.new_request()
        url = "openid4vp://?" + urlencode(verifier.authorization_request_params(session))
        outcome = stack.present(url)
        assert outcome["accepted"] is True, outcome
        assert done.wait(30)
    finally:
        httpd.shutdown()
        httpd.server_close()
    status, verdict = verdicts[-1]
    assert status == 200, verdict
    assert verdict.authentic is True
    assert verdict.claims["vct"] == CA_PERSON_VCT
    assert verdict.claims["iss"] == stack.urls["ca-issuer"]
    assert verdict.claims["given_name"]
