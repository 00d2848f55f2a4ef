"""Consent on the wallet page: the review shows who asks and exactly what would be
disclosed; Approve sends that, Decline sends a refusal and nothing else."""

from __future__ import annotations

import re

import httpx

from tests.e2e.conftest import Stack
from tests.e2e.test_scenarios import _only

PID = "urn:eudi:pid:1"


def _review(stack: Stack, request_url: str) -> tuple[str, str]:
    page = httpx.get(
        f"{stack.urls['wallet']}/present", params={"request": request_url}, timeout=120
    )
    assert page.status_code == 200, page.text
    pending = re.search(r"action='/present/([^']+)'", page.text)
    assert pending is not None
    return page.text, pending.group(1)


def test_approve_on_the_page_sends_exactly_the_plan(stack: Stack) -> None:
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "bjoern-mueller")
    made = stack.transaction("ca-verifier", dcql_query=_only("pid", PID, [["family_name"]]))
    text, pending = _review(stack, made["request_url"])
    assert "x509_san_dns:localhost" in text
    assert "<code>family_name</code>" in text
    answer = httpx.post(
        f"{stack.urls['wallet']}/present/{pending}", data={"consent": "approve"}, timeout=120
    )
    assert "accepted by the verifier" in answer.text
    claims = stack.result("ca-verifier", made["transaction_id"])["result"]["claims"]["pid"][0]
    assert "family_name" in claims
    assert "given_name" not in claims


def test_decline_on_the_page_refuses_the_whole_request(stack: Stack) -> None:
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "bjoern-mueller")
    made = stack.transaction("ca-verifier", dcql_query=_only("pid", PID, [["given_name"]]))
    _, pending = _review(stack, made["request_url"])
    answer = httpx.post(
        f"{stack.urls['wallet']}/present/{pending}", data={"consent": "deny"}, timeout=120
    )
    assert "wallet.holder_declined" in answer.text
    result = stack.result("ca-verifier", made["transaction_id"])
    assert result["state"] == "failed"
    assert result["result"]["reason"] == "oid4vp.wallet_error"
    # A pending request is answered once.
    again = httpx.post(
        f"{stack.urls['wallet']}/present/{pending}", data={"consent": "approve"}, timeout=120
    )
    assert "not accepted" in again.text
