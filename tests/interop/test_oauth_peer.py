"""Our HAIP OAuth core against ``@openid4vc/oauth2`` and ``@openid4vc/openid4vci`` 0.4.6
(OpenWallet Foundation), in both directions, each side with its defaults:

- DPoP proofs the library's client makes at a token endpoint (including its retry after
  ``use_dpop_nonce``) and at a resource (with ``ath``) pass our ``verify_dpop_proof``;
  ours pass its authorization server's and resource server's checks.
- Client attestations and PoPs its client makes pass our ``verify_client_attestation``
  against the wallet-provider anchor; ours pass its authorization server.
- Key attestations it makes pass our ``verify_key_attestation``; ours, alone and inside a
  ``jwt`` key proof, pass its issuer.

Where the library and the texts disagree, a test pins the library's behaviour and the
README says who is right and why (tests/interop/README.md, "HAIP OAuth peers").
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from peers import run_node

from passerelle import PasserelleError, Reason
from passerelle._json import JsonObject, b64url_decode, parse_json_object
from passerelle.jose import KeySigner, jwk_thumbprint, private_jwk, public_jwk, sign_jws
from passerelle.oauth import (
    VerifiedClientAttestation,
    VerifiedDpopProof,
    create_client_attestation,
    create_client_attestation_pop,
    create_dpop_proof,
    read_client_attestation_headers,
    read_dpop_header,
    verify_client_attestation,
    verify_dpop_proof,
    verify_protected_request,
)
from passerelle.oid4vci import (
    KeyAttestationPolicy,
    create_jwt_proof,
    create_key_attestation,
    verify_attestation_proof,
    verify_jwt_proof,
    verify_key_attestation,
)
from passerelle.x509 import (
    LeafUsage,
    build_ca_certificate,
    build_leaf_certificate,
    build_name,
    encode_x5c,
)

pytestmark = pytest.mark.interop

HERE = Path(__file__).resolve().parent
PEER = HERE / "oauth_peer.mjs"
ISSUER = "https://issuer.example.eu"
TOKEN_ENDPOINT = f"{ISSUER}/token"
CREDENTIAL_ENDPOINT = f"{ISSUER}/credential"
WALLET_PROVIDER = "https://wallet-provider.example.eu"
CLIENT_ID = "https://wallet.example.eu"
ALGS = ("ES256",)
SKEW = timedelta(seconds=30)
MAX_AGE = timedelta(minutes=5)


class Replay:
    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def register(self, *, scope: str, jti: str, expires_at: datetime) -> bool:
        if (scope, jti) in self.seen:
            return False
        self.seen.add((scope, jti))
        return True


class Random:
    def token_bytes(self, n: int, /) -> bytes:
        import secrets

        return secrets.token_bytes(n)


def run_peer(request: JsonObject) -> tuple[int, JsonObject]:
    return run_node(PEER, request, package="@openid4vc/oauth2")


def our_dpop_verdict(proof: str, *, replay: Replay) -> VerifiedDpopProof:
    """Our check of the DPoP proof of a token request, under our server nonce."""
    return verify_dpop_proof(
        proof,
        method="POST",
        url=TOKEN_ENDPOINT,
        algorithms=ALGS,
        now=now(),
        skew=SKEW,
        max_age=MAX_AGE,
        replay=replay,
        accepted_nonces=["server-nonce-1"],
    )


def our_attestation_verdict(
    provider: Provider, pair: tuple[str, str], *, client_id: str | None, replay: Replay
) -> VerifiedClientAttestation:
    """Our authorization server's check of a client attestation and its PoP."""
    return verify_client_attestation(
        *pair,
        authorization_server=ISSUER,
        client_id=client_id,
        anchors=[provider.root],
        algorithms=ALGS,
        now=now(),
        skew=SKEW,
        max_pop_age=MAX_AGE,
        replay=replay,
    )


def peer_ok(request: JsonObject) -> JsonObject:
    code, answer = run_peer(request)
    assert code == 0, answer
    return answer


def peer_refuses(request: JsonObject) -> JsonObject:
    code, answer = run_peer(request)
    assert code == 1, answer
    assert isinstance(answer.get("error"), str)
    return answer


def now() -> datetime:
    # The library reads the real clock when it makes proofs; we verify at the same time.
    return datetime.now(UTC)


class Provider:
    """A wallet provider: a root CA and a signing certificate, made here."""

    def __init__(self) -> None:
        start = now() - timedelta(days=1)
        self.root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = build_ca_certificate(
            subject=build_name(common_name="Interop Wallet Provider CA", country="BE"),
            key=self.root_key,
            not_before=start,
            not_after=start + timedelta(days=30),
            serial=1001,
            path_length=0,
        )
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.cert = build_leaf_certificate(
            subject=build_name(common_name="Interop Wallet Provider", country="BE"),
            public_key=self.key.public_key(),
            issuer_cert=self.root,
            issuer_key=self.root_key,
            not_before=start,
            not_after=start + timedelta(days=30),
            serial=1002,
            usage=LeafUsage.SIGNING,
        )
        self.x5c = encode_x5c([self.cert])
        self.anchor_b64 = encode_x5c([self.root])[0]

    def attester(self) -> JsonObject:
        return {"jwk": private_jwk(self.key), "x5c": self.x5c, "iss": WALLET_PROVIDER}


@pytest.fixture(scope="module")
def provider() -> Provider:
    return Provider()


def p256() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


def claims_of(token: str) -> JsonObject:
    return parse_json_object(b64url_decode(token.split(".")[1]))


# --- the library's client, our server --------------------------------------------------


def test_peer_token_request_passes_our_dpop_and_client_attestation(provider: Provider) -> None:
    dpop_key, instance = p256(), p256()
    answer = peer_ok(
        {
            "op": "token-request",
            "tokenEndpoint": TOKEN_ENDPOINT,
            "issuer": ISSUER,
            "dpopJwk": private_jwk(dpop_key),
            "instanceJwk": private_jwk(instance),
            "attester": provider.attester(),
            "clientId": CLIENT_ID,
            "nonce": "server-nonce-1",
        }
    )
    requests = answer["requests"]
    assert isinstance(requests, list)
    # The first try carries no nonce; the library retries after use_dpop_nonce.
    assert len(requests) == 2
    first, second = requests
    assert isinstance(first, dict)
    assert isinstance(second, dict)
    replay = Replay()
    with pytest.raises(PasserelleError) as info:
        our_dpop_verdict(first["headers"]["dpop"], replay=replay)  # type: ignore[index]
    assert info.value.reason is Reason.DPOP_NONCE_MISSING
    assert info.value.wire_error == "use_dpop_nonce"
    headers = second["headers"]
    assert isinstance(headers, dict)
    proof = read_dpop_header([headers["dpop"]])  # type: ignore[list-item]
    assert proof is not None
    verified = our_dpop_verdict(proof, replay=replay)
    assert verified.jkt == jwk_thumbprint(dpop_key.public_key())
    assert verified.nonce == "server-nonce-1"
    pair = read_client_attestation_headers(
        [headers["oauth-client-attestation"]],  # type: ignore[list-item]
        [headers["oauth-client-attestation-pop"]],  # type: ignore[list-item]
    )
    assert pair is not None
    attested = our_attestation_verdict(provider, pair, client_id=None, replay=replay)
    assert attested.client_id == CLIENT_ID
    assert attested.instance_jkt == jwk_thumbprint(instance.public_key())
    # The library's PoP follows draft -05: exp, and no iat-free shape; nonce not challenge.
    assert "exp" in attested.pop_claims
    # Replaying the very same headers is caught.
    with pytest.raises(PasserelleError) as info:
        our_attestation_verdict(provider, pair, client_id=None, replay=replay)
    assert info.value.reason is Reason.CLIENT_ATTESTATION_POP_REPLAYED


def test_peer_resource_request_passes_our_protected_request_check() -> None:
    dpop_key = p256()
    token = "at-" + "x" * 40
    answer = peer_ok(
        {
            "op": "resource-request",
            "url": CREDENTIAL_ENDPOINT + "?q=1",
            "method": "POST",
            "accessToken": token,
            "dpopJwk": private_jwk(dpop_key),
            "nonce": None,
        }
    )
    (sent,) = answer["requests"]  # type: ignore[misc]
    headers = sent["headers"]
    result = verify_protected_request(
        authorization=[headers["authorization"]],
        dpop=[headers["dpop"]],
        method="POST",
        url=CREDENTIAL_ENDPOINT,
        token_jkt=jwk_thumbprint(dpop_key.public_key()),
        require_dpop=True,
        algorithms=ALGS,
        now=now(),
        skew=SKEW,
        max_age=MAX_AGE,
        replay=Replay(),
    )
    assert result.proof is not None
    assert result.proof.ath is not None


# --- our client, the library's server --------------------------------------------------


def our_token_request_headers(
    provider: Provider, *, dpop_key: object, instance: object
) -> dict[str, str]:
    t = now()
    attestation = create_client_attestation(
        signer=KeySigner(provider.key),
        x5c=provider.x5c,
        issuer=WALLET_PROVIDER,
        client_id=CLIENT_ID,
        instance_jwk=public_jwk(instance),  # type: ignore[arg-type]
        now=t,
        lifetime=timedelta(hours=1),
    )
    pop = create_client_attestation_pop(
        signer=KeySigner(instance),  # type: ignore[arg-type]
        client_id=CLIENT_ID,
        authorization_server=ISSUER,
        now=t,
        random=Random(),
    )
    dpop = create_dpop_proof(
        signer=KeySigner(dpop_key),  # type: ignore[arg-type]
        public_key_jwk=public_jwk(dpop_key),  # type: ignore[arg-type]
        method="POST",
        url=TOKEN_ENDPOINT,
        now=t,
        random=Random(),
    )
    return {
        "DPoP": dpop,
        "OAuth-Client-Attestation": attestation,
        "OAuth-Client-Attestation-PoP": pop,
    }


def test_our_token_request_passes_the_peer_authorization_server(provider: Provider) -> None:
    dpop_key, instance = p256(), p256()
    headers = our_token_request_headers(provider, dpop_key=dpop_key, instance=instance)
    answer = peer_ok(token_request_check(provider, headers))
    assert answer["dpopJwkThumbprint"] == jwk_thumbprint(dpop_key.public_key())
    assert answer["clientId"] == CLIENT_ID


def test_the_peer_authorization_server_refuses_a_foreign_attestation(provider: Provider) -> None:
    # The harness's trust check is real: an attestation from another provider fails.
    headers = our_token_request_headers(Provider(), dpop_key=p256(), instance=p256())
    answer = peer_refuses(token_request_check(provider, headers))
    assert answer.get("errorResponse", {}).get("error") == "invalid_client"  # type: ignore[union-attr]


def token_request_check(provider: Provider, headers: dict[str, str]) -> JsonObject:
    """The peer authorization server's check of a token request with ``headers``."""
    return {
        "op": "verify-token-request",
        "tokenEndpoint": TOKEN_ENDPOINT,
        "issuer": ISSUER,
        "headers": headers,  # type: ignore[dict-item]
        "anchor": provider.anchor_b64,
        "preAuthorizedCode": "pre-1",
        "now": int(now().timestamp()),
    }


def verify_token_request(provider: Provider, headers: dict[str, str]) -> tuple[int, JsonObject]:
    return run_peer(token_request_check(provider, headers))


def test_peer_requires_exp_in_a_draft_07_pop(provider: Provider) -> None:
    # Draft -07 §5.2 lists iss, aud, jti, iat (and challenge) for the PoP; exp is not
    # among them. The library still requires it (its schema follows draft -05), so a
    # PoP exactly as -07 describes is refused; ours carries exp for that reason.
    instance = p256()
    headers = our_token_request_headers(provider, dpop_key=p256(), instance=instance)
    t = int(now().timestamp())
    headers["OAuth-Client-Attestation-PoP"] = sign_jws(
        {"typ": "oauth-client-attestation-pop+jwt"},
        {"iss": CLIENT_ID, "aud": ISSUER, "jti": "pop-07", "iat": t},
        KeySigner(instance),
    )
    code, answer = verify_token_request(provider, headers)
    assert code == 1, answer
    pair = read_client_attestation_headers(
        [headers["OAuth-Client-Attestation"]], [headers["OAuth-Client-Attestation-PoP"]]
    )
    assert pair is not None
    our_attestation_verdict(provider, pair, client_id=CLIENT_ID, replay=Replay())


def test_peer_accepts_a_stale_dpop_proof_we_refuse(provider: Provider) -> None:
    # RFC 9449 §4.3 check 11: the creation time must be "within an acceptable window".
    # The library's authorization server never looks at iat (its verifyJwt checks only
    # nbf and exp, and no now reaches the DPoP check), so an hour-old proof passes there.
    dpop_key = p256()
    headers = our_token_request_headers(provider, dpop_key=dpop_key, instance=p256())
    stale = create_dpop_proof(
        signer=KeySigner(dpop_key),
        public_key_jwk=public_jwk(dpop_key),
        method="POST",
        url=TOKEN_ENDPOINT,
        now=now() - timedelta(hours=1),
        random=Random(),
    )
    headers["DPoP"] = stale
    code, answer = verify_token_request(provider, headers)
    assert code == 0, answer
    with pytest.raises(PasserelleError) as info:
        verify_dpop_proof(
            stale,
            method="POST",
            url=TOKEN_ENDPOINT,
            algorithms=ALGS,
            now=now(),
            skew=SKEW,
            max_age=MAX_AGE,
            replay=Replay(),
        )
    assert info.value.reason is Reason.DPOP_IAT_OUT_OF_WINDOW


@pytest.mark.parametrize(
    "htu", [TOKEN_ENDPOINT + "?grant=1", "https://ISSUER.example.eu/token", ISSUER + ":443/token"]
)
def test_peer_compares_htu_without_normalising_the_claim(provider: Provider, htu: str) -> None:
    # RFC 9449 §4.3 check 9 ignores "any query and fragment parts" and asks servers to
    # normalise (RFC 3986 §6.2.2, §6.2.3) before comparing; the library compares the
    # claim byte for byte with its own parse of the request URL.
    dpop_key = p256()
    headers = our_token_request_headers(provider, dpop_key=dpop_key, instance=p256())
    t = int(now().timestamp())
    headers["DPoP"] = sign_jws(
        {"typ": "dpop+jwt", "jwk": public_jwk(dpop_key)},
        {"jti": f"j-{htu}", "htm": "POST", "htu": htu, "iat": t},
        KeySigner(dpop_key),
    )
    code, answer = verify_token_request(provider, headers)
    assert code == 1, answer
    verified = verify_dpop_proof(
        headers["DPoP"],
        method="POST",
        url=TOKEN_ENDPOINT,
        algorithms=ALGS,
        now=now(),
        skew=SKEW,
        max_age=MAX_AGE,
        replay=Replay(),
    )
    assert verified.htu == htu


def test_our_resource_request_passes_the_peer_resource_server() -> None:
    as_key, dpop_key = p256(), p256()
    t = now()
    access_token = sign_jws(
        {"typ": "at+jwt", "kid": "as-1"},
        {
            "iss": ISSUER,
            "sub": "holder",
            "aud": CREDENTIAL_ENDPOINT,
            "iat": int(t.timestamp()),
            "exp": int(t.timestamp()) + 300,
            "jti": "at-jti-1",
            "client_id": CLIENT_ID,
            "cnf": {"jkt": jwk_thumbprint(dpop_key.public_key())},
        },
        KeySigner(as_key),
    )
    proof = create_dpop_proof(
        signer=KeySigner(dpop_key),
        public_key_jwk=public_jwk(dpop_key),
        method="POST",
        url=CREDENTIAL_ENDPOINT,
        now=t,
        random=Random(),
        access_token=access_token,
    )
    jwks = {"keys": [{**public_jwk(as_key), "kid": "as-1", "use": "sig", "alg": "ES256"}]}
    request: JsonObject = {
        "op": "verify-resource-request",
        "url": CREDENTIAL_ENDPOINT,
        "method": "POST",
        "headers": {"Authorization": f"DPoP {access_token}", "DPoP": proof},
        "issuer": ISSUER,
        "jwks": jwks,  # type: ignore[dict-item]
        "resourceServer": CREDENTIAL_ENDPOINT,
        "now": int(t.timestamp()),
    }
    answer = peer_ok(request)
    assert answer["scheme"] == "DPoP"
    assert answer["dpopJwk"] == public_jwk(dpop_key)
    # RFC 9110 §11.1 makes the scheme case-insensitive; the library compares it exactly.
    lower = dict(request, headers={"Authorization": f"dpop {access_token}", "DPoP": proof})
    refusal = peer_refuses(lower)
    assert "authentication scheme" in str(refusal["error"])


# --- key attestations ------------------------------------------------------------------


def test_peer_key_attestation_passes_ours(provider: Provider) -> None:
    holder = p256()
    answer = peer_ok(
        {
            "op": "create-key-attestation",
            "attester": provider.attester(),
            "attestedKeys": [private_jwk(holder)],
            "nonce": "c-nonce",
            "use": "proof_type.jwt",
            "expiresInSeconds": 3600,
        }
    )
    token = answer["jwt"]
    assert isinstance(token, str)
    policy = KeyAttestationPolicy(anchors=(provider.root,), required=True)
    verified = verify_key_attestation(
        token,
        policy=policy,
        algorithms=ALGS,
        now=now(),
        skew=SKEW,
        expected_nonce="c-nonce",
        require_exp=True,
    )
    assert verified.attests(holder.public_key())
    # The library writes the pre-1.0 typ (1.0 Appendix D.1 says key-attestation+jwt).
    header = parse_json_object(b64url_decode(token.split(".")[0]))
    assert header["typ"] == "keyattestation+jwt"


def test_our_key_attestation_and_proof_pass_the_peer_issuer(provider: Provider) -> None:
    holder = p256()
    t = now()
    attestation = create_key_attestation(
        signer=KeySigner(provider.key),
        x5c=provider.x5c,
        attested_keys=[public_jwk(holder)],
        now=t,
        expires_at=t + timedelta(hours=1),
        nonce="c-nonce",
        key_storage=["iso_18045_moderate"],
    )
    answer = peer_ok(
        {
            "op": "verify-attestation-proof",
            "jwt": attestation,
            "expectedNonce": "c-nonce",
            "anchor": provider.anchor_b64,
            "now": int(t.timestamp()),
        }
    )
    assert answer["attestedKeys"] == [public_jwk(holder)]
    # The same attestation inside our jwt key proof, as HAIP's first option.
    plain = create_jwt_proof(
        signer=KeySigner(holder),
        holder_jwk=public_jwk(holder),
        audience=ISSUER,
        nonce="c-nonce",
        now=t,
        client_id=CLIENT_ID,
    )
    header = {
        "typ": "openid4vci-proof+jwt",
        "jwk": public_jwk(holder),
        "key_attestation": attestation,
    }
    proof = sign_jws(header, claims_of(plain), KeySigner(holder))
    ours = verify_jwt_proof(
        proof,
        audience=ISSUER,
        expected_nonce="c-nonce",
        algorithms=ALGS,
        now=t,
        max_age=MAX_AGE,
        skew=SKEW,
        client_id=CLIENT_ID,
        key_attestation=KeyAttestationPolicy(anchors=(provider.root,), required=True),
    )
    assert ours.key_attestation is not None
    answer = peer_ok(
        {
            "op": "verify-jwt-proof",
            "jwt": proof,
            "credentialIssuer": ISSUER,
            "expectedNonce": "c-nonce",
            "clientId": CLIENT_ID,
            "anchor": provider.anchor_b64,
            "now": int(t.timestamp()),
        }
    )
    assert answer["attestedKeys"] == [public_jwk(holder)]


def test_peer_attestation_proof_passes_ours(provider: Provider) -> None:
    holder = p256()
    answer = peer_ok(
        {
            "op": "create-key-attestation",
            "attester": provider.attester(),
            "attestedKeys": [private_jwk(holder)],
            "nonce": "c-nonce",
            "use": "proof_type.attestation",
            "expiresInSeconds": None,
        }
    )
    verified = verify_attestation_proof(
        answer["jwt"],  # type: ignore[arg-type]
        policy=KeyAttestationPolicy(anchors=(provider.root,), required=True),
        algorithms=ALGS,
        now=now(),
        skew=SKEW,
        expected_nonce="c-nonce",
    )
    assert verified.attests(holder.public_key())
