"""Deciding a parsed ODRL policy against what the verifier established, with a trace.

Each constraint is satisfied, not satisfied, or *unknown* (a left operand or operator
this evaluator does not support). Logical constraints combine the three as Kleene's
logic does, and an unknown result is never read as a pass: it withholds a permission
and it lets a prohibition stand. That is what "fail closed" means on both sides — a
prohibition on an operand we cannot judge must deny, not silently fall away.

The decision (ODRL 2.2 model, Permission and Prohibition, with the conflict strategy
``prohibit`` of "Policy Conflict Strategy"):

1. a prohibition for the requested action whose constraints hold, or might hold,
   denies with ``odrl.prohibited``;
2. otherwise a permission for the action whose constraints all hold permits;
3. otherwise ``odrl.constraint_unsatisfied`` if some permission names the action, and
   ``odrl.no_permission`` if none does.

Every constraint of every rule for the action is evaluated, so the trace is complete
whichever rule decides.
"""

from __future__ import annotations

import copy
import enum
from dataclasses import dataclass
from datetime import UTC, datetime

from .._errors import Reason, local_error
from .._json import JsonObject, JsonValue
from .._time import require_aware
from ._models import Constraint, ConstraintNode, LogicalConstraint, Policy, Rule
from ._parse import SET_OPERANDS, supports
from ._terms import (
    ACTION_USE,
    LEFT_OPERAND_CREDENTIAL_TYPE,
    LEFT_OPERAND_DATE_TIME,
    LEFT_OPERAND_ISSUER_JURISDICTION,
    TRANSFER_ACTIONS,
    LogicalOperator,
    Operator,
    odrl_term,
)

__all__ = ["ConstraintTrace", "OdrlDecision", "OdrlFacts", "evaluate_policy"]


def _check_strings(value: object, what: str) -> None:
    if not isinstance(value, frozenset) or not all(isinstance(v, str) and v for v in value):
        raise local_error(Reason.INPUT_MALFORMED, f"{what} must be a frozenset of non-empty str")


@dataclass(frozen=True, slots=True, kw_only=True)
class OdrlFacts:
    """Everything the evaluator may know about the requester. Nothing here may come
    from the requester's say-so.

    ``credential_types``: the types of the credentials the consumer *proved* — each in a
    presentation whose signatures, holder binding, validity and status were verified
    upstream (DCP 1.0, profile ``vc20-bssl/jwt``). A type asked for but not proved is
    not here.

    ``issuer_jurisdictions``: the jurisdictions (``"ca"``, ``"eu"``) of the issuers of
    those credentials **as the trust evaluation found them** — the ``framework`` of each
    :class:`passerelle.trust.TrustDecision`, i.e. the Canadian trust registry or the EU
    list that authorises the issuer. Never a country or jurisdiction claim the holder
    or the credential makes about itself; an issuer that is not trusted contributes
    nothing. Codes are compared exactly, as the trust evaluator spells them (lowercase).

    ``now``: the instant ``dateTime`` constraints are judged at; timezone-aware.
    """

    credential_types: frozenset[str]
    issuer_jurisdictions: frozenset[str]
    now: datetime

    def __post_init__(self) -> None:
        _check_strings(self.credential_types, "credential_types")
        _check_strings(self.issuer_jurisdictions, "issuer_jurisdictions")
        require_aware(self.now)


@dataclass(frozen=True, slots=True, kw_only=True)
class ConstraintTrace:
    """One line per constraint evaluated, nested ones included, in document order.

    ``path`` locates it in the policy (``permission[0].constraint[1].or[0]``). A line for
    a logical constraint has an empty ``left_operand``, its logical operator as
    ``operator``, no ``right_operand``, and as ``actual`` the number of its members that
    are satisfied. ``reason`` is ``None`` when satisfied; otherwise
    ``odrl.constraint_unsatisfied``, or ``odrl.unknown_operand`` /
    ``odrl.unknown_operator`` when the evaluator could not judge it (then a logical
    constraint that depends on it carries that reason too).
    """

    path: str
    left_operand: str
    operator: str
    right_operand: JsonValue
    actual: JsonValue
    satisfied: bool
    reason: Reason | None

    def as_dict(self) -> JsonObject:
        return {
            "path": self.path,
            "left_operand": self.left_operand,
            "operator": self.operator,
            "right_operand": copy.deepcopy(self.right_operand),
            "actual": copy.deepcopy(self.actual),
            "satisfied": self.satisfied,
            "reason": None if self.reason is None else str(self.reason),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class OdrlDecision:
    """The outcome: ``permitted`` with ``reason`` ``None``, or refused with one of
    ``odrl.prohibited``, ``odrl.constraint_unsatisfied``, ``odrl.no_permission``; the
    trace says which constraint made it so."""

    permitted: bool
    reason: Reason | None
    trace: tuple[ConstraintTrace, ...]

    def as_dict(self) -> JsonObject:
        return {
            "permitted": self.permitted,
            "reason": None if self.reason is None else str(self.reason),
            "trace": [line.as_dict() for line in self.trace],
        }


class _Truth(enum.Enum):
    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class _Outcome:
    truth: _Truth
    reason: Reason | None


_SATISFIED = _Outcome(_Truth.TRUE, None)
_UNSATISFIED = _Outcome(_Truth.FALSE, Reason.ODRL_CONSTRAINT_UNSATISFIED)


def _format_instant(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _fact(left_operand: str, facts: OdrlFacts) -> JsonValue:
    if left_operand == LEFT_OPERAND_CREDENTIAL_TYPE:
        return list[JsonValue](sorted(facts.credential_types))
    if left_operand == LEFT_OPERAND_ISSUER_JURISDICTION:
        return list[JsonValue](sorted(facts.issuer_jurisdictions))
    if left_operand == LEFT_OPERAND_DATE_TIME:
        return _format_instant(facts.now)
    return None


def _holds_on_set(operator: str, held: frozenset[str], values: tuple[str, ...]) -> bool:
    """ODRL's set-based operators read with the left operand as a set (the vocabulary
    defines them for "a given value"; ours are sets of proved types or jurisdictions):

    - ``eq`` v: the set contains v; ``neq`` v: it does not;
    - ``isAnyOf`` L: the set meets L; ``isNoneOf`` L: it is disjoint from L;
    - ``isPartOf`` L: the set is a subset of L ("contained by the right operand") and
      not empty — the empty set is a subset of everything, and "no credential at all"
      must not satisfy "only credentials from L";
    - ``hasPart`` L: the set contains all of L ("contains the right operand").
    """
    wanted = frozenset(values)
    if operator == Operator.EQ:
        return values[0] in held
    if operator == Operator.NEQ:
        return values[0] not in held
    if operator == Operator.IS_ANY_OF:
        return not held.isdisjoint(wanted)
    if operator == Operator.IS_NONE_OF:
        return held.isdisjoint(wanted)
    if operator == Operator.IS_PART_OF:
        return bool(held) and held <= wanted
    if operator == Operator.HAS_PART:
        return wanted <= held
    raise AssertionError(f"set operator {operator} is not handled")  # pragma: no cover


def _holds_on_instant(operator: str, now: datetime, bound: datetime) -> bool:
    """``dateTime`` is the current instant (ODRL 2.2 vocabulary: "the date (and
    optional time and timezone) of exercising the action"), compared to the bound."""
    if operator == Operator.EQ:
        return now == bound
    if operator == Operator.NEQ:
        return now != bound
    if operator == Operator.LT:
        return now < bound
    if operator == Operator.LTEQ:
        return now <= bound
    if operator == Operator.GT:
        return now > bound
    if operator == Operator.GTEQ:
        return now >= bound
    raise AssertionError(f"dateTime operator {operator} is not handled")  # pragma: no cover


def _atomic(node: Constraint, facts: OdrlFacts) -> _Outcome:
    if node.left_operand not in SET_OPERANDS and node.left_operand != LEFT_OPERAND_DATE_TIME:
        return _Outcome(_Truth.UNKNOWN, Reason.ODRL_UNKNOWN_OPERAND)
    if not supports(node.left_operand, node.operator):
        return _Outcome(_Truth.UNKNOWN, Reason.ODRL_UNKNOWN_OPERATOR)
    if node.left_operand == LEFT_OPERAND_DATE_TIME:
        assert node.instant is not None  # parse_policy reads it for every supported pair
        holds = _holds_on_instant(node.operator, facts.now, node.instant)
    else:
        held = (
            facts.credential_types
            if node.left_operand == LEFT_OPERAND_CREDENTIAL_TYPE
            else facts.issuer_jurisdictions
        )
        holds = _holds_on_set(node.operator, held, node.values)
    return _SATISFIED if holds else _UNSATISFIED


def _combine(operator: LogicalOperator, outcomes: list[_Outcome]) -> _Outcome:
    """ODRL 2.2 model, "Logical Constraint Class", in three-valued logic.
    ``andSequence`` asks all members to be satisfied in order; judged at one instant,
    that is ``and``."""
    truths = [o.truth for o in outcomes]
    satisfied = truths.count(_Truth.TRUE)
    unknown = next((o.reason for o in outcomes if o.truth is _Truth.UNKNOWN), None)
    if operator in (LogicalOperator.AND, LogicalOperator.AND_SEQUENCE):
        if _Truth.FALSE in truths:
            return _UNSATISFIED
        truth = _Truth.UNKNOWN if unknown else _Truth.TRUE
    elif operator is LogicalOperator.OR:
        if satisfied:
            return _SATISFIED
        truth = _Truth.UNKNOWN if unknown else _Truth.FALSE
    else:  # xone: "only one, and not more, of the Constraints MUST be satisfied"
        if satisfied > 1:
            return _UNSATISFIED
        truth = _Truth.TRUE if satisfied == 1 else _Truth.FALSE
        if unknown:
            truth = _Truth.UNKNOWN
    if truth is _Truth.TRUE:
        return _SATISFIED
    if truth is _Truth.FALSE:
        return _UNSATISFIED
    return _Outcome(_Truth.UNKNOWN, unknown)


def _evaluate_node(
    node: ConstraintNode, path: str, facts: OdrlFacts, lines: list[ConstraintTrace]
) -> _Outcome:
    if isinstance(node, Constraint):
        outcome = _atomic(node, facts)
        lines.append(
            ConstraintTrace(
                path=path,
                left_operand=node.left_operand,
                operator=node.operator,
                right_operand=node.right_operand,
                actual=_fact(node.left_operand, facts),
                satisfied=outcome.truth is _Truth.TRUE,
                reason=outcome.reason,
            )
        )
        return outcome
    assert isinstance(node, LogicalConstraint)
    children: list[ConstraintTrace] = []
    outcomes = [
        _evaluate_node(child, f"{path}.{node.operator}[{i}]", facts, children)
        for i, child in enumerate(node.constraints)
    ]
    outcome = _combine(node.operator, outcomes)
    lines.append(
        ConstraintTrace(
            path=path,
            left_operand="",
            operator=str(node.operator),
            right_operand=None,
            actual=sum(o.truth is _Truth.TRUE for o in outcomes),
            satisfied=outcome.truth is _Truth.TRUE,
            reason=outcome.reason,
        )
    )
    lines.extend(children)
    return outcome


def _evaluate_rule(rule: Rule, path: str, facts: OdrlFacts, lines: list[ConstraintTrace]) -> _Truth:
    """ODRL 2.2 model, "Constraint property with a Rule": all MUST be satisfied."""
    outcomes = [
        _evaluate_node(node, f"{path}.constraint[{i}]", facts, lines)
        for i, node in enumerate(rule.constraints)
    ]
    return _combine(LogicalOperator.AND, outcomes).truth if outcomes else _Truth.TRUE


def _covers(rule_action: str, requested: str) -> bool:
    """A rule on ``use`` covers every narrower usage action (ODRL 2.2 vocabulary: use
    is "the most generic action for all non-third-party usage"), but not ``transfer``
    and its narrower forms, which are the other core action."""
    if rule_action == requested:
        return True
    return rule_action == ACTION_USE and requested not in TRANSFER_ACTIONS


def evaluate_policy(policy: Policy, *, action: str, facts: OdrlFacts) -> OdrlDecision:
    """Decide whether ``facts`` allow ``action`` (``"use"``, ``"odrl:use"`` or the IRI)
    under ``policy``. Pure; the caller passes ``facts.now``. Never raises for a policy
    :func:`parse_policy` accepted; see the module docstring for the decision rules."""
    if not isinstance(policy, Policy):
        raise local_error(Reason.INPUT_MALFORMED, "policy must come from parse_policy")
    if not isinstance(facts, OdrlFacts):
        raise local_error(Reason.INPUT_MALFORMED, "facts must be OdrlFacts")
    if not isinstance(action, str) or not action:
        raise local_error(Reason.INPUT_MALFORMED, "action must be a non-empty str")
    requested = odrl_term(action) or action
    lines: list[ConstraintTrace] = []
    permissions = [
        _evaluate_rule(rule, f"permission[{i}]", facts, lines)
        for i, rule in enumerate(policy.permissions)
        if _covers(rule.action, requested)
    ]
    prohibitions = [
        _evaluate_rule(rule, f"prohibition[{i}]", facts, lines)
        for i, rule in enumerate(policy.prohibitions)
        if _covers(rule.action, requested)
    ]
    trace = tuple(lines)
    # A prohibition we cannot judge stands (fail closed); only a definite FALSE lifts it.
    if any(truth is not _Truth.FALSE for truth in prohibitions):
        return OdrlDecision(permitted=False, reason=Reason.ODRL_PROHIBITED, trace=trace)
    if _Truth.TRUE in permissions:
        return OdrlDecision(permitted=True, reason=None, trace=trace)
    reason = Reason.ODRL_CONSTRAINT_UNSATISFIED if permissions else Reason.ODRL_NO_PERMISSION
    return OdrlDecision(permitted=False, reason=reason, trace=trace)
