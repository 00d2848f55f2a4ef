"""A W3C credential (jwt_vc_json) carries a credentialStatus, one W3C Bitstring Status
List entry per purpose, so it can be suspended, reinstated and revoked like the same
person's SD-JWT VC; the verifier checks both bits, on a list signed by the issuer."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import Stack

CONFIG = "ca-business-registration-jwt-vc"
QUERY = {
    "credentials": [
        {
            "id": "business",
            "format": "jwt_vc_json",
            "meta": {"type_values": [["VerifiableCredential", "BusinessRegistrationCredential"]]},
            "claims": [{"path": ["credentialSubject", "entity_name"]}],
        }
    ]
}


def _present(stack: Stack) -> dict[str, Any]:
    made = stack.transaction("ca-verifier", dcql_query=QUERY, response_mode="direct_post")
    stack.present(made["request_url"])
    result: dict[str, Any] = stack.result("ca-verifier", made["transaction_id"])["result"]
    return result


def test_a_w3c_credential_can_be_suspended_and_revoked(stack: Stack) -> None:
    received = stack.receive("ca-issuer", CONFIG, "boulangerie-cote")
    assert any(s["step"] == "status" and s["outcome"] == "passed" for s in received["steps"])
    accepted = _present(stack)
    assert accepted["accepted"], accepted
    steps = accepted["credentials"]["business"][0]["steps"]
    base = stack.urls["ca-issuer"]
    assert sorted(s["evidence"]["uri"] for s in steps if s["step"] == "status") == [
        f"{base}/w3c/ca-issuer/status/bitstring/revocation",
        f"{base}/w3c/ca-issuer/status/bitstring/suspension",
    ]

    stack.admin("ca-issuer", CONFIG, "suspend")
    assert _present(stack)["reason"] == "status.suspended"
    stack.admin("ca-issuer", CONFIG, "reinstate")
    assert _present(stack)["accepted"]
    stack.admin("ca-issuer", CONFIG, "revoke")
    assert _present(stack)["reason"] == "status.revoked"
