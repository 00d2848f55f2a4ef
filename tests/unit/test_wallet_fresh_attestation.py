"""The wallet asks its provider for a new attestation when an issuer answers
``use_fresh_attestation`` (attestation-based client authentication -07 §6.2: "MUST be
used when the Client Attestation JWT is deemed to be not fresh enough to be acceptable
by the server"), and tries once more with it."""

from __future__ import annotations

import json

import httpx

from passerelle.oauth import ATTESTATION_HEADER, AUTH_METHOD
from passerelle.services.fetch import Fetcher, FetchPolicy
from passerelle.services.runtime import SecretsRandom
from passerelle.services.wallet.haip import HaipSession
from passerelle.services.wallet.provider import WalletProvider
from tests.unit.haip_world import NOW, make_provider

TOKEN = "https://issuer.example/token"


def _session(answers: list[httpx.Response], seen: list[httpx.Request]) -> HaipSession:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    provider = make_provider()
    return HaipSession(
        provider=WalletProvider(
            signer=provider.signer, x5c=tuple(provider.x5c), identifier="https://wallet.example"
        ),
        fetcher=Fetcher(FetchPolicy(), transport=httpx.MockTransport(handler)),
        random=SecretsRandom(),
        clock=lambda: NOW,
        as_metadata={
            "issuer": "https://issuer.example",
            "token_endpoint_auth_methods_supported": [AUTH_METHOD],
        },
        issuer_metadata={},
    )


def _refusal(error: str) -> httpx.Response:
    return httpx.Response(400, content=json.dumps({"error": error}).encode())


def test_a_stale_attestation_is_replaced_once() -> None:
    seen: list[httpx.Request] = []
    session = _session([_refusal("use_fresh_attestation"), httpx.Response(200)], seen)
    response = session.send("POST", TOKEN, what="token", authenticate=True, data={"a": "b"})
    assert response.status_code == 200
    first, second = (r.headers[ATTESTATION_HEADER] for r in seen)
    assert first != second
    assert any("fresh wallet attestation" in step for step in session.steps)


def test_other_refusals_are_not_retried() -> None:
    seen: list[httpx.Request] = []
    session = _session([_refusal("invalid_client"), httpx.Response(200)], seen)
    response = session.send("POST", TOKEN, what="token", authenticate=True, data={"a": "b"})
    assert response.status_code == 400
    assert len(seen) == 1
