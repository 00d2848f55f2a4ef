"""passerelle.dsp: Dataspace Protocol 2025-1 parsers, builders, state tables and the TCK
case table.

The example messages below are the spec's own, copied verbatim from
eclipse-dataspace-protocol-base/DataspaceProtocol, tag 2025-1-err1,
artifacts/src/main/resources/*/example/*.json.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from passerelle import Fault, JsonObject, JsonValue, PasserelleError, Reason, dsp
from passerelle.dsp import NegotiationState as N
from passerelle.dsp import TransferState as T

SPEC_EXAMPLES: dict[str, dict[str, Any]] = {
    "catalog-request-message": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "CatalogRequestMessage",
        "filter": [],
    },
    "catalog": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@id": "urn:uuid:3afeadd8-ed2d-569e-d634-8394a8836d57",
        "@type": "Catalog",
        "participantId": "urn:example:DataProviderA",
        "service": [
            {
                "@id": "urn:uuid:4aa2dcc8-4d2d-569e-d634-8394a8834d77",
                "@type": "DataService",
                "endpointURL": "https://provider-a.com/connector",
            }
        ],
        "dataset": [
            {
                "@id": "urn:uuid:3dd1add8-4d2d-569e-d634-8394a8836a88",
                "@type": "Dataset",
                "hasPolicy": [
                    {
                        "@id": "urn:uuid:3dd1add8-4d2d-569e-d634-8394a8836a88",
                        "@type": "Offer",
                        "permission": [
                            {
                                "action": "use",
                                "constraint": [
                                    {
                                        "leftOperand": "spatial",
                                        "operator": "eq",
                                        "rightOperand": "http://example.org/EU",
                                    }
                                ],
                            }
                        ],
                    }
                ],
                "distribution": [
                    {
                        "@type": "Distribution",
                        "format": "HttpData-PULL",
                        "accessService": "urn:uuid:4aa2dcc8-4d2d-569e-d634-8394a8834d77",
                    }
                ],
            }
        ],
    },
    "dataset": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@id": "urn:uuid:3afeadd8-ed2d-569e-d634-8394a8836d57",
        "@type": "Dataset",
        "hasPolicy": [
            {
                "@type": "Offer",
                "@id": "urn:uuid:2828282:3dd1add8-4d2d-569e-d634-8394a8836a88",
                "permission": [
                    {
                        "action": "use",
                        "constraint": [
                            {"leftOperand": "spatial", "rightOperand": "_:EU", "operator": "eq"}
                        ],
                    }
                ],
            }
        ],
        "distribution": [
            {
                "@type": "Distribution",
                "format": "HttpData-PULL",
                "accessService": {
                    "@id": "urn:uuid:4aa2dcc8-4d2d-569e-d634-8394a8834d77",
                    "@type": "DataService",
                    "endpointURL": "https://provider-a.com/connector",
                },
            }
        ],
    },
    "catalog-error": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "CatalogError",
        "code": "123-A",
        "reason": ["Catalog not provisioned for this requester."],
    },
    "protocol-version": {
        "protocolVersions": [
            {
                "version": "2025-1",
                "path": "/some/path/2025-1",
                "binding": "HTTPS",
                "serviceId": "service-asdf",
                "identifierType": "did:web",
            },
            {
                "version": "2024-1",
                "path": "/some/path/2024-1",
                "binding": "HTTPS",
                "auth": {
                    "protocol": "OAuth",
                    "version": "2",
                    "profile": ["authorization_code", "refresh_token"],
                },
                "serviceId": "service-asdf",
                "identifierType": "D-U-N-S",
            },
            {
                "version": "2025-1",
                "path": "/different/path/2025-1",
                "binding": "HTTPS",
                "auth": {"protocol": "DCP", "version": "1.0", "profile": ["vc11-sl2021/jwt"]},
                "serviceId": "service-qwerty",
            },
        ]
    },
    "contract-request-message_initial": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "ContractRequestMessage",
        "consumerPid": "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
        "offer": {
            "@type": "Offer",
            "@id": "urn:uuid:2828282:3dd1add8-4d2d-569e-d634-8394a8836a89",
            "target": "urn:uuid:3dd1add8-4d2d-569e-d634-8394a8836a88",
            "permission": [{"action": "use"}],
        },
        "callbackAddress": "https://example.com/callback",
    },
    "contract-request-message": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "ContractRequestMessage",
        "providerPid": "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab",
        "consumerPid": "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
        "offer": {
            "@type": "Offer",
            "@id": "urn:uuid:d526561f-528e-4d5a-ae12-9a9dd9b7a815",
            "target": "urn:uuid:3dd1add8-4d2d-569e-d634-8394a8836a88",
            "permission": [
                {
                    "action": "use",
                    "constraint": [
                        {
                            "leftOperand": "dateTime",
                            "operator": "lteq",
                            "rightOperand": "2023-12-31T06:00Z",
                        }
                    ],
                }
            ],
        },
    },
    "contract-agreement-message": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "ContractAgreementMessage",
        "providerPid": "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab",
        "consumerPid": "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
        "agreement": {
            "@id": "urn:uuid:e8dc8655-44c2-46ef-b701-4cffdc2faa44",
            "@type": "Agreement",
            "target": "urn:uuid:3dd1add4-4d2d-569e-d634-8394a8836d23",
            "timestamp": "2023-01-01T01:00:00Z",
            "assigner": "http://example.com/Provider",
            "assignee": "http://example.com/Consumer",
            "permission": [
                {
                    "action": "use",
                    "constraint": [
                        {
                            "leftOperand": "dateTime",
                            "operator": "lteq",
                            "rightOperand": "2023-12-31T06:00Z",
                        }
                    ],
                }
            ],
        },
    },
    "contract-agreement-message-full": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "ContractAgreementMessage",
        "providerPid": "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab",
        "consumerPid": "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
        "agreement": {
            "@id": "urn:uuid:e8dc8655-44c2-46ef-b701-4cffdc2faa44",
            "@type": "Agreement",
            "target": "urn:uuid:3dd1add4-4d2d-569e-d634-8394a8836d23",
            "profile": "https://test.com/profile",
            "timestamp": "2023-01-01T01:00:00Z",
            "assigner": "http://example.com/Provider",
            "assignee": "http://example.com/Consumer",
            "permission": [
                {
                    "action": "use",
                    "constraint": [
                        {
                            "leftOperand": "dateTime",
                            "operator": "lteq",
                            "rightOperand": "2023-12-31T06:00Z",
                        }
                    ],
                },
                {
                    "action": "use",
                    "constraint": [
                        {
                            "and": [
                                {
                                    "leftOperand": "partner",
                                    "operator": "eq",
                                    "rightOperand": "gold",
                                },
                                {
                                    "leftOperand": "partner",
                                    "operator": "eq",
                                    "rightOperand": "silver",
                                },
                            ]
                        }
                    ],
                },
                {
                    "action": "use",
                    "constraint": [
                        {
                            "or": [
                                {
                                    "leftOperand": "partner",
                                    "operator": "eq",
                                    "rightOperand": "gold",
                                },
                                {
                                    "leftOperand": "partner",
                                    "operator": "eq",
                                    "rightOperand": "silver",
                                },
                            ]
                        }
                    ],
                },
                {
                    "action": "use",
                    "constraint": [
                        {"leftOperand": "partner", "operator": "eq", "rightOperand": "gold"}
                    ],
                },
                {
                    "action": "use",
                    "constraint": [
                        {
                            "andSequence": [
                                {
                                    "leftOperand": "partner",
                                    "operator": "eq",
                                    "rightOperand": "gold",
                                },
                                {
                                    "leftOperand": "partner",
                                    "operator": "eq",
                                    "rightOperand": "silver",
                                },
                            ]
                        }
                    ],
                },
                {
                    "action": "use",
                    "constraint": [
                        {
                            "xone": [
                                {
                                    "leftOperand": "partner",
                                    "operator": "eq",
                                    "rightOperand": "gold",
                                },
                                {
                                    "leftOperand": "partner",
                                    "operator": "eq",
                                    "rightOperand": "silver",
                                },
                            ]
                        }
                    ],
                },
                {
                    "action": "use",
                    "constraint": [
                        {
                            "or": [
                                {
                                    "and": [
                                        {
                                            "leftOperand": "constraint1",
                                            "operator": "eq",
                                            "rightOperand": "value1",
                                        },
                                        {
                                            "leftOperand": "constraint2",
                                            "operator": "eq",
                                            "rightOperand": "value2",
                                        },
                                    ]
                                },
                                {
                                    "leftOperand": "partner",
                                    "operator": "eq",
                                    "rightOperand": "silver",
                                },
                            ]
                        }
                    ],
                },
            ],
        },
    },
    "contract-agreement-verification-message": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "ContractAgreementVerificationMessage",
        "providerPid": "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab",
        "consumerPid": "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
    },
    "contract-negotiation-event-message": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "ContractNegotiationEventMessage",
        "providerPid": "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab",
        "consumerPid": "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
        "eventType": "ACCEPTED",
    },
    "contract-negotiation-termination-message": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "ContractNegotiationTerminationMessage",
        "providerPid": "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab",
        "consumerPid": "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
        "code": "99",
        "reason": ["License model does not fit."],
    },
    "contract-negotiation": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "ContractNegotiation",
        "providerPid": "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab",
        "consumerPid": "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
        "state": "REQUESTED",
    },
    "contract-negotiation-error": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "ContractNegotiationError",
        "providerPid": "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab",
        "consumerPid": "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
        "code": "99",
        "reason": ["Catalog not provisioned for this requester."],
    },
    "transfer-request-message": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "TransferRequestMessage",
        "consumerPid": "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
        "agreementId": "urn:uuid:e8dc8655-44c2-46ef-b701-4cffdc2faa44",
        "format": "example:HTTP_PUSH",
        "dataAddress": {
            "@type": "DataAddress",
            "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
            "endpoint": "http://example.com",
            "endpointProperties": [
                {"@type": "EndpointProperty", "name": "authorization", "value": "TOKEN-ABCDEFG"},
                {"@type": "EndpointProperty", "name": "authType", "value": "bearer"},
            ],
        },
        "callbackAddress": "https://example.com/callback",
    },
    "transfer-start-message": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "TransferStartMessage",
        "providerPid": "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab",
        "consumerPid": "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
        "dataAddress": {
            "@type": "DataAddress",
            "endpointType": "https://w3id.org/idsa/v4.1/HTTP",
            "endpoint": "http://example.com",
            "endpointProperties": [
                {"@type": "EndpointProperty", "name": "authorization", "value": "TOKEN-ABCDEFG"},
                {"@type": "EndpointProperty", "name": "authType", "value": "bearer"},
            ],
        },
    },
    "transfer-suspension-message": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "TransferSuspensionMessage",
        "providerPid": "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab",
        "consumerPid": "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
        "code": "99",
        "reason": ["Policy violation"],
    },
    "transfer-completion-message": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "TransferCompletionMessage",
        "providerPid": "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab",
        "consumerPid": "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
    },
    "transfer-termination-message": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "TransferTerminationMessage",
        "providerPid": "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab",
        "consumerPid": "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
        "code": "99",
        "reason": ["Policy violation"],
    },
    "transfer-process": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "TransferProcess",
        "providerPid": "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab",
        "consumerPid": "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
        "state": "REQUESTED",
    },
    "transfer-error": {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@type": "TransferError",
        "providerPid": "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab",
        "consumerPid": "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833",
        "code": "99",
        "reason": ["Internal error"],
    },
}


def example(name: str) -> dict[str, Any]:
    return copy.deepcopy(SPEC_EXAMPLES[name])


def invalid(call: Callable[[], object]) -> PasserelleError:
    with pytest.raises(PasserelleError) as caught:
        call()
    assert caught.value.reason is Reason.DSP_MESSAGE_INVALID
    return caught.value


# -- constants and version metadata ------------------------------------------------------


def test_constants_name_2025_1() -> None:
    assert dsp.DSP_VERSION == "2025-1"
    assert dsp.DSP_CONTEXT == "https://w3id.org/dspace/2025/1/context.jsonld"
    assert dsp.VERSION_METADATA_PATH == "/.well-known/dspace-version"


def test_version_metadata_satisfies_met_01_01() -> None:
    body = dsp.version_metadata("/dsp", service_id="ca-provider", auth=dsp.DCP_AUTH)
    # MET:01-01 wants an entry with version 2025-1, a path and a binding.
    (entry,) = dsp.parse_version_metadata(body)
    assert (entry.version, entry.path, entry.binding) == ("2025-1", "/dsp", "HTTPS")
    assert entry.service_id == "ca-provider"
    assert entry.auth == dsp.VersionAuth(protocol="DCP", version="1.0", profile=("vc20-bssl/jwt",))
    assert body["protocolVersions"] == [
        {
            "version": "2025-1",
            "path": "/dsp",
            "binding": "HTTPS",
            "serviceId": "ca-provider",
            "auth": {"protocol": "DCP", "version": "1.0", "profile": ["vc20-bssl/jwt"]},
        }
    ]


def test_version_metadata_refuses_a_relative_path() -> None:
    error = invalid(lambda: dsp.version_metadata("dsp"))
    assert error.fault is Fault.LOCAL


def test_parse_version_metadata_reads_the_spec_example() -> None:
    entries = dsp.parse_version_metadata(example("protocol-version"))
    assert [e.version for e in entries] == ["2025-1", "2024-1", "2025-1"]
    assert entries[2].auth is not None
    assert entries[2].auth.protocol == "DCP"
    assert entries[0].identifier_type == "did:web"


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"protocolVersions": []},
        {"protocolVersions": [{"version": "2025-1", "path": "/x"}]},
        {"protocolVersions": [{"version": "2025-1", "path": "/x", "binding": "MQTT"}]},
        {"protocolVersions": [{"version": 2025, "path": "/x", "binding": "HTTPS"}]},
        {"protocolVersions": [{"version": "2025-1", "path": "/x", "binding": "HTTPS", "auth": {}}]},
    ],
)
def test_parse_version_metadata_rejects(body: JsonObject) -> None:
    invalid(lambda: dsp.parse_version_metadata(body))


def test_http_status_follows_the_bindings() -> None:
    assert dsp.http_status(dsp.dsp_error(Reason.DSP_INVALID_TRANSITION, "x")) == 400
    assert dsp.http_status(dsp.dsp_error(Reason.DSP_NEGOTIATION_UNKNOWN, "x")) == 404
    assert dsp.http_status(dsp.dsp_error(Reason.DSP_TRANSFER_UNKNOWN, "x")) == 404
    assert dsp.dsp_error(Reason.DSP_NEGOTIATION_UNKNOWN, "x").wire_error == "404"
    assert dsp.http_status(PasserelleError(Reason.INPUT_MALFORMED, "x")) == 400
    assert (
        dsp.http_status(PasserelleError(Reason.DSP_MESSAGE_INVALID, "x", fault=Fault.LOCAL)) == 400
    )
    assert dsp.http_status(PasserelleError(Reason.SCHEMA_UNKNOWN, "x", fault=Fault.LOCAL)) == 500


# -- parsers accept the spec's examples --------------------------------------------------


def test_parse_catalog_request_example() -> None:
    assert dsp.parse_catalog_request(example("catalog-request-message")).filter == ()
    assert dsp.parse_catalog_request(dsp.catalog_request_message()).filter is None


def test_parse_catalog_example() -> None:
    cat = dsp.parse_catalog(example("catalog"))
    assert cat.participant_id == "urn:example:DataProviderA"
    (ds,) = cat.datasets
    assert ds.id == "urn:uuid:3dd1add8-4d2d-569e-d634-8394a8836a88"
    assert ds.offers[0].target is None
    assert ds.distributions[0].format == "HttpData-PULL"
    assert ds.distributions[0].access_service == cat.services[0].id
    assert cat.services[0].endpoint_url == "https://provider-a.com/connector"


def test_parse_dataset_example_with_inline_data_service() -> None:
    ds = dsp.parse_dataset(example("dataset"))
    assert ds.offers[0].id == "urn:uuid:2828282:3dd1add8-4d2d-569e-d634-8394a8836a88"
    assert ds.distributions[0].endpoint_url == "https://provider-a.com/connector"
    assert ds.distributions[0].access_service == "urn:uuid:4aa2dcc8-4d2d-569e-d634-8394a8834d77"


def test_parse_contract_request_initial_example() -> None:
    req = dsp.parse_contract_request(example("contract-request-message_initial"))
    assert req.consumer_pid == "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833"
    assert req.provider_pid is None
    assert req.callback_address == "https://example.com/callback"
    assert req.offer.id == "urn:uuid:2828282:3dd1add8-4d2d-569e-d634-8394a8836a89"
    assert req.offer.target == "urn:uuid:3dd1add8-4d2d-569e-d634-8394a8836a88"
    assert req.offer.policy["permission"] == [{"action": "use"}]
    assert req.kind == "ContractRequestMessage"


def test_parse_contract_request_counter_offer_example() -> None:
    req = dsp.parse_contract_request(example("contract-request-message"))
    assert req.provider_pid == "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab"
    assert req.callback_address is None


@pytest.mark.parametrize("name", ["contract-agreement-message", "contract-agreement-message-full"])
def test_parse_contract_agreement_examples(name: str) -> None:
    msg = dsp.parse_contract_agreement(example(name))
    assert msg.provider_pid == "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab"
    assert msg.agreement.id == "urn:uuid:e8dc8655-44c2-46ef-b701-4cffdc2faa44"
    assert msg.agreement.target == "urn:uuid:3dd1add4-4d2d-569e-d634-8394a8836d23"
    assert msg.agreement.assigner == "http://example.com/Provider"
    assert msg.agreement.assignee == "http://example.com/Consumer"
    assert msg.agreement.timestamp == "2023-01-01T01:00:00Z"


def test_parse_agreement_verification_example() -> None:
    msg = dsp.parse_agreement_verification(example("contract-agreement-verification-message"))
    assert msg.consumer_pid == "urn:uuid:32541fe6-c580-409e-85a8-8a9a32fbe833"


def test_parse_negotiation_event_example() -> None:
    msg = dsp.parse_negotiation_event(example("contract-negotiation-event-message"))
    assert msg.event_type is dsp.NegotiationEventType.ACCEPTED
    assert msg.kind == "ContractNegotiationEventMessage:ACCEPTED"


def test_parse_negotiation_termination_example() -> None:
    msg = dsp.parse_negotiation_termination(example("contract-negotiation-termination-message"))
    assert msg.code == "99"
    assert msg.reason == ("License model does not fit.",)


def test_parse_contract_negotiation_example() -> None:
    ack = dsp.parse_contract_negotiation(example("contract-negotiation"))
    assert ack.state is N.REQUESTED


def test_parse_transfer_request_example() -> None:
    msg = dsp.parse_transfer_request(example("transfer-request-message"))
    assert msg.agreement_id == "urn:uuid:e8dc8655-44c2-46ef-b701-4cffdc2faa44"
    assert msg.format == "example:HTTP_PUSH"
    assert msg.callback_address == "https://example.com/callback"
    assert msg.data_address is not None
    assert msg.data_address.property("authType") == "bearer"


def test_parse_transfer_start_example() -> None:
    msg = dsp.parse_transfer_start(example("transfer-start-message"))
    assert msg.data_address is not None
    assert msg.data_address.endpoint_type == "https://w3id.org/idsa/v4.1/HTTP"
    assert msg.data_address.endpoint == "http://example.com"
    assert msg.data_address.property("authorization") == "TOKEN-ABCDEFG"
    assert msg.data_address.property("missing") is None


def test_parse_transfer_suspension_completion_termination_process_examples() -> None:
    assert dsp.parse_transfer_suspension(example("transfer-suspension-message")).code == "99"
    done = dsp.parse_transfer_completion(example("transfer-completion-message"))
    assert done.provider_pid == "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab"
    end = dsp.parse_transfer_termination(example("transfer-termination-message"))
    assert end.reason == ("Policy violation",)
    assert dsp.parse_transfer_process(example("transfer-process")).state is T.REQUESTED


@pytest.mark.parametrize(
    ("name", "type_"),
    [
        ("catalog-error", "CatalogError"),
        ("contract-negotiation-error", "ContractNegotiationError"),
        ("transfer-error", "TransferError"),
    ],
)
def test_parse_dsp_error_examples(name: str, type_: str) -> None:
    err = dsp.parse_dsp_error(example(name))
    assert err.type == type_
    assert err.code is not None
    assert err.reason


def test_unknown_members_are_kept() -> None:
    # The TCK gives every message an @id; the schemas do not forbid extra members.
    doc = example("contract-agreement-verification-message")
    doc["@id"] = "f0b7ef5e-2fb1-4a48-a2a8-4b6d0b1f3f55"
    msg = dsp.parse_agreement_verification(doc)
    assert msg.extra == {"@id": "f0b7ef5e-2fb1-4a48-a2a8-4b6d0b1f3f55"}


def test_tck_shaped_termination_with_object_reasons_is_accepted() -> None:
    # NegotiationFunctions.createTermination in dsp-tck: reasons are {"message": ...}.
    doc = example("contract-negotiation-termination-message")
    doc["code"] = "1"
    doc["reason"] = [{"message": "no longer wanted"}]
    assert dsp.parse_negotiation_termination(doc).reason == ({"message": "no longer wanted"},)


# -- parsers reject each missing or ill-typed required member ----------------------------

Path = tuple[str | int, ...]

# (parser, example, the paths of its required members)
REQUIRED: list[tuple[Callable[[JsonValue], object], str, list[Path]]] = [
    (dsp.parse_catalog_request, "catalog-request-message", [("@context",), ("@type",)]),
    (
        dsp.parse_catalog,
        "catalog",
        [
            ("@context",),
            ("@type",),
            ("@id",),
            ("participantId",),
            ("dataset", 0, "@id"),
            ("dataset", 0, "hasPolicy"),
            ("dataset", 0, "hasPolicy", 0, "@id"),
            ("dataset", 0, "distribution"),
            ("dataset", 0, "distribution", 0, "format"),
            ("dataset", 0, "distribution", 0, "accessService"),
            ("service", 0, "@id"),
            ("service", 0, "@type"),
            ("service", 0, "endpointURL"),
        ],
    ),
    (
        dsp.parse_dataset,
        "dataset",
        [
            ("@context",),
            ("@id",),
            ("hasPolicy",),
            ("distribution",),
            ("distribution", 0, "accessService", "endpointURL"),
        ],
    ),
    (
        dsp.parse_contract_request,
        "contract-request-message_initial",
        [
            ("@context",),
            ("@type",),
            ("consumerPid",),
            ("offer",),
            ("offer", "@id"),
            ("callbackAddress",),
        ],
    ),
    (
        dsp.parse_contract_request,
        "contract-request-message",
        [("@context",), ("@type",), ("consumerPid",), ("offer",), ("offer", "@id")],
    ),
    (
        dsp.parse_contract_agreement,
        "contract-agreement-message",
        [
            ("@context",),
            ("@type",),
            ("providerPid",),
            ("consumerPid",),
            ("agreement",),
            ("agreement", "@id"),
            ("agreement", "@type"),
            ("agreement", "target"),
            ("agreement", "assigner"),
            ("agreement", "assignee"),
            ("agreement", "timestamp"),
            ("agreement", "permission"),
            ("agreement", "permission", 0, "action"),
        ],
    ),
    (
        dsp.parse_agreement_verification,
        "contract-agreement-verification-message",
        [("@context",), ("@type",), ("providerPid",), ("consumerPid",)],
    ),
    (
        dsp.parse_negotiation_event,
        "contract-negotiation-event-message",
        [("@context",), ("@type",), ("providerPid",), ("consumerPid",), ("eventType",)],
    ),
    (
        dsp.parse_negotiation_termination,
        "contract-negotiation-termination-message",
        [("@context",), ("@type",), ("providerPid",), ("consumerPid",)],
    ),
    (
        dsp.parse_contract_negotiation,
        "contract-negotiation",
        [("@context",), ("@type",), ("providerPid",), ("consumerPid",), ("state",)],
    ),
    (
        dsp.parse_transfer_request,
        "transfer-request-message",
        [
            ("@context",),
            ("@type",),
            ("consumerPid",),
            ("agreementId",),
            ("format",),
            ("callbackAddress",),
            ("dataAddress", "@type"),
            ("dataAddress", "endpointType"),
            ("dataAddress", "endpointProperties", 0, "@type"),
            ("dataAddress", "endpointProperties", 0, "name"),
            ("dataAddress", "endpointProperties", 0, "value"),
        ],
    ),
    (
        dsp.parse_transfer_start,
        "transfer-start-message",
        [
            ("@context",),
            ("@type",),
            ("providerPid",),
            ("consumerPid",),
            ("dataAddress", "@type"),
            ("dataAddress", "endpointType"),
            ("dataAddress", "endpointProperties", 1, "value"),
        ],
    ),
    (
        dsp.parse_transfer_suspension,
        "transfer-suspension-message",
        [("@context",), ("@type",), ("providerPid",), ("consumerPid",)],
    ),
    (
        dsp.parse_transfer_completion,
        "transfer-completion-message",
        [("@context",), ("@type",), ("providerPid",), ("consumerPid",)],
    ),
    (
        dsp.parse_transfer_termination,
        "transfer-termination-message",
        [("@context",), ("@type",), ("providerPid",), ("consumerPid",)],
    ),
    (
        dsp.parse_transfer_process,
        "transfer-process",
        [("@context",), ("@type",), ("providerPid",), ("consumerPid",), ("state",)],
    ),
    (
        dsp.parse_dsp_error,
        "contract-negotiation-error",
        [("@context",), ("@type",), ("providerPid",), ("consumerPid",)],
    ),
    (
        dsp.parse_dsp_error,
        "transfer-error",
        [("@context",), ("@type",), ("providerPid",), ("consumerPid",)],
    ),
]

CASES = [
    pytest.param(parse, name, path, id=f"{name}:{'.'.join(map(str, path))}")
    for parse, name, paths in REQUIRED
    for path in paths
]


def _parent(doc: dict[str, Any], path: Path) -> tuple[Any, Any]:
    """The container holding the member at ``path``, and its key or index there."""
    node: Any = doc
    for step in path[:-1]:
        node = node[step]
    assert isinstance(node, dict | list)
    return node, path[-1]


@pytest.mark.parametrize(("parse", "name", "path"), CASES)
def test_a_missing_required_member_is_rejected(
    parse: Callable[[JsonValue], object], name: str, path: Path
) -> None:
    parse(example(name))  # the untouched example passes
    doc = example(name)
    parent, key = _parent(doc, path)
    del parent[key]
    error = invalid(lambda: parse(doc))
    assert error.wire_error == "400"
    assert error.fault is Fault.PEER


@pytest.mark.parametrize(("parse", "name", "path"), CASES)
def test_an_ill_typed_required_member_is_rejected(
    parse: Callable[[JsonValue], object], name: str, path: Path
) -> None:
    doc = example(name)
    parent, key = _parent(doc, path)
    parent[key] = 42
    invalid(lambda: parse(doc))


@pytest.mark.parametrize(
    "context",
    [
        "https://w3id.org/dspace/2024/1/context.jsonld",
        ["https://w3id.org/dspace/2024/1/context.jsonld"],
        [],
        [{"@vocab": "https://w3id.org/dspace/2025/1/"}, dsp.DSP_CONTEXT],
        {"dspace": "https://w3id.org/dspace/2025/1/"},
    ],
)
def test_a_context_without_2025_1_is_rejected(context: JsonValue) -> None:
    doc = example("contract-agreement-verification-message")
    doc["@context"] = context
    invalid(lambda: dsp.parse_agreement_verification(doc))


def test_a_bare_string_context_and_extra_contexts_are_accepted() -> None:
    doc = example("contract-agreement-verification-message")
    doc["@context"] = dsp.DSP_CONTEXT
    dsp.parse_agreement_verification(doc)
    doc["@context"] = [dsp.DSP_CONTEXT, "https://example.com/profile.jsonld"]
    dsp.parse_agreement_verification(doc)


def test_a_message_of_another_type_is_rejected() -> None:
    invalid(lambda: dsp.parse_negotiation_event(example("contract-agreement-verification-message")))
    invalid(lambda: dsp.parse_transfer_completion(example("transfer-termination-message")))
    doc = example("transfer-completion-message")
    doc["@type"] = "dspace:TransferCompletionMessage"  # the 2024-1 prefixed form
    invalid(lambda: dsp.parse_transfer_completion(doc))


@pytest.mark.parametrize("value", [None, [], "TransferCompletionMessage", 1])
def test_non_objects_are_rejected(value: JsonValue) -> None:
    invalid(lambda: dsp.parse_transfer_completion(value))


@pytest.mark.parametrize("pid", ["", None, ["urn:a"]])
def test_empty_or_non_string_process_ids_are_rejected(pid: JsonValue) -> None:
    doc = example("transfer-completion-message")
    doc["consumerPid"] = pid
    invalid(lambda: dsp.parse_transfer_completion(doc))


def test_an_unknown_event_type_is_rejected() -> None:
    doc = example("contract-negotiation-event-message")
    doc["eventType"] = "REJECTED"
    invalid(lambda: dsp.parse_negotiation_event(doc))
    doc["eventType"] = "dspace:FINALIZED"
    invalid(lambda: dsp.parse_negotiation_event(doc))


def test_an_unknown_state_is_rejected() -> None:
    doc = example("contract-negotiation")
    doc["state"] = "PENDING"
    invalid(lambda: dsp.parse_contract_negotiation(doc))
    doc = example("transfer-process")
    doc["state"] = "AGREED"  # a negotiation state, not a transfer state
    invalid(lambda: dsp.parse_transfer_process(doc))


@pytest.mark.parametrize("reason", [[], "Policy violation", {"message": "x"}])
def test_reason_must_be_a_non_empty_array(reason: JsonValue) -> None:
    doc = example("transfer-termination-message")
    doc["reason"] = reason
    invalid(lambda: dsp.parse_transfer_termination(doc))


def test_code_must_be_a_string() -> None:
    doc = example("contract-negotiation-termination-message")
    doc["code"] = 99
    invalid(lambda: dsp.parse_negotiation_termination(doc))


def test_contract_request_needs_a_callback_or_a_provider_pid() -> None:
    doc = example("contract-request-message_initial")
    del doc["callbackAddress"]
    invalid(lambda: dsp.parse_contract_request(doc))
    doc["providerPid"] = "urn:uuid:a343fcbf-99fc-4ce8-8e9b-148c97605aab"
    assert dsp.parse_contract_request(doc).callback_address is None
    # Both together (the TCK's builder can send that) is tolerated, and still checked.
    doc["callbackAddress"] = "https://consumer.example/cb"
    assert dsp.parse_contract_request(doc).callback_address == "https://consumer.example/cb"
    doc["callbackAddress"] = "not a url"
    invalid(lambda: dsp.parse_contract_request(doc))


@pytest.mark.parametrize(
    "address", ["example.com/callback", "ftp://example.com/cb", "https://", "/callback", ""]
)
def test_a_callback_address_must_be_an_http_url(address: str) -> None:
    doc = example("contract-request-message_initial")
    doc["callbackAddress"] = address
    invalid(lambda: dsp.parse_contract_request(doc))
    doc = example("transfer-request-message")
    doc["callbackAddress"] = address
    invalid(lambda: dsp.parse_transfer_request(doc))


def test_contract_request_offer_by_id_alone_is_accepted() -> None:
    # Prose: a Provider Offer MUST be created "using either the offer or offer.@id".
    doc = example("contract-request-message_initial")
    doc["offer"] = {"@id": "urn:uuid:offer-1"}
    offer = dsp.parse_contract_request(doc).offer
    assert (offer.id, offer.target) == ("urn:uuid:offer-1", None)


@pytest.mark.parametrize(
    "offer",
    [
        {"@id": "urn:o", "@type": "Agreement"},
        {"@id": "urn:o", "target": 7},
        {"@id": "urn:o", "permission": []},
        {"@id": "urn:o", "permission": {"action": "use"}},
        {"@id": "urn:o", "permission": [{"constraint": []}]},
        {"@id": "urn:o", "permission": [{"action": "use", "target": "urn:ds"}]},
        {"@id": "urn:o", "prohibition": [{"action": "use", "constraint": {}}]},
        {"@id": "urn:o", "assigner": ["urn:p"]},
        "urn:o",
    ],
)
def test_contract_request_offer_shapes_are_checked(offer: JsonValue) -> None:
    doc = example("contract-request-message_initial")
    doc["offer"] = offer
    invalid(lambda: dsp.parse_contract_request(doc))


@pytest.mark.parametrize(
    "timestamp",
    [
        "2023-01-01",
        "2023-01-01 01:00:00Z",
        "2023-13-01T01:00:00Z",
        "yesterday",
        "2023-01-01T1:00:00Z",
    ],
)
def test_an_agreement_timestamp_must_be_an_xsd_datetime(timestamp: str) -> None:
    doc = example("contract-agreement-message")
    doc["agreement"]["timestamp"] = timestamp
    invalid(lambda: dsp.parse_contract_agreement(doc))


def test_an_agreement_needs_terms_and_its_rules_no_target() -> None:
    doc = example("contract-agreement-message")
    doc["agreement"]["permission"][0]["target"] = "urn:ds"
    invalid(lambda: dsp.parse_contract_agreement(doc))
    doc = example("contract-agreement-message")
    agreement = doc["agreement"]
    assert isinstance(agreement, dict)
    agreement["prohibition"] = agreement.pop("permission")
    dsp.parse_contract_agreement(doc)  # a prohibition alone is terms enough
    del agreement["prohibition"]
    invalid(lambda: dsp.parse_contract_agreement(doc))
    doc = example("contract-agreement-message")
    doc["agreement"]["@type"] = "Offer"
    invalid(lambda: dsp.parse_contract_agreement(doc))


def test_a_dataset_offer_must_not_name_a_target() -> None:
    doc = example("dataset")
    doc["hasPolicy"][0]["target"] = doc["@id"]
    invalid(lambda: dsp.parse_dataset(doc))


def test_a_dataset_offer_must_state_terms() -> None:
    doc = example("dataset")
    del doc["hasPolicy"][0]["permission"]
    invalid(lambda: dsp.parse_dataset(doc))


def test_a_catalog_carries_no_policy_and_no_empty_dataset_array() -> None:
    doc = example("catalog")
    doc["hasPolicy"] = doc["dataset"][0]["hasPolicy"]
    invalid(lambda: dsp.parse_catalog(doc))
    doc = example("catalog")
    doc["dataset"] = []
    invalid(lambda: dsp.parse_catalog(doc))
    del doc["dataset"]
    assert dsp.parse_catalog(doc).datasets == ()


def test_endpoint_properties_must_be_a_non_empty_array() -> None:
    doc = example("transfer-start-message")
    doc["dataAddress"]["endpointProperties"] = []
    invalid(lambda: dsp.parse_transfer_start(doc))
    doc["dataAddress"]["endpointProperties"] = {"authorization": "x"}
    invalid(lambda: dsp.parse_transfer_start(doc))


def test_a_catalog_request_filter_must_be_an_array() -> None:
    doc = example("catalog-request-message")
    doc["filter"] = "title = x"
    invalid(lambda: dsp.parse_catalog_request(doc))


def test_the_catalog_error_has_no_process_ids_but_others_need_them() -> None:
    err = dsp.parse_dsp_error(example("catalog-error"))
    assert err.provider_pid is None
    assert err.consumer_pid is None
    doc = example("catalog-error")
    doc["@type"] = "Catalog"
    invalid(lambda: dsp.parse_dsp_error(doc))


# -- state machines ----------------------------------------------------------------------

SHORT_NEGOTIATION = [
    (None, "ContractRequestMessage", "consumer", N.REQUESTED),
    (N.REQUESTED, "ContractAgreementMessage", "provider", N.AGREED),
    (N.AGREED, "ContractAgreementVerificationMessage", "consumer", N.VERIFIED),
    (N.VERIFIED, "ContractNegotiationEventMessage:FINALIZED", "provider", N.FINALIZED),
] + [
    (state, "ContractNegotiationTerminationMessage", role, N.TERMINATED)
    for state in (N.REQUESTED, N.AGREED, N.VERIFIED)
    for role in ("provider", "consumer")
]


@pytest.mark.parametrize(("state", "message", "role", "after"), SHORT_NEGOTIATION)
def test_every_short_path_negotiation_transition(
    state: N | None, message: str, role: dsp.Role, after: N
) -> None:
    assert dsp.next_negotiation_state(state, message, role=role) is after


def test_the_short_path_negotiation_table_is_exactly_that() -> None:
    listed = {(s, m, r): a for s, m, r, a in SHORT_NEGOTIATION}
    assert dict(dsp.SHORT_PATH_NEGOTIATION_TRANSITIONS) == listed


FORBIDDEN_NEGOTIATION = [
    # Off the short path, though allowed by the full 2025-1 machine.
    (None, "ContractOfferMessage", "provider"),
    (N.REQUESTED, "ContractOfferMessage", "provider"),
    (N.OFFERED, "ContractNegotiationEventMessage:ACCEPTED", "consumer"),
    (N.OFFERED, "ContractRequestMessage", "consumer"),
    (N.ACCEPTED, "ContractAgreementMessage", "provider"),
    (N.OFFERED, "ContractNegotiationTerminationMessage", "consumer"),
    # Forbidden by the spec.
    (None, "ContractAgreementMessage", "provider"),
    (None, "ContractNegotiationTerminationMessage", "consumer"),
    (N.REQUESTED, "ContractRequestMessage", "consumer"),  # CN:03-04's second request
    (N.REQUESTED, "ContractAgreementVerificationMessage", "consumer"),
    (N.REQUESTED, "ContractNegotiationEventMessage:FINALIZED", "provider"),  # CN_C:03-01
    (N.REQUESTED, "ContractNegotiationEventMessage:ACCEPTED", "consumer"),
    (N.REQUESTED, "ContractAgreementMessage", "consumer"),  # wrong sender
    (N.AGREED, "ContractAgreementMessage", "provider"),
    (N.AGREED, "ContractAgreementVerificationMessage", "provider"),  # wrong sender
    (N.AGREED, "ContractNegotiationEventMessage:FINALIZED", "provider"),
    (N.VERIFIED, "ContractAgreementVerificationMessage", "consumer"),
    (N.VERIFIED, "ContractNegotiationEventMessage:FINALIZED", "consumer"),  # spec: an error
    (N.FINALIZED, "ContractNegotiationTerminationMessage", "consumer"),  # CN:03-01
    (N.FINALIZED, "ContractNegotiationEventMessage:FINALIZED", "provider"),
    (N.TERMINATED, "ContractNegotiationTerminationMessage", "provider"),
    (N.TERMINATED, "ContractAgreementMessage", "provider"),
]


@pytest.mark.parametrize(("state", "message", "role"), FORBIDDEN_NEGOTIATION)
def test_forbidden_negotiation_transitions(state: N | None, message: str, role: dsp.Role) -> None:
    with pytest.raises(PasserelleError) as caught:
        dsp.next_negotiation_state(state, message, role=role)
    assert caught.value.reason is Reason.DSP_INVALID_TRANSITION
    assert caught.value.wire_error == "400"
    assert caught.value.fault is Fault.PEER


def test_a_refusal_says_whether_the_spec_or_our_short_path_forbids_it() -> None:
    with pytest.raises(PasserelleError) as off_path:
        dsp.next_negotiation_state(N.REQUESTED, "ContractOfferMessage", role="provider")
    assert "short path" in off_path.value.detail
    with pytest.raises(PasserelleError) as forbidden:
        dsp.next_negotiation_state(N.FINALIZED, "ContractOfferMessage", role="provider")
    assert "short path" not in forbidden.value.detail


def test_terminal_negotiation_states_accept_nothing() -> None:
    for state in (N.FINALIZED, N.TERMINATED):
        assert state.is_terminal
        for message in dsp.NEGOTIATION_MESSAGES:
            for role in ("provider", "consumer"):
                key = (state, message, role)
                assert key not in dsp.NEGOTIATION_TRANSITIONS


SHORT_TRANSFER = [
    (None, "TransferRequestMessage", "consumer", T.REQUESTED),
    (T.REQUESTED, "TransferStartMessage", "provider", T.STARTED),
    (T.STARTED, "TransferCompletionMessage", "provider", T.COMPLETED),
    (T.STARTED, "TransferCompletionMessage", "consumer", T.COMPLETED),
] + [
    (state, "TransferTerminationMessage", role, T.TERMINATED)
    for state in (T.REQUESTED, T.STARTED)
    for role in ("provider", "consumer")
]


@pytest.mark.parametrize(("state", "message", "role", "after"), SHORT_TRANSFER)
def test_every_short_path_transfer_transition(
    state: T | None, message: str, role: dsp.Role, after: T
) -> None:
    assert dsp.next_transfer_state(state, message, role=role) is after


def test_the_short_path_transfer_table_is_exactly_that() -> None:
    assert dict(dsp.SHORT_PATH_TRANSFER_TRANSITIONS) == {
        (s, m, r): a for s, m, r, a in SHORT_TRANSFER
    }


FORBIDDEN_TRANSFER = [
    (T.STARTED, "TransferSuspensionMessage", "provider"),  # spec allows; we do not suspend
    (T.SUSPENDED, "TransferStartMessage", "consumer"),
    (T.SUSPENDED, "TransferTerminationMessage", "provider"),
    (None, "TransferStartMessage", "provider"),
    (T.REQUESTED, "TransferRequestMessage", "consumer"),
    (T.REQUESTED, "TransferStartMessage", "consumer"),  # only a provider starts
    (T.REQUESTED, "TransferCompletionMessage", "consumer"),  # TP:03-01
    (T.REQUESTED, "TransferSuspensionMessage", "consumer"),  # TP:03-02
    (T.STARTED, "TransferStartMessage", "provider"),
    (T.COMPLETED, "TransferTerminationMessage", "consumer"),
    (T.TERMINATED, "TransferStartMessage", "provider"),  # TP_C:03-04
    (T.TERMINATED, "TransferCompletionMessage", "consumer"),  # TP:03-06
]


@pytest.mark.parametrize(("state", "message", "role"), FORBIDDEN_TRANSFER)
def test_forbidden_transfer_transitions(state: T | None, message: str, role: dsp.Role) -> None:
    with pytest.raises(PasserelleError) as caught:
        dsp.next_transfer_state(state, message, role=role)
    assert caught.value.reason is Reason.DSP_INVALID_TRANSITION


def test_the_full_transfer_machine_resumes_from_suspension_by_either_party() -> None:
    for role in ("provider", "consumer"):
        assert dsp.TRANSFER_TRANSITIONS[(T.SUSPENDED, "TransferStartMessage", role)] is T.STARTED


def test_short_paths_are_subsets_of_the_2025_1_machines() -> None:
    for key, after in dsp.SHORT_PATH_NEGOTIATION_TRANSITIONS.items():
        assert dsp.NEGOTIATION_TRANSITIONS[key] is after
    for tkey, tafter in dsp.SHORT_PATH_TRANSFER_TRANSITIONS.items():
        assert dsp.TRANSFER_TRANSITIONS[tkey] is tafter
    reached = set(dsp.SHORT_PATH_NEGOTIATION_TRANSITIONS.values())
    assert N.OFFERED not in reached
    assert N.ACCEPTED not in reached
    assert T.SUSPENDED not in set(dsp.SHORT_PATH_TRANSFER_TRANSITIONS.values())


def test_misuse_of_the_state_functions_is_a_local_fault() -> None:
    for call in (
        lambda: dsp.next_negotiation_state(None, "TransferRequestMessage", role="consumer"),
        lambda: dsp.next_negotiation_state(
            None, "ContractNegotiationEventMessage", role="provider"
        ),
        lambda: dsp.next_transfer_state(None, "ContractRequestMessage", role="consumer"),
        lambda: dsp.next_transfer_state(None, "TransferRequestMessage", role="client"),  # type: ignore[arg-type]
    ):
        with pytest.raises(PasserelleError) as caught:
            call()
        assert caught.value.fault is Fault.LOCAL


def test_parsed_messages_name_their_transition() -> None:
    event = dsp.parse_negotiation_event(
        dsp.negotiation_event_message(
            provider_pid="urn:p",
            consumer_pid="urn:c",
            event_type=dsp.NegotiationEventType.FINALIZED,
        )
    )
    assert dsp.next_negotiation_state(N.VERIFIED, event.kind, role="provider") is N.FINALIZED
    start = dsp.parse_transfer_start(example("transfer-start-message"))
    assert dsp.next_transfer_state(T.REQUESTED, start.kind, role="provider") is T.STARTED


# -- the TCK case table ------------------------------------------------------------------


def _replay(case: dsp.TckCase, *, full: bool) -> int:
    """How many steps of ``case`` go through before one is refused (len(steps) if none):
    by the full 2025-1 tables, or by the short-path functions."""
    negotiation: N | None = None
    transfer: T | None = None
    for done, step in enumerate(case.steps):
        if full:
            if case.protocol == "negotiation":
                key = (negotiation, step.message, step.sender)
                negotiation = dsp.NEGOTIATION_TRANSITIONS.get(key)
                refused = negotiation is None
            else:
                tkey = (transfer, step.message, step.sender)
                transfer = dsp.TRANSFER_TRANSITIONS.get(tkey)
                refused = transfer is None
            if refused:
                return done
            continue
        refusal: PasserelleError | None = None
        try:
            if case.protocol == "negotiation":
                negotiation = dsp.next_negotiation_state(
                    negotiation, step.message, role=step.sender
                )
            else:
                transfer = dsp.next_transfer_state(transfer, step.message, role=step.sender)
        except PasserelleError as exc:
            refusal = exc
        if refusal is not None:
            assert refusal.reason is Reason.DSP_INVALID_TRANSITION
            return done
    return len(case.steps)


FLOW_CASES = [c for c in dsp.TCK_CASES if c.steps]


@pytest.mark.parametrize("case", FLOW_CASES, ids=lambda c: c.id)
def test_each_tck_flow_is_what_dsp_2025_1_says(case: dsp.TckCase) -> None:
    # Checks the table against the full machine: the TCK's happy flows are legal, and
    # its negative flows fail exactly at the last step.
    expected = len(case.steps) - 1 if case.expect_error else len(case.steps)
    assert _replay(case, full=True) == expected


@pytest.mark.parametrize("case", FLOW_CASES, ids=lambda c: c.id)
def test_tck_coverage_matches_the_short_path(case: dsp.TckCase) -> None:
    expected = len(case.steps) - 1 if case.expect_error else len(case.steps)
    assert (_replay(case, full=False) == expected) is case.covered


def test_tck_table_lists_the_cases_the_issue_names() -> None:
    ids = {c.id for c in dsp.TCK_CASES}
    assert {"MET:01-01", "CAT:01-01", "CAT:01-02", "CAT:01-03"} <= ids
    assert {f"CN:03-0{i}" for i in range(1, 5)} <= ids
    # Every DisplayName id of dsp-tck v1.0.1: MET 1, CAT 3, CN 15, CN_C 16, TP 16, TP_C 16.
    assert len(ids) == len(dsp.TCK_CASES) == 67
    for case in dsp.TCK_CASES:
        assert case.covered or (case.skip_reason and len(case.skip_reason) > 20)
        assert case.connector_role == ("consumer" if "_C:" in case.id else "provider")
    uncovered = {c.id for c in dsp.TCK_CASES if not c.covered}
    assert "CN:01-04" not in uncovered
    assert "TP:03-02" not in uncovered
    assert {"CN:03-02", "CN:03-03", "CN:03-04", "TP:01-03"} <= uncovered


# -- builders round-trip through the parsers ---------------------------------------------

OFFER: JsonObject = {
    "@id": "urn:uuid:offer-eu-registry",
    "permission": [
        {
            "action": "use",
            "constraint": [{"leftOperand": "spatial", "operator": "eq", "rightOperand": "EU"}],
        }
    ],
}
SERVICE = dsp.data_service(id="urn:uuid:svc-eu", endpoint_url="https://eu-dataspace/dsp")


def test_dataset_and_catalog_round_trip() -> None:
    ds = dsp.dataset(
        id="urn:uuid:ds-eu-registry",
        offers=[OFFER],
        access_service=SERVICE,
        title="EU supplier registry",
        description="Sample cross-border supplier registry",
    )
    assert ds["@context"] == [dsp.DSP_CONTEXT]
    assert ds["dct:title"] == "EU supplier registry"
    parsed = dsp.parse_dataset(ds)
    assert parsed.offers[0].id == OFFER["@id"]
    assert parsed.offers[0].policy["@type"] == "Offer"
    assert parsed.distributions[0].format == dsp.HTTP_PULL_FORMAT
    assert parsed.distributions[0].endpoint_url == "https://eu-dataspace/dsp"

    by_ref = dsp.dataset(id="urn:uuid:ds-2", offers=[OFFER], access_service="urn:uuid:svc-eu")
    cat = dsp.catalog(
        id="urn:uuid:cat-eu",
        participant_id="did:web:eu-dataspace:provider",
        services=[SERVICE],
        datasets=[ds, by_ref],
    )
    embedded = cat["dataset"]
    assert isinstance(embedded, list)
    assert all(isinstance(d, dict) and "@context" not in d for d in embedded)
    parsed_cat = dsp.parse_catalog(cat)
    assert [d.id for d in parsed_cat.datasets] == ["urn:uuid:ds-eu-registry", "urn:uuid:ds-2"]
    assert parsed_cat.datasets[1].distributions[0].access_service == "urn:uuid:svc-eu"

    empty = dsp.catalog(id="urn:uuid:cat-eu", participant_id="did:web:x", services=[SERVICE])
    assert "dataset" not in empty
    assert dsp.parse_catalog(empty).datasets == ()


def test_builders_refuse_to_build_invalid_messages() -> None:
    for call in (
        lambda: dsp.dataset(id="urn:d", offers=[{**OFFER, "target": "urn:d"}], access_service="s"),
        lambda: dsp.dataset(id="urn:d", offers=[], access_service="s"),
        lambda: dsp.dataset(id="urn:d", offers=[{"@id": "urn:o"}], access_service="s"),
        lambda: dsp.contract_request_message(consumer_pid="urn:c", offer=OFFER),
        lambda: dsp.transfer_request_message(
            consumer_pid="urn:c", agreement_id="urn:a", callback_address="callback"
        ),
        lambda: dsp.contract_agreement_message(
            provider_pid="urn:p",
            consumer_pid="urn:c",
            agreement_id="urn:a",
            target="urn:d",
            assigner="did:web:p",
            assignee="did:web:c",
            timestamp=datetime(2026, 1, 1, 12, 0),  # naive: no time zone
            offer=OFFER,
        ),
        lambda: dsp.contract_agreement_message(
            provider_pid="urn:p",
            consumer_pid="urn:c",
            agreement_id="urn:a",
            target="urn:d",
            assigner="did:web:p",
            assignee="did:web:c",
            timestamp=datetime(2026, 1, 1, tzinfo=UTC),
            offer={"@id": "urn:o"},  # no terms to agree on
        ),
    ):
        error = invalid(call)
        assert error.fault is Fault.LOCAL


def test_negotiation_builders_round_trip() -> None:
    request = dsp.contract_request_message(
        consumer_pid="urn:uuid:c-1",
        offer={**OFFER, "target": "urn:uuid:ds-eu-registry"},
        callback_address="https://ca-dataspace/callback",
    )
    parsed = dsp.parse_contract_request(request)
    assert (parsed.consumer_pid, parsed.provider_pid) == ("urn:uuid:c-1", None)
    assert parsed.offer.target == "urn:uuid:ds-eu-registry"

    counter = dsp.parse_contract_request(
        dsp.contract_request_message(consumer_pid="urn:c", offer=OFFER, provider_pid="urn:p")
    )
    assert counter.provider_pid == "urn:p"

    ack = dsp.contract_negotiation(provider_pid="urn:p", consumer_pid="urn:c", state=N.REQUESTED)
    assert ack["state"] == "REQUESTED"
    assert dsp.parse_contract_negotiation(ack).state is N.REQUESTED

    moment = datetime(2026, 3, 1, 14, 30, 5, 123, tzinfo=timezone(timedelta(hours=1)))
    agreement = dsp.contract_agreement_message(
        provider_pid="urn:p",
        consumer_pid="urn:c",
        agreement_id="urn:uuid:agr-1",
        target="urn:uuid:ds-eu-registry",
        assigner="did:web:eu-dataspace:provider",
        assignee="did:web:ca-dataspace:sme",
        timestamp=moment,
        offer=OFFER,
    )
    got = dsp.parse_contract_agreement(agreement).agreement
    assert got.timestamp == "2026-03-01T13:30:05Z"
    assert got.policy["permission"] == OFFER["permission"]
    assert (got.assigner, got.assignee) == (
        "did:web:eu-dataspace:provider",
        "did:web:ca-dataspace:sme",
    )

    verification = dsp.parse_agreement_verification(
        dsp.agreement_verification_message(provider_pid="urn:p", consumer_pid="urn:c")
    )
    assert (verification.provider_pid, verification.consumer_pid) == ("urn:p", "urn:c")

    event = dsp.negotiation_event_message(
        provider_pid="urn:p", consumer_pid="urn:c", event_type=dsp.NegotiationEventType.FINALIZED
    )
    assert event["eventType"] == "FINALIZED"
    assert dsp.parse_negotiation_event(event).event_type is dsp.NegotiationEventType.FINALIZED

    term = dsp.parse_negotiation_termination(
        dsp.negotiation_termination_message(
            provider_pid="urn:p",
            consumer_pid="urn:c",
            code="dsp.policy_denied",
            reason=["dataset is EU-only"],
        )
    )
    assert (term.code, term.reason) == ("dsp.policy_denied", ("dataset is EU-only",))
    bare = dsp.negotiation_termination_message(provider_pid="urn:p", consumer_pid="urn:c")
    assert "reason" not in bare
    assert "code" not in bare

    error = dsp.negotiation_error(
        provider_pid="urn:p", consumer_pid="urn:c", code="dsp.invalid_transition", reason=["no"]
    )
    assert dsp.parse_dsp_error(error).type == "ContractNegotiationError"
    partial = dsp.negotiation_error(provider_pid=None, consumer_pid="urn:c", code="400")
    assert "providerPid" not in partial


def test_transfer_builders_round_trip() -> None:
    request = dsp.transfer_request_message(
        consumer_pid="urn:c", agreement_id="urn:uuid:agr-1", callback_address="https://c/cb"
    )
    parsed = dsp.parse_transfer_request(request)
    assert (parsed.format, parsed.data_address) == ("HttpData-PULL", None)

    ack = dsp.transfer_process(provider_pid="urn:p", consumer_pid="urn:c", state=T.STARTED)
    assert dsp.parse_transfer_process(ack).state is T.STARTED

    address = dsp.data_address(
        endpoint="https://eu-dataspace/data/urn:uuid:ds-eu-registry",
        properties={"authorization": "short-lived-token", "authType": "bearer"},
    )
    start = dsp.parse_transfer_start(
        dsp.transfer_start_message(provider_pid="urn:p", consumer_pid="urn:c", data_address=address)
    )
    assert start.data_address is not None
    assert start.data_address.endpoint_type == dsp.HTTP_ENDPOINT_TYPE
    assert start.data_address.property("authorization") == "short-lived-token"
    assert start.data_address.property("authType") == "bearer"

    done = dsp.parse_transfer_completion(
        dsp.transfer_completion_message(provider_pid="urn:p", consumer_pid="urn:c")
    )
    assert done.consumer_pid == "urn:c"
    end = dsp.parse_transfer_termination(
        dsp.transfer_termination_message(
            provider_pid="urn:p", consumer_pid="urn:c", code="x", reason=[{"message": "m"}]
        )
    )
    assert end.reason == ({"message": "m"},)
    suspension = dsp.transfer_suspension_message(provider_pid="urn:p", consumer_pid="urn:c")
    assert dsp.parse_transfer_suspension(suspension).kind == "TransferSuspensionMessage"
    error = dsp.transfer_error(provider_pid="urn:p", consumer_pid="urn:c", code="404")
    assert dsp.parse_dsp_error(error).code == "404"


def test_catalog_builders_round_trip() -> None:
    assert dsp.parse_catalog_request(dsp.catalog_request_message(filter=[])).filter == ()
    err = dsp.catalog_error(code="dsp.dataset_unknown", reason=["no such dataset"])
    assert err["@type"] == "CatalogError"  # what CAT:01-03 looks for
    assert dsp.parse_dsp_error(err).reason == ("no such dataset",)


def test_builders_use_plain_2025_1_terms() -> None:
    # 2025-1 compacts to plain terms; a "dspace:" prefix would be a different term.
    message = dsp.transfer_request_message(
        consumer_pid="urn:c", agreement_id="urn:a", callback_address="https://c/cb"
    )
    assert not any(key.startswith("dspace:") for key in message)
    assert set(message) == {
        "@context",
        "@type",
        "consumerPid",
        "agreementId",
        "format",
        "callbackAddress",
    }
