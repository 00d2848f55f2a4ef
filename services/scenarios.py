"""The cross-border scenarios of DESIGN §2, played against a running stack over HTTP.

:class:`StackClient` drives the services the way a tester would (issuer offers, the
wallet's backchannel, verifier transactions); :data:`SCENARIOS` says, as data, what
each scenario does and what it must end with. ``passerelle demo`` and the end-to-end
tests both use them.
"""

from __future__ import annotations

import random
import socket
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from passerelle import JsonObject
from passerelle.services.launcher import ROLES

__all__ = [
    "DATASPACE_SCENARIOS",
    "DATASPACE_STACK",
    "ENROLMENTS",
    "SCENARIOS",
    "DataspaceClient",
    "DataspaceOutcome",
    "DataspaceScenario",
    "Enrolment",
    "Outcome",
    "Scenario",
    "StackClient",
    "free_ports",
    "play_dataspace",
    "stack_hosts",
]


_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST_PORT = 10_000
_ROOM = 1_000  # below this many ports under the ephemeral range, leave the choice to the kernel


def free_ports(n: int) -> list[int]:
    """``n`` distinct loopback ports, each free when chosen.

    A stack binds its ports only after its PKI and trust lists have named them, seconds
    later. Meanwhile every outgoing connection on the machine takes a local port from
    the kernel's ephemeral range (CI runs two test sessions side by side, each making
    thousands), and one of them could take a port chosen there. So the ports are drawn
    at random below that range, where the kernel never hands one out, and each is
    checked by binding it; only a machine without that room gets ports from the kernel.
    """
    low = _ephemeral_low()
    if low is None or low - _LOWEST_PORT < _ROOM:
        return _kernel_ports(n)
    draw = random.SystemRandom()
    chosen: list[int] = []
    for _ in range(100 * n):  # a port in use is skipped; a machine this busy falls back
        port = draw.randrange(_LOWEST_PORT, low)
        if port not in chosen and _bindable(port):
            chosen.append(port)
            if len(chosen) == n:
                return chosen
    return _kernel_ports(n)


def _ephemeral_low() -> int | None:
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _kernel_ports(n: int) -> list[int]:
    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]
    finally:
        for s in sockets:
            s.close()


def stack_hosts(ports: list[int], roles: Sequence[str] = ROLES) -> dict[str, str]:
    """Loopback URLs per role. Verifiers use ``localhost``: their x509_san_dns client id
    must be a DNS name, and the response_uri host must equal it (OpenID4VP §5.9.3)."""
    return {
        role: f"http://{'localhost' if 'verifier' in role else '127.0.0.1'}:{port}"
        for role, port in zip(roles, ports, strict=True)
    }


def backchannel_headers(data_dir: Path, role: str, *, name: str = "api-token") -> dict[str, str]:
    """The bearer token of a role's backchannel, when the stack made one (outside
    loopback development; see :func:`services.web.backchannel_guard`)."""
    path = data_dir / role / name
    return {"Authorization": f"Bearer {path.read_text().strip()}"} if path.is_file() else {}


@dataclass
class StackClient:
    urls: dict[str, str]
    data_dir: Path
    timeout: float = 30.0
    verify: ssl.SSLContext | bool = True
    """What httpx verifies the services' TLS with (a ``--tls`` stack: its development CA)."""

    def offer(self, issuer: str, config: str, persona: str, **options: Any) -> dict[str, Any]:
        body = {
            "credential_configuration_ids": [config],
            "persona": persona,
            "tx_code": True,
            **options,
        }
        response = httpx.post(
            f"{self.urls[issuer]}/offers",
            json=body,
            headers=backchannel_headers(self.data_dir, issuer, name="admin-token"),
            timeout=self.timeout,
            verify=self.verify,
        )
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def receive(
        self, issuer: str, config: str, persona: str, *, grant: str | None = None
    ) -> dict[str, Any]:
        if grant == "authorization_code":
            # The person logs in at the issuer (the mock login takes the persona).
            made = self.offer(issuer, config, persona, grant=grant, tx_code=False)
            body = {"offer": made["credential_offer_uri"], "persona": persona}
        else:
            made = self.offer(issuer, config, persona)
            body = {"offer": next(iter(made["links"].values())), "tx_code": made["tx_code"]}
        answer = httpx.post(
            f"{self.urls['wallet']}/api/offers",
            headers=backchannel_headers(self.data_dir, "wallet"),
            json=body,
            timeout=self.timeout,
            verify=self.verify,
        )
        return answer.json()["outcomes"][0]  # type: ignore[no-any-return]

    def transaction(self, verifier: str, **body: Any) -> dict[str, Any]:
        response = httpx.post(
            f"{self.urls[verifier]}/transactions",
            json=body,
            timeout=self.timeout,
            verify=self.verify,
        )
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def present(self, request_url: str, consent: str = "minimal") -> dict[str, Any]:
        answer = httpx.post(
            f"{self.urls['wallet']}/api/presentations",
            headers=backchannel_headers(self.data_dir, "wallet"),
            json={"request": request_url, "consent": consent},
            timeout=self.timeout,
            verify=self.verify,
        )
        return answer.json()  # type: ignore[no-any-return]

    def result(self, verifier: str, transaction_id: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.urls[verifier]}/transactions/{transaction_id}",
            timeout=self.timeout,
            verify=self.verify,
        )
        return response.json()  # type: ignore[no-any-return]

    def admin(self, issuer: str, config: str, action: str) -> None:
        token = (self.data_dir / issuer / "admin-token").read_text().strip()
        headers = {"Authorization": f"Bearer {token}"}
        base = self.urls[issuer]
        for row in httpx.get(
            f"{base}/admin/issuances", headers=headers, timeout=self.timeout, verify=self.verify
        ).json():
            if row["configuration"] == config:
                httpx.post(
                    f"{base}/admin/credentials/{row['credential_id']}/{action}",
                    headers=headers,
                    verify=self.verify,
                )


def only(
    query_id: str, vct: str, paths: list[list[Any]], *, values: dict[str, list[Any]] | None = None
) -> JsonObject:
    """A DCQL query for one SD-JWT VC type and some claims (``values`` by dotted path)."""
    claims: list[Any] = []
    for path in paths:
        claim: dict[str, Any] = {"path": path}
        key = ".".join(str(p) for p in path)
        if values and key in values:
            claim["values"] = values[key]
        claims.append(claim)
    return {
        "credentials": [
            {"id": query_id, "format": "dc+sd-jwt", "meta": {"vct_values": [vct]}, "claims": claims}
        ]
    }


def only_mdoc(
    query_id: str,
    doctype: str,
    namespace: str,
    elements: list[str],
    *,
    optional: tuple[str, ...] = (),
) -> JsonObject:
    """A DCQL query for one ``mso_mdoc`` docType and some elements of one namespace;
    ``optional`` elements are asked for in a first claim set the wallet may fall back
    from (DCQL ``claim_sets``)."""
    claims: list[Any] = [
        {"id": name, "path": [namespace, name], "intent_to_retain": False}
        for name in (*elements, *optional)
    ]
    query: dict[str, Any] = {
        "id": query_id,
        "format": "mso_mdoc",
        "meta": {"doctype_value": doctype},
        "claims": claims,
    }
    if optional:
        query["claim_sets"] = [[*elements, *optional], list(elements)]
    return {"credentials": [query]}


PID = "urn:eudi:pid:1"
CA_PERSON = "https://credentials.passerelle.example/ca/person/v1"
LEGAL = "https://credentials.passerelle.example/eu/legal-person/v1"
BUSINESS = "https://credentials.passerelle.example/ca/business-registration/v1"
CONFORMITY = "https://credentials.passerelle.example/untp/conformity-attestation/v1"
PID_MDOC = "eu.europa.ec.eudi.pid.1"
MDL, MDL_NAMESPACE = "org.iso.18013.5.1.mDL", "org.iso.18013.5.1"


@dataclass(frozen=True, slots=True, kw_only=True)
class Scenario:
    title: str
    issuer: str
    configuration: str
    persona: str
    verifier: str
    query: JsonObject
    expect: str | None = None
    """None: accepted; otherwise the reason code the verifier must give."""
    response_mode: str | None = None
    before_presenting: Callable[[StackClient], None] | None = None
    note: str | None = None
    """A sentence the narration tells before playing, when the story needs one."""
    grant: str | None = None
    """``authorization_code``: the issuer's code flow (HAIP's, on the EU side: PAR, PKCE,
    DPoP, wallet and key attestation); otherwise a pre-authorized offer."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    scenario: Scenario
    as_expected: bool
    outcome: str
    wallet: dict[str, Any]
    result: dict[str, Any] = field(default_factory=dict)
    issuance: dict[str, Any] = field(default_factory=dict)
    """The wallet's decision on what it received, with its ``issuance_steps``."""


OVER_18: dict[str, list[Any]] = {"age_equal_or_over.18": [True]}
"""An age check asks for the value, not only the claim: a claim that says false is no
answer to it (the Canadian verifier's ``age-and-name`` policy asks the same)."""
# One wallet holds every persona's credentials in the demo; a value on given_name picks
# the person whose wallet the scenario plays.

SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        title="EU PID of an adult → Canadian verifier's age check (age and name)",
        issuer="eu-issuer",
        configuration="eu-pid-sd-jwt",
        persona="bjoern-mueller",
        verifier="ca-verifier",
        query=only(
            "pid",
            PID,
            [["given_name"], ["family_name"], ["age_equal_or_over", "18"]],
            values={"given_name": ["Björn"], **OVER_18},
        ),
        grant="authorization_code",
    ),
    Scenario(
        title="EU PID of a 17-year-old → the same age check declines her",
        issuer="eu-issuer",
        configuration="eu-pid-sd-jwt",
        persona="zoe-lefevre-dubois",
        verifier="ca-verifier",
        note="Zoé, born 2009-03-05, is 17: her PID says age_equal_or_over.18 = false, and "
        "the verifier asks for true (OpenID4VP §6.3 values); her wallet has nothing that "
        "answers, so it declines as a whole and discloses nothing (§6.4.1).",
        query=only(
            "pid",
            PID,
            [["given_name"], ["family_name"], ["age_equal_or_over", "18"]],
            values={"given_name": ["Zoé Anaïs"], **OVER_18},
        ),
        expect="dcql.no_match",
    ),
    Scenario(
        title="Canadian person credential → EU verifier (PID-equivalent, HAIP)",
        issuer="ca-issuer",
        configuration="ca-person-sd-jwt",
        persona="eloise-tremblay-gagnon",
        verifier="eu-verifier",
        query=only("ca_person", CA_PERSON, [["given_name"], ["family_name"], ["birthdate"]]),
    ),
    Scenario(
        title="Canadian business registration → EU verifier",
        issuer="ca-issuer",
        configuration="ca-business-registration-sd-jwt",
        persona="boulangerie-cote",
        verifier="eu-verifier",
        query=only("business", BUSINESS, [["registration_id"], ["entity_name"]]),
    ),
    Scenario(
        title="EU legal person → Canadian verifier",
        issuer="eu-issuer",
        configuration="eu-legal-person-sd-jwt",
        persona="atelier-brule",
        verifier="ca-verifier",
        response_mode="direct_post",
        query=only("legal_person", LEGAL, [["euid"], ["legal_name"], ["country"]]),
    ),
    Scenario(
        title="Conformity attestation within the CETA scope → EU market surveillance",
        issuer="ca-issuer",
        configuration="conformity-attestation-sd-jwt",
        persona="boreal-thermostat-pass",
        verifier="eu-verifier",
        query=only(
            "conformity",
            CONFORMITY,
            [["scope", "product_category"], ["assessment_result"]],
            values={"scope.product_category": ["radio-equipment"]},
        ),
    ),
    Scenario(
        title="Conformity attestation outside the recognised scope is refused",
        issuer="ca-issuer",
        configuration="conformity-attestation-sd-jwt",
        persona="harbour-vision-ai-out-of-scope",
        verifier="eu-verifier",
        query=only(
            "conformity",
            CONFORMITY,
            [["scope", "product_category"], ["assessment_result"]],
            values={"scope.product_category": ["ai-systems"]},
        ),
        expect="trust.recognition_out_of_scope",
    ),
    Scenario(
        title="A revoked credential is refused",
        issuer="eu-issuer",
        configuration="eu-pid-sd-jwt",
        persona="jan-thart",
        verifier="eu-verifier",
        query=only("pid", PID, [["given_name"]], values={"given_name": ["Jan Wijnand"]}),
        before_presenting=lambda client: client.admin("eu-issuer", "eu-pid-sd-jwt", "revoke"),
        expect="status.revoked",
    ),
    Scenario(
        title="A query no credential satisfies is declined as a whole",
        issuer="ca-issuer",
        configuration="ca-person-sd-jwt",
        persona="aiyana-stonechild",
        verifier="ca-verifier",
        # Aiyana is under 18: asking for her over 18 is something the wallet cannot answer.
        query=only(
            "ca_person",
            CA_PERSON,
            [["given_name"], ["age_over_18"]],
            values={"given_name": ["Aiyana"], "age_over_18": [True]},
        ),
        expect="dcql.no_match",
    ),
    # ISO/IEC 18013-5 mdocs across the border (issue 19). Titles carry no number: the
    # numbering of the list above is its own.
    Scenario(
        title="EU PID (mdoc) → Canadian verifier (age and name)",
        issuer="eu-issuer",
        configuration="eu-pid-mdoc",
        persona="bjoern-mueller",
        verifier="ca-verifier",
        query=only_mdoc(
            "pid_mdoc", PID_MDOC, PID_MDOC, ["given_name", "family_name", "age_over_18"]
        ),
    ),
    Scenario(
        title="Canadian mDL (mdoc) → EU verifier (age over 18, name, portrait optional)",
        issuer="ca-issuer",
        configuration="ca-mdl-mdoc",
        persona="eloise-tremblay-gagnon",
        verifier="eu-verifier",
        query=only_mdoc(
            "mdl",
            MDL,
            MDL_NAMESPACE,
            ["given_name", "family_name", "age_over_18"],
            optional=("portrait",),
        ),
    ),
)


def play(client: StackClient, scenario: Scenario) -> Outcome:
    received = client.receive(
        scenario.issuer, scenario.configuration, scenario.persona, grant=scenario.grant
    )
    if not received.get("accepted"):
        return Outcome(
            scenario=scenario,
            as_expected=False,
            outcome=f"wallet refused: {received.get('reason')}",
            wallet=received,
        )
    if scenario.before_presenting is not None:
        scenario.before_presenting(client)
    body: dict[str, Any] = {"dcql_query": scenario.query}
    if scenario.response_mode:
        body["response_mode"] = scenario.response_mode
    made = client.transaction(scenario.verifier, **body)
    wallet = client.present(made["request_url"])
    result = client.result(scenario.verifier, made["transaction_id"]).get("result") or {}
    if wallet.get("stage") in ("request", "query"):
        outcome = str(wallet.get("reason"))  # the wallet declined before any presentation
    else:
        outcome = "accepted" if result.get("accepted") else str(result.get("reason"))
    expected = scenario.expect or "accepted"
    return Outcome(
        scenario=scenario,
        as_expected=outcome == expected,
        outcome=outcome,
        wallet=wallet,
        result=result,
        issuance=received,
    )


# --- scenario 3 on the data-space path (issue 9) --------------------------------------
#
# The same SMEs, now as data-space participants: each holds VC 2.0 (vc+jwt) credentials
# from its home issuer in its connector's Credential Service, and asks the other side's
# provider for a dataset over the Dataspace Protocol, proving itself with DCP.

DATASPACE_STACK = ("trust", "ca-issuer", "eu-issuer", "ca-dataspace", "eu-dataspace")
"""What the data-space scenarios need running: the trust service (lists the providers
decide trust with), both issuers (DID documents, status lists) and both connectors."""

TERMINAL_NEGOTIATION = ("FINALIZED", "TERMINATED")
TERMINAL_TRANSFER = ("COMPLETED", "TERMINATED")
DATA_RECEIVED = "data received"


@dataclass(frozen=True, slots=True, kw_only=True)
class Enrolment:
    """A credential an issuer gives an SME for the data-space path."""

    connector: str
    issuer: str
    credential_type: str
    persona: str


ENROLMENTS: tuple[Enrolment, ...] = (
    Enrolment(
        connector="ca-dataspace",
        issuer="ca-issuer",
        credential_type="DataSpaceMembershipCredential",
        persona="boulangerie-cote",
    ),
    Enrolment(
        connector="ca-dataspace",
        issuer="ca-issuer",
        credential_type="BusinessRegistrationCredential",
        persona="boulangerie-cote",
    ),
    Enrolment(
        connector="eu-dataspace",
        issuer="eu-issuer",
        credential_type="DataSpaceMembershipCredential",
        persona="atelier-brule",
    ),
    Enrolment(
        connector="eu-dataspace",
        issuer="eu-issuer",
        credential_type="LegalPersonCredential",
        persona="atelier-brule",
    ),
)


@dataclass
class DataspaceClient:
    """Drives the SMEs' connectors through their own API, and the issuers' admin API."""

    urls: dict[str, str]
    data_dir: Path
    timeout: float = 30.0
    poll_seconds: float = 0.05
    verify: ssl.SSLContext | bool = True
    """What httpx verifies the connectors' and issuers' TLS with: the stack's TLS CA
    when it runs with ``--tls`` (an ``ssl`` context over ``stack.json``'s ``tls_ca``)."""

    def health(self, connector: str) -> dict[str, Any]:
        response = httpx.get(
            f"{self.urls[connector]}/health", timeout=self.timeout, verify=self.verify
        )
        response.raise_for_status()
        return response.json()  # type: ignore[no-any-return]

    def provider_did(self, connector: str) -> str:
        return str(self.health(connector)["provider"]["did"])

    def sme_did(self, connector: str) -> str:
        return str(self.health(connector)["consumer"]["did"])

    def _admin(self, issuer: str) -> dict[str, str]:
        token = (self.data_dir / issuer / "admin-token").read_text().strip()
        return {"Authorization": f"Bearer {token}"}

    def _api(self, connector: str) -> dict[str, str]:
        return backchannel_headers(self.data_dir, connector)

    def issue(self, enrolment: Enrolment) -> dict[str, Any]:
        """Issue the credential to the SME's DID and file it in its Credential Service."""
        response = httpx.post(
            f"{self.urls[enrolment.issuer]}/admin/dcp/credentials",
            headers=self._admin(enrolment.issuer),
            json={
                "holder": self.sme_did(enrolment.connector),
                "type": enrolment.credential_type,
                "persona": enrolment.persona,
            },
            timeout=self.timeout,
            verify=self.verify,
        )
        response.raise_for_status()
        issued: dict[str, Any] = response.json()
        stored = httpx.post(
            f"{self.urls[enrolment.connector]}/api/consumer/credentials",
            headers=self._api(enrolment.connector),
            json={"credential": issued["credential"]},
            timeout=self.timeout,
            verify=self.verify,
        )
        stored.raise_for_status()
        return issued

    def enrol(self) -> list[dict[str, Any]]:
        return [self.issue(e) for e in ENROLMENTS]

    def change_status(self, issuer: str, credential_id: str, action: str) -> None:
        response = httpx.post(
            f"{self.urls[issuer]}/admin/credentials/{credential_id}/{action}",
            headers=self._admin(issuer),
            timeout=self.timeout,
            verify=self.verify,
        )
        response.raise_for_status()

    def catalog(self, connector: str, provider: str) -> httpx.Response:
        """The catalog the SME of ``connector`` is shown by the provider DID ``provider``."""
        return httpx.post(
            f"{self.urls[connector]}/api/consumer/catalog",
            headers=self._api(connector),
            json={"provider": provider},
            timeout=self.timeout,
            verify=self.verify,
        )

    def negotiate(
        self, connector: str, provider: str, dataset: str, offer: str | JsonObject
    ) -> dict[str, Any]:
        response = httpx.post(
            f"{self.urls[connector]}/api/consumer/negotiate",
            headers=self._api(connector),
            json={"provider": provider, "dataset": dataset, "offer": offer},
            timeout=self.timeout,
            verify=self.verify,
        )
        return response.json()  # type: ignore[no-any-return]

    def transfer(self, connector: str, negotiation: str) -> dict[str, Any]:
        response = httpx.post(
            f"{self.urls[connector]}/api/consumer/transfer",
            headers=self._api(connector),
            json={"negotiation": negotiation},
            timeout=self.timeout,
            verify=self.verify,
        )
        return response.json()  # type: ignore[no-any-return]

    def wait(self, connector: str, kind: str, pid: str, until: tuple[str, ...]) -> dict[str, Any]:
        """Poll the SME's row of a negotiation or transfer until it reaches ``until``."""
        deadline = time.monotonic() + self.timeout
        while True:
            row: dict[str, Any] = httpx.get(
                f"{self.urls[connector]}/api/consumer/{kind}/{pid}",
                headers=self._api(connector),
                timeout=self.timeout,
                verify=self.verify,
            ).json()
            if row.get("state") in until or time.monotonic() > deadline:
                return row
            time.sleep(self.poll_seconds)

    def provider_negotiation(self, connector: str, provider_pid: str | None) -> dict[str, Any]:
        """The provider's row of a negotiation, with its decision trace."""
        rows = httpx.get(
            f"{self.urls[connector]}/api/provider/negotiations",
            headers=self._api(connector),
            timeout=self.timeout,
            verify=self.verify,
        ).json()
        return next((r for r in rows if r.get("providerPid") == provider_pid), {})


@dataclass(frozen=True, slots=True, kw_only=True)
class DataspaceScenario:
    title: str
    consumer: str
    """The connector whose SME asks."""
    provider: str
    """The connector whose provider offers the dataset."""
    dataset: str
    hidden: bool = False
    """The dataset must not be in the SME's catalog; the SME negotiates for it anyway,
    with the offer as the provider's profile states it (known out of band)."""
    expect: str | None = None
    """None: the data is received; otherwise the reason code the negotiation ends with."""


@dataclass(frozen=True, slots=True, kw_only=True)
class DataspaceOutcome:
    scenario: DataspaceScenario
    as_expected: bool
    outcome: str
    catalog: tuple[str, ...]
    negotiation: dict[str, Any] = field(default_factory=dict)
    transfer: dict[str, Any] = field(default_factory=dict)
    decision: dict[str, Any] = field(default_factory=dict)


DATASPACE_SCENARIOS: tuple[DataspaceScenario, ...] = (
    DataspaceScenario(
        title="Canadian SME → EU supplier registry (DSP 2025-1 + DCP 1.0)",
        consumer="ca-dataspace",
        provider="eu-dataspace",
        dataset="urn:passerelle:dataset:eu-supplier-registry",
    ),
    DataspaceScenario(
        title="EU SME → Canadian supplier registry (DSP 2025-1 + DCP 1.0)",
        consumer="eu-dataspace",
        provider="ca-dataspace",
        dataset="urn:passerelle:dataset:ca-supplier-registry",
    ),
    DataspaceScenario(
        title="An EU-only dataset is hidden from the Canadian SME, and refused",
        consumer="ca-dataspace",
        provider="eu-dataspace",
        dataset="urn:passerelle:dataset:eu-procurement-suppliers",
        hidden=True,
        expect="odrl.constraint_unsatisfied",
    ),
    DataspaceScenario(
        title="A Canadian connector without a current conformance attestation is refused "
        "the EU market-surveillance feed",
        consumer="ca-dataspace",
        provider="eu-dataspace",
        dataset="urn:passerelle:dataset:eu-market-surveillance-feed",
        expect="conformance.attestation_missing",
    ),
)


def _profile_offer(provider: str, dataset: str) -> JsonObject:
    from passerelle.services.dataspace.profile import ROLE_PROFILES, load_dataspace_profile

    profile = load_dataspace_profile(ROLE_PROFILES[provider])
    return dict(profile.provider.datasets[dataset].offer)


def play_dataspace(client: DataspaceClient, scenario: DataspaceScenario) -> DataspaceOutcome:
    """Catalog, negotiation to a terminal state, and (once FINALIZED) a pull transfer."""
    provider = client.provider_did(scenario.provider)
    listed = client.catalog(scenario.consumer, provider)
    if listed.status_code != 200:
        body = listed.json()
        return DataspaceOutcome(
            scenario=scenario,
            as_expected=scenario.expect == body.get("reason"),
            outcome=str(body.get("reason")),
            catalog=(),
        )
    datasets = {str(d["@id"]): d for d in listed.json().get("dataset", [])}
    visible = scenario.dataset in datasets
    offer: str | JsonObject
    if visible:
        offer = str(datasets[scenario.dataset]["hasPolicy"][0]["@id"])
    else:
        offer = _profile_offer(scenario.provider, scenario.dataset)
    started = client.negotiate(scenario.consumer, provider, scenario.dataset, offer)
    negotiation = client.wait(
        scenario.consumer, "negotiations", str(started.get("consumerPid")), TERMINAL_NEGOTIATION
    )
    decision = client.provider_negotiation(scenario.provider, negotiation.get("providerPid"))
    transfer: dict[str, Any] = {}
    if negotiation.get("state") == "FINALIZED":
        requested = client.transfer(scenario.consumer, str(negotiation["consumerPid"]))
        transfer = client.wait(
            scenario.consumer, "transfers", str(requested.get("consumerPid")), TERMINAL_TRANSFER
        )
        received = transfer.get("state") == "COMPLETED" and bool(transfer.get("data"))
        outcome = DATA_RECEIVED if received else str(transfer.get("code"))
    else:
        outcome = str(negotiation.get("code"))
    expected = scenario.expect or DATA_RECEIVED
    return DataspaceOutcome(
        scenario=scenario,
        as_expected=outcome == expected and visible != scenario.hidden,
        outcome=outcome,
        catalog=tuple(datasets),
        negotiation=negotiation,
        transfer=transfer,
        decision=decision,
    )
