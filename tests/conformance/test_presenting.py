"""The suite as a wallet presenting to a verifier (``conformance._presenting``): each
deliberate fault breaks exactly the rule it is named for, as the core verifier sees it,
and the verdict helpers tell a refusal from an acceptance and from a crash."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta

import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from passerelle import JsonObject, PasserelleError, Reason
from passerelle.conformance import CheckFailed
from passerelle.conformance._presenting import (
    Fault,
    Holding,
    Outcome,
    answer,
    decision_trace,
    expect_accepted,
    expect_refused,
    parse_request_url,
    response_form,
)
from passerelle.jose import KeySigner
from passerelle.oid4vp import (
    AuthorizationRequest,
    ClientMetadata,
    ResponseMode,
    decrypt_response,
    encryption_jwk,
)
from passerelle.sd_jwt import KeyBindingCheck, parse_sd_jwt, verify_sd_jwt
from passerelle.sd_jwt_vc import issue_sd_jwt_vc

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
CLIENT_ID = "x509_san_dns:verifier.example"
VCT = "https://credentials.example/person/v1"
QUERY: JsonObject = {
    "credentials": [
        {
            "id": "person",
            "format": "dc+sd-jwt",
            "meta": {"vct_values": [VCT]},
            "claims": [{"path": ["given_name"]}],
        }
    ]
}


class _Random:
    def token_bytes(self, n: int, /) -> bytes:
        return secrets.token_bytes(n)


@pytest.fixture(scope="module")
def issuer_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture(scope="module")
def holding(issuer_key: ec.EllipticCurvePrivateKey) -> Holding:
    holder = ec.generate_private_key(ec.SECP256R1())
    claims: JsonObject = {"given_name": "Zoé", "family_name": "Lefèvre"}
    credential = issue_sd_jwt_vc(
        claims,
        vct=VCT,
        signer=KeySigner(issuer_key),
        random=_Random(),
        now=NOW - timedelta(hours=1),
        disclosable=[("given_name",), ("family_name",)],
        holder_key=holder.public_key(),
        valid_for=timedelta(days=30),
    )
    return Holding(credential=credential, holder_key=holder)


def _request(
    mode: ResponseMode = ResponseMode.DIRECT_POST, metadata: ClientMetadata | None = None
) -> AuthorizationRequest:
    return AuthorizationRequest(
        client_id=CLIENT_ID,
        response_mode=mode,
        response_uri="https://verifier.example/response/1",
        nonce="n-0S6_WzA2Mj",
        state="s-1",
        dcql_query=QUERY,
        client_metadata=metadata,
    )


def _verify(presentation: str, issuer_key: ec.EllipticCurvePrivateKey) -> JsonObject:
    verified = verify_sd_jwt(
        presentation,
        issuer_key=issuer_key.public_key(),
        algorithms=["ES256"],
        now=NOW,
        typ="dc+sd-jwt",
        key_binding=KeyBindingCheck(nonce="n-0S6_WzA2Mj", audience=CLIENT_ID),
    )
    return verified.claims


def test_an_honest_answer_discloses_only_what_the_query_asks(
    holding: Holding, issuer_key: ec.EllipticCurvePrivateKey
) -> None:
    vp_token = answer(holding, _request(), now=NOW)
    assert list(vp_token) == ["person"]
    claims = _verify(vp_token["person"][0], issuer_key)
    assert claims["given_name"] == "Zoé"
    assert "family_name" not in claims


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (Fault.TAMPERED_DISCLOSURE, Reason.SD_JWT_UNREFERENCED_DISCLOSURE),
        (Fault.KB_OTHER_KEY, Reason.KB_JWT_INVALID_SIGNATURE),
        (Fault.WRONG_NONCE, Reason.KB_JWT_NONCE_MISMATCH),
        (Fault.WRONG_AUD, Reason.KB_JWT_AUD_MISMATCH),
        (Fault.IAT_FUTURE, Reason.KB_JWT_IAT_OUT_OF_WINDOW),
        (Fault.IAT_PAST, Reason.KB_JWT_IAT_OUT_OF_WINDOW),
        (Fault.WRONG_SD_HASH, Reason.KB_JWT_SD_HASH_MISMATCH),
        (Fault.NO_KB_JWT, Reason.KB_JWT_MISSING),
        (Fault.ALG_NONE, Reason.JWS_ALG_NOT_ALLOWED),
    ],
)
def test_each_fault_breaks_its_own_rule(
    holding: Holding, issuer_key: ec.EllipticCurvePrivateKey, fault: Fault, reason: Reason
) -> None:
    presentation = answer(holding, _request(), now=NOW, fault=fault)["person"][0]
    with pytest.raises(PasserelleError) as caught:
        _verify(presentation, issuer_key)
    assert caught.value.reason is reason


def test_a_tampered_presentation_is_otherwise_honest(holding: Holding) -> None:
    """Only the disclosure changes: the KB-JWT binds what is sent, so a verifier that
    refuses it refuses for the disclosure."""
    presentation = answer(holding, _request(), now=NOW, fault=Fault.TAMPERED_DISCLOSURE)
    parsed = parse_sd_jwt(presentation["person"][0])
    assert parsed.kb_jwt is not None
    assert parsed.disclosures[0].value == "Zoé (altered)"


def test_direct_post_jwt_encrypts_to_the_request_key(holding: Holding) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    metadata = ClientMetadata(
        jwks={"keys": [encryption_jwk(key.public_key(), kid="enc-1")]},
        encrypted_response_enc_values_supported=("A128GCM",),
    )
    request = _request(ResponseMode.DIRECT_POST_JWT, metadata)
    vp_token = answer(holding, request, now=NOW)
    form = response_form(request, vp_token)
    assert list(form) == ["response"]
    payload = decrypt_response(form["response"], private_key=key, expected_kid="enc-1")
    assert payload == {"vp_token": vp_token, "state": "s-1"}
    wrong = response_form(request, vp_token, fault=Fault.WRONG_STATE)
    moved = decrypt_response(wrong["response"], private_key=key, expected_kid="enc-1")
    assert moved["state"] != "s-1"


def test_direct_post_jwt_without_a_key_is_the_verifiers_fault(holding: Holding) -> None:
    request = _request(ResponseMode.DIRECT_POST_JWT)
    with pytest.raises(CheckFailed, match="jwks"):
        response_form(request, answer(holding, request, now=NOW))


def _outcome(status: int, result: JsonObject | None) -> Outcome:
    return Outcome(http_status=status, body={}, state=None, result=result)


@pytest.mark.parametrize(
    "outcome",
    [
        _outcome(400, {"accepted": False, "reason": "kb_jwt.nonce_mismatch"}),
        _outcome(400, None),
        _outcome(200, {"accepted": False, "reason": "status.revoked"}),
    ],
)
def test_a_refusal_is_a_4xx_or_a_failed_result_with_a_reason(outcome: Outcome) -> None:
    expect_refused(outcome, "bad presentation")


@pytest.mark.parametrize(
    ("outcome", "message"),
    [
        (_outcome(500, None), "failed with HTTP 500"),
        (_outcome(200, {"accepted": True}), "accepted it"),
        (_outcome(400, {"accepted": True}), "accepted it"),
        (_outcome(200, None), "no failed result"),
        (_outcome(200, {"accepted": False}), "no failed result"),
    ],
)
def test_a_crash_or_an_acceptance_is_no_refusal(outcome: Outcome, message: str) -> None:
    with pytest.raises(CheckFailed, match=message):
        expect_refused(outcome, "bad presentation")


def test_an_acceptance_needs_both_the_http_answer_and_the_result() -> None:
    expect_accepted(_outcome(200, {"accepted": True}), "honest")
    with pytest.raises(CheckFailed):
        expect_accepted(_outcome(200, {"accepted": False, "reason": "x"}), "honest")
    with pytest.raises(CheckFailed):
        expect_accepted(_outcome(400, {"accepted": True}), "honest")


def test_a_request_url_must_name_a_client_and_a_request() -> None:
    params, reference = parse_request_url(
        "openid4vp://?client_id=x509_san_dns%3Alocalhost&request_uri=http%3A%2F%2Flocalhost%2Fr"
    )
    assert reference.client_id == "x509_san_dns:localhost"
    assert reference.request_uri == "http://localhost/r"
    assert params["client_id"] == "x509_san_dns:localhost"
    with pytest.raises(CheckFailed):
        parse_request_url("openid4vp://?request_uri=http%3A%2F%2Flocalhost%2Fr")
    with pytest.raises(CheckFailed):
        parse_request_url("mailto:someone@example.org")


def test_the_decision_trace_keeps_findings_after_the_steps_marked_as_such() -> None:
    refused = {
        "accepted": False,
        "credentials": {
            "pid": [
                {
                    "steps": [{"step": "issuer_key", "outcome": "failed", "reason": "trust.x"}],
                    "findings": [
                        {"step": "status", "outcome": "failed", "unverified": True},
                        {
                            "step": "kb_jwt",
                            "outcome": "skipped",
                            "status": "not_run",
                            "depends_on": "signature",
                        },
                    ],
                }
            ]
        },
    }
    trace = decision_trace(Outcome(http_status=400, body={}, state=None, result=refused))
    assert [(t["step"], t.get("finding", False)) for t in trace] == [
        ("issuer_key", False),
        ("status", True),
        ("kb_jwt", True),
    ]
    assert [t.get("note") for t in trace[1:]] == [
        "evaluated on unverified data",
        "not run: depends on signature",
    ]
