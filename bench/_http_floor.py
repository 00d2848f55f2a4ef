"""The HTTP floor: the three routes a presentation takes (create the transaction, fetch
the request object, post the response) answering constants, on the verifier's server
stack (uvicorn with uvloop and httptools, FastAPI). No store, no decision, no signing
per request: what is left is the transport, the framework and the bench's own wallets,
the part of a presentation over HTTP that no verifier on this stack can go below.

Its rate is to the HTTP path what the two ES256 verifications are to the in-process
decision: when the floor itself is under 0.4 × the in-process decision rate, no
verifier served this way, on this machine, with these wallets, meets that target.

The request object is a real JWS, signed once at start with a key made for the run; the
bench wallets read it as they read the verifier's (bench/_wallets.py)."""

from __future__ import annotations

import os

from cryptography.hazmat.primitives.asymmetric import ec
from fastapi import FastAPI, Request, Response

from passerelle.jose import KeySigner, sign_jws

__all__ = ["floor_app"]

_REQUEST_ID = "floor"


def floor_app() -> FastAPI:
    base = os.environ["BENCH_BASE"]
    request_object = sign_jws(
        {"typ": "oauth-authz-req+jwt"},
        {
            "client_id": "x509_san_dns:bench-floor.localhost",
            "response_type": "vp_token",
            "response_mode": "direct_post",
            "response_uri": f"{base}/response/{_REQUEST_ID}",
            "nonce": "bench-floor-nonce",
            "state": "bench-floor-state",
        },
        KeySigner(ec.generate_private_key(ec.SECP256R1())),
    ).encode("ascii")
    created = {"request_uri": f"{base}/request/{_REQUEST_ID}"}
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)

    # async routes: no thread hop, the cheapest FastAPI serves a request. The bodies are
    # read, as a verifier must read them, and not parsed.
    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/transactions")
    async def transactions(request: Request) -> dict[str, str]:
        await request.body()
        return created

    @app.get("/request/{rid}")
    async def request_uri(rid: str) -> Response:
        return Response(request_object, media_type="application/oauth-authz-req+jwt")

    @app.post("/response/{rid}")
    async def response(rid: str, request: Request) -> dict[str, str]:
        await request.body()
        return {}

    return app
