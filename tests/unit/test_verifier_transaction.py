"""The verifier's transaction lifecycle and the pure parts of its decision, without
HTTP: created → request fetched → response received → verified | failed, each step a
pure change of the stored record."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from passerelle import Fault, JsonObject, PasserelleError, Reason
from passerelle.dcql import parse_dcql_query
from passerelle.decision import (
    CredentialDecision,
    DecisionPolicy,
    PresentationDecision,
    decision_trace,
    policy_for,
    presented_items,
    refusal_of,
)
from passerelle.oid4vp import (
    PresentationEvent,
    PresentationState,
    concluded,
    moved,
    new_transaction,
    public_view,
    result_view,
    state_of,
    with_event,
)
from passerelle.trust import StepOutcome, TrustStep
from tests.conftest import NOW

E = PresentationEvent
QUERY: JsonObject = {
    "credentials": [
        {"id": "pid", "format": "dc+sd-jwt", "meta": {"vct_values": ["urn:eu:pid:1"]}},
        {"id": "diploma", "format": "jwt_vc_json", "meta": {"type_values": [["Diploma"]]}},
    ]
}


def created(**extra: Any) -> JsonObject:
    return new_transaction(
        request_id="rid",
        nonce="n-1",
        state_param="s-1",
        dcql_query=QUERY,
        policy="age",
        response_mode="direct_post",
        request_uri_method=None,
        now=NOW,
        **extra,
    )


def events(row: JsonObject) -> list[Any]:
    logged = row["events"]
    assert isinstance(logged, list)
    return [e["event"] for e in logged if isinstance(e, dict)]


def test_a_new_transaction_is_created_with_its_first_event() -> None:
    row = created()
    assert state_of(row) is PresentationState.CREATED
    assert events(row) == ["created"]
    assert row["events"] == [
        {"at": NOW.isoformat(), "event": "created", "policy": "age", "response_mode": "direct_post"}
    ]
    assert "encryption_key" not in row
    assert created(encryption_key={"kty": "EC"})["encryption_key"] == {"kty": "EC"}


def test_the_whole_lifecycle_to_verified() -> None:
    row = with_event(moved(created(), E.FETCH_REQUEST), "request_fetched", now=NOW)
    assert state_of(row) is PresentationState.REQUEST_FETCHED
    # A reload of the request_uri before the answer is allowed (not single-use).
    row = moved(row, E.FETCH_REQUEST)
    later = NOW + timedelta(seconds=5)
    row = with_event(moved(row, E.RECEIVE_RESPONSE), "response_received", now=later)
    assert state_of(row) is PresentationState.RESPONSE_RECEIVED
    done = concluded(row, accepted=True, result={"accepted": True})
    assert state_of(done) is PresentationState.VERIFIED
    assert done["result"] == {"accepted": True}
    assert events(done) == ["created", "request_fetched", "response_received"]
    logged = done["events"]
    assert isinstance(logged, list)
    assert logged[-1] == {"at": later.isoformat(), "event": "response_received"}


def test_a_refused_response_ends_failed() -> None:
    row = moved(created(), E.RECEIVE_RESPONSE)  # a request by value is never fetched
    done = concluded(row, accepted=False, result={"accepted": False, "reason": "x"})
    assert state_of(done) is PresentationState.FAILED


@pytest.mark.parametrize("accepted", [True, False])
def test_a_second_response_is_a_replay(accepted: bool) -> None:
    answered = moved(created(), E.RECEIVE_RESPONSE)
    for row in (answered, concluded(answered, accepted=accepted, result={})):
        with pytest.raises(PasserelleError) as caught:
            moved(row, E.RECEIVE_RESPONSE)
        assert caught.value.reason == Reason.OID4VP_RESPONSE_REPLAYED
        assert caught.value.wire_error == "invalid_request"


def test_no_request_object_once_answered_and_no_conclusion_before() -> None:
    answered = moved(created(), E.RECEIVE_RESPONSE)
    with pytest.raises(PasserelleError) as caught:
        moved(answered, E.FETCH_REQUEST)
    assert caught.value.reason == Reason.OID4VP_SESSION_TRANSITION_INVALID
    with pytest.raises(PasserelleError) as early:
        concluded(created(), accepted=True, result={})
    assert early.value.reason == Reason.OID4VP_SESSION_TRANSITION_INVALID


def test_an_expired_transaction_refuses_everything() -> None:
    expired = moved(created(), E.EXPIRE)
    for event in (E.FETCH_REQUEST, E.RECEIVE_RESPONSE):
        with pytest.raises(PasserelleError) as caught:
            moved(expired, event)
        assert caught.value.reason == Reason.OID4VP_TRANSACTION_EXPIRED


def test_a_refused_move_leaves_the_record_unchanged() -> None:
    row = concluded(moved(created(), E.RECEIVE_RESPONSE), accepted=True, result={})
    before = dict(row)
    with pytest.raises(PasserelleError):
        moved(row, E.RECEIVE_RESPONSE)
    assert row == before


def test_the_public_view_hides_what_only_the_verifier_may_read() -> None:
    view = public_view(created(encryption_key={"kty": "EC", "d": "secret"}))
    assert not {"encryption_key", "nonce", "state_param"} & set(view)
    assert (view["state"], view["request_id"]) == ("created", "rid")


def test_a_redirected_result_is_released_only_against_its_response_code() -> None:
    """OpenID4VP §14.2: the Response URI "MUST require the frontend to pass the respective
    Response Code when fetching the Authorization Response"."""
    answered = concluded(
        moved(created(), E.FETCH_REQUEST),
        accepted=True,
        result={"accepted": True},
        receive=True,
    )
    assert result_view(answered, response_code=None)["result"] == {"accepted": True}
    redirected = {**answered, "response_code": "c0de"}
    withheld = result_view(redirected, response_code=None)
    assert "result" not in withheld
    assert "response_code" not in withheld
    assert withheld["awaiting_response_code"] is True
    assert result_view(redirected, response_code="c0de")["result"] == {"accepted": True}
    for wrong in ("c0dE", "", "c0de "):
        with pytest.raises(PasserelleError) as caught:
            result_view(redirected, response_code=wrong)
        assert caught.value.reason is Reason.OID4VP_RESPONSE_CODE_MISMATCH
        assert caught.value.wire_error == "access_denied"


# --- the pure parts of the decision ----------------------------------------------------

POLICY = DecisionPolicy(algorithms=("ES256",), skew=timedelta(seconds=30), require_status=True)


def test_a_named_policy_may_waive_or_require_status() -> None:
    assert policy_for(POLICY, require_status=None) is POLICY
    assert policy_for(POLICY, require_status=False).require_status is False
    waived = DecisionPolicy(require_status=False)
    assert policy_for(waived, require_status=True).require_status is True
    # A verifier told not to check status never requires it, whatever the policy says.
    assert policy_for(POLICY, require_status=True, check_status=False).require_status is False


def test_only_string_presentations_answering_a_query_are_fetched_for() -> None:
    query = parse_dcql_query(QUERY)
    vp_token: dict[str, tuple[Any, ...]] = {
        "pid": ("a~b~", {"not": "a string"}),
        "diploma": ("eyJ.x.y",),
        "unknown": ("c~d~",),
    }
    assert presented_items(vp_token, query) == [
        ("pid", "dc+sd-jwt", "a~b~"),
        ("diploma", "jwt_vc_json", "eyJ.x.y"),
    ]


def _decision(accepted: bool, reason: Reason | None) -> PresentationDecision:
    steps = (
        TrustStep(step="signature", outcome=StepOutcome.PASSED, detail="ok"),
        TrustStep(
            step="status",
            outcome=StepOutcome.PASSED if accepted else StepOutcome.FAILED,
            detail="",
            reason=None if accepted else reason,
        ),
    )
    credential = CredentialDecision(
        accepted=accepted,
        reason=reason,
        format="dc+sd-jwt",
        credential_type="urn:eu:pid:1",
        claims={},
        trust=None,
        steps=steps,
    )
    return PresentationDecision(
        accepted=accepted,
        reason=reason,
        detail="" if accepted else "pid: refused",
        credentials={"pid": (credential,)},
        claims={},
        mapped={},
        unmapped={},
        over_disclosed={},
    )


def test_the_trace_is_one_check_per_step_in_order() -> None:
    trace = decision_trace(_decision(False, Reason.STATUS_REVOKED))
    assert trace == [
        {"query": "pid", "step": "signature", "outcome": "passed", "reason": None},
        {"query": "pid", "step": "status", "outcome": "failed", "reason": "status.revoked"},
    ]


def test_a_refusal_is_invalid_request_but_our_outage_stays_temporary() -> None:
    assert refusal_of(_decision(True, None)) is None
    refused = refusal_of(_decision(False, Reason.STATUS_REVOKED))
    assert refused is not None
    assert (refused.reason, refused.wire_error) == (Reason.STATUS_REVOKED, "invalid_request")
    outage = refusal_of(_decision(False, Reason.STATUS_UNAVAILABLE))
    assert outage is not None
    assert outage.fault is Fault.DEPENDENCY
    assert outage.wire_error == "temporarily_unavailable"


def test_received_and_decided_in_one_step_settles_a_race_once() -> None:
    fetched = moved(created(), E.FETCH_REQUEST)
    # Two responses both checked the table on this record, then decided at once: the
    # first write settles, the second finds the transaction answered.
    first = concluded(fetched, accepted=True, result={"accepted": True}, receive=True)
    assert state_of(first) is PresentationState.VERIFIED
    with pytest.raises(PasserelleError) as caught:
        concluded(first, accepted=False, result={"accepted": False}, receive=True)
    assert caught.value.reason == Reason.OID4VP_RESPONSE_REPLAYED
    refused = concluded(fetched, accepted=False, result={}, receive=True)
    assert state_of(refused) is PresentationState.FAILED


def test_a_redirect_target_is_absolute_by_rfc_3986_whatever_its_scheme() -> None:
    """OpenID4VP §8.2: "an absolute URI as defined by [RFC3986] Section 4.3" (scheme,
    hier-part, no fragment): the verifier and VER-RESP-06 share this one rule."""
    from passerelle.oid4vp import is_absolute_uri

    assert is_absolute_uri("https://frontend.example/done?session=1")
    assert is_absolute_uri("rp-app:/done")
    assert not is_absolute_uri("/relative")
    assert not is_absolute_uri("https://frontend.example/cb#frag")
    assert not is_absolute_uri("https://frontend.example/a b")
