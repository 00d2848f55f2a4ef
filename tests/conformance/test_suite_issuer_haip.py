"""The suite's issuer in its HAIP role (conformance/_issuer_haip.py) advertises what it
demands, challenges for a DPoP nonce, and records each fault of a wallet's attestation,
DPoP proofs and key attestations with the core's reason, never as a pass."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import httpx
import yaml
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle.conformance import Status, run_checks, select_checks
from passerelle.conformance._issuer_haip import HaipDemands
from passerelle.conformance._issuer_role import SuiteIssuer
from passerelle.conformance._local import prepare_data_dir
from passerelle.conformance.targets import load_targets, local_targets_text
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
from passerelle.services.launcher import start_stack
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


HAIP_CHECKS = [f"WAL-HAIP-0{n}" for n in range(1, 7)]
SAMPLE = Path(__file__).resolve().parents[2] / "schemas" / "eu-pid" / "samples"


def _wallet_only(**settings: object) -> str:
    """The local targets file with the wallet alone, the suite issuing its credential."""
    root = yaml.safe_load(local_targets_text())
    targets = root["targets"]
    for name in [n for n, t in targets.items() if t["role"] != "wallet"]:
        del targets[name]
    wallet = targets["wallet"]
    for key in ("issuer", "configuration", "persona", "wallet_providers_list"):
        wallet.pop(key, None)
    wallet["suite_credential"] = {"file": str(SAMPLE / "zoe-lefevre-dubois.json")}
    wallet.update(settings)
    root.pop("cross_border", None)
    return yaml.safe_dump(root)


def test_the_wallet_passes_with_its_provider_trusted_and_fails_without(tmp_path: Path) -> None:
    """With the wallet provider's CA as anchor the development wallet passes every HAIP
    check; with another CA its wallet and key attestations are refused, and only those
    checks fail (the DPoP checks do not depend on whom the suite trusts)."""
    data_dir = tmp_path / "stack"
    hosts = prepare_data_dir(data_dir)
    stack = start_stack(data_dir=data_dir, hosts=hosts, roles=("trust", "wallet"))
    substitutions = {**stack.urls, "data_dir": str(data_dir)}
    try:
        runs = [
            run_checks(
                load_targets(_wallet_only(**settings), substitutions=substitutions, source="t"),
                select_checks(ids=HAIP_CHECKS),
            )
            for settings in ({}, {"wallet_provider_anchors": ["eu-wrpac-provider-ca"]})
        ]
    finally:
        stack.stop()
    trusted, untrusted = ({r.check.id: (r.status, r.message) for r in run.results} for run in runs)
    assert {k: v[0] for k, v in trusted.items()} == dict.fromkeys(HAIP_CHECKS, Status.PASSED), (
        trusted
    )
    failed = {k for k, v in untrusted.items() if v[0] is Status.FAILED}
    assert failed == {"WAL-HAIP-01", "WAL-HAIP-06"}, untrusted
    assert "client_attestation.untrusted" in untrusted["WAL-HAIP-01"][1]
    assert "key_attestation.untrusted" in untrusted["WAL-HAIP-06"][1]
