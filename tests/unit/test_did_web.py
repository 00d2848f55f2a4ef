"""did:web resolution for the wallet, and a request object signed under a
``decentralized_identifier`` client id verified through it."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import PasserelleError, Reason
from passerelle.dcp import did_web_to_url
from passerelle.jose import KeySigner, public_jwk
from passerelle.oid4vp import (
    AuthorizationRequest,
    ResponseMode,
    create_request_object,
    verify_request_object,
)
from passerelle.services.did import WebDidResolver
from passerelle.services.fetch import Fetcher, FetchPolicy
from tests.conftest import NOW

DID = "did:web:verifier.example%3A8443:rp"


@pytest.mark.parametrize(
    ("did", "url"),
    [
        ("did:web:w3c-ccg.github.io", "https://w3c-ccg.github.io/.well-known/did.json"),
        ("did:web:w3c-ccg.github.io:user:alice", "https://w3c-ccg.github.io/user/alice/did.json"),
        ("did:web:example.com%3A3000", "https://example.com:3000/.well-known/did.json"),
    ],
)
def test_did_web_urls_follow_the_method_spec(did: str, url: str) -> None:
    assert did_web_to_url(did) == url


def test_not_did_web_is_refused() -> None:
    for bad in ("did:key:z6Mk", "did:web:", "did:web:evil.example%2Fpath"):
        with pytest.raises(PasserelleError) as err:
            did_web_to_url(bad)
        assert err.value.reason is Reason.DID_INVALID


def test_a_did_client_request_object_verifies_through_did_web() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    document = {
        "id": DID,
        "verificationMethod": [
            {
                "id": f"{DID}#key-1",
                "type": "JsonWebKey2020",
                "controller": DID,
                "publicKeyJwk": public_jwk(key),
            }
        ],
        "authentication": [f"{DID}#key-1"],
    }
    seen: list[str] = []

    def serve(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, json=document)

    fetcher = Fetcher(FetchPolicy(), transport=httpx.MockTransport(serve))
    client_id = f"decentralized_identifier:{DID}"
    request = AuthorizationRequest(
        client_id=client_id,
        response_mode=ResponseMode.DIRECT_POST,
        response_uri="https://verifier.example:8443/rp/response/1",
        nonce="n",
        dcql_query={"credentials": []},
    )
    token = create_request_object(request, signer=KeySigner(key), now=NOW, kid=f"{DID}#key-1")
    verified = verify_request_object(
        token,
        client_id_from_url=client_id,
        anchors=[],
        did_resolver=WebDidResolver(fetcher),
        now=NOW,
        skew=timedelta(seconds=30),
        wallet_nonce=None,
    )
    assert verified.verification_method == f"{DID}#key-1"
    assert seen == ["https://verifier.example:8443/rp/did.json"]
