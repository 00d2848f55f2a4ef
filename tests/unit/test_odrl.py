"""The ODRL 2.2 evaluator: parsing DSP-shaped policies, every operator, logical
constraints, prohibitions, fail-closed handling of what it does not know, the trace,
the offer builder, and the "EU-only" dataset of issue 9."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from passerelle import Fault, JsonObject, JsonValue, PasserelleError, Reason
from passerelle._json import parse_json
from passerelle.odrl import (
    LEFT_OPERAND_CREDENTIAL_TYPE,
    LEFT_OPERAND_ISSUER_JURISDICTION,
    MAX_CONSTRAINTS,
    MAX_NESTING,
    MAX_RIGHT_OPERAND_VALUES,
    MAX_RULES,
    PASSERELLE_ODRL_PROFILE,
    Constraint,
    LogicalConstraint,
    LogicalOperator,
    OdrlDecision,
    OdrlFacts,
    Policy,
    PolicyType,
    evaluate_policy,
    offer_for_catalog,
    offer_policy,
    parse_policy,
)
from tests.conftest import NOW

CT = LEFT_OPERAND_CREDENTIAL_TYPE
IJ = LEFT_OPERAND_ISSUER_JURISDICTION
MEMBERSHIP = "MembershipCredential"
BUSINESS = "BusinessRegistrationCredential"


def facts(
    types: set[str] | None = None, jurisdictions: set[str] | None = None, now: datetime = NOW
) -> OdrlFacts:
    return OdrlFacts(
        credential_types=frozenset({MEMBERSHIP} if types is None else types),
        issuer_jurisdictions=frozenset({"eu"} if jurisdictions is None else jurisdictions),
        now=now,
    )


def c(left: Any, operator: Any, right: Any) -> JsonObject:
    return {"leftOperand": left, "operator": operator, "rightOperand": right}


def offer(*constraints: Any, prohibition: Any = None) -> JsonObject:
    doc: JsonObject = {
        "@id": "urn:uuid:offer-1",
        "@type": "Offer",
        "permission": [{"action": "use", "constraint": list(constraints)}],
    }
    if prohibition is not None:
        doc["prohibition"] = [{"action": "use", "constraint": list(prohibition)}]
    return doc


def decide(document: JsonValue, f: OdrlFacts | None = None, action: str = "use") -> OdrlDecision:
    return evaluate_policy(parse_policy(document), action=action, facts=f or facts())


def invalid(document: JsonValue) -> PasserelleError:
    with pytest.raises(PasserelleError) as info:
        parse_policy(document)
    assert info.value.reason is Reason.ODRL_POLICY_INVALID, info.value
    return info.value


# --- issue 9: the "EU-only" dataset ----------------------------------------------------

EU_ONLY = offer(c(IJ, "isAnyOf", ["eu"]), c(CT, "eq", MEMBERSHIP))


def test_eu_only_permits_an_eu_verified_sme() -> None:
    decision = decide(EU_ONLY, facts({MEMBERSHIP, BUSINESS}, {"eu"}))
    assert decision.permitted
    assert decision.reason is None
    assert [line.satisfied for line in decision.trace] == [True, True]


def test_eu_only_denies_a_canadian_sme_with_a_reason() -> None:
    decision = decide(EU_ONLY, facts({MEMBERSHIP}, {"ca"}))
    assert not decision.permitted
    assert decision.reason is Reason.ODRL_CONSTRAINT_UNSATISFIED
    failed = [line for line in decision.trace if not line.satisfied]
    assert len(failed) == 1
    assert failed[0].path == "permission[0].constraint[0]"
    assert failed[0].left_operand == IJ
    assert failed[0].actual == ["ca"]
    assert failed[0].reason is Reason.ODRL_CONSTRAINT_UNSATISFIED
    assert decision.as_dict()["reason"] == "odrl.constraint_unsatisfied"


def test_eu_only_denies_an_eu_sme_without_the_membership_credential() -> None:
    decision = decide(EU_ONLY, facts({BUSINESS}, {"eu"}))
    assert decision.reason is Reason.ODRL_CONSTRAINT_UNSATISFIED
    assert [line.satisfied for line in decision.trace] == [True, False]


def test_a_consumer_that_proved_nothing_is_denied() -> None:
    decision = decide(EU_ONLY, facts(set(), set()))
    assert decision.reason is Reason.ODRL_CONSTRAINT_UNSATISFIED


def test_short_operand_names_mean_the_same() -> None:
    short = offer(
        c("passerelle:issuerJurisdiction", "isAnyOf", ["eu"]),
        c("passerelle:credentialType", "eq", MEMBERSHIP),
    )
    policy = parse_policy(short)
    first = policy.permissions[0].constraints[0]
    assert isinstance(first, Constraint)
    assert first.left_operand == IJ
    assert decide(short, facts(jurisdictions={"ca"})).reason is Reason.ODRL_CONSTRAINT_UNSATISFIED
    assert decide(short).permitted


# --- set-valued operands: every operator -------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "right", "held", "expected"),
    [
        ("eq", "eu", {"eu"}, True),
        ("eq", "eu", {"eu", "ca"}, True),  # the set contains the value
        ("eq", "eu", {"ca"}, False),
        ("eq", "eu", set(), False),
        ("eq", ["eu"], {"eu"}, True),  # a one-element JSON-LD set is the value
        ("neq", "eu", {"ca"}, True),
        ("neq", "eu", {"eu", "ca"}, False),
        ("neq", "eu", set(), True),
        ("isAnyOf", ["eu", "uk"], {"ca", "eu"}, True),
        ("isAnyOf", ["eu", "uk"], {"ca"}, False),
        ("isAnyOf", "eu", {"eu"}, True),  # a single value is a list of one
        ("isAnyOf", ["eu"], set(), False),
        ("isNoneOf", ["eu", "uk"], {"ca"}, True),
        ("isNoneOf", ["eu", "uk"], {"ca", "uk"}, False),
        ("isNoneOf", ["eu"], set(), True),
        ("isPartOf", ["eu", "ca"], {"eu"}, True),
        ("isPartOf", ["eu", "ca"], {"eu", "ca"}, True),
        ("isPartOf", ["eu"], {"eu", "ca"}, False),  # every member must be in the list
        ("isPartOf", ["eu", "ca"], set(), False),  # the empty set does not pass
        ("hasPart", ["eu", "ca"], {"eu", "ca", "uk"}, True),
        ("hasPart", ["eu", "ca"], {"eu"}, False),
        ("odrl:isAnyOf", ["eu"], {"eu"}, True),
        ("http://www.w3.org/ns/odrl/2/isNoneOf", ["eu"], {"eu"}, False),
        ({"@id": "odrl:eq"}, "eu", {"eu"}, True),
    ],
)
def test_set_operator(
    operator: JsonValue, right: JsonValue, held: set[str], expected: bool
) -> None:
    document = offer({"leftOperand": IJ, "operator": operator, "rightOperand": right})
    decision = decide(document, facts(jurisdictions=held))
    assert decision.permitted is expected
    (line,) = decision.trace
    assert line.satisfied is expected
    assert line.actual == sorted(held)
    assert line.reason is (None if expected else Reason.ODRL_CONSTRAINT_UNSATISFIED)


def test_credential_types_are_compared_exactly() -> None:
    document = offer(c(CT, "isAnyOf", [MEMBERSHIP, {"@id": "https://example.org/Other"}]))
    assert decide(document, facts({MEMBERSHIP})).permitted
    assert decide(document, facts({"https://example.org/Other"})).permitted
    assert not decide(document, facts({"membershipcredential"})).permitted


def test_typed_string_values_are_read() -> None:
    document = offer(c(CT, "eq", {"@value": MEMBERSHIP, "@type": "xsd:string"}))
    assert decide(document).permitted


def test_right_operand_in_an_at_list() -> None:
    document = offer(c(IJ, "isAnyOf", {"@list": ["ca", "eu"]}))
    assert decide(document).permitted


# --- dateTime ----------------------------------------------------------------------------

# NOW is 2026-11-23T12:00:00Z; each of these names that very instant.
SAME_INSTANT = [
    "2026-11-23T12:00:00Z",
    "2026-11-23T13:00:00+01:00",
    "2026-11-23T07:00:00-05:00",
    "2026-11-23T12:00Z",  # as DSP 2025-1's own example writes it, without seconds
    "2026-11-23T12:00:00.000+00:00",
]


@pytest.mark.parametrize("bound", SAME_INSTANT)
@pytest.mark.parametrize(
    ("operator", "expected"),
    [("eq", True), ("neq", False), ("lt", False), ("lteq", True), ("gt", False), ("gteq", True)],
)
def test_date_time_at_the_bound_across_time_zones(
    bound: str, operator: str, expected: bool
) -> None:
    assert decide(offer(c("dateTime", operator, bound))).permitted is expected


@pytest.mark.parametrize(
    ("operator", "bound", "expected"),
    [
        ("lt", "2026-11-23T12:00:01Z", True),
        ("lt", "2026-11-23T06:59:59-05:00", False),  # 11:59:59Z, already past
        ("gt", "2026-11-24T00:59:59+13:00", True),  # 11:59:59Z
        ("gteq", "2026-11-23T12:00:00.000001Z", False),
        ("lteq", "2026-11-23T11:59:59Z", False),
        ("neq", "2027-01-01T00:00:00Z", True),
    ],
)
def test_date_time_comparisons(operator: str, bound: str, expected: bool) -> None:
    decision = decide(offer(c("odrl:dateTime", operator, bound)))
    assert decision.permitted is expected
    assert decision.trace[0].left_operand == "dateTime"
    assert decision.trace[0].actual == "2026-11-23T12:00:00Z"


def test_date_time_as_a_typed_value() -> None:
    typed = {"@value": "2026-12-31T23:59:59+01:00", "@type": "xsd:dateTime"}
    full = {"@value": "2026-12-31T23:59:59Z", "@type": "http://www.w3.org/2001/XMLSchema#dateTime"}
    assert decide(offer(c("dateTime", "lt", typed))).permitted
    assert decide(offer(c("dateTime", "lt", full))).permitted
    assert not decide(
        offer(c("dateTime", "lt", full)), facts(now=NOW + timedelta(days=60))
    ).permitted


def test_an_expiring_offer_expires() -> None:
    document = offer(c(CT, "eq", MEMBERSHIP), c("dateTime", "lteq", "2026-11-30T00:00:00Z"))
    assert decide(document).permitted
    late = decide(document, facts(now=datetime(2026, 11, 30, 0, 0, 1, tzinfo=UTC)))
    assert late.reason is Reason.ODRL_CONSTRAINT_UNSATISFIED
    assert late.trace[1].actual == "2026-11-30T00:00:01Z"


@pytest.mark.parametrize(
    "bound",
    [
        "2026-11-23T12:00:00",  # no time zone: indeterminate against an instant
        "2026-11-23",
        {"@value": "2026-11-23", "@type": "xsd:date"},
        {"@value": "2026-11-23T12:00:00Z", "@type": "xsd:string"},
        "2026-11-23T24:00:00Z",
        "2026-13-01T00:00:00Z",
        "2026-11-23t12:00:00z",
        "tomorrow",
        ["2026-11-23T12:00:00Z", "2026-11-24T12:00:00Z"],
        {"@id": "2026-11-23T12:00:00Z"},
        5,
    ],
)
def test_date_time_right_operand_must_be_a_zoned_date_time(bound: JsonValue) -> None:
    invalid(offer(c("dateTime", "lt", bound)))


# --- logical constraints -----------------------------------------------------------------

YES = c(CT, "eq", MEMBERSHIP)
NO = c(CT, "eq", "SomethingElse")


@pytest.mark.parametrize(
    ("operator", "members", "expected"),
    [
        ("and", [YES, YES], True),
        ("and", [YES, NO], False),
        ("or", [NO, YES], True),
        ("or", [NO, NO], False),
        ("xone", [YES, NO, NO], True),  # exactly one
        ("xone", [YES, YES, NO], False),  # "and not more"
        ("xone", [NO, NO], False),
        ("xone", [YES], True),
        ("andSequence", [YES, YES], True),
        ("andSequence", [YES, NO], False),
        ("odrl:or", [NO, YES], True),
        ("http://www.w3.org/ns/odrl/2/xone", [YES, NO], True),
    ],
)
def test_logical_operator(operator: str, members: list[JsonObject], expected: bool) -> None:
    decision = decide(offer({operator: members}))
    assert decision.permitted is expected
    head = decision.trace[0]
    assert head.path == "permission[0].constraint[0]"
    assert head.left_operand == ""
    assert head.satisfied is expected
    assert head.actual == sum(1 for m in members if m is YES)
    assert len(decision.trace) == 1 + len(members)


def test_logical_members_may_be_an_at_list() -> None:
    assert decide(offer({"xone": {"@list": [YES, NO]}})).permitted


def test_nested_logical_constraints_and_their_paths() -> None:
    document = offer(
        YES,
        {"or": [NO, {"and": [YES, c(IJ, "isAnyOf", ["eu"])]}]},
    )
    decision = decide(document)
    assert decision.permitted
    assert [line.path for line in decision.trace] == [
        "permission[0].constraint[0]",
        "permission[0].constraint[1]",
        "permission[0].constraint[1].or[0]",
        "permission[0].constraint[1].or[1]",
        "permission[0].constraint[1].or[1].and[0]",
        "permission[0].constraint[1].or[1].and[1]",
    ]
    assert [line.operator for line in decision.trace] == ["eq", "or", "eq", "and", "eq", "isAnyOf"]
    assert [line.satisfied for line in decision.trace] == [True, True, False, True, True, True]
    assert (
        decide(document, facts(jurisdictions={"ca"})).reason is Reason.ODRL_CONSTRAINT_UNSATISFIED
    )


def test_the_logical_forms_of_the_dsp_agreement_example_parse() -> None:
    # DSP 2025-1 artifacts/.../contract-agreement-message-full.json, trimmed to the shapes.
    document: JsonObject = {
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
            },
            {
                "action": "use",
                "constraint": [
                    {
                        "or": [
                            {
                                "and": [
                                    c("constraint1", "eq", "value1"),
                                    c("constraint2", "eq", "v"),
                                ]
                            },
                            c("partner", "eq", "silver"),
                        ]
                    }
                ],
            },
        ],
    }
    policy = parse_policy(document)
    assert policy.type is PolicyType.AGREEMENT
    assert policy.assignee == "http://example.com/Consumer"
    nested = policy.permissions[1].constraints[0]
    assert isinstance(nested, LogicalConstraint)
    assert nested.operator is LogicalOperator.OR
    decision = evaluate_policy(
        policy, action="use", facts=facts(now=datetime(2023, 6, 1, tzinfo=UTC))
    )
    assert decision.permitted  # the first permission holds; the second cannot be judged
    assert {line.reason for line in decision.trace} == {None, Reason.ODRL_UNKNOWN_OPERAND}


# --- fail closed --------------------------------------------------------------------------


def test_unknown_left_operand_fails_its_constraint() -> None:
    decision = decide(offer(c("spatial", "eq", "_:EU")))
    assert decision.reason is Reason.ODRL_CONSTRAINT_UNSATISFIED
    (line,) = decision.trace
    assert (line.left_operand, line.satisfied, line.reason) == (
        "spatial",
        False,
        Reason.ODRL_UNKNOWN_OPERAND,
    )
    assert line.actual is None


def test_a_look_alike_of_our_operand_is_unknown() -> None:
    decision = decide(offer(c("https://w3id.org/passerelle/odrl/issuer_jurisdiction", "eq", "eu")))
    assert decision.trace[0].reason is Reason.ODRL_UNKNOWN_OPERAND
    assert not decision.permitted


@pytest.mark.parametrize(
    ("left", "operator"),
    [
        (IJ, "ex:near"),  # not an operator at all
        (IJ, "isAllOf"),  # ODRL's, but ambiguous on sets: not supported
        (IJ, "isA"),
        (CT, "lt"),  # an order on a set of types means nothing
        ("dateTime", "isAnyOf"),
        ("dateTime", "hasPart"),
    ],
)
def test_unsupported_operator_fails_its_constraint(left: str, operator: str) -> None:
    decision = decide(offer(c(left, operator, ["eu"] if left != "dateTime" else "x")))
    assert not decision.permitted
    (line,) = decision.trace
    assert line.reason is Reason.ODRL_UNKNOWN_OPERATOR
    assert line.operator == operator


def test_unknown_is_not_a_pass_inside_logical_constraints() -> None:
    unknown = c("purpose", "eq", "research")
    # and: unknown keeps it from holding; the reason names why.
    decision = decide(offer({"and": [YES, unknown]}))
    assert not decision.permitted
    assert decision.trace[0].reason is Reason.ODRL_UNKNOWN_OPERAND
    # or: a known satisfied member carries it.
    assert decide(offer({"or": [unknown, YES]})).permitted
    assert not decide(offer({"or": [unknown, NO]})).permitted
    # xone: one satisfied and one unknown might be two.
    assert not decide(offer({"xone": [YES, unknown]})).permitted
    assert decide(offer({"xone": [YES, unknown]})).trace[0].reason is Reason.ODRL_UNKNOWN_OPERAND
    # xone: two satisfied is a definite no, whatever the unknown one is.
    two = decide(offer({"xone": [YES, YES, unknown]}))
    assert two.trace[0].reason is Reason.ODRL_CONSTRAINT_UNSATISFIED


def test_a_prohibition_that_cannot_be_judged_still_prohibits() -> None:
    document = offer(YES, prohibition=[c("spatial", "eq", "_:US")])
    decision = decide(document)
    assert not decision.permitted
    assert decision.reason is Reason.ODRL_PROHIBITED
    assert decision.trace[-1].path == "prohibition[0].constraint[0]"
    assert decision.trace[-1].reason is Reason.ODRL_UNKNOWN_OPERAND


def test_a_prohibition_lifted_only_by_a_definite_no() -> None:
    unknown = c("spatial", "eq", "_:US")
    document = offer(YES, prohibition=[{"and": [unknown, c(IJ, "eq", "ca")]}])
    assert decide(document, facts(jurisdictions={"eu"})).permitted
    assert decide(document, facts(jurisdictions={"ca"})).reason is Reason.ODRL_PROHIBITED


# --- prohibitions and the decision --------------------------------------------------------


def test_prohibition_wins_over_a_satisfied_permission() -> None:
    document = offer(c(CT, "eq", MEMBERSHIP), prohibition=[c(IJ, "isAnyOf", ["ca"])])
    denied = decide(document, facts(jurisdictions={"ca", "eu"}))
    assert denied.reason is Reason.ODRL_PROHIBITED
    assert [line.path for line in denied.trace] == [
        "permission[0].constraint[0]",
        "prohibition[0].constraint[0]",
    ]
    assert all(line.satisfied for line in denied.trace)
    assert decide(document, facts(jurisdictions={"eu"})).permitted


def test_unconditional_prohibition_and_prohibition_only_policies() -> None:
    document: JsonObject = {
        "@id": "urn:uuid:p",
        "@type": "Offer",
        "permission": [{"action": "use"}],
        "prohibition": [{"action": "use"}],
    }
    assert decide(document).reason is Reason.ODRL_PROHIBITED
    only: JsonObject = {
        "@id": "urn:uuid:p",
        "prohibition": [{"action": "use", "constraint": [c(IJ, "eq", "ca")]}],
    }
    assert decide(only).reason is Reason.ODRL_NO_PERMISSION
    assert decide(only, facts(jurisdictions={"ca"})).reason is Reason.ODRL_PROHIBITED


def test_a_permission_without_constraints_permits() -> None:
    decision = decide({"@id": "urn:uuid:open", "permission": [{"action": "use"}]})
    assert decision.permitted
    assert decision.trace == ()


def test_one_satisfied_permission_among_several_is_enough() -> None:
    document: JsonObject = {
        "@id": "urn:uuid:two",
        "permission": [
            {"action": "use", "constraint": [c(IJ, "eq", "eu")]},
            {"action": "use", "constraint": [c(IJ, "eq", "ca")]},
        ],
    }
    assert decide(document, facts(jurisdictions={"ca"})).permitted
    assert (
        decide(document, facts(jurisdictions={"uk"})).reason is Reason.ODRL_CONSTRAINT_UNSATISFIED
    )


@pytest.mark.parametrize("action", ["use", "odrl:use", "http://www.w3.org/ns/odrl/2/use", "read"])
def test_a_use_permission_covers_use_and_narrower_actions(action: str) -> None:
    assert decide(EU_ONLY, action=action).permitted


def test_rules_for_other_actions_do_not_apply() -> None:
    document: JsonObject = {
        "@id": "urn:uuid:actions",
        "permission": [{"action": {"@id": "odrl:use"}}],
        "prohibition": [{"action": "distribute"}],
    }
    assert decide(document, action="use").permitted  # distribute is narrower than use
    assert decide(document, action="distribute").reason is Reason.ODRL_PROHIBITED
    # transfer is the other core action, not a kind of use.
    assert decide(document, action="transfer").reason is Reason.ODRL_NO_PERMISSION
    read_only: JsonObject = {"@id": "urn:uuid:read", "permission": [{"action": "read"}]}
    assert decide(read_only, action="use").reason is Reason.ODRL_NO_PERMISSION
    assert decide(read_only, action="odrl:read").permitted


def test_a_use_prohibition_covers_narrower_actions() -> None:
    document: JsonObject = {
        "@id": "urn:uuid:noread",
        "permission": [{"action": "read"}],
        "prohibition": [{"action": "use", "constraint": [c(IJ, "eq", "ca")]}],
    }
    assert decide(document, facts(jurisdictions={"ca"}), action="read").reason is (
        Reason.ODRL_PROHIBITED
    )
    assert decide(document, facts(jurisdictions={"eu"}), action="read").permitted


# --- accepted spellings --------------------------------------------------------------------


def test_fully_prefixed_form_with_node_references() -> None:
    # The shape connectors emit when they compact with only the odrl prefix.
    document: JsonObject = {
        "@context": ["https://w3id.org/dspace/2025/1/context.jsonld"],
        "@id": "urn:uuid:edc-style",
        "@type": "odrl:Offer",
        "odrl:permission": {
            "odrl:action": {"@id": "odrl:use"},
            "odrl:constraint": {
                "odrl:leftOperand": {"@id": IJ},
                "odrl:operator": {"@id": "odrl:isAnyOf"},
                "odrl:rightOperand": ["eu"],
            },
        },
        "odrl:prohibition": [],
        "odrl:obligation": [],
        "dct:title": "a supplier registry",
    }
    assert decide(document).permitted
    assert (
        decide(document, facts(jurisdictions={"ca"})).reason is Reason.ODRL_CONSTRAINT_UNSATISFIED
    )


def test_dsp_dataset_example_policy() -> None:
    # DSP 2025-1 catalog/example/dataset.json: a hasPolicy entry, no target.
    document: JsonObject = {
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
    policy = parse_policy(document)
    assert (policy.type, policy.target) == (PolicyType.OFFER, None)
    decision = evaluate_policy(policy, action="use", facts=facts())
    assert decision.reason is Reason.ODRL_CONSTRAINT_UNSATISFIED
    assert decision.trace[0].reason is Reason.ODRL_UNKNOWN_OPERAND


def test_policy_fields_and_defaults() -> None:
    policy = parse_policy(
        {
            "uid": "urn:uuid:set",
            "profile": [PASSERELLE_ODRL_PROFILE],
            "conflict": "prohibit",
            "assigner": {"@id": "did:web:eu-dataspace:provider"},
            "permission": [{"@type": "Permission", "action": "use", "assigner": "did:web:x"}],
        }
    )
    assert policy == Policy(
        id="urn:uuid:set",
        type=PolicyType.SET,  # ODRL's default subclass
        target=None,
        assigner="did:web:eu-dataspace:provider",
        assignee=None,
        profiles=(PASSERELLE_ODRL_PROFILE,),
        permissions=policy.permissions,
        prohibitions=(),
    )


def test_parses_from_strict_json_text() -> None:
    text = json.dumps(EU_ONLY).encode()
    assert decide(parse_json(text)).permitted


# --- malformed and unsupported policies ----------------------------------------------------


def _with(**members: Any) -> JsonObject:
    doc = copy.deepcopy(EU_ONLY)
    doc.update(members)
    return doc


def _rule(**members: Any) -> JsonObject:
    rule: JsonObject = {"action": "use", "constraint": [YES]}
    rule.update(members)
    return {"@id": "urn:uuid:r", "permission": [rule]}


MALFORMED: dict[str, JsonValue] = {
    "not an object": ["urn:uuid:x"],
    "null": None,
    "no id": {"@type": "Offer", "permission": [{"action": "use"}]},
    "id not a URI": _with(**{"@id": "offer 1"}),
    "id and uid": _with(uid="urn:uuid:other"),
    "unknown policy type": _with(**{"@type": "Contract"}),
    "two policy types": _with(**{"@type": ["Offer", "Agreement"]}),
    "no rules": {"@id": "urn:uuid:x", "@type": "Offer"},
    "empty rules": {"@id": "urn:uuid:x", "permission": [], "prohibition": []},
    "obligation": _with(obligation=[{"action": "compensate"}]),
    "inheritFrom": _with(inheritFrom="urn:uuid:parent"),
    "conflict perm": _with(conflict="perm"),
    "unknown profile": _with(profile="https://test.com/profile"),
    "policy-level action": _with(action="use"),
    "policy-level constraint": _with(constraint=[NO]),
    "duplicate member": _with(**{"odrl:permission": [{"action": "use"}]}),
    "rule by reference": _with(permission=["urn:uuid:rule"]),
    "rule without action": _with(permission=[{"constraint": [YES]}]),
    "two actions": _rule(action=["use", "read"]),
    "action refinement": _rule(
        action={"rdf:value": {"@id": "odrl:use"}, "refinement": [YES]},
    ),
    "duty": _rule(duty=[{"action": "compensate"}]),
    "rule target": _rule(target="urn:uuid:dataset"),
    "rule assignee": _rule(assignee="did:web:someone"),
    "rule typed as prohibition": _rule(**{"@type": "Prohibition"}),
    "nested context": _rule(**{"@context": {"use": "https://example.org/other"}}),
    "constraint by reference": _rule(constraint=[{"@id": "urn:uuid:c1"}]),
    "constraint not an object": _rule(constraint=["x"]),
    "no leftOperand": _rule(constraint=[{"operator": "eq", "rightOperand": "x"}]),
    "no operator": _rule(constraint=[{"leftOperand": CT, "rightOperand": "x"}]),
    "no rightOperand": _rule(constraint=[{"leftOperand": CT, "operator": "eq"}]),
    "leftOperand not a term": _rule(constraint=[c(5, "eq", "x")]),
    "operator not a term": _rule(constraint=[c(CT, ["eq", "neq"], "x")]),
    "rightOperandReference": _rule(
        constraint=[{"leftOperand": CT, "operator": "eq", "rightOperandReference": "https://x"}]
    ),
    "unit": _rule(constraint=[{**YES, "unit": "https://example.org/unit"}]),
    "status": _rule(constraint=[{**YES, "status": 5}]),
    "dataType mismatch": _rule(constraint=[{**YES, "dataType": "xsd:integer"}]),
    "two logical operators": _rule(constraint=[{"and": [YES], "or": [YES]}]),
    "empty logical": _rule(constraint=[{"or": []}]),
    "logical with operand": _rule(constraint=[{"or": [YES], "leftOperand": CT}]),
    "null right operand": _rule(constraint=[c(CT, "eq", None)]),
    "empty right operand": _rule(constraint=[c(CT, "isAnyOf", [])]),
    "nested right operand": _rule(constraint=[c(CT, "isAnyOf", [["a"]])]),
    "object right operand": _rule(constraint=[c(CT, "eq", {"a": "b"})]),
    "right operand with language": _rule(
        constraint=[c(CT, "eq", {"@value": "x", "@language": "en"})]
    ),
    "unknown operand, bad value": _rule(constraint=[c("purpose", "eq", {"nested": {"x": 1}})]),
    "eq with two values": _rule(constraint=[c(CT, "eq", ["a", "b"])]),
    "repeated values": _rule(constraint=[c(CT, "isAnyOf", ["a", "a"])]),
    "empty string value": _rule(constraint=[c(CT, "isAnyOf", [""])]),
    "number for a type": _rule(constraint=[c(CT, "eq", 5)]),
    "date-typed type": _rule(constraint=[c(CT, "eq", {"@value": "x", "@type": "xsd:dateTime"})]),
    "agreement without assignee": {
        "@id": "urn:uuid:a",
        "@type": "Agreement",
        "target": "urn:uuid:d",
        "assigner": "did:web:p",
        "permission": [{"action": "use"}],
    },
    "target not an IRI": _with(target="dataset one"),
    "unknown keyword": _with(**{"@graph": []}),
}


@pytest.mark.parametrize("name", list(MALFORMED))
def test_malformed_policy_is_refused(name: str) -> None:
    error = invalid(MALFORMED[name])
    assert error.fault is Fault.PEER
    assert error.wire_error == "access_denied"


def test_an_empty_unsupported_member_says_nothing() -> None:
    assert decide(_with(obligation=[])).permitted
    assert decide(_rule(duty=[])).permitted


def test_the_dsp_example_profile_is_refused() -> None:
    # ODRL 2.2: a processor that does not recognise a profile MUST stop processing.
    error = invalid(_with(profile="https://test.com/profile"))
    assert "profile" in error.detail


# --- bounds ---------------------------------------------------------------------------------


def _nested(depth: int) -> JsonObject:
    node: JsonObject = YES
    for _ in range(depth - 1):
        node = {"and": [node]}
    return node


def test_nesting_up_to_the_limit_is_read() -> None:
    decision = decide(offer(_nested(MAX_NESTING)))
    assert decision.permitted
    assert len(decision.trace) == MAX_NESTING
    assert decision.trace[-1].path.count(".and[0]") == MAX_NESTING - 1


def test_nesting_beyond_the_limit_is_refused() -> None:
    invalid(offer(_nested(MAX_NESTING + 1)))


def test_constraint_count_is_bounded_across_the_policy() -> None:
    half = MAX_CONSTRAINTS // 2
    at_limit = offer(*([YES] * half), prohibition=[NO] * half)
    assert decide(at_limit).permitted
    invalid(offer(*([YES] * half), prohibition=[NO] * (half + 1)))
    invalid(offer({"or": [YES] * MAX_CONSTRAINTS}))  # the logical one counts too


def test_rule_count_is_bounded() -> None:
    invalid({"@id": "urn:uuid:r", "permission": [{"action": "use"}] * (MAX_RULES + 1)})
    invalid(
        {
            "@id": "urn:uuid:r",
            "permission": [{"action": "use"}] * MAX_RULES,
            "prohibition": [{"action": "distribute"}],
        }
    )


def test_right_operand_size_is_bounded() -> None:
    values = [f"t{i}" for i in range(MAX_RIGHT_OPERAND_VALUES)]
    assert decide(offer(c(CT, "isAnyOf", [*values, MEMBERSHIP][1:]))).permitted
    invalid(offer(c(CT, "isAnyOf", [*values, MEMBERSHIP])))


# --- the trace -------------------------------------------------------------------------------


def test_trace_records_what_was_compared() -> None:
    document = offer(
        c(IJ, "isAnyOf", ["eu"]),
        c("dateTime", "lt", {"@value": "2027-01-01T00:00:00Z", "@type": "xsd:dateTime"}),
        prohibition=[c(CT, "eq", "RevokedMemberCredential")],
    )
    decision = decide(document, facts({MEMBERSHIP, BUSINESS}, {"eu"}))
    assert decision.as_dict() == {
        "permitted": True,
        "reason": None,
        "trace": [
            {
                "path": "permission[0].constraint[0]",
                "left_operand": IJ,
                "operator": "isAnyOf",
                "right_operand": ["eu"],
                "actual": ["eu"],
                "satisfied": True,
                "reason": None,
            },
            {
                "path": "permission[0].constraint[1]",
                "left_operand": "dateTime",
                "operator": "lt",
                "right_operand": {"@value": "2027-01-01T00:00:00Z", "@type": "xsd:dateTime"},
                "actual": "2026-11-23T12:00:00Z",
                "satisfied": True,
                "reason": None,
            },
            {
                "path": "prohibition[0].constraint[0]",
                "left_operand": CT,
                "operator": "eq",
                "right_operand": "RevokedMemberCredential",
                "actual": [BUSINESS, MEMBERSHIP],
                "satisfied": False,
                "reason": "odrl.constraint_unsatisfied",
            },
        ],
    }
    json.dumps(decision.as_dict())  # JSON all the way down


def test_trace_does_not_change_with_the_callers_document() -> None:
    right: list[JsonValue] = ["eu"]
    policy = parse_policy(offer(c(IJ, "isAnyOf", right)))
    right.append("ca")
    decision = evaluate_policy(policy, action="use", facts=facts(jurisdictions={"ca"}))
    assert not decision.permitted
    assert decision.trace[0].right_operand == ["eu"]
    shown: Any = decision.as_dict()["trace"]
    shown[0]["right_operand"].append("uk")
    assert decision.trace[0].right_operand == ["eu"]


def test_rules_for_other_actions_leave_no_trace() -> None:
    document: JsonObject = {
        "@id": "urn:uuid:t",
        "permission": [{"action": "use", "constraint": [YES]}],
        "prohibition": [{"action": "distribute", "constraint": [NO]}],
    }
    assert [line.path for line in decide(document).trace] == ["permission[0].constraint[0]"]


# --- facts and misuse ------------------------------------------------------------------------


def test_facts_are_checked() -> None:
    with pytest.raises(PasserelleError) as naive:
        OdrlFacts(
            credential_types=frozenset(), issuer_jurisdictions=frozenset(), now=datetime(2026, 1, 1)
        )
    assert naive.value.fault is Fault.LOCAL
    with pytest.raises(PasserelleError):
        OdrlFacts(credential_types={"x"}, issuer_jurisdictions=frozenset(), now=NOW)  # type: ignore[arg-type]
    with pytest.raises(PasserelleError):
        OdrlFacts(credential_types=frozenset({1}), issuer_jurisdictions=frozenset(), now=NOW)  # type: ignore[arg-type]


def test_evaluate_refuses_misuse() -> None:
    policy = parse_policy(EU_ONLY)
    with pytest.raises(PasserelleError) as info:
        evaluate_policy(policy, action="", facts=facts())
    assert info.value.fault is Fault.LOCAL
    with pytest.raises(PasserelleError):
        evaluate_policy(EU_ONLY, action="use", facts=facts())  # type: ignore[arg-type]


# --- the offer builder -----------------------------------------------------------------------


def test_offer_policy_builds_a_dsp_offer() -> None:
    built = offer_policy(
        offer_id="urn:uuid:eu-registry-offer",
        target="urn:uuid:eu-registry",
        assigner="did:web:eu-dataspace:provider",
        permission_constraints=[c(IJ, "isAnyOf", ["eu"]), c(CT, "eq", MEMBERSHIP)],
    )
    assert built == {
        "@id": "urn:uuid:eu-registry-offer",
        "@type": "Offer",
        "profile": PASSERELLE_ODRL_PROFILE,
        "target": "urn:uuid:eu-registry",
        "assigner": "did:web:eu-dataspace:provider",
        "permission": [
            {
                "action": "use",
                "constraint": [c(IJ, "isAnyOf", ["eu"]), c(CT, "eq", MEMBERSHIP)],
            }
        ],
    }
    policy = parse_policy(built)
    assert policy.target == "urn:uuid:eu-registry"
    assert evaluate_policy(policy, action="use", facts=facts()).permitted
    assert not evaluate_policy(policy, action="use", facts=facts(jurisdictions={"ca"})).permitted


def test_offer_policy_with_a_prohibition_and_the_catalog_form() -> None:
    constraints = [c(CT, "eq", MEMBERSHIP)]
    built = offer_policy(
        offer_id="urn:uuid:o",
        target="urn:uuid:d",
        assigner="did:web:ca-dataspace:provider",
        permission_constraints=constraints,
        prohibition_constraints=[c(IJ, "isNoneOf", ["ca", "eu"])],
    )
    constraints[0]["rightOperand"] = "changed"  # the builder copied them
    assert decide(built, facts(jurisdictions={"uk"})).reason is Reason.ODRL_PROHIBITED
    assert decide(built, facts(jurisdictions={"ca"})).permitted
    listed = offer_for_catalog(built)
    assert "target" not in listed
    assert "target" in built
    assert parse_policy(listed).target is None


def test_offer_policy_without_constraints_is_open() -> None:
    built = offer_policy(
        offer_id="urn:uuid:o", target="urn:uuid:d", assigner="did:web:p", permission_constraints=[]
    )
    assert built["permission"] == [{"action": "use"}]
    assert decide(built, facts(set(), set())).permitted


def test_offer_policy_refuses_what_parse_would() -> None:
    with pytest.raises(PasserelleError) as info:
        offer_policy(
            offer_id="urn:uuid:o",
            target="urn:uuid:d",
            assigner="did:web:p",
            permission_constraints=[c("dateTime", "lt", "next year")],
        )
    assert info.value.reason is Reason.ODRL_POLICY_INVALID
    assert info.value.fault is Fault.LOCAL
