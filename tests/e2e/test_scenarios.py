"""The scenarios of DESIGN §2, end to end: issuer → our wallet → verifier, across the
border, each with its expected outcome and reason code."""

from __future__ import annotations

import httpx
import pytest

from tests.e2e.conftest import Stack


def _run(stack: Stack, verifier: str, policy: str, **options: object) -> tuple[dict, dict]:  # type: ignore[type-arg]
    made = stack.transaction(verifier, policy, **options)
    wallet = stack.present(made["request_url"])
    return wallet, stack.result(verifier, made["transaction_id"])


def test_scenario_1_the_age_check_declines_a_minor_and_accepts_an_adult(stack: Stack) -> None:
    # Zoé, born 2009-03-05, is 17: her PID says age_equal_or_over.18 = false, and the
    # policy asks for true (OpenID4VP §6.3: "the Wallet SHOULD return the claim only if
    # the type and value of the claim both match exactly for at least one of the
    # elements in the array"). Holding nothing else, the wallet declines as a whole.
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "zoe-lefevre-dubois")
    wallet, result = _run(stack, "ca-verifier", "age-and-name")
    assert wallet["accepted"] is False, wallet
    assert wallet["reason"] == "dcql.no_match"
    assert wallet["wire_error"] == "access_denied"
    assert result["state"] == "failed", result

    stack.receive("eu-issuer", "eu-pid-sd-jwt", "bjoern-mueller")
    wallet, result = _run(stack, "ca-verifier", "age-and-name")
    assert wallet["accepted"], wallet
    assert result["state"] == "verified", result
    decision = result["result"]
    assert decision["accepted"] is True
    claims = decision["claims"]["pid"][0]
    assert set(claims) >= {"given_name", "family_name", "age_equal_or_over"}
    assert claims["given_name"] == "Björn"
    assert claims["age_equal_or_over"] == {"18": True}
    # Minimal disclosure: nothing beyond what was asked was revealed.
    assert "birthdate" not in claims
    assert "address" not in claims
    steps = {s["step"]: s["outcome"] for s in decision["credentials"]["pid"][0]["steps"]}
    assert steps["recognition"] == "passed"  # the EU issuer is foreign to Canada
    assert steps["holder_binding"] == "passed"


CA_PERSON_ONLY = {
    "credentials": [
        {
            "id": "ca_person",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": ["https://credentials.passerelle.example/ca/person/v1"]},
            "claims": [
                {"path": ["given_name"]},
                {"path": ["family_name"]},
                {"path": ["birthdate"]},
            ],
        }
    ]
}


@pytest.mark.parametrize("mode", ["direct_post.jwt"])
def test_scenario_2_canadian_person_to_eu_verifier(stack: Stack, mode: str) -> None:
    stack.receive("ca-issuer", "ca-person-sd-jwt", "eloise-tremblay-gagnon")
    made = httpx.post(
        f"{stack.urls['eu-verifier']}/transactions",
        json={"dcql_query": CA_PERSON_ONLY, "response_mode": mode},
    ).json()
    wallet = stack.present(made["request_url"])
    result = stack.result("eu-verifier", made["transaction_id"])
    assert wallet["accepted"], wallet
    assert wallet["response_mode"] == mode
    decision = result["result"]
    assert decision["accepted"] is True, decision
    # Mapped into the EU verifier's vocabulary (the PID) through the shared crosswalk.
    mapped = decision["mapped"]["ca_person"][0]
    assert mapped["given_name"]
    assert mapped["birthdate"]


def test_scenario_3_business_both_ways(stack: Stack) -> None:
    stack.receive("ca-issuer", "ca-business-registration-sd-jwt", "boulangerie-cote")
    stack.receive("eu-issuer", "eu-legal-person-sd-jwt", "atelier-brule")
    wallet, result = _run(stack, "eu-verifier", "business-registration")
    assert wallet["accepted"], wallet
    assert result["result"]["accepted"] is True
    wallet, result = _run(
        stack, "ca-verifier", "business-registration", response_mode="direct_post"
    )
    assert wallet["accepted"], wallet
    assert result["result"]["accepted"] is True


def test_a_query_nothing_satisfies_is_refused_whole(stack: Stack) -> None:
    made = stack.transaction("eu-verifier", "market-surveillance")
    wallet = stack.present(made["request_url"])
    assert wallet["accepted"] is False
    assert wallet["reason"] == "dcql.no_match"
    assert stack.result("eu-verifier", made["transaction_id"])["state"] == "failed"


def test_the_holder_can_decline(stack: Stack) -> None:
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "jan-thart")
    made = stack.transaction("ca-verifier", "age-and-name")
    wallet = stack.present(made["request_url"], consent="deny")
    assert wallet["accepted"] is False
    assert wallet["wire_error"] == "access_denied"


def _only(query_id: str, vct: str, claims: list[list[object]], **claim_options: object) -> dict:  # type: ignore[type-arg]
    return {
        "credentials": [
            {
                "id": query_id,
                "format": "dc+sd-jwt",
                "meta": {"vct_values": [vct]},
                "claims": [{"path": path, **claim_options.get(str(path), {})} for path in claims],  # type: ignore[dict-item]
            }
        ]
    }


def _ask(stack: Stack, verifier: str, query: dict, **options: object) -> tuple[dict, dict]:  # type: ignore[type-arg]
    made = httpx.post(
        f"{stack.urls[verifier]}/transactions", json={"dcql_query": query, **options}
    ).json()
    wallet = stack.present(made["request_url"])
    return wallet, stack.result(verifier, made["transaction_id"])


LEGAL = "https://credentials.passerelle.example/eu/legal-person/v1"
CONFORMITY = "https://credentials.passerelle.example/untp/conformity-attestation/v1"


def test_scenario_4_conformity_only_within_the_recognised_scope(stack: Stack) -> None:
    stack.receive("ca-issuer", "conformity-attestation-sd-jwt", "boreal-thermostat-pass")
    stack.receive("ca-issuer", "conformity-attestation-sd-jwt", "harbour-vision-ai-out-of-scope")
    inside = _only("conformity", CONFORMITY, [["scope"], ["assessment_result"]])
    inside["credentials"][0]["claims"].append(
        {"path": ["scope", "product_category"], "values": ["radio-equipment"]}
    )
    wallet, result = _ask(stack, "eu-verifier", inside)
    assert result["result"]["accepted"] is True, result
    outside = _only("conformity", CONFORMITY, [["scope"], ["assessment_result"]])
    outside["credentials"][0]["claims"].append(
        {"path": ["scope", "product_category"], "values": ["ai-systems"]}
    )
    wallet, result = _ask(stack, "eu-verifier", outside)
    assert wallet["accepted"] is False
    assert result["result"]["reason"] == "trust.recognition_out_of_scope", result


def test_request_uri_method_post_carries_the_wallet_nonce(stack: Stack) -> None:
    stack.receive("eu-issuer", "eu-pid-sd-jwt", "bjoern-mueller")
    made = stack.transaction("ca-verifier", "age-and-name", request_uri_method="post")
    assert "request_uri_method=post" in made["request_url"]
    wallet = stack.present(made["request_url"])
    result = stack.result("ca-verifier", made["transaction_id"])
    assert wallet["accepted"], wallet
    assert result["state"] == "verified", result
    fetched = [e for e in result["events"] if e["event"] == "request_fetched"]
    # The wallet POSTed a wallet_nonce and the signed request object echoed it (§5.10).
    assert fetched, result["events"]
    assert fetched[0]["wallet_nonce"] is True, result["events"]


def test_an_unknown_request_uri_method_is_refused(stack: Stack) -> None:
    answer = httpx.post(
        f"{stack.urls['ca-verifier']}/transactions",
        json={"policy": "age-and-name", "request_uri_method": "put"},
    )
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"
    assert answer.json()["reason"] == "oid4vp.request_uri_method_invalid"
