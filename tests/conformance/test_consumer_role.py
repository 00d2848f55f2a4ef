"""The suite as a data-space participant (conformance._consumer_role) and the shape of the
``dataspace`` plan: its tokens are judged by the DCP core as a verifier would judge them,
its Credential Service answers per access token, and every DSP TCK case is a check —
run when the short path covers it, otherwise always skipped with the case's reason."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from passerelle import PasserelleError, Reason
from passerelle.conformance import CHECKS, CheckSkipped, select_checks
from passerelle.conformance._consumer_role import SAMPLE_DATA, Answer, SuiteConsumer, TokenDeviation
from passerelle.dcp import (
    AUTHENTICATION,
    CAPABILITY_INVOCATION,
    credential_service_endpoint,
    did_web_to_url,
    key_resolver,
    parse_presentation_response,
    presentation_query,
    scope_for_type,
    verify_dcp_presentations,
    verify_self_issued_token,
)
from passerelle.dsp import (
    TCK_CASES,
    contract_request_message,
    parse_contract_negotiation,
    parse_version_metadata,
)

VERIFIER = "did:web:verifier.example"


def _now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def consumer() -> Iterator[SuiteConsumer]:
    participant = SuiteConsumer().start()
    yield participant
    participant.close()


def _verify(consumer: SuiteConsumer, token: str, audience: str = VERIFIER) -> str:
    claims = verify_self_issued_token(
        token,
        audience=audience,
        resolve_key=key_resolver(
            {consumer.did: consumer.document}, relationship=CAPABILITY_INVOCATION
        ),
        now=_now(),
        skew=timedelta(seconds=60),
        seen_jti=lambda jti, exp: False,
    )
    return claims.access_token


def test_the_did_document_is_served_where_did_web_says(consumer: SuiteConsumer) -> None:
    assert consumer.did.startswith("did:web:localhost%3A")
    url = did_web_to_url(consumer.did, allow_insecure_loopback=True)
    document = httpx.get(url).json()
    assert document == consumer.document
    assert document["id"] == consumer.did
    endpoint = credential_service_endpoint(document, allow_insecure_loopback=True)
    assert endpoint == f"{consumer.url}/cs"
    provider = httpx.get(did_web_to_url(consumer.provider_did, allow_insecure_loopback=True)).json()
    assert provider["id"] == consumer.provider_did
    metadata = httpx.get(provider["service"][0]["serviceEndpoint"]).json()
    assert [v.path for v in parse_version_metadata(metadata)] == ["/dsp"]


def test_an_honest_token_passes_the_dcp_verifier(consumer: SuiteConsumer) -> None:
    access = consumer.grant(Answer())
    token = consumer.token(audience=VERIFIER, access_token=access, now=_now())
    assert _verify(consumer, token) == access


@pytest.mark.parametrize(
    ("deviation", "reason"),
    [
        (TokenDeviation(omit=frozenset({"token"})), Reason.DCP_ACCESS_TOKEN_MISSING),
        (TokenDeviation(sub="did:web:someone.example"), Reason.DCP_ISS_SUB_MISMATCH),
        (TokenDeviation(foreign_key=True), Reason.DCP_TOKEN_INVALID),
        (
            TokenDeviation(issued_ago=timedelta(minutes=10), lifetime=timedelta(minutes=2)),
            Reason.DCP_TOKEN_EXPIRED,
        ),
        (
            TokenDeviation(not_before_in=timedelta(minutes=10), lifetime=timedelta(minutes=15)),
            Reason.DCP_TOKEN_NOT_YET_VALID,
        ),
    ],
    ids=["no-token-claim", "iss-sub", "foreign-key", "expired", "nbf"],
)
def test_each_deviation_breaks_exactly_its_rule(
    consumer: SuiteConsumer, deviation: TokenDeviation, reason: Reason
) -> None:
    token = consumer.token(
        audience=VERIFIER, access_token=consumer.grant(Answer()), now=_now(), deviation=deviation
    )
    with pytest.raises(PasserelleError) as caught:
        _verify(consumer, token)
    assert caught.value.reason == reason


def test_a_token_for_another_audience_is_refused_by_the_verifier(consumer: SuiteConsumer) -> None:
    token = consumer.token(audience=consumer.did, access_token="x", now=_now())
    with pytest.raises(PasserelleError) as caught:
        _verify(consumer, token)
    assert caught.value.reason == Reason.DCP_AUDIENCE_MISMATCH


def _query(consumer: SuiteConsumer, access: str | None) -> httpx.Response:
    headers = {}
    if access is not None:
        caller = consumer.token(audience=consumer.did, access_token=access, now=_now())
        headers["Authorization"] = f"Bearer {caller}"
    return httpx.post(
        f"{consumer.url}/cs/presentations/query",
        json=presentation_query([scope_for_type("DataSpaceMembershipCredential")]),
        headers=headers,
        timeout=60,
    )


def test_the_credential_service_answers_per_access_token(consumer: SuiteConsumer) -> None:
    honest = _query(consumer, consumer.grant(Answer()))
    assert honest.status_code == 200
    presentations = parse_presentation_response(honest.json())
    verified = verify_dcp_presentations(
        presentations,
        holder_did=consumer.did,
        audience=None,
        resolve_key=key_resolver({consumer.did: consumer.document}, relationship=AUTHENTICATION),
        now=_now(),
        required_types=(),
    )
    assert verified[0].holder == consumer.did
    empty = _query(consumer, consumer.grant(Answer(presentation=False)))
    assert parse_presentation_response(empty.json()) == []
    assert _query(consumer, consumer.grant(Answer(refuse=True))).status_code == 401
    assert _query(consumer, "never-granted").status_code == 401
    assert _query(consumer, None).status_code == 401
    access = consumer.grant(Answer())
    _query(consumer, access)
    [query] = consumer.queries(access)
    assert query.scopes == ("org.eclipse.dspace.dcp.vc.type:DataSpaceMembershipCredential:read",)
    assert query.caller == consumer.did


def test_a_gated_answer_waits_for_its_gate(consumer: SuiteConsumer) -> None:
    gate = threading.Event()
    access = consumer.grant(Answer(gate=gate))
    answered: list[float] = []

    def ask() -> None:
        _query(consumer, access)
        answered.append(time.monotonic())

    worker = threading.Thread(target=ask)
    worker.start()
    time.sleep(0.2)
    assert answered == []
    opened = time.monotonic()
    gate.set()
    worker.join(timeout=120)
    assert answered
    assert answered[0] >= opened


def test_callbacks_are_recorded_and_acknowledged(consumer: SuiteConsumer) -> None:
    response = httpx.post(
        f"{consumer.callback_address}/negotiations/urn:uuid:c1/agreement",
        json={"@type": "ContractAgreementMessage"},
        headers={"Authorization": "Bearer a.b.c"},
    )
    assert response.status_code == 200
    callback = consumer.wait_for("urn:uuid:c1", ["agreement"], timeout=60)
    assert callback is not None
    assert callback.authorized
    assert callback.type == "ContractAgreementMessage"
    assert consumer.wait_for("urn:uuid:c1", ["termination"], timeout=0.05) is None


def test_the_provider_facet_acknowledges_and_records(consumer: SuiteConsumer) -> None:
    message = contract_request_message(
        consumer_pid="urn:uuid:c2",
        offer={"@id": "urn:o", "target": "urn:d", "permission": [{"action": "use"}]},
        callback_address="http://localhost:1/callback",
    )
    created = httpx.post(f"{consumer.url}/dsp/negotiations/request", json=message)
    assert created.status_code == 201
    ack = parse_contract_negotiation(created.json())
    assert ack.consumer_pid == "urn:uuid:c2"
    inbound = consumer.wait_inbound(
        "negotiations", "request", consumer_pid="urn:uuid:c2", timeout=60
    )
    assert inbound is not None
    assert inbound.provider_pid == ack.provider_pid
    nope = httpx.post(f"{consumer.url}/dsp/negotiations/urn:uuid:nope/termination", json={})
    assert nope.status_code == 404
    gate = consumer.hold_data("urn:uuid:p")
    gate.set()
    assert httpx.get(f"{consumer.url}/data/urn:uuid:p").json() == SAMPLE_DATA


def test_close_releases_what_is_held_and_stops_listening() -> None:
    participant = SuiteConsumer(hold_seconds=30).start()
    url = participant.url
    gate = threading.Event()
    participant.grant(Answer(gate=gate))
    participant.close()
    assert gate.is_set()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{url}/.well-known/did.json", timeout=1)


# --- the plan's shape ----------------------------------------------------------------


def _check_id(case_id: str) -> str:
    return "DSP-" + case_id.replace(":", "-")


def test_every_dsp_tck_case_is_a_check_of_the_plan() -> None:
    select_checks(["dataspace"])
    for case in TCK_CASES:
        registered = CHECKS.get(_check_id(case.id))
        assert registered is not None, case.id
        assert registered.plan == "dataspace"
        stub = "_register_skipped" in registered.run.__qualname__
        # Covered: really run. Not covered: a stub that only ever skips.
        assert stub == (not case.covered), case.id


def test_a_case_off_the_short_path_is_skipped_with_its_reason_never_passed() -> None:
    select_checks(["dataspace"])
    for case in (c for c in TCK_CASES if not c.covered):
        with pytest.raises(CheckSkipped) as skipped:
            CHECKS[_check_id(case.id)].run(None)  # type: ignore[arg-type]
        assert case.skip_reason is not None
        assert case.skip_reason in skipped.value.message


def test_every_connector_quirk_is_claimed_by_a_dataspace_check() -> None:
    from passerelle.services.dataspace.quirks import ConnectorQuirk

    claimed = {q for c in select_checks(["dataspace"]) for q in c.catches}
    assert claimed == {f"dataspace:{q.value}" for q in ConnectorQuirk}
