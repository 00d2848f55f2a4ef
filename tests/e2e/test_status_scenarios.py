"""Scenario 5, status families, on a stack of their own: the verifiers here have never
cached the issuer's status list, so what the issuer changed is what they see."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import Stack
from tests.e2e.test_scenarios import LEGAL, _ask, _only

PID = "urn:eudi:pid:1"


def _admin(stack: Stack, issuer: str, config: str, action: str) -> None:
    token = (stack.data_dir / issuer / "admin-token").read_text().strip()
    headers = {"Authorization": f"Bearer {token}"}
    base = stack.urls[issuer]
    rows = [
        r
        for r in httpx.get(f"{base}/admin/issuances", headers=headers).json()
        if r["configuration"] == config
    ]
    assert rows
    for row in rows:
        response = httpx.post(
            f"{base}/admin/credentials/{row['credential_id']}/{action}", headers=headers
        )
        assert response.status_code == 200, response.text


def test_revoked_and_suspended_credentials_are_refused(stack: Stack) -> None:
    stack.receive("eu-issuer", "eu-legal-person-sd-jwt", "atelier-brule")
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "zoe-lefevre-dubois")
    # Both changes before the verifier first fetches the list.
    _admin(stack, "eu-issuer", "eu-legal-person-sd-jwt", "revoke")
    _admin(stack, "eu-issuer", "eu-pid-sd-jwt", "suspend")
    wallet, result = _ask(stack, "ca-verifier", _only("legal_person", LEGAL, [["legal_name"]]))
    assert wallet["accepted"] is False
    assert result["result"]["reason"] == "status.revoked", result
    wallet, result = _ask(stack, "ca-verifier", _only("pid", PID, [["given_name"]]))
    assert wallet["accepted"] is False
    assert result["result"]["reason"] == "status.suspended", result
