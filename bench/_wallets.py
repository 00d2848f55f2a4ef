"""The load: a separate process playing many wallets, so that the wallet's own work is
never counted as the service's.

    python -m bench._wallets issue   ISSUER_URL  COUNT CONCURRENCY OUT.json
    python -m bench._wallets present VERIFIER_URL CREDENTIALS.json COUNT CONCURRENCY

``issue`` runs the OpenID4VCI pre-authorized code flow (offer, token, nonce, credential
with a key proof) COUNT times and writes the credentials with their holder keys (keys
generated in this run, written only to the bench's temporary directory). ``present``
runs COUNT OpenID4VP transactions (create, fetch the request object, answer by
``direct_post`` with a fresh KB-JWT for the verifier's nonce) over those credentials.
Each prints one JSON line: the count, the wall time and every latency.

The bench wallet reads the request object without verifying its signature: it talks to
the local verifier the bench started, and its own checks are not what is measured.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle.jose import (
    KeySigner,
    decode_unverified_jws,
    load_private_jwk,
    private_jwk,
    public_jwk,
    sign_jws,
)
from passerelle.sd_jwt import KeyBindingInput, present_sd_jwt

PRE = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
CONFIGURATION = "eu-pid-sd-jwt"
PERSONA = "jan-thart"
POLICY = "age-and-name"
SHOWN = [("given_name",), ("family_name",), ("age_equal_or_over", "18")]

_local = threading.local()


def _client() -> httpx.Client:
    # One keep-alive client per wallet thread, as a real wallet app would hold.
    client: httpx.Client | None = getattr(_local, "client", None)
    if client is None:
        client = httpx.Client(timeout=120)
        _local.client = client
    return client


def _issue_one(issuer: str, credential_issuer: str) -> dict[str, Any]:
    client = _client()
    made = client.post(
        f"{issuer}/offers",
        json={
            "credential_configuration_ids": [CONFIGURATION],
            "persona": PERSONA,
            "tx_code": False,
        },
    )
    made.raise_for_status()
    code = made.json()["credential_offer"]["grants"][PRE]["pre-authorized_code"]
    token = client.post(f"{issuer}/token", data={"grant_type": PRE, "pre-authorized_code": code})
    token.raise_for_status()
    bearer = token.json()["access_token"]
    nonce = client.post(f"{issuer}/nonce").json()["c_nonce"]
    holder = ec.generate_private_key(ec.SECP256R1())
    proof = sign_jws(
        {"typ": "openid4vci-proof+jwt", "alg": "ES256", "jwk": public_jwk(holder.public_key())},
        {"aud": credential_issuer, "iat": int(time.time()), "nonce": nonce},
        KeySigner(holder),
    )
    answer = client.post(
        f"{issuer}/credential",
        json={"credential_configuration_id": CONFIGURATION, "proofs": {"jwt": [proof]}},
        headers={"Authorization": f"Bearer {bearer}"},
    )
    answer.raise_for_status()
    return {
        "credential": answer.json()["credentials"][0]["credential"],
        "holder": private_jwk(holder),
    }


def _present_one(verifier: str, credential: str, holder: Any) -> None:
    client = _client()
    made = client.post(
        f"{verifier}/transactions", json={"policy": POLICY, "response_mode": "direct_post"}
    )
    made.raise_for_status()
    request = client.get(made.json()["request_uri"])
    request.raise_for_status()
    claims = decode_unverified_jws(request.text).payload_json()
    presentation = present_sd_jwt(
        credential,
        disclose=SHOWN,
        key_binding=KeyBindingInput(
            signer=KeySigner(holder),
            nonce=str(claims["nonce"]),
            audience=str(claims["client_id"]),
            now=datetime.now(UTC),
        ),
    )
    answer = client.post(
        str(claims["response_uri"]),
        data={"vp_token": json.dumps({"pid": [presentation]}), "state": str(claims["state"])},
    )
    if answer.status_code != 200:
        raise RuntimeError(f"the verifier refused a presentation: {answer.text[:500]}")


def _run(count: int, concurrency: int, one: Any) -> tuple[float, list[float]]:
    def timed(i: int) -> float:
        started = time.perf_counter()
        one(i)
        return time.perf_counter() - started

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        latencies = list(pool.map(timed, range(count)))
    return time.perf_counter() - started, latencies


def main(argv: list[str]) -> int:
    mode = argv[0]
    if mode == "issue":
        issuer, count, concurrency, out = argv[1], int(argv[2]), int(argv[3]), Path(argv[4])
        metadata = httpx.get(f"{issuer}/.well-known/openid-credential-issuer", timeout=60)
        credential_issuer = metadata.json()["credential_issuer"]
        issued: list[dict[str, Any]] = [{}] * count

        def issue(i: int) -> None:
            issued[i] = _issue_one(issuer, credential_issuer)

        wall, latencies = _run(count, concurrency, issue)
        out.write_text(json.dumps(issued))
    elif mode == "present":
        verifier, source = argv[1], Path(argv[2])
        count, concurrency = int(argv[3]), int(argv[4])
        wallets = [
            (w["credential"], load_private_jwk(w["holder"])) for w in json.loads(source.read_text())
        ]

        def present(i: int) -> None:
            credential, holder = wallets[i % len(wallets)]
            _present_one(verifier, credential, holder)

        wall, latencies = _run(count, concurrency, present)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
    print(json.dumps({"count": count, "wall_s": wall, "latencies_s": latencies}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
