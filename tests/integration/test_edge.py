"""The HTTP edge every service shares: sizes capped before parsing, one error
envelope for every refusal (FastAPI's own included), error texts that quote at most an
excerpt of the input, and documents (/openapi.json, /docs) that load."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from passerelle.services.launcher import ROLES, build_app
from passerelle.services.pki import init_pki
from passerelle.services.runtime import utc_now
from passerelle.services.web import MAX_DESCRIPTION

FIVE_MB = 5 * 1024 * 1024


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("edge")
    init_pki(path, now=utc_now())
    return path


@pytest.fixture(scope="module")
def apps(data_dir: Path) -> dict[str, FastAPI]:
    return {role: build_app(role, data_dir=data_dir) for role in ROLES}


def _client(apps: dict[str, FastAPI], role: str) -> TestClient:
    return TestClient(apps[role], raise_server_exceptions=False)


def _envelope(response: httpx.Response, status: int, reason: str) -> dict[str, Any]:
    assert response.status_code == status, response.text[:300]
    body: dict[str, Any] = response.json()
    assert set(body) >= {"error", "reason"}, body
    assert "detail" not in body, body
    assert body["reason"] == reason, body
    assert len(body.get("error_description", "")) <= MAX_DESCRIPTION
    return body


@pytest.mark.parametrize("role", ROLES)
def test_every_service_documents_itself(apps: dict[str, FastAPI], role: str) -> None:
    client = _client(apps, role)
    document = client.get("/openapi.json")
    assert document.status_code == 200, document.text[:300]
    schemas = document.json().get("components", {}).get("schemas", {})
    assert "HTTPValidationError" not in schemas
    assert "Error" in schemas
    for item in document.json()["paths"].values():
        for operation in item.values():
            assert "422" not in operation["responses"]
    assert client.get("/docs").status_code == 200


def test_a_huge_body_is_refused_before_parsing(apps: dict[str, FastAPI]) -> None:
    issuer = _client(apps, "ca-issuer")
    huge = "x" * FIVE_MB
    _envelope(
        issuer.post("/offers/form", data={"configuration_id": huge, "persona": "a"}),
        413,
        "input.too_large",
    )
    _envelope(issuer.post("/token", content=huge.encode()), 413, "input.too_large")
    verifier = _client(apps, "ca-verifier")
    _envelope(verifier.post("/transactions", json={"policy": huge}), 413, "input.too_large")


def test_an_unknown_name_is_quoted_as_an_excerpt(apps: dict[str, FastAPI]) -> None:
    long = "p" * 500_000
    verifier = _client(apps, "ca-verifier")
    body = _envelope(verifier.post("/transactions", json={"policy": long}), 400, "input.malformed")
    assert long not in str(body)
    issuer = _client(apps, "ca-issuer")
    body = _envelope(
        issuer.post("/offers", json={"credential_configuration_ids": [long], "persona": "x"}),
        400,
        "input.malformed",
    )
    assert long not in str(body)


@pytest.mark.parametrize(
    ("role", "path", "error"),
    [
        ("ca-verifier", "/transactions", "invalid_request"),
        # OpenID4VCI 1.0 §8.3.1.2: "invalid_credential_request: The Credential Request is
        # missing a required parameter, ... or is otherwise malformed."
        ("ca-issuer", "/credential", "invalid_credential_request"),
    ],
)
def test_deep_json_is_refused_in_the_envelope(
    apps: dict[str, FastAPI], role: str, path: str, error: str
) -> None:
    deep = "[" * 10_000 + "]" * 10_000
    client = _client(apps, role)
    response = client.post(path, content=deep, headers={"Content-Type": "application/json"})
    assert _envelope(response, 400, "input.too_deep")["error"] == error
    shallow = client.post(path, content="[1]", headers={"Content-Type": "application/json"})
    assert _envelope(shallow, 400, "input.malformed")["error"] == error


def test_fastapi_refusals_speak_the_envelope(apps: dict[str, FastAPI]) -> None:
    verifier = _client(apps, "ca-verifier")
    _envelope(verifier.post("/transactions", json={"policy": 7}), 400, "input.malformed")
    _envelope(
        verifier.post(
            "/transactions", content=b"{not json", headers={"Content-Type": "application/json"}
        ),
        400,
        "input.malformed",
    )
    _envelope(verifier.get("/no/such/route"), 404, "input.malformed")
    wrong = verifier.delete("/transactions")
    _envelope(wrong, 405, "input.malformed")
    _envelope(verifier.get("/health", headers={"X-Padding": "y" * 40_000}), 431, "input.too_large")


@pytest.mark.parametrize("pid", ["a%00b", "p" * 513])
@pytest.mark.parametrize("action", ["completion", "termination"])
def test_connector_refuses_a_malformed_process_id(
    apps: dict[str, FastAPI], pid: str, action: str
) -> None:
    connector = _client(apps, "ca-dataspace")
    response = connector.post(f"/api/provider/transfers/{pid}/{action}", json={})
    _envelope(response, 400, "input.malformed")


def test_admin_scheme_is_case_insensitive(data_dir: Path, apps: dict[str, FastAPI]) -> None:
    issuer = _client(apps, "ca-issuer")
    token = (data_dir / "ca-issuer" / "admin-token").read_text().strip()
    for scheme in ("Bearer", "bearer", "BEARER"):
        answer = issuer.get("/admin/issuances", headers={"Authorization": f"{scheme} {token}"})
        assert answer.status_code == 200, answer.text
    wrong = issuer.get("/admin/issuances", headers={"Authorization": f"Basic {token}"})
    assert wrong.status_code == 401
    assert (
        issuer.get(
            "/admin/issuances", headers={"Authorization": "Bearer \u00e9".encode("latin-1")}
        ).status_code
        == 401
    )


@pytest.fixture(scope="module")
def partner_apps(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, FastAPI]]:
    """The stack as `passerelle up --tls` builds it: https on loopback ports."""
    path = tmp_path_factory.mktemp("partner")
    hosts = {role: f"https://127.0.0.1:{9100 + i}" for i, role in enumerate(ROLES)}
    init_pki(path, now=utc_now(), hosts=hosts)
    return path, {r: build_app(r, data_dir=path) for r in ("ca-issuer", "wallet", "ca-dataspace")}


@pytest.mark.parametrize(
    ("role", "method", "path", "token_file"),
    [
        ("ca-issuer", "POST", "/offers", "ca-issuer/admin-token"),
        ("wallet", "GET", "/api/credentials", "wallet/api-token"),
        ("ca-dataspace", "GET", "/api/provider/negotiations", "ca-dataspace/api-token"),
    ],
)
def test_backchannels_need_a_token_outside_loopback_development(
    partner_apps: tuple[Path, dict[str, FastAPI]],
    role: str,
    method: str,
    path: str,
    token_file: str,
) -> None:
    data_dir, built = partner_apps
    client = TestClient(built[role], raise_server_exceptions=False)
    body = {"credential_configuration_ids": ["ca-person-sd-jwt"], "persona": "nobody"}
    kwargs: dict[str, Any] = {"json": body} if method == "POST" else {}
    refused = client.request(method, path, **kwargs)
    _envelope(refused, 401, "oid4vci.access_token_invalid")
    assert refused.headers["www-authenticate"].startswith("Bearer")
    wrong = client.request(method, path, headers={"Authorization": "Bearer nope"}, **kwargs)
    assert wrong.status_code == 401
    token = (data_dir / token_file).read_text().strip()
    allowed = client.request(method, path, headers={"Authorization": f"bearer {token}"}, **kwargs)
    assert allowed.status_code != 401, allowed.text


def test_loopback_development_needs_no_token(apps: dict[str, FastAPI]) -> None:
    assert _client(apps, "wallet").get("/api/credentials").status_code == 200
    assert _client(apps, "ca-dataspace").get("/api/provider/negotiations").status_code == 200


def test_status_list_tokens_name_their_issuer(apps: dict[str, FastAPI]) -> None:
    from passerelle.jose import decode_unverified_jws

    issuer = _client(apps, "ca-issuer")
    base = issuer.get("/.well-known/openid-credential-issuer").json()["credential_issuer"]
    claims = decode_unverified_jws(issuer.get("/status/ca-issuer").text).payload_json()
    assert claims["iss"] == base
    assert claims["sub"] == f"{base}/status/ca-issuer"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_unreachable_peer_is_fetch_unreachable_not_a_port_scan(
    apps: dict[str, FastAPI],
) -> None:
    """The wallet reports a request_uri or an offer it cannot reach as
    ``fetch.unreachable``, never as the caller's malformed input, and never with the
    connect error's text (which would tell open ports from closed ones)."""
    wallet = _client(apps, "wallet")
    port = _closed_port()
    link = (
        "openid4vp://?client_id=redirect_uri%3Ahttp%3A%2F%2F127.0.0.1%2Fcb"
        f"&request_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Frequest%2Fx"
    )
    answer = wallet.post("/api/presentations", json={"request": link}).json()
    assert answer["reason"] == "fetch.unreachable", answer
    assert wallet.get("/present", params={"request": link}).status_code == 503
    offer = f"openid-credential-offer://?credential_offer_uri=http%3A%2F%2F127.0.0.1%3A{port}%2Fo"
    [outcome] = wallet.post("/api/offers", json={"offer": offer}).json()["outcomes"]
    assert outcome["reason"] == "fetch.unreachable", outcome
    assert "refused" not in str(outcome).lower()
    assert "errno" not in str(outcome).lower()
