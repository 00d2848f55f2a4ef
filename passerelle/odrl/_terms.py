"""The ODRL 2.2 terms this evaluator knows, and how a term written three ways is one term.

A compact JSON-LD policy under the DSP 2025-1 context writes ODRL terms bare (``eq``);
peers that compact with only the ``odrl`` prefix write ``odrl:eq``; some write the full
IRI, or wrap it as ``{"@id": ...}``. All four name the same term.
"""

from __future__ import annotations

import enum
from typing import Final

from .._errors import PasserelleError, Reason
from .._json import JsonValue

__all__ = [
    "LEFT_OPERAND_CREDENTIAL_TYPE",
    "LEFT_OPERAND_DATE_TIME",
    "LEFT_OPERAND_ISSUER_JURISDICTION",
    "ODRL_NAMESPACE",
    "PASSERELLE_ODRL_NAMESPACE",
    "PASSERELLE_ODRL_PROFILE",
    "LogicalOperator",
    "Operator",
    "PolicyType",
]

ODRL_NAMESPACE: Final = "http://www.w3.org/ns/odrl/2/"
PASSERELLE_ODRL_NAMESPACE: Final = "https://w3id.org/passerelle/odrl/"

PASSERELLE_ODRL_PROFILE: Final = PASSERELLE_ODRL_NAMESPACE + "profile"
"""The ODRL profile defining our two left operands. ODRL 2.2 model ("ODRL Profiles"): a
processor that does not recognise a policy's profile "MUST stop processing the policy",
so this is the only profile :func:`parse_policy` accepts."""

LEFT_OPERAND_DATE_TIME: Final = "dateTime"
LEFT_OPERAND_CREDENTIAL_TYPE: Final = PASSERELLE_ODRL_NAMESPACE + "credentialType"
LEFT_OPERAND_ISSUER_JURISDICTION: Final = PASSERELLE_ODRL_NAMESPACE + "issuerJurisdiction"

_XSD = "http://www.w3.org/2001/XMLSchema#"


class PolicyType(enum.StrEnum):
    """ODRL 2.2 model, "Policy Class": Set is the default subclass when none is given."""

    SET = "Set"
    OFFER = "Offer"
    AGREEMENT = "Agreement"


class LogicalOperator(enum.StrEnum):
    """ODRL 2.2 model, "Logical Constraint Class": the operand sub-properties an
    evaluator MUST support."""

    AND = "and"
    OR = "or"
    XONE = "xone"
    AND_SEQUENCE = "andSequence"


class Operator(enum.StrEnum):
    """The ODRL 2.2 vocabulary operators (ODRL Vocabulary & Expression 2.2). Which of them a left
    operand supports is decided in ``_evaluate``; the rest fail closed there."""

    EQ = "eq"
    NEQ = "neq"
    LT = "lt"
    LTEQ = "lteq"
    GT = "gt"
    GTEQ = "gteq"
    IS_ANY_OF = "isAnyOf"
    IS_NONE_OF = "isNoneOf"
    IS_PART_OF = "isPartOf"
    HAS_PART = "hasPart"
    IS_ALL_OF = "isAllOf"
    IS_A = "isA"


# Our operands as a policy may write them: full IRI, or with the ``passerelle:`` prefix
# a policy's own @context would define.
_OUR_OPERANDS: dict[str, str] = {
    LEFT_OPERAND_CREDENTIAL_TYPE: LEFT_OPERAND_CREDENTIAL_TYPE,
    "passerelle:credentialType": LEFT_OPERAND_CREDENTIAL_TYPE,
    LEFT_OPERAND_ISSUER_JURISDICTION: LEFT_OPERAND_ISSUER_JURISDICTION,
    "passerelle:issuerJurisdiction": LEFT_OPERAND_ISSUER_JURISDICTION,
}

# ODRL 2.2 vocabulary: ``use`` is "the most generic action for all non-third-party
# usage"; ``transfer`` is the other core action, and ``give``/``sell`` are its
# narrower forms. Every other vocabulary action is a narrower form of ``use``.
ACTION_USE: Final = "use"
TRANSFER_ACTIONS: Final = frozenset({"transfer", "give", "sell"})

DATE_TIME_TYPES: Final = frozenset({"dateTime", "dateTimeStamp"})
STRING_TYPES: Final = frozenset({"string", "anyURI"})


def odrl_term(name: str) -> str | None:
    """The bare ODRL term ``name`` spells, or ``None`` when it is not in the ODRL
    namespace. Bare words are ODRL terms: the DSP context maps them there."""
    if name.startswith(ODRL_NAMESPACE):
        rest = name[len(ODRL_NAMESPACE) :]
    elif name.startswith("odrl:"):
        rest = name[len("odrl:") :]
    elif ":" not in name and not name.startswith("@"):
        rest = name
    else:
        return None
    return rest or None


def xsd_term(name: str) -> str | None:
    if name.startswith(_XSD):
        return name[len(_XSD) :]
    if name.startswith("xsd:"):
        return name[len("xsd:") :]
    return None


def left_operand_name(name: str) -> str:
    """The canonical spelling of a left operand: the bare ODRL term, or our full IRI,
    or ``name`` unchanged when it is neither (it then fails closed at evaluation)."""
    if name in _OUR_OPERANDS:
        return _OUR_OPERANDS[name]
    term = odrl_term(name)
    return term if term is not None else name


def term_value(value: JsonValue, *, what: str) -> str:
    """An IRI-valued member (``@type: @vocab`` or ``@id`` in the context): a string, or
    a node reference ``{"@id": "..."}`` as peers that compact without the DSP context
    write it. Anything else makes the policy invalid."""
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    if isinstance(value, dict) and set(value) == {"@id"}:
        value = value["@id"]
    if not isinstance(value, str) or not value:
        raise PasserelleError(Reason.ODRL_POLICY_INVALID, f"{what} is not one IRI or term")
    return value
