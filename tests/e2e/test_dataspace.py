"""Scenario 3 on the data-space path, end to end: two connectors (DSP 2025-1 + DCP 1.0),
both issuers issuing VC 2.0 credentials to the SMEs' did:web, the trust service.

The positive runs go through the SMEs' own API, as ``passerelle demo`` does; the
negatives speak DSP to a provider directly, with tokens from the SME's Secure Token
Service (or signed here with the SME's key, to make them expired), and assert on the
reason code in the error body. The revocation test runs last: revocation is final.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from passerelle.dcp import create_self_issued_token
from passerelle.dsp import (
    DSP_CONTEXT,
    agreement_verification_message,
    catalog_request_message,
    negotiation_termination_message,
)
from passerelle.jose import decode_unverified_jws
from passerelle.services.catalog import data_root
from passerelle.services.dataspace.app import create_dataspace_app
from passerelle.services.dataspace.quirks import ConnectorQuirk, behaviour_for
from passerelle.services.launcher import start_stack
from passerelle.services.pki import init_pki, load_pki
from passerelle.services.runtime import utc_now
from passerelle.services.scenarios import (
    DATA_RECEIVED,
    DATASPACE_SCENARIOS,
    DATASPACE_STACK,
    DataspaceClient,
    free_ports,
    play_dataspace,
    stack_hosts,
)
from passerelle.services.trust.build import build_with_pki

EU_REGISTRY = "urn:passerelle:dataset:eu-supplier-registry"
EU_ONLY = "urn:passerelle:dataset:eu-procurement-suppliers"
CA_REGISTRY = "urn:passerelle:dataset:ca-supplier-registry"


class World(DataspaceClient):
    issued: list[dict[str, Any]]
    played: dict[str, Any]

    def dsp(self, connector: str) -> str:
        return str(self.health(connector)["provider"]["dsp"])

    def sts(self, connector: str, audience: str) -> str:
        """A Self-Issued ID Token of the SME of ``connector`` for ``audience``."""
        response = httpx.post(
            f"{self.urls[connector]}/api/consumer/sts", json={"audience": audience}, timeout=120
        )
        response.raise_for_status()
        return str(response.json()["token"])


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    data_dir = tmp_path_factory.mktemp("dataspace")
    hosts = stack_hosts(free_ports(len(DATASPACE_STACK)), DATASPACE_STACK)
    init_pki(data_dir, now=utc_now(), hosts=hosts)
    build_with_pki(data_dir=data_dir, sources=data_root() / "trust_lists", now=utc_now())
    running = start_stack(data_dir=data_dir, hosts=hosts, roles=DATASPACE_STACK)
    try:
        client = World(urls=running.urls, data_dir=data_dir)
        client.issued = client.enrol()
        client.played = {}
        yield client
    finally:
        running.stop()


def _error(response: httpx.Response) -> tuple[int, str | None, str | None]:
    body = response.json()
    return response.status_code, body.get("@type"), body.get("code")


# --- discovery -----------------------------------------------------------------------


def test_each_connector_says_its_versions_and_publishes_both_did_documents(world: World) -> None:
    for connector in ("ca-dataspace", "eu-dataspace"):
        base = world.urls[connector]
        versions = httpx.get(f"{base}/.well-known/dspace-version").json()["protocolVersions"]
        assert versions == [
            {
                "version": "2025-1",
                "path": "/dsp",
                "binding": "HTTPS",
                "serviceId": f"{world.provider_did(connector)}#dsp",
                "identifierType": "did:web",
                "auth": {"protocol": "DCP", "version": "1.0", "profile": ["vc20-bssl/jwt"]},
            }
        ]
        sme = httpx.get(f"{base}/sme/did.json").json()
        assert sme["id"] == world.sme_did(connector)
        assert sme["service"][0]["type"] == "CredentialService"
        assert sme["service"][0]["serviceEndpoint"] == f"{base}/sme/cs"
        provider = httpx.get(f"{base}/provider/did.json").json()
        assert provider["service"][0] == {
            "id": f"{provider['id']}#dataService",
            "type": "DataService",
            "serviceEndpoint": f"{base}/.well-known/dspace-version",
        }


# --- scenario 3, both directions -----------------------------------------------------


@pytest.mark.parametrize("index", [0, 1], ids=["ca-sme-to-eu", "eu-sme-to-ca"])
def test_an_sme_gets_the_other_sides_dataset(world: World, index: int) -> None:
    scenario = DATASPACE_SCENARIOS[index]
    outcome = play_dataspace(world, scenario)
    assert outcome.outcome == DATA_RECEIVED, outcome
    assert outcome.as_expected
    assert outcome.negotiation["state"] == "FINALIZED"
    assert outcome.transfer["state"] == "COMPLETED"
    assert [e["event"] for e in outcome.negotiation["events"]] == [
        "REQUESTED",
        "AGREED",
        "VERIFIED",
        "FINALIZED",
    ]
    rows = outcome.transfer["data"]["rows"]
    assert len(rows) == 4
    agreement = outcome.negotiation["agreement"]
    assert agreement["target"] == scenario.dataset
    assert agreement["assignee"] == world.sme_did(scenario.consumer)
    assert agreement["assigner"] == world.provider_did(scenario.provider)
    # The provider decided on what the SME proved, with the jurisdiction of the issuers
    # as the trust evaluation found them (the foreign one through recognition).
    proof = outcome.decision["decision"]["proof"]
    home = scenario.consumer.split("-")[0]
    assert proof["issuer_jurisdictions"] == [home]
    assert "DataSpaceMembershipCredential" in proof["credential_types"]
    for credential in proof["credentials"]:
        assert credential["trust"]["trusted"], credential
        assert credential["trust"]["framework"] == home
        assert credential["status"] == "valid"
        steps = {s["step"]: s["outcome"] for s in credential["trust"]["steps"]}
        assert steps["recognition"] == "passed"  # a foreign issuer, recognised
    assert outcome.decision["decision"]["policy"]["permitted"] is True
    world.played[scenario.consumer] = outcome


def test_the_eu_only_dataset_is_hidden_from_the_canadian_sme_and_its_negotiation_terminated(
    world: World,
) -> None:
    outcome = play_dataspace(world, DATASPACE_SCENARIOS[2])
    assert outcome.as_expected, outcome
    assert EU_ONLY not in outcome.catalog
    assert EU_REGISTRY in outcome.catalog
    assert outcome.negotiation["state"] == "TERMINATED"
    assert outcome.negotiation["code"] == "odrl.constraint_unsatisfied"
    assert outcome.transfer == {}
    trace = outcome.decision["decision"]["policy"]["trace"]
    failed = [line for line in trace if not line["satisfied"] and line["left_operand"]]
    assert [line["left_operand"] for line in failed] == [
        "https://w3id.org/passerelle/odrl/issuerJurisdiction"
    ]
    assert failed[0]["actual"] == ["ca"]
    # Hidden from the Canadian SME, not from everyone: the EU SME sees it at home.
    eu_view = world.catalog("eu-dataspace", world.provider_did("eu-dataspace")).json()
    assert EU_ONLY in {d["@id"] for d in eu_view["dataset"]}
    # And asking for it by id is as if it did not exist.
    token = world.sts("ca-dataspace", world.provider_did("eu-dataspace"))
    response = httpx.get(
        f"{world.dsp('eu-dataspace')}/catalog/datasets/{EU_ONLY}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert _error(response) == (404, "CatalogError", "dsp.dataset_unknown")


# --- DCP: the Self-Issued ID Token ----------------------------------------------------


# --- scenario 3f: conformity assessment before negotiation ----------------------------

SURVEILLANCE = "urn:passerelle:dataset:eu-market-surveillance-feed"


def _install_attestation(world: World, *, unexpected: tuple[str, ...]) -> None:
    """What an operator does with `passerelle conformance run`'s attestation of the
    Canadian connector: put it where the connector publishes it."""
    from datetime import UTC, datetime

    from passerelle.conformance.attestations import LABORATORY, LABORATORY_ID, VALIDITY
    from passerelle.conformity import (
        ConformanceSummary,
        build_conformance_attestation,
        sign_conformance_attestation,
    )

    now = datetime.now(UTC)
    summary = ConformanceSummary(
        subject=world.urls["ca-dataspace"],
        name="ca-dataspace",
        role="connector",
        profile="dsp",
        plans=("dataspace",),
        versions={"dataspace": "Dataspace Protocol 2025-1; DCP 1.0"},
        counts={"passed": 30, "failed": len(unexpected)},
        unexpected=unexpected,
        report_sha256="0" * 64,
        assessed_at=now,
    )
    credential = build_conformance_attestation(
        summary, issuer=LABORATORY_ID, issuer_name="lab", now=now, valid_for=VALIDITY
    )
    pki = load_pki(world.data_dir)
    token = sign_conformance_attestation(
        credential, signer=pki.signer(LABORATORY), x5c=pki.x5c(LABORATORY)
    )
    (world.data_dir / "ca-provider" / "conformance-attestation.jwt").write_text(token)


def test_a_canadian_connector_needs_a_current_conformance_attestation(world: World) -> None:
    scenario = DATASPACE_SCENARIOS[3]
    assert scenario.dataset == SURVEILLANCE
    attestation = world.data_dir / "ca-provider" / "conformance-attestation.jwt"
    try:
        refused = play_dataspace(world, scenario)
        assert refused.outcome == "conformance.attestation_missing", refused
        assert refused.as_expected

        _install_attestation(world, unexpected=("DSP-CN-01",))
        failing = play_dataspace(world, scenario)
        assert failing.outcome == "conformance.not_conformant", failing

        _install_attestation(world, unexpected=())
        attested = play_dataspace(world, scenario)
        assert attested.outcome == DATA_RECEIVED, attested
        checked = attested.decision["decision"]["conformance"]
        assert checked["subject"] == world.urls["ca-dataspace"]
        assert "Conformance Laboratory" in checked["signer"]
    finally:
        attestation.unlink(missing_ok=True)
    # The EU SME's credentials come from EU issuers: the requirement is not its.
    eu = play_dataspace(
        world,
        replace(scenario, consumer="eu-dataspace", expect=None),
    )
    assert eu.outcome == DATA_RECEIVED, eu


def _catalog_request(world: World, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    return httpx.post(
        f"{world.dsp('eu-dataspace')}/catalog/request",
        json=catalog_request_message(),
        headers=headers,
        timeout=120,
    )


def test_a_self_issued_id_token_is_single_use(world: World) -> None:
    token = world.sts("ca-dataspace", world.provider_did("eu-dataspace"))
    assert _catalog_request(world, token).status_code == 200
    replayed = _catalog_request(world, token)
    assert _error(replayed) == (401, "CatalogError", "dcp.jti_replayed")
    assert replayed.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_token_for_another_audience_is_refused(world: World) -> None:
    token = world.sts("ca-dataspace", world.provider_did("ca-dataspace"))
    assert _error(_catalog_request(world, token)) == (
        401,
        "CatalogError",
        "dcp.audience_mismatch",
    )


def test_an_expired_token_is_refused(world: World) -> None:
    provider = world.provider_did("eu-dataspace")
    access = decode_unverified_jws(world.sts("ca-dataspace", provider)).payload_json()["token"]
    pki = load_pki(world.data_dir)
    sme = world.sme_did("ca-dataspace")
    expired = create_self_issued_token(
        holder_did=sme,
        audience=provider,
        access_token=str(access),
        signer=pki.signer("ca-dataspace-sme"),
        kid=f"{sme}#key-1",
        now=utc_now() - timedelta(minutes=10),
        lifetime=timedelta(minutes=1),
        jti="expired-token-test",
    )
    assert _error(_catalog_request(world, expired)) == (401, "CatalogError", "dcp.token_expired")


def test_a_token_signed_by_someone_else_is_refused(world: World) -> None:
    provider = world.provider_did("eu-dataspace")
    sme = world.sme_did("ca-dataspace")
    forged = create_self_issued_token(
        holder_did=sme,
        audience=provider,
        access_token="anything",
        signer=load_pki(world.data_dir).signer("eu-dataspace-sme"),  # not the CA SME's key
        kid=f"{sme}#key-1",
        now=utc_now(),
        lifetime=timedelta(minutes=1),
        jti="forged-token-test",
    )
    assert _error(_catalog_request(world, forged)) == (401, "CatalogError", "dcp.token_invalid")


def test_a_request_without_a_token_is_refused(world: World) -> None:
    assert _error(_catalog_request(world, None)) == (401, "CatalogError", "dcp.token_missing")


# --- DSP: the negotiation and transfer state machines --------------------------------


def _dsp(
    world: World, method: str, path: str, body: dict[str, Any] | None = None
) -> httpx.Response:
    token = world.sts("ca-dataspace", world.provider_did("eu-dataspace"))
    return httpx.request(
        method,
        f"{world.dsp('eu-dataspace')}{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
        timeout=120,
    )


def test_an_unknown_negotiation_or_transfer_is_404(world: World) -> None:
    assert _error(_dsp(world, "GET", "/negotiations/urn:uuid:nope")) == (
        404,
        "ContractNegotiationError",
        "dsp.negotiation_unknown",
    )
    assert _error(_dsp(world, "GET", "/transfers/urn:uuid:nope")) == (
        404,
        "TransferError",
        "dsp.transfer_unknown",
    )


def test_a_finalized_negotiation_refuses_further_messages_with_400(world: World) -> None:
    finalized = world.played.get("ca-dataspace")
    if finalized is None:
        pytest.skip("needs the Canadian SME's finalized negotiation")
    pids = {
        "provider_pid": finalized.negotiation["providerPid"],
        "consumer_pid": finalized.negotiation["consumerPid"],
    }
    current = _dsp(world, "GET", f"/negotiations/{pids['provider_pid']}")
    assert current.status_code == 200
    assert current.json()["state"] == "FINALIZED"
    again = _dsp(
        world,
        "POST",
        f"/negotiations/{pids['provider_pid']}/agreement/verification",
        agreement_verification_message(**pids),
    )
    assert _error(again) == (400, "ContractNegotiationError", "dsp.invalid_transition")
    assert again.json()["providerPid"] == pids["provider_pid"]
    late = _dsp(
        world,
        "POST",
        f"/negotiations/{pids['provider_pid']}/termination",
        negotiation_termination_message(**pids, code="too-late"),
    )
    assert _error(late) == (400, "ContractNegotiationError", "dsp.invalid_transition")
    # The provider's own view never moved.
    assert (
        _dsp(world, "GET", f"/negotiations/{pids['provider_pid']}").json()["state"] == "FINALIZED"
    )


def test_another_partys_negotiation_does_not_exist_for_a_caller(world: World) -> None:
    finalized = world.played.get("ca-dataspace")
    if finalized is None:
        pytest.skip("needs the Canadian SME's finalized negotiation")
    provider = world.provider_did("eu-dataspace")
    token = world.sts("eu-dataspace", provider)  # the EU SME asks about the Canadian's
    response = httpx.get(
        f"{world.dsp('eu-dataspace')}/negotiations/{finalized.negotiation['providerPid']}",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert _error(response) == (404, "ContractNegotiationError", "dsp.negotiation_unknown")


def test_a_malformed_message_is_400(world: World) -> None:
    response = _dsp(
        world,
        "POST",
        "/negotiations/request",
        {"@context": [DSP_CONTEXT], "@type": "ContractRequestMessage"},
    )
    assert _error(response) == (400, "ContractNegotiationError", "dsp.message_invalid")


def test_the_data_endpoint_wants_the_transfers_token(world: World) -> None:
    finalized = world.played.get("ca-dataspace")
    if finalized is None:
        pytest.skip("needs the Canadian SME's completed transfer")
    endpoint = finalized.transfer["endpoint"]
    for headers in ({}, {"Authorization": "Bearer not-the-token"}):
        response = httpx.get(endpoint, headers=headers)
        assert _error(response) == (401, "TransferError", "dsp.data_token_invalid")


def test_the_operators_cannot_move_a_finished_or_unknown_process(world: World) -> None:
    finalized = world.played.get("ca-dataspace")
    if finalized is None:
        pytest.skip("needs the Canadian SME's completed transfer")
    eu, ca = world.urls["eu-dataspace"], world.urls["ca-dataspace"]
    provider_pid = finalized.transfer["providerPid"]
    again = httpx.post(f"{eu}/api/provider/transfers/{provider_pid}/completion")
    assert (again.status_code, again.json()["reason"]) == (400, "dsp.invalid_transition")
    nope = httpx.post(f"{eu}/api/provider/negotiations/urn:uuid:nope/termination", json={})
    assert (nope.status_code, nope.json()["reason"]) == (404, "dsp.negotiation_unknown")
    consumer_pid = finalized.negotiation["consumerPid"]
    late = httpx.post(f"{ca}/api/consumer/negotiations/{consumer_pid}/termination", json={})
    assert (late.status_code, late.json()["reason"]) == (400, "dsp.invalid_transition")


def test_everything_acknowledged_survives_a_restart(world: World) -> None:
    finalized = world.played.get("eu-dataspace")
    if finalized is None:
        pytest.skip("needs the EU SME's completed transfer")
    again = create_dataspace_app(profile_name="eu-provider", data_dir=world.data_dir)
    with TestClient(again) as client:  # a second process on the same store, in effect
        pid = finalized.negotiation["consumerPid"]
        row = client.get(f"/api/consumer/negotiations/{pid}").json()
        assert row["state"] == "FINALIZED"
        assert row["agreement"] == finalized.negotiation["agreement"]
        transfer = client.get(f"/api/consumer/transfers/{finalized.transfer['consumerPid']}")
        assert transfer.json()["data"] == finalized.transfer["data"]


# --- the connector's quirks: each breaks the one requirement it names -------------------


def _quirky(world: World, *quirks: ConnectorQuirk) -> TestClient:
    """The EU connector again, in-process, with ``quirks`` and a store of its own: same
    DIDs and keys, so the Canadian SME's tokens and Credential Service work with it."""
    app = create_dataspace_app(
        profile_name="eu-provider",
        data_dir=world.data_dir,
        store_url="sqlite://:memory:",
        quirks=frozenset(quirks),
    )
    return TestClient(app)


def _quirky_catalog(client: TestClient, token: str) -> Any:
    return client.post(
        "/dsp/catalog/request",
        json=catalog_request_message(),
        headers={"Authorization": f"Bearer {token}"},
    )


def test_quirk_accept_replayed_jti(world: World) -> None:
    token = world.sts("ca-dataspace", world.provider_did("eu-dataspace"))
    with _quirky(world, ConnectorQuirk.ACCEPT_REPLAYED_JTI) as client:
        assert _quirky_catalog(client, token).status_code == 200
        assert _quirky_catalog(client, token).status_code == 200  # clean: dcp.jti_replayed


def test_quirk_skip_token_audience(world: World) -> None:
    token = world.sts("ca-dataspace", world.provider_did("ca-dataspace"))
    with _quirky(world, ConnectorQuirk.SKIP_TOKEN_AUDIENCE) as client:
        answer = _quirky_catalog(client, token)
        # Clean: 401 dcp.audience_mismatch. The quirky provider believes the token and
        # gets as far as the Credential Service, which knows whom it granted access to.
        assert (answer.status_code, answer.json()["code"]) == (403, "dcp.presentation_invalid")


def test_quirk_ignore_policy(world: World) -> None:
    token = world.sts("ca-dataspace", world.provider_did("eu-dataspace"))
    with _quirky(world, ConnectorQuirk.IGNORE_POLICY) as client:
        listed = _quirky_catalog(client, token).json()
        assert EU_ONLY in {d["@id"] for d in listed["dataset"]}  # clean: hidden


def test_quirk_allow_invalid_transition(world: World) -> None:
    provider = world.provider_did("eu-dataspace")
    with _quirky(world, ConnectorQuirk.ALLOW_INVALID_TRANSITION) as client:
        created = client.post(
            "/dsp/negotiations/request",
            json={
                "@context": [DSP_CONTEXT],
                "@type": "ContractRequestMessage",
                "consumerPid": "urn:uuid:quirk-test",
                "offer": {**_offer_from_profile(EU_REGISTRY), "target": EU_REGISTRY},
                "callbackAddress": f"{world.urls['ca-dataspace']}/callback",
            },
            headers={"Authorization": f"Bearer {world.sts('ca-dataspace', provider)}"},
        )
        assert created.status_code == 201
        pid = created.json()["providerPid"]
        # The Canadian connector knows no such consumerPid: the provider terminated it.
        message = agreement_verification_message(
            provider_pid=pid, consumer_pid="urn:uuid:quirk-test"
        )
        moved = client.post(
            f"/dsp/negotiations/{pid}/agreement/verification",
            json=message,
            headers={"Authorization": f"Bearer {world.sts('ca-dataspace', provider)}"},
        )
        assert moved.status_code == 200  # clean: 400 dsp.invalid_transition


def test_quirk_long_lived_data_token() -> None:
    clean, quirky = behaviour_for(()), behaviour_for({ConnectorQuirk.LONG_LIVED_DATA_TOKEN})
    assert clean.data_token_lifetime <= timedelta(minutes=5)
    assert clean.revoke_data_token_on_completion
    assert quirky.data_token_lifetime >= timedelta(days=1)
    assert not quirky.revoke_data_token_on_completion


# --- last: a revoked membership credential (revocation is final) ---------------------


def test_a_revoked_membership_credential_is_refused(world: World) -> None:
    membership = next(
        c
        for c in world.issued
        if c["credential_type"] == "DataSpaceMembershipCredential"
        and c["holder"] == world.sme_did("ca-dataspace")
    )
    world.change_status("ca-issuer", membership["credential_id"], "revoke")
    provider = world.provider_did("eu-dataspace")
    refused = world.catalog("ca-dataspace", provider)
    assert refused.json()["reason"] == "status.revoked", refused.json()
    direct = _catalog_request(world, world.sts("ca-dataspace", provider))
    assert _error(direct) == (403, "CatalogError", "status.revoked")
    # A negotiation (for an offer known from before) ends TERMINATED with the reason.
    offer = "urn:passerelle:offer:eu-supplier-registry:members"
    row = world.negotiate("ca-dataspace", provider, EU_REGISTRY, _offer_from_profile(offer))
    ended = world.wait(
        "ca-dataspace", "negotiations", row["consumerPid"], ("TERMINATED", "FINALIZED")
    )
    assert (ended["state"], ended["code"]) == ("TERMINATED", "status.revoked")


def _offer_from_profile(key: str) -> dict[str, Any]:
    """An EU offer as the provider's profile states it, by offer or dataset id."""
    from passerelle.services.dataspace.profile import load_dataspace_profile

    datasets = load_dataspace_profile("eu-provider").provider.datasets.values()
    return next(dict(d.offer) for d in datasets if key in (d.offer_id, d.id))


def test_quirk_skip_presentation_status(world: World) -> None:
    """After the revocation above: the quirky provider does not look."""
    token = world.sts("ca-dataspace", world.provider_did("eu-dataspace"))
    with _quirky(world, ConnectorQuirk.SKIP_PRESENTATION_STATUS) as client:
        assert _quirky_catalog(client, token).status_code == 200  # clean: 403 status.revoked


def test_bad_development_api_input_is_a_400_with_a_reason_never_a_500(world: World) -> None:
    base = world.urls["ca-dataspace"]
    sts = httpx.post(f"{base}/api/consumer/sts", json={"audience": ""}, timeout=120)
    assert sts.status_code == 400
    assert sts.json()["reason"] == "input.malformed"
    offer = httpx.post(
        f"{base}/api/consumer/negotiate",
        json={"provider": world.urls["eu-dataspace"], "dataset": "x", "offer": {}},
        timeout=120,
    )
    assert offer.status_code == 400, offer.text
    assert offer.json()["reason"] == "input.malformed"
    assert "@id" in offer.json()["detail"]
