"""Nothing acknowledged is lost on restart: the issuer process is killed (SIGKILL) after
the token response, started again, and the credential request still succeeds, on
SQLite and on PostgreSQL. Status indices are never reused across the restart."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle.jose import KeySigner, public_jwk, sign_jws
from passerelle.sd_jwt import parse_sd_jwt
from passerelle.services.pki import init_pki
from passerelle.services.runtime import utc_now
from tests.storage_backends import Backend

PRE = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
CONFIG = "ca-person-sd-jwt"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _issuer(data_dir: Path, port: int, store: str) -> Iterator[subprocess.Popen[bytes]]:
    command = [
        sys.executable, "-c", "from passerelle.cli import main; main()",
        "serve", "ca-issuer", "--data-dir", str(data_dir), "--port", str(port), "--store", store,
    ]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 300  # ends at the first healthy answer
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=10).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"issuer did not start: {process.stderr.read()!r}")  # type: ignore[union-attr]
            time.sleep(0.2)
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=60)


def _proof(base: str, key: ec.EllipticCurvePrivateKey, nonce: str) -> str:
    claims = {"aud": base, "iat": int(datetime.now(UTC).timestamp()), "nonce": nonce}
    return sign_jws({"typ": "openid4vci-proof+jwt", "jwk": public_jwk(key)}, claims, KeySigner(key))


def _credential(base: str, access: str, nonce: str) -> httpx.Response:
    holder = ec.generate_private_key(ec.SECP256R1())
    return httpx.post(
        f"{base}/credential",
        json={
            "credential_configuration_id": CONFIG,
            "proofs": {"jwt": [_proof(base, holder, nonce)]},
        },
        headers={"Authorization": f"Bearer {access}"},
        timeout=120,
    )


def _index(response: httpx.Response) -> int:
    token = response.json()["credentials"][0]["credential"]
    return int(parse_sd_jwt(token).unverified_payload()["status"]["status_list"]["idx"])  # type: ignore[index,call-overload]


def test_kill_after_token_then_restart(tmp_path: Path, backend: Backend) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = tmp_path / "data"
    init_pki(data_dir, now=utc_now(), hosts={"ca-issuer": base})
    with _issuer(data_dir, port, backend.url) as process:
        persona = "aiyana-stonechild"
        offer = httpx.post(
            f"{base}/offers",
            json={"credential_configuration_ids": [CONFIG], "persona": persona, "tx_code": True},
        ).json()
        grant = offer["credential_offer"]["grants"][PRE]
        token = httpx.post(
            f"{base}/token",
            data={
                "grant_type": PRE,
                "pre-authorized_code": grant["pre-authorized_code"],
                "tx_code": offer["tx_code"],
            },
        )
        assert token.status_code == 200, token.text
        access = token.json()["access_token"]
        first = _credential(base, access, httpx.post(f"{base}/nonce").json()["c_nonce"])
        assert first.status_code == 200, first.text
        nonce = httpx.post(f"{base}/nonce").json()["c_nonce"]
        process.kill()  # SIGKILL: no shutdown hook runs, nothing is flushed on the way out
        process.wait(timeout=60)
    with _issuer(data_dir, port, backend.url):
        second = _credential(base, access, nonce)
        assert second.status_code == 200, second.text
        assert _index(second) != _index(first)
        # The nonce was spent by that request, across the restart too.
        replay = _credential(base, access, nonce)
        assert replay.json()["error"] == "invalid_nonce"
