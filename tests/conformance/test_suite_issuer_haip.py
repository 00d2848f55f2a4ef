"""The suite's issuer in its HAIP role (conformance/_issuer_haip.py) advertises what it
demands, challenges for a DPoP nonce, and records each fault of a wallet's attestation,
DPoP proofs and key attestations with the core's reason, never as a pass."""

from __future__ import annotations

from datetime import timedelta

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle.conformance._issuer_haip import HaipDemands
from passerelle.conformance._issuer_role import SuiteIssuer
from passerelle.jose import KeySigner, public_jwk
from passerelle.oauth import (
    ATTESTATION_HEADER,
    ATTESTATION_POP_HEADER,
    AUTH_METHOD,
    create_client_attestation,
    create_client_attestation_pop,
    create_dpop_proof,
)
from passerelle.oid4vci import create_jwt_proof, create_key_attestation
from tests.unit.haip_world import NOW, Provider, SystemRandom, make_provider, p256

VCT = "https://credentials.passerelle.example/test/v1"
PROVIDER = make_provider()
RANDOM = SystemRandom()


def _issuer() -> SuiteIssuer:
    return SuiteIssuer(
        vct=VCT,
        issue=lambda _key: "credential",
        clock=lambda: NOW,
        authorization_code=True,
        haip=HaipDemands(anchors=(PROVIDER.root,)),
    )


def _attested(
    instance: ec.EllipticCurvePrivateKey, *, aud: str, provider: Provider = PROVIDER
) -> dict[str, str]:
    attestation = create_client_attestation(
        signer=provider.signer,
        x5c=provider.x5c,
        issuer="https://wallet-provider.example",
        client_id="suite-test-wallet",
        instance_jwk=public_jwk(instance),
        now=NOW,
        lifetime=timedelta(hours=1),
    )
    pop = create_client_attestation_pop(
        signer=KeySigner(instance),
        client_id="suite-test-wallet",
        authorization_server=aud,
        now=NOW,
        random=RANDOM,
    )
    return {ATTESTATION_HEADER: attestation, ATTESTATION_POP_HEADER: pop}


def _dpop(key: ec.EllipticCurvePrivateKey, url: str, **options: str) -> str:
    return create_dpop_proof(
        signer=KeySigner(key),
        public_key_jwk=public_jwk(key),
        method="POST",
        url=url,
        now=NOW,
        random=RANDOM,
        **options,
    )


def test_it_advertises_what_it_demands() -> None:
    with _issuer() as issuer:
        server = httpx.get(f"{issuer.url}/.well-known/oauth-authorization-server").json()
        metadata = httpx.get(f"{issuer.url}/.well-known/openid-credential-issuer").json()
    assert AUTH_METHOD in server["token_endpoint_auth_methods_supported"]
    assert server["dpop_signing_alg_values_supported"] == ["ES256"]
    proof_types = next(iter(metadata["credential_configurations_supported"].values()))
    # OpenID4VCI 12.2.4: an empty object when no attack potential resistance is required.
    assert proof_types["proof_types_supported"]["jwt"]["key_attestations_required"] == {}


def test_attestation_faults_are_recorded_with_the_cores_reason() -> None:
    instance = p256()
    with _issuer() as issuer:
        demands = issuer.haip
        assert demands is not None
        par = f"{issuer.url}/par"
        httpx.post(par, data={}, headers=_attested(instance, aud=issuer.url))
        httpx.post(par, data={}, headers=_attested(instance, aud=f"{issuer.url}/token"))
        httpx.post(
            par, data={}, headers=_attested(instance, aud=issuer.url, provider=make_provider())
        )
        httpx.post(par, data={})
    reasons = [a.reason for a in demands.attestations]
    assert reasons == [
        None,
        "client_attestation.pop_aud_mismatch",
        "client_attestation.untrusted",
        "client_attestation.missing",
    ]


def test_the_nonce_challenge_then_dpop_faults_by_reason() -> None:
    key = p256()
    with _issuer() as issuer:
        demands = issuer.haip
        assert demands is not None
        token_url = f"{issuer.url}/token"
        first = httpx.post(token_url, data={}, headers={"DPoP": _dpop(key, token_url)})
        assert first.status_code == 400
        assert first.json()["error"] == "use_dpop_nonce"
        nonce = first.headers["DPoP-Nonce"]
        assert demands.nonces == [nonce]
        without = _dpop(key, token_url)
        httpx.post(token_url, data={}, headers={"DPoP": without})
        good = _dpop(key, token_url, nonce=nonce)
        httpx.post(token_url, data={}, headers={"DPoP": good})
        httpx.post(token_url, data={}, headers={"DPoP": good})
        wrong_htu = _dpop(key, issuer.url, nonce=nonce)
        httpx.post(token_url, data={}, headers={"DPoP": wrong_htu})
        credential = f"{issuer.url}/credential"
        auth = {"Authorization": f"DPoP {issuer.state.access_token}"}
        httpx.post(credential, json={}, headers={**auth, "DPoP": _dpop(key, credential)})
        httpx.post(credential, json={}, headers=auth)
    assert [(d.endpoint, d.reason, d.challenged) for d in demands.dpop] == [
        ("/token", None, True),
        ("/token", "dpop.nonce_missing", False),
        ("/token", None, False),
        ("/token", "dpop.jti_replayed", False),
        ("/token", "dpop.htu_mismatch", False),
        ("/credential", "dpop.ath_mismatch", False),
        ("/credential", "dpop.proof_missing", False),
    ]


def test_key_attestations_are_verified_and_must_attest_the_proof_key() -> None:
    holder, other = p256(), p256()
    with _issuer() as issuer:
        demands = issuer.haip
        assert demands is not None
        nonce = httpx.post(f"{issuer.url}/nonce").json()["c_nonce"]

        def proof(attested: ec.EllipticCurvePrivateKey | None) -> str:
            attestation = (
                create_key_attestation(
                    signer=PROVIDER.signer,
                    x5c=PROVIDER.x5c,
                    attested_keys=[public_jwk(attested)],
                    now=NOW,
                    expires_at=NOW + timedelta(minutes=10),
                    nonce=nonce,
                )
                if attested is not None
                else None
            )
            return create_jwt_proof(
                signer=KeySigner(holder),
                holder_jwk=public_jwk(holder),
                audience=issuer.url,
                nonce=nonce,
                now=NOW,
                key_attestation=attestation,
            )

        for attested in (holder, other, None):
            httpx.post(f"{issuer.url}/credential", json={"proofs": {"jwt": [proof(attested)]}})
    assert [k.reason for k in demands.key_attestations] == [
        None,
        "key_attestation.key_not_attested",
        "key_attestation.missing",
    ]
