"""A parsed ODRL policy: only what :func:`evaluate_policy` reads, frozen.

Terms are canonical here (``eq``, not ``odrl:eq``; our left operands as full IRIs), so
the evaluator never deals with spellings. Right operands keep the value as written, for
the trace, beside the value as read when the evaluator supports the constraint.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeAlias

from .._json import JsonValue
from ._terms import LogicalOperator, PolicyType

__all__ = ["Constraint", "ConstraintNode", "LogicalConstraint", "Policy", "Rule"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Constraint:
    """An atomic constraint ``{leftOperand, operator, rightOperand}`` (ODRL 2.2 model,
    "Constraint Class").

    ``left_operand`` and ``operator`` are canonical when known and as written when not:
    an unknown one is kept, not refused, so that evaluation fails it closed with its own
    reason and the trace shows it. ``instant`` (a ``dateTime`` constraint) or ``values``
    (a set-valued one) hold the right operand as read; both are empty when the evaluator
    does not support this left operand with this operator.
    """

    left_operand: str
    operator: str
    right_operand: JsonValue
    instant: datetime | None = None
    values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class LogicalConstraint:
    """``{"and" | "or" | "xone" | "andSequence": [constraints]}`` (ODRL 2.2 model,
    "Logical Constraint Class")."""

    operator: LogicalOperator
    constraints: tuple[ConstraintNode, ...]


ConstraintNode: TypeAlias = "Constraint | LogicalConstraint"


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """A permission or prohibition: one action and the constraints that must all hold.

    ``action`` is the bare ODRL action (``use``) or, for a non-ODRL action, the IRI as
    written (it then matches only a request for that same IRI)."""

    action: str
    constraints: tuple[ConstraintNode, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Policy:
    """An ODRL policy as the Dataspace Protocol 2025-1 carries it.

    ``target``, ``assigner`` and ``assignee`` are recorded, not evaluated: they name the
    dataset and the parties, which the caller (the connector, matching an agreement to
    its negotiation) checks. Only rule constraints depend on the facts.
    """

    id: str
    type: PolicyType
    target: str | None
    assigner: str | None
    assignee: str | None
    profiles: tuple[str, ...]
    permissions: tuple[Rule, ...]
    prohibitions: tuple[Rule, ...]
