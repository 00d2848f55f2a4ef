"""ODRL 2.2 policies as the Dataspace Protocol 2025-1 carries them: parse, evaluate, build.

Pure: :func:`parse_policy` reads a compact JSON-LD policy (a dataset's ``hasPolicy``
entry, a contract message's ``offer`` or ``agreement``) into a frozen :class:`Policy`
or raises ``odrl.policy_invalid``; :func:`evaluate_policy` decides it against
:class:`OdrlFacts` — what the verifier established, never what the requester claims —
and returns an :class:`OdrlDecision` with one :class:`ConstraintTrace` per constraint.

Left operands: ODRL's ``dateTime`` (the ``now`` of the facts) and two of this profile,
:data:`LEFT_OPERAND_CREDENTIAL_TYPE` (the types of the credentials the consumer proved)
and :data:`LEFT_OPERAND_ISSUER_JURISDICTION` (the jurisdictions of their issuers as the
trust registry and lists say). Operators: ``eq``, ``neq``, ``isAnyOf``, ``isNoneOf``,
``isPartOf``, ``hasPart`` on those sets; ``eq``, ``neq``, ``lt``, ``lteq``, ``gt``,
``gteq`` on ``dateTime``. Logical constraints: ``and``, ``or``, ``xone``,
``andSequence``. Anything else fails its constraint closed (``odrl.unknown_operand``,
``odrl.unknown_operator``) and is named in the trace.
"""

from ._build import offer_for_catalog, offer_policy
from ._evaluate import ConstraintTrace, OdrlDecision, OdrlFacts, evaluate_policy
from ._models import Constraint, ConstraintNode, LogicalConstraint, Policy, Rule
from ._parse import (
    MAX_CONSTRAINTS,
    MAX_NESTING,
    MAX_RIGHT_OPERAND_VALUES,
    MAX_RULES,
    parse_policy,
)
from ._terms import (
    LEFT_OPERAND_CREDENTIAL_TYPE,
    LEFT_OPERAND_DATE_TIME,
    LEFT_OPERAND_ISSUER_JURISDICTION,
    ODRL_NAMESPACE,
    PASSERELLE_ODRL_NAMESPACE,
    PASSERELLE_ODRL_PROFILE,
    LogicalOperator,
    Operator,
    PolicyType,
)

__all__ = [
    "LEFT_OPERAND_CREDENTIAL_TYPE",
    "LEFT_OPERAND_DATE_TIME",
    "LEFT_OPERAND_ISSUER_JURISDICTION",
    "MAX_CONSTRAINTS",
    "MAX_NESTING",
    "MAX_RIGHT_OPERAND_VALUES",
    "MAX_RULES",
    "ODRL_NAMESPACE",
    "PASSERELLE_ODRL_NAMESPACE",
    "PASSERELLE_ODRL_PROFILE",
    "Constraint",
    "ConstraintNode",
    "ConstraintTrace",
    "LogicalConstraint",
    "LogicalOperator",
    "OdrlDecision",
    "OdrlFacts",
    "Operator",
    "Policy",
    "PolicyType",
    "Rule",
    "evaluate_policy",
    "offer_for_catalog",
    "offer_policy",
    "parse_policy",
]
