"""npm ``jose`` (panva/jose, nobody here wrote it) verifies our LoTE JWS.

Locally a missing ``node`` or ``tests/interop/node_modules`` skips; with ``CI`` set it fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle._json import JsonObject, b64url_encode, canonical_json, parse_json_object
from passerelle.jose import KeySigner, public_jwk
from passerelle.trust._lote import build_lote, parse_lote_source, sign_lote
from passerelle.x509 import (
    LeafUsage,
    build_ca_certificate,
    build_leaf_certificate,
    build_name,
    certificate_to_pem,
    encode_x5c,
)

pytestmark = pytest.mark.interop

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SCRIPT = HERE / "verify_jws.mjs"
NODE_MODULES = HERE / "node_modules"
NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
OPERATOR = "Passerelle EU Trust List Operator"


def _require_node() -> None:
    problem = None
    if shutil.which("node") is None:
        problem = "node is not on PATH (needed for the npm jose interop peer)"
    elif not (NODE_MODULES / "jose").is_dir():
        problem = "tests/interop/node_modules is missing: run `npm ci --prefix tests/interop`"
    if problem is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{problem}; CI is set, so the interop peers must be installed", pytrace=False)
    pytest.skip(problem)


def _run(request: JsonObject) -> tuple[int, JsonObject]:
    _require_node()
    completed = subprocess.run(
        ["node", str(SCRIPT)],
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=HERE,
    )
    assert completed.stdout, f"node wrote nothing; stderr: {completed.stderr}"
    return completed.returncode, parse_json_object(completed.stdout)


def _ca(name: str, key: ec.EllipticCurvePrivateKey, *, org: str, country: str) -> x509.Certificate:
    return build_ca_certificate(
        subject=build_name(common_name=name, organization=org, country=country),
        key=key,
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(days=365),
        serial=1,
    )


@pytest.fixture(scope="module")
def signed() -> tuple[str, JsonObject, x509.Certificate, ec.EllipticCurvePrivateKey]:
    root_key, operator_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    root = _ca("LoTE root", root_key, org=OPERATOR, country="EU")
    operator = build_leaf_certificate(
        subject=build_name(common_name="LoTE signer", organization=OPERATOR, country="EU"),
        public_key=operator_key.public_key(),
        issuer_cert=root,
        issuer_key=root_key,
        not_before=NOW - timedelta(days=1),
        not_after=NOW + timedelta(days=365),
        serial=2,
        usage=LeafUsage.SIGNING,
    )
    pid_ca = _ca(
        "PID CA",
        ec.generate_private_key(ec.SECP256R1()),
        org="Passerelle EU PID Provider",
        country="BE",
    )
    doc: dict[str, Any] = yaml.safe_load((ROOT / "trust_lists/eu/pid-providers.yaml").read_text())
    # The PID list names the mdoc IACA as a second service of the PID provider.
    iaca = _ca("PID IACA", ec.generate_private_key(ec.SECP256R1()), org="PID IACA", country="BE")
    source = parse_lote_source(
        doc,
        certificates={
            "eu-lote-operator": operator,
            "eu-pid-provider-ca": pid_ca,
            "eu-pid-iaca": iaca,
        },
    )
    payload = build_lote(
        source, sequence_number=1, issued_at=NOW, next_update=NOW + timedelta(days=30)
    )
    token = sign_lote(payload, signer=KeySigner(operator_key), x5c=encode_x5c([operator]), now=NOW)
    return token, payload, operator, operator_key


def test_jose_verifies_our_lote_with_the_x5c_leaf(
    signed: tuple[str, JsonObject, x509.Certificate, ec.EllipticCurvePrivateKey],
) -> None:
    token, payload, operator, _ = signed
    code, answer = _run({"token": token, "x5cLeafPem": certificate_to_pem(operator)})
    assert code == 0, answer
    assert answer["payload"] == payload
    header = answer["header"]
    assert isinstance(header, dict)
    assert header["alg"] == "ES256"
    assert header["typ"] == "jose"
    assert header["iat"] == int(NOW.timestamp())
    assert "crit" not in header


def test_jose_verifies_our_lote_with_a_jwk(
    signed: tuple[str, JsonObject, x509.Certificate, ec.EllipticCurvePrivateKey],
) -> None:
    token, payload, _, operator_key = signed
    code, answer = _run({"token": token, "jwk": public_jwk(operator_key)})
    assert code == 0, answer
    assert answer["payload"] == payload


def test_jose_rejects_a_tampered_lote(
    signed: tuple[str, JsonObject, x509.Certificate, ec.EllipticCurvePrivateKey],
) -> None:
    token, payload, operator, _ = signed
    header, _, signature = token.split(".")
    changed = json.loads(json.dumps(payload))
    changed["LoTE"]["ListAndSchemeInformation"]["LoTESequenceNumber"] = 2
    tampered = f"{header}.{b64url_encode(canonical_json(changed))}.{signature}"
    code, answer = _run({"token": tampered, "x5cLeafPem": certificate_to_pem(operator)})
    assert code == 1
    assert answer.get("error")


def test_jose_rejects_another_key(
    signed: tuple[str, JsonObject, x509.Certificate, ec.EllipticCurvePrivateKey],
) -> None:
    token, _, _, _ = signed
    stranger = public_jwk(ec.generate_private_key(ec.SECP256R1()))
    code, answer = _run({"token": token, "jwk": stranger})
    assert code == 1
    assert answer.get("error")
