"""The issuer's grant lifecycle, with no HTTP: the core's session table walked the way
the issuer service walks it, the tx_code attempts of a pre-authorized code, and the
one-nonce-per-batch rule of holder-key proofs."""

from __future__ import annotations

import itertools

import pytest

from passerelle import PasserelleError, Reason
from passerelle.oid4vci import (
    PRE_AUTHORIZED_CODE_GRANT,
    TRANSITIONS,
    IssuanceEvent,
    IssuanceState,
    PreAuthorizedGrant,
    TokenRequest,
    advance,
    attempt_pre_authorized_code,
    batch_proof_nonce,
    parse_token_request,
)

S = IssuanceState
E = IssuanceEvent


def _walk(state: IssuanceState, *events: IssuanceEvent) -> IssuanceState:
    for event in events:
        state = advance(state, event)
    return state


def _refused(state: IssuanceState, event: IssuanceEvent) -> str | None:
    with pytest.raises(PasserelleError) as exc:
        advance(state, event)
    assert exc.value.reason == Reason.OID4VCI_SESSION_TRANSITION_INVALID
    return exc.value.wire_error


def test_pre_authorized_code_then_credential_then_notification() -> None:
    state = _walk(S.OFFERED, E.REDEEM_PRE_AUTHORIZED_CODE)
    assert state is S.TOKEN_ISSUED
    issued = _walk(state, E.ISSUE_CREDENTIAL)
    assert issued is S.CREDENTIAL_ISSUED
    # §11: a wallet may repeat its notification; it changes nothing.
    assert _walk(issued, E.NOTIFY, E.NOTIFY) is S.NOTIFIED


def test_par_login_code_and_pkce_redemption() -> None:
    # PAR keeps the request as AUTHORIZATION_PENDING; the login turns it into a code.
    pending = advance(S.OFFERED, E.START_AUTHORIZATION)
    assert pending is S.AUTHORIZATION_PENDING
    code = advance(pending, E.ISSUE_CODE)
    assert code is S.CODE_ISSUED
    assert advance(code, E.REDEEM_CODE) is S.TOKEN_ISSUED


def test_a_request_uri_is_spent_by_one_login() -> None:
    code = _walk(S.OFFERED, E.START_AUTHORIZATION, E.ISSUE_CODE)
    assert _refused(code, E.ISSUE_CODE) == "access_denied"


@pytest.mark.parametrize("redeem", [E.REDEEM_PRE_AUTHORIZED_CODE, E.REDEEM_CODE])
def test_a_grant_is_redeemed_once(redeem: IssuanceEvent) -> None:
    start = S.OFFERED if redeem is E.REDEEM_PRE_AUTHORIZED_CODE else S.CODE_ISSUED
    token = advance(start, redeem)
    assert _refused(token, redeem) == "invalid_grant"


def test_a_pre_authorized_code_cannot_be_redeemed_as_an_authorization_code() -> None:
    assert _refused(S.OFFERED, E.REDEEM_CODE) == "invalid_grant"
    assert _refused(S.CODE_ISSUED, E.REDEEM_PRE_AUTHORIZED_CODE) == "invalid_grant"


def test_deferred_transaction_polls_then_issues_once() -> None:
    deferred = _walk(S.OFFERED, E.REDEEM_PRE_AUTHORIZED_CODE, E.DEFER, E.DEFER)
    assert deferred is S.DEFERRED
    issued = advance(deferred, E.ISSUE_DEFERRED_CREDENTIAL)
    assert issued is S.CREDENTIAL_ISSUED
    assert _refused(issued, E.ISSUE_DEFERRED_CREDENTIAL) == "invalid_transaction_id"


def test_nothing_is_notified_before_a_credential() -> None:
    assert _refused(S.TOKEN_ISSUED, E.NOTIFY) == "invalid_notification_id"
    assert _refused(S.DEFERRED, E.NOTIFY) == "invalid_notification_id"


def test_no_credential_without_an_access_token() -> None:
    for state in (S.OFFERED, S.AUTHORIZATION_PENDING, S.CODE_ISSUED):
        assert _refused(state, E.ISSUE_CREDENTIAL) == "invalid_token"
        assert _refused(state, E.DEFER) == "invalid_token"


def test_every_pair_outside_the_table_is_refused_with_its_endpoint_code() -> None:
    wire_codes = {
        "invalid_grant",
        "invalid_request",
        "access_denied",
        "invalid_token",
        "invalid_transaction_id",
        "invalid_notification_id",
    }
    for state, event in itertools.product(S, E):
        if (state, event) in TRANSITIONS:
            assert advance(state, event) is TRANSITIONS[state, event]
        else:
            assert _refused(state, event) in wire_codes


# --- holder keys: one c_nonce per batch --------------------------------------------------


def test_a_batch_carrying_one_nonce_names_it() -> None:
    assert batch_proof_nonce(["n-1", "n-1", "n-1"]) == "n-1"


@pytest.mark.parametrize(
    "nonces",
    [
        pytest.param(["n-1", "n-2"], id="proofs-disagree"),
        pytest.param(["n-1", None], id="one-proof-without-nonce"),
        pytest.param([None], id="no-nonce"),
        pytest.param([], id="no-proof"),
    ],
)
def test_a_batch_without_one_shared_nonce_names_none(nonces: list[str | None]) -> None:
    assert batch_proof_nonce(nonces) is None


# --- the pre-authorized code and its tx_code attempts ---------------------------------------


def _request(tx_code: str | None) -> TokenRequest:
    form = {"grant_type": PRE_AUTHORIZED_CODE_GRANT, "pre-authorized_code": "code-1"}
    return parse_token_request(form | ({"tx_code": tx_code} if tx_code is not None else {}))


def test_the_right_tx_code_redeems_the_grant() -> None:
    grant = PreAuthorizedGrant(state=S.OFFERED, tx_code="123456")
    after, refusal = attempt_pre_authorized_code(grant, _request("123456"), max_failures=3)
    assert refusal is None
    assert after.state is S.TOKEN_ISSUED
    _, again = attempt_pre_authorized_code(after, _request("123456"), max_failures=3)
    assert again is not None
    assert again.reason == Reason.OID4VCI_SESSION_TRANSITION_INVALID
    assert again.wire_error == "invalid_grant"


def test_wrong_tx_codes_count_until_the_grant_is_dead() -> None:
    grant = PreAuthorizedGrant(state=S.OFFERED, tx_code="123456")
    for failures in (1, 2):
        grant, refusal = attempt_pre_authorized_code(grant, _request("000000"), max_failures=2)
        assert refusal is not None
        assert refusal.reason == Reason.OID4VCI_TX_CODE_MISMATCH
        assert refusal.wire_error == "invalid_grant"
        assert grant.tx_code_failures == failures
        assert grant.state is S.OFFERED
    dead, refusal = attempt_pre_authorized_code(grant, _request("123456"), max_failures=2)
    assert refusal is not None
    assert refusal.reason == Reason.OID4VCI_TX_CODE_ATTEMPTS_EXHAUSTED
    assert refusal.wire_error == "invalid_grant"
    assert dead == grant


@pytest.mark.parametrize(
    ("announced", "sent", "reason"),
    [
        ("123456", None, Reason.OID4VCI_TX_CODE_MISSING),
        (None, "123456", Reason.OID4VCI_TX_CODE_UNEXPECTED),
    ],
)
def test_a_missing_or_unexpected_tx_code_is_no_attempt(
    announced: str | None, sent: str | None, reason: Reason
) -> None:
    grant = PreAuthorizedGrant(state=S.OFFERED, tx_code=announced)
    after, refusal = attempt_pre_authorized_code(grant, _request(sent), max_failures=1)
    assert refusal is not None
    assert refusal.reason == reason
    assert refusal.wire_error == "invalid_request"
    assert after == grant


def test_an_issuer_that_skips_the_tx_code_check_redeems_any_code() -> None:
    grant = PreAuthorizedGrant(state=S.OFFERED, tx_code="123456")
    after, refusal = attempt_pre_authorized_code(
        grant, _request("999999"), max_failures=3, check_tx_code=False
    )
    assert refusal is None
    assert after.state is S.TOKEN_ISSUED
