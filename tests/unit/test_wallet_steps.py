"""The wallet's protocol steps, without HTTP: which token request an offer's grant
makes, and when a presentation request must be refused as a whole."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from passerelle import JsonObject, PasserelleError, Reason
from passerelle.oid4vci import CredentialOffer, parse_credential_offer
from passerelle.services.fetch import Fetcher, FetchPolicy
from passerelle.services.runtime import SecretsRandom
from passerelle.services.wallet.holder import Presenter
from passerelle.services.wallet.receive import PRE_AUTHORIZED_GRANT, IssuanceClient

ISSUER = "https://issuer.example"


def _client() -> IssuanceClient:
    return IssuanceClient(
        fetcher=Fetcher(FetchPolicy()),
        random=SecretsRandom(),
        clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
    )


def _offer(grants: JsonObject) -> CredentialOffer:
    return parse_credential_offer(
        {"credential_issuer": ISSUER, "credential_configuration_ids": ["pid"], "grants": grants}
    )


def test_a_pre_authorized_code_is_redeemed_without_a_client_id() -> None:
    offer = _offer({PRE_AUTHORIZED_GRANT: {"pre-authorized_code": "abc"}})
    form, client_id = _client()._token_form(offer, {}, "pid", tx_code=None, persona=None)
    assert form == {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": "abc"}
    assert client_id is None


def test_the_transaction_code_goes_with_the_code_when_the_offer_asks_for_one() -> None:
    offer = _offer({PRE_AUTHORIZED_GRANT: {"pre-authorized_code": "abc", "tx_code": {"length": 4}}})
    form, _ = _client()._token_form(offer, {}, "pid", tx_code="1234", persona=None)
    assert form["tx_code"] == "1234"
    with pytest.raises(PasserelleError) as missing:
        _client()._token_form(offer, {}, "pid", tx_code=None, persona=None)
    assert missing.value.reason is Reason.INPUT_MALFORMED


def test_an_offer_without_a_supported_grant_is_refused() -> None:
    offer = _offer({})
    with pytest.raises(PasserelleError) as refused:
        _client()._token_form(offer, {}, "pid", tx_code=None, persona=None)
    assert refused.value.reason is Reason.INPUT_MALFORMED


def test_a_declined_request_is_refused_whatever_was_planned() -> None:
    refusal = Presenter._refusal({"problem": None}, "deny")
    assert refusal is not None
    assert refusal.reason is Reason.WALLET_HOLDER_DECLINED


def test_a_request_nothing_answers_is_refused_with_access_denied() -> None:
    problem = {"reason": "dcql.no_match", "detail": "no credential has given_name"}
    refusal = Presenter._refusal({"problem": problem}, "minimal")
    assert refusal is not None
    assert (refusal.reason, refusal.wire_error) == (Reason.DCQL_NO_MATCH, "access_denied")


def test_an_approved_request_with_a_plan_is_not_refused() -> None:
    assert Presenter._refusal({"problem": None}, "minimal") is None
