"""The EU issuer's HAIP 1.0 flow: PAR and token authenticated by a wallet attestation
(attestation-based client authentication -07), DPoP-bound tokens with server nonces
(RFC 9449), key attestations (OpenID4VCI Appendix D) and encrypted credential
responses, and the refusals each rule implies, with their reason codes."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from fastapi.testclient import TestClient

from passerelle.jose import KeySigner, public_jwk
from passerelle.oauth import create_client_attestation, create_client_attestation_pop
from passerelle.oauth import create_dpop_proof as _create_dpop_proof
from passerelle.oid4vci import (
    CredentialResponseEncryption,
    create_credential_response_encryption,
    create_jwt_proof,
    decrypt_credential_response,
    encrypt_credential_request,
)
from passerelle.services.issuer.app import create_issuer_app
from passerelle.services.issuer.quirks import IssuerQuirk
from passerelle.services.pki import init_pki, load_pki
from passerelle.services.runtime import SecretsRandom, utc_now
from passerelle.services.trust.build import build_with_pki
from passerelle.services.trust.sources import trust_sources
from passerelle.services.wallet.provider import WalletProvider
from passerelle.x509 import encode_x5c
from tests.issuer_client import persona_of
from tests.pki import make_chain

CONFIG = "eu-pid-sd-jwt"
REDIRECT = "http://127.0.0.1/cb"
RANDOM = SecretsRandom()


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("haip")
    init_pki(path, now=utc_now())
    build_with_pki(data_dir=path, sources=trust_sources(), now=utc_now())
    return path


@pytest.fixture(scope="module")
def eu(data_dir: Path) -> TestClient:
    return TestClient(create_issuer_app(profile_name="eu-issuer", data_dir=data_dir))


@pytest.fixture(scope="module")
def provider(data_dir: Path) -> WalletProvider:
    return WalletProvider.from_pki(load_pki(data_dir, now=utc_now()))


@dataclass
class Wallet:
    """Just enough of a HAIP wallet to drive the issuer from tests."""

    client: TestClient
    provider: WalletProvider
    base: str
    instance: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    dpop_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    nonce: str | None = None

    def attestation(self) -> dict[str, str]:
        now = datetime.now(UTC)
        return {
            "OAuth-Client-Attestation": self.provider.attest_instance(
                public_jwk(self.instance), now=now
            ),
            "OAuth-Client-Attestation-PoP": create_client_attestation_pop(
                signer=KeySigner(self.instance),
                client_id=self.provider.client_id,
                authorization_server=self.base,
                now=now,
                random=RANDOM,
            ),
        }

    def dpop(
        self,
        path: str,
        *,
        method: str = "POST",
        token: str | None = None,
        nonce: str | None = "current",
    ) -> str:
        return _create_dpop_proof(
            signer=KeySigner(self.dpop_key),
            public_key_jwk=public_jwk(self.dpop_key),
            method=method,
            url=f"{self.base}{path}",
            now=datetime.now(UTC),
            random=RANDOM,
            access_token=token,
            nonce=self.nonce if nonce == "current" else nonce,
        )

    def fetch_nonce(self) -> None:
        """A first request without a nonce: the server answers use_dpop_nonce (§8)."""
        form = {
            "grant_type": "authorization_code",
            "code": "not-yet",
            "redirect_uri": REDIRECT,
            "code_verifier": "v" * 43,
        }
        answer = self.client.post("/token", data=form, headers={"DPoP": self.dpop("/token")})
        assert answer.json()["error"] == "use_dpop_nonce", answer.text
        self.nonce = answer.headers["DPoP-Nonce"]

    def code(self) -> tuple[str, str]:
        verifier = secrets.token_urlsafe(48)
        challenge = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
        par = self.client.post(
            "/par",
            data={
                "response_type": "code",
                "client_id": self.provider.client_id,
                "redirect_uri": REDIRECT,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "scope": CONFIG,
                "state": "s1",
            },
            headers=self.attestation(),
        )
        assert par.status_code == 201, par.text
        login = self.client.post(
            "/authorize",
            data={
                "request_uri": par.json()["request_uri"],
                "persona": persona_of(self.client, CONFIG),
            },
            follow_redirects=False,
        )
        assert login.status_code == 303, login.text
        return parse_qs(urlsplit(login.headers["location"]).query)["code"][0], verifier

    def token_form(self) -> dict[str, str]:
        code, verifier = self.code()
        return {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "code_verifier": verifier,
            "client_id": self.provider.client_id,
        }

    def token(self) -> str:
        if self.nonce is None:
            self.fetch_nonce()
        answer = self.client.post(
            "/token",
            data=self.token_form(),
            headers={**self.attestation(), "DPoP": self.dpop("/token")},
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["token_type"] == "DPoP"
        self.nonce = answer.headers.get("DPoP-Nonce", self.nonce)
        return str(answer.json()["access_token"])

    def credential_body(self, *, attested: bool = True) -> dict[str, Any]:
        holder = ec.generate_private_key(ec.SECP256R1())
        c_nonce = self.client.post("/nonce").json()["c_nonce"]
        now = datetime.now(UTC)
        key_attestation = (
            self.provider.attest_keys([public_jwk(holder)], now=now, nonce=c_nonce)
            if attested
            else None
        )
        proof = create_jwt_proof(
            signer=KeySigner(holder),
            holder_jwk=public_jwk(holder),
            audience=self.base,
            nonce=c_nonce,
            now=now,
            client_id=self.provider.client_id,
            key_attestation=key_attestation,
        )
        return {"credential_configuration_id": CONFIG, "proofs": {"jwt": [proof]}}


@pytest.fixture
def wallet(eu: TestClient, provider: WalletProvider) -> Wallet:
    base = eu.get("/.well-known/openid-credential-issuer").json()["credential_issuer"]
    return Wallet(client=eu, provider=provider, base=base)


def _refusal(response: Any) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"], body["reason"]


def test_metadata_advertises_dpop_attestation_and_encryption(eu: TestClient) -> None:
    server = eu.get("/.well-known/oauth-authorization-server").json()
    assert server["dpop_signing_alg_values_supported"] == ["ES256"]
    assert "attest_jwt_client_auth" in server["token_endpoint_auth_methods_supported"]
    # -07 §10.1: both algorithm lists "MUST" be published with attest_jwt_client_auth.
    assert server["client_attestation_signing_alg_values_supported"] == ["ES256"]
    assert server["client_attestation_pop_signing_alg_values_supported"] == ["ES256"]
    issuer = eu.get("/.well-known/openid-credential-issuer").json()
    encryption = issuer["credential_response_encryption"]
    assert encryption["alg_values_supported"] == ["ECDH-ES"]
    assert encryption["encryption_required"] is False


def test_the_haip_flow_issues_a_credential_in_an_encrypted_response(wallet: Wallet) -> None:
    token = wallet.token()
    body = wallet.credential_body()
    key = ec.generate_private_key(ec.SECP256R1())
    body["credential_response_encryption"] = create_credential_response_encryption(
        key.public_key(), enc="A256GCM"
    )
    answer = wallet.client.post(
        "/credential",
        json=body,
        headers={"Authorization": f"DPoP {token}", "DPoP": wallet.dpop("/credential", token=token)},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/jwt")
    requested = CredentialResponseEncryption(
        jwk=body["credential_response_encryption"]["jwk"], alg="ECDH-ES", enc="A256GCM"
    )
    opened = decrypt_credential_response(answer.text, private_key=key, requested=requested)
    assert opened["credentials"][0]["credential"].count("~") >= 1


def test_an_encrypted_request_gets_an_encrypted_response(wallet: Wallet) -> None:
    metadata = wallet.client.get("/.well-known/openid-credential-issuer").json()
    # §8.2: "Credential Request encryption MUST be used if the
    # credential_response_encryption parameter is included": the issuer publishes a key.
    jwks = metadata["credential_request_encryption"]["jwks"]
    token = wallet.token()
    body = wallet.credential_body()
    key = ec.generate_private_key(ec.SECP256R1())
    body["credential_response_encryption"] = create_credential_response_encryption(
        key.public_key(), enc="A128GCM"
    )
    sealed = encrypt_credential_request(body, issuer_jwks=jwks, enc="A128GCM")
    answer = wallet.client.post(
        "/credential",
        content=sealed,
        headers={
            "Content-Type": "application/jwt",
            "Authorization": f"DPoP {token}",
            "DPoP": wallet.dpop("/credential", token=token),
        },
    )
    assert answer.status_code == 200, answer.text
    requested = CredentialResponseEncryption(
        jwk=body["credential_response_encryption"]["jwk"], alg="ECDH-ES", enc="A128GCM"
    )
    opened = decrypt_credential_response(answer.text, private_key=key, requested=requested)
    assert opened["credentials"]
    # A request encrypted to a key the issuer does not hold is refused, not guessed at.
    other = {"keys": [{**jwks["keys"][0], "kid": "not-ours"}]}
    refused = wallet.client.post(
        "/credential",
        content=encrypt_credential_request(body, issuer_jwks=other, enc="A128GCM"),
        headers={
            "Content-Type": "application/jwt",
            "Authorization": f"DPoP {token}",
            "DPoP": wallet.dpop("/credential", token=token),
        },
    )
    assert _refusal(refused) == (
        400,
        "invalid_encryption_parameters",
        "oid4vci.encryption_parameters_invalid",
    )


def test_the_dpop_scheme_is_case_insensitive(wallet: Wallet) -> None:
    token = wallet.token()
    answer = wallet.client.post(
        "/credential",
        json=wallet.credential_body(),
        headers={"Authorization": f"dpop {token}", "DPoP": wallet.dpop("/credential", token=token)},
    )
    assert answer.status_code == 200, answer.text


def test_token_request_without_wallet_attestation_is_invalid_client(wallet: Wallet) -> None:
    wallet.fetch_nonce()
    answer = wallet.client.post(
        "/token", data=wallet.token_form(), headers={"DPoP": wallet.dpop("/token")}
    )
    assert _refusal(answer) == (401, "invalid_client", "client_attestation.missing")


def test_par_without_wallet_attestation_is_invalid_client(wallet: Wallet) -> None:
    # HAIP 1.0 §4.3: "Wallets MUST authenticate itself at the PAR endpoint using the
    # same rules as defined in (#token-endpoint) for client authentication".
    answer = wallet.client.post(
        "/par",
        data={
            "response_type": "code",
            "client_id": wallet.provider.client_id,
            "redirect_uri": REDIRECT,
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "scope": CONFIG,
        },
    )
    assert _refusal(answer) == (401, "invalid_client", "client_attestation.missing")


def test_attestation_from_an_unlisted_provider_is_invalid_client(wallet: Wallet) -> None:
    wallet.fetch_nonce()
    form = wallet.token_form()
    now = datetime.now(UTC)
    # Signed by a key whose certificate chains to no CA on the list of wallet providers.
    rogue = make_chain(now, name="Rogue Wallet Provider")
    headers = {
        "OAuth-Client-Attestation": create_client_attestation(
            signer=KeySigner(rogue.leaf_key),
            x5c=encode_x5c([rogue.leaf]),
            issuer="https://rogue.example",
            client_id=wallet.provider.client_id,
            instance_jwk=public_jwk(wallet.instance),
            now=now,
            lifetime=timedelta(hours=1),
        ),
        "OAuth-Client-Attestation-PoP": wallet.attestation()["OAuth-Client-Attestation-PoP"],
        "DPoP": wallet.dpop("/token"),
    }
    answer = wallet.client.post("/token", data=form, headers=headers)
    assert _refusal(answer) == (401, "invalid_client", "client_attestation.untrusted")


def test_token_request_without_dpop_proof_is_refused(wallet: Wallet) -> None:
    answer = wallet.client.post("/token", data=wallet.token_form(), headers=wallet.attestation())
    assert _refusal(answer) == (400, "invalid_dpop_proof", "dpop.proof_missing")


def test_a_stale_or_missing_nonce_gets_a_fresh_one(wallet: Wallet) -> None:
    answer = wallet.client.post(
        "/token",
        data=wallet.token_form(),
        headers={**wallet.attestation(), "DPoP": wallet.dpop("/token", nonce="made-up")},
    )
    assert _refusal(answer) == (400, "use_dpop_nonce", "dpop.nonce_mismatch")
    assert answer.headers["DPoP-Nonce"]


def test_bearer_use_of_a_dpop_bound_token_is_refused(wallet: Wallet) -> None:
    token = wallet.token()
    answer = wallet.client.post(
        "/credential",
        json=wallet.credential_body(),
        headers={
            "Authorization": f"Bearer {token}",
            "DPoP": wallet.dpop("/credential", token=token),
        },
    )
    # RFC 9449 §7.2: "such a protected resource MUST reject a DPoP-bound access token
    # received as a bearer token".
    assert _refusal(answer) == (401, "invalid_token", "dpop.bound_token_as_bearer")
    assert answer.headers["WWW-Authenticate"].startswith("DPoP ")


def test_a_replayed_dpop_proof_is_refused(wallet: Wallet) -> None:
    token = wallet.token()
    proof = wallet.dpop("/credential", token=token)
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
    first = wallet.client.post("/credential", json=wallet.credential_body(), headers=headers)
    assert first.status_code == 200, first.text
    again = wallet.client.post("/credential", json=wallet.credential_body(), headers=headers)
    assert _refusal(again) == (401, "invalid_dpop_proof", "dpop.jti_replayed")


def test_a_replayed_proof_stays_refused_after_a_restart(
    data_dir: Path, provider: WalletProvider, wallet: Wallet
) -> None:
    token = wallet.token()
    proof = wallet.dpop("/credential", token=token)
    headers = {"Authorization": f"DPoP {token}", "DPoP": proof}
    first = wallet.client.post("/credential", json=wallet.credential_body(), headers=headers)
    assert first.status_code == 200, first.text
    restarted = TestClient(create_issuer_app(profile_name="eu-issuer", data_dir=data_dir))
    wallet.client = restarted
    again = restarted.post("/credential", json=wallet.credential_body(), headers=headers)
    assert _refusal(again) == (401, "invalid_dpop_proof", "dpop.jti_replayed")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"method": "PUT"}, "dpop.htm_mismatch"),
        ({"path": "/deferred_credential"}, "dpop.htu_mismatch"),
        ({"token": "another-token"}, "dpop.ath_mismatch"),
    ],
)
def test_dpop_proof_checks_at_the_credential_endpoint(
    wallet: Wallet, change: dict[str, str], reason: str
) -> None:
    token = wallet.token()
    proof = wallet.dpop(
        change.get("path", "/credential"),
        method=change.get("method", "POST"),
        token=change.get("token", token),
    )
    answer = wallet.client.post(
        "/credential",
        json=wallet.credential_body(),
        headers={"Authorization": f"DPoP {token}", "DPoP": proof},
    )
    assert _refusal(answer) == (401, "invalid_dpop_proof", reason)


def test_dpop_scheme_without_a_proof_is_refused(wallet: Wallet) -> None:
    token = wallet.token()
    answer = wallet.client.post(
        "/credential", json=wallet.credential_body(), headers={"Authorization": f"DPoP {token}"}
    )
    assert _refusal(answer) == (401, "invalid_dpop_proof", "dpop.proof_missing")


def test_an_untrusted_key_attestation_is_invalid_proof(wallet: Wallet) -> None:
    token = wallet.token()
    body = wallet.credential_body(attested=False)
    holder = ec.generate_private_key(ec.SECP256R1())
    c_nonce = wallet.client.post("/nonce").json()["c_nonce"]
    rogue = WalletProvider(
        signer=KeySigner(ec.generate_private_key(ec.SECP256R1())),
        x5c=wallet.provider.x5c,
        identifier="https://rogue.example",
    )
    now = datetime.now(UTC)
    body["proofs"]["jwt"] = [
        create_jwt_proof(
            signer=KeySigner(holder),
            holder_jwk=public_jwk(holder),
            audience=wallet.base,
            nonce=c_nonce,
            now=now,
            client_id=wallet.provider.client_id,
            key_attestation=rogue.attest_keys([public_jwk(holder)], now=now, nonce=c_nonce),
        )
    ]
    answer = wallet.client.post(
        "/credential",
        json=body,
        headers={"Authorization": f"DPoP {token}", "DPoP": wallet.dpop("/credential", token=token)},
    )
    assert _refusal(answer) == (400, "invalid_proof", "key_attestation.signature_invalid")


def test_an_unsupported_encryption_is_invalid_encryption_parameters(wallet: Wallet) -> None:
    token = wallet.token()
    body = wallet.credential_body()
    key = ec.generate_private_key(ec.SECP256R1())
    member = create_credential_response_encryption(key.public_key(), enc="A128GCM")
    member["jwk"]["alg"] = "RSA-OAEP-256"
    body["credential_response_encryption"] = member
    answer = wallet.client.post(
        "/credential",
        json=body,
        headers={"Authorization": f"DPoP {token}", "DPoP": wallet.dpop("/credential", token=token)},
    )
    assert _refusal(answer) == (
        400,
        "invalid_encryption_parameters",
        "oid4vci.encryption_parameters_invalid",
    )


def test_the_pre_authorized_flow_keeps_bearer_tokens(eu: TestClient) -> None:
    from tests.issuer_client import access, credential, offer, proof, token

    made = offer(eu, CONFIG, persona_of(eu, CONFIG))
    answer = token(eu, made)
    assert answer.json()["token_type"] == "Bearer"
    bearer = access(eu, CONFIG, persona_of(eu, CONFIG))
    holder = ec.generate_private_key(ec.SECP256R1())
    body = {"credential_configuration_id": CONFIG, "proofs": {"jwt": [proof(eu, holder)]}}
    assert credential(eu, bearer, body).status_code == 200


def test_the_attestation_proof_type_issues_one_credential_per_attested_key(
    wallet: Wallet,
) -> None:
    # HAIP 1.0 §4.5: "The following proof types MUST be supported: … attestation proof type".
    metadata = wallet.client.get("/.well-known/openid-credential-issuer").json()
    proof_types = metadata["credential_configurations_supported"][CONFIG]["proof_types_supported"]
    assert proof_types["attestation"]["proof_signing_alg_values_supported"] == ["ES256"]
    token = wallet.token()
    holders = [ec.generate_private_key(ec.SECP256R1()) for _ in range(2)]
    c_nonce = wallet.client.post("/nonce").json()["c_nonce"]
    attestation = wallet.provider.attest_keys(
        [public_jwk(k) for k in holders], now=datetime.now(UTC), nonce=c_nonce
    )
    answer = wallet.client.post(
        "/credential",
        json={"credential_configuration_id": CONFIG, "proofs": {"attestation": [attestation]}},
        headers={"Authorization": f"DPoP {token}", "DPoP": wallet.dpop("/credential", token=token)},
    )
    assert answer.status_code == 200, answer.text
    assert len(answer.json()["credentials"]) == 2
    # The same attestation again: its c_nonce is spent (F.3, §7.2).
    again = wallet.client.post(
        "/credential",
        json={"credential_configuration_id": CONFIG, "proofs": {"attestation": [attestation]}},
        headers={"Authorization": f"DPoP {token}", "DPoP": wallet.dpop("/credential", token=token)},
    )
    assert _refusal(again) == (400, "invalid_nonce", "key_attestation.nonce_mismatch")


def test_without_a_published_list_of_wallet_providers_the_fault_is_ours(
    tmp_path: Path, provider: WalletProvider
) -> None:
    init_pki(tmp_path, now=utc_now())  # no trust build: no list of wallet providers
    client = TestClient(create_issuer_app(profile_name="eu-issuer", data_dir=tmp_path))
    base = client.get("/.well-known/openid-credential-issuer").json()["credential_issuer"]
    wallet = Wallet(client=client, provider=provider, base=base)
    answer = client.post(
        "/par",
        data={
            "response_type": "code",
            "client_id": provider.client_id,
            "redirect_uri": REDIRECT,
            "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            "code_challenge_method": "S256",
            "scope": CONFIG,
        },
        headers=wallet.attestation(),
    )
    # Never blamed on the wallet (invalid_client), never a 500.
    assert _refusal(answer) == (503, "temporarily_unavailable", "trust.unavailable")


def test_the_unsigned_attestation_quirk_breaks_only_the_signature_rule(
    data_dir: Path, provider: WalletProvider
) -> None:
    # The conformance self-test isolates ISS-HAIP's key-attestation signature check with
    # this quirk: it must not also lift the c_nonce rule or the batch size.
    app = create_issuer_app(
        profile_name="eu-issuer",
        data_dir=data_dir,
        quirks=frozenset({IssuerQuirk.IGNORE_KEY_ATTESTATION_SIGNATURE}),
    )
    client = TestClient(app)
    base = client.get("/.well-known/openid-credential-issuer").json()["credential_issuer"]
    wallet = Wallet(client=client, provider=provider, base=base)
    token = wallet.token()
    rogue = WalletProvider(
        signer=KeySigner(ec.generate_private_key(ec.SECP256R1())),
        x5c=provider.x5c,
        identifier="https://rogue.example",
    )

    def present(keys: int, nonce: str) -> Any:
        jwks = [public_jwk(ec.generate_private_key(ec.SECP256R1())) for _ in range(keys)]
        attestation = rogue.attest_keys(jwks, now=datetime.now(UTC), nonce=nonce)
        return client.post(
            "/credential",
            json={"credential_configuration_id": CONFIG, "proofs": {"attestation": [attestation]}},
            headers={
                "Authorization": f"DPoP {token}",
                "DPoP": wallet.dpop("/credential", token=token),
            },
        )

    fresh = client.post("/nonce").json()["c_nonce"]
    assert present(1, fresh).status_code == 200  # the quirk: a rogue signature passes
    assert _refusal(present(1, fresh)) == (400, "invalid_nonce", "key_attestation.nonce_mismatch")
    too_many = present(4, client.post("/nonce").json()["c_nonce"])  # batch_size is 3
    assert _refusal(too_many) == (400, "invalid_proof", "oid4vci.batch_too_large")
