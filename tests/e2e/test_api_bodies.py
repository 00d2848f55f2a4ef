"""Every JSON API of the stack against malformed bodies: each is refused with a 4xx, an
OAuth ``error`` and our ``reason`` code — never a 500, never coerced into something
that was not asked for (``"tx_code": "no"`` must not mean yes)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.e2e.conftest import Stack

# (service, path, a body that passes the type checks, each member's right type)
ENDPOINTS: list[tuple[str, str, dict[str, Any], dict[str, type]]] = [
    (
        "ca-verifier",
        "/transactions",
        {"policy": "age-and-name"},
        {"policy": str, "dcql_query": dict, "response_mode": str, "request_uri_method": str},
    ),
    (
        "eu-issuer",
        "/offers",
        {"credential_configuration_ids": ["eu-pid-sd-jwt"], "persona": "zoe-lefevre-dubois"},
        {"credential_configuration_ids": list, "persona": str, "tx_code": bool, "grant": str},
    ),
    (
        "wallet",
        "/api/offers",
        {"offer": "openid-credential-offer://?x=1"},
        {"offer": str, "tx_code": str, "persona": str},
    ),
    (
        "wallet",
        "/api/presentations",
        {"request": "openid4vp://?x=1"},
        {"request": str, "consent": str},
    ),
    ("wallet", "/api/presentations/prepare", {"request": "openid4vp://?x=1"}, {"request": str}),
]
WRONG_TYPES: list[Any] = [5, 1.5, True, ["a"], {"a": 1}]


def _refused(answer: httpx.Response) -> dict[str, Any]:
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)
    body: dict[str, Any] = answer.json()
    assert body["error"], body
    assert body["reason"], body
    return body


@pytest.mark.parametrize(("service", "path", "valid", "members"), ENDPOINTS)
def test_a_member_of_the_wrong_type_is_input_malformed(
    stack: Stack, service: str, path: str, valid: dict[str, Any], members: dict[str, type]
) -> None:
    url = stack.urls[service] + path
    for member, right in members.items():
        for value in WRONG_TYPES:
            if isinstance(value, right):
                continue
            body = _refused(httpx.post(url, json={**valid, member: value}))
            assert body["reason"] == "input.malformed", (member, value, body)


@pytest.mark.parametrize(("service", "path", "valid", "members"), ENDPOINTS)
def test_a_body_that_is_not_an_object_or_has_unknown_members_is_refused(
    stack: Stack, service: str, path: str, valid: dict[str, Any], members: dict[str, type]
) -> None:
    url = stack.urls[service] + path
    for raw in [b"", b"[]", b"null", b"{", b'"x"', b"1e999"]:
        answer = httpx.post(url, content=raw, headers={"content-type": "application/json"})
        assert _refused(answer)["reason"] == "input.malformed", raw
    typo = _refused(httpx.post(url, json={**valid, "polcy": "x"}))
    assert typo["reason"] == "input.malformed"


def test_an_unknown_grant_is_not_taken_for_the_pre_authorized_one(stack: Stack) -> None:
    body = _refused(
        httpx.post(
            stack.urls["eu-issuer"] + "/offers",
            json={
                "credential_configuration_ids": ["eu-pid-sd-jwt"],
                "persona": "zoe-lefevre-dubois",
                "grant": "authorisation_code",
            },
        )
    )
    assert body["reason"] == "input.malformed"


@pytest.mark.parametrize("token", ["", "x" * 600, "a%00b"])
def test_an_impossible_key_from_a_peer_gets_the_protocols_own_error(
    stack: Stack, token: str
) -> None:
    """Tokens and ids come from peers; one the store could never hold is unknown, and
    each endpoint says so in its protocol's words."""
    issuer = stack.urls["eu-issuer"]
    answer = httpx.post(
        f"{issuer}/credential",
        json={"credential_configuration_id": "eu-pid-sd-jwt"},
        headers={"Authorization": f"Bearer {token}".strip()},
    )
    assert answer.status_code == 401, answer.text
    assert answer.json()["error"] == "invalid_token"
    if token:
        offer = httpx.get(f"{issuer}/offers/{token}")
        assert offer.status_code == 404, offer.text
        request = httpx.get(f"{stack.urls['ca-verifier']}/request/{token}")
        assert _refused(request)["reason"] == "oid4vp.transaction_unknown"
