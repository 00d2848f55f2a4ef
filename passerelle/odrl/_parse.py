"""Reading an ODRL policy from compact JSON-LD, or raising ``odrl.policy_invalid``.

The input is a policy as the Dataspace Protocol 2025-1 carries it (a dataset's
``hasPolicy`` entry, a contract message's ``offer`` or ``agreement``), compacted with
the DSP context. No JSON-LD processor runs: terms are recognised in their bare,
``odrl:``-prefixed, full-IRI and ``{"@id": ...}`` spellings (see ``_terms``), and a
top-level ``@context`` is taken to be the DSP one.

What the evaluator cannot honour is refused here rather than ignored, because ignoring
a duty, a refinement or a dereferenced operand would grant more than the policy says:

- obligations, duties, remedies and consequences (nothing here can fulfil a duty);
- action refinements, ``rightOperandReference``, ``unit`` and ``status``;
- rule-level ``target`` (DSP 2025-1 Contract Negotiation: rules MUST NOT have one) and
  rule-level ``assignee`` (a party restriction the facts cannot decide);
- ``inheritFrom`` (the parent policy is not at hand) and ``conflict: perm`` (this
  evaluator lets prohibitions win; ODRL's default, ``invalid``, voids a policy whose
  rules conflict, which denies just the same);
- any profile but :data:`PASSERELLE_ODRL_PROFILE` (ODRL 2.2 model, "ODRL Profiles": a processor
  that does not recognise a profile "MUST stop processing the policy").

Members outside the ODRL namespace (``dct:title``, DSP's ``timestamp``) are annotations
to this evaluator and are skipped; an unsupported ODRL member whose value is an empty
list (some connectors write ``"odrl:obligation": []``) says nothing and is skipped too.
Unknown left operands and operators are *not* refused: they are kept so that the
evaluator fails that one constraint closed and the trace names it.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Final

from .._errors import PasserelleError, Reason
from .._json import JsonObject, JsonValue
from ._models import Constraint, ConstraintNode, LogicalConstraint, Policy, Rule
from ._terms import (
    DATE_TIME_TYPES,
    LEFT_OPERAND_CREDENTIAL_TYPE,
    LEFT_OPERAND_DATE_TIME,
    LEFT_OPERAND_ISSUER_JURISDICTION,
    PASSERELLE_ODRL_PROFILE,
    STRING_TYPES,
    LogicalOperator,
    Operator,
    PolicyType,
    left_operand_name,
    odrl_term,
    term_value,
    xsd_term,
)

__all__ = [
    "MAX_CONSTRAINTS",
    "MAX_NESTING",
    "MAX_RIGHT_OPERAND_VALUES",
    "MAX_RULES",
    "parse_policy",
    "supports",
]

MAX_RULES: Final = 32
"""Permissions plus prohibitions in one policy."""
MAX_CONSTRAINTS: Final = 64
"""Constraints in one policy, counting logical constraints and everything nested in them."""
MAX_NESTING: Final = 8
"""Depth of logical constraints: a rule's own constraints are at depth 1."""
MAX_RIGHT_OPERAND_VALUES: Final = 64
"""Members of one set-valued right operand."""

SET_OPERANDS: Final = frozenset({LEFT_OPERAND_CREDENTIAL_TYPE, LEFT_OPERAND_ISSUER_JURISDICTION})
SET_OPERATORS: Final = frozenset(
    {
        Operator.EQ,
        Operator.NEQ,
        Operator.IS_ANY_OF,
        Operator.IS_NONE_OF,
        Operator.IS_PART_OF,
        Operator.HAS_PART,
    }
)
DATE_TIME_OPERATORS: Final = frozenset(
    {Operator.EQ, Operator.NEQ, Operator.LT, Operator.LTEQ, Operator.GT, Operator.GTEQ}
)
_SINGLE_VALUE_OPERATORS: Final = frozenset({Operator.EQ, Operator.NEQ})

# The ODRL vocabulary allows xsd:date or xsd:dateTime for ``dateTime`` and "strongly
# recommends" a time zone. We take xsd:dateTime only, with a mandatory time zone:
# without one (or for a whole day) the order against an instant is indeterminate
# (XML Schema 1.1 part 2, dateTime order), and indeterminate must not pass. Seconds are
# optional because DSP 2025-1's own agreement example writes "2023-12-31T06:00Z". A
# plain string is read as xsd:dateTime, as DSP examples write it, though ODRL asks
# JSON-LD to give the @type.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,12})?)?(Z|[+-]\d{2}:\d{2})")
_IRI = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:\S+")
_LOGICAL_TERMS: Final = {op.value: op for op in LogicalOperator}

_POLICY_MEMBERS = frozenset(
    {"uid", "profile", "target", "assigner", "assignee", "permission", "prohibition", "conflict"}
)
_RULE_MEMBERS = frozenset({"uid", "action", "constraint", "assigner"})
_ATOMIC_MEMBERS = frozenset({"uid", "leftOperand", "operator", "rightOperand", "dataType"})
_LOGICAL_MEMBERS = frozenset({"uid", *_LOGICAL_TERMS})

# ODRL 2.2 properties (model and common vocabulary). A bare member name is read as ODRL
# only if it is one of these; other bare names (DSP's ``timestamp``) are not ODRL's.
_ODRL_PROPERTIES = frozenset(
    {
        *_POLICY_MEMBERS,
        *_RULE_MEMBERS,
        *_ATOMIC_MEMBERS,
        *_LOGICAL_MEMBERS,
        "obligation",
        "inheritFrom",
        "refinement",
        "duty",
        "remedy",
        "consequence",
        "failure",
        "rightOperandReference",
        "unit",
        "status",
        "partOf",
        "source",
        "function",
        "relation",
        "output",
        "implies",
        "includedIn",
        "hasPolicy",
        "attributedParty",
        "attributingParty",
        "compensatedParty",
        "compensatingParty",
        "consentedParty",
        "consentingParty",
        "contractedParty",
        "contractingParty",
        "informedParty",
        "informingParty",
        "trackedParty",
        "trackingParty",
    }
)


def supports(left_operand: str, operator: str) -> bool:
    """Whether the evaluator decides ``left_operand`` (canonical) with ``operator``."""
    if left_operand in SET_OPERANDS:
        return operator in SET_OPERATORS
    if left_operand == LEFT_OPERAND_DATE_TIME:
        return operator in DATE_TIME_OPERATORS
    return False


def _invalid(detail: str) -> PasserelleError:
    return PasserelleError(Reason.ODRL_POLICY_INVALID, detail)


class _Budget:
    """Counts constraints across the whole policy as parsing goes, so a bound is hit
    before the rest of an oversized policy is read."""

    def __init__(self) -> None:
        self.constraints = 0

    def take_constraint(self) -> None:
        self.constraints += 1
        if self.constraints > MAX_CONSTRAINTS:
            raise _invalid(f"the policy has more than {MAX_CONSTRAINTS} constraints")


def _member_term(key: str) -> str | None:
    if ":" not in key:
        return key if key in _ODRL_PROPERTIES else None
    return odrl_term(key)


def _members(
    obj: JsonObject, *, allowed: frozenset[str], keywords: frozenset[str], what: str
) -> JsonObject:
    """The members of ``obj`` this evaluator reads, keyed by bare ODRL term (or JSON-LD
    keyword). Non-ODRL members are skipped; unsupported ODRL members and keywords are
    refused, unless empty."""
    out: JsonObject = {}
    for key, value in obj.items():
        if key.startswith("@"):
            if key not in keywords:
                raise _invalid(f"{what} has the JSON-LD keyword {key}, which is not supported")
            name = key
        else:
            term = _member_term(key)
            if term is None:
                continue
            if term not in allowed:
                if value == []:
                    continue
                raise _invalid(f"{what} has the ODRL member {key!r}, which is not supported")
            name = term
        if name in out:
            raise _invalid(f"{what} names {name!r} twice")
        out[name] = value
    return out


def _as_list(value: JsonValue, *, what: str) -> list[JsonValue]:
    """A JSON-LD set or list: an array, an ``{"@list": [...]}`` object, or one value."""
    if isinstance(value, dict) and set(value) == {"@list"}:
        value = value["@list"]
    if isinstance(value, list):
        return value
    if value is None:
        raise _invalid(f"{what} is null")
    return [value]


def _object(value: JsonValue, *, what: str) -> JsonObject:
    if not isinstance(value, dict):
        raise _invalid(
            f"{what} is not an object (references to rules or constraints are not followed)"
        )
    return value


def _iri(value: JsonValue, *, what: str) -> str:
    text = term_value(value, what=what)
    if not _IRI.fullmatch(text):
        raise _invalid(f"{what} is not an IRI")
    return text


# --- right operands --------------------------------------------------------------------


def _check_right_operand(value: JsonValue, *, what: str) -> JsonValue:
    """ODRL 2.2 model, "Constraint Class": a literal, an IRI, a RightOperand, or a list
    of them. Checked for every constraint, known or not, so that nothing unbounded is
    carried along; the result is a copy, so the trace cannot change with the caller's
    document."""
    wrapped = isinstance(value, dict) and set(value) == {"@list"}
    inner = value["@list"] if isinstance(value, dict) and wrapped else value
    if wrapped and not isinstance(inner, list):
        raise _invalid(f"{what} has an @list that is not an array")
    items = inner if isinstance(inner, list) else [inner]
    if not items:
        raise _invalid(f"{what} is an empty list")
    if len(items) > MAX_RIGHT_OPERAND_VALUES:
        raise _invalid(f"{what} has more than {MAX_RIGHT_OPERAND_VALUES} values")
    copied: list[JsonValue] = []
    for item in items:
        if isinstance(item, str | int | float | bool):
            copied.append(item)
            continue
        if isinstance(item, dict) and (
            set(item) == {"@id"} or ("@value" in item and set(item) <= {"@value", "@type"})
        ):
            scalar = item.get("@id", item.get("@value"))
            kind = item.get("@type", "")
            if isinstance(scalar, str | int | float | bool) and isinstance(kind, str):
                copied.append(dict(item))
                continue
        raise _invalid(f"{what} holds a value that is not a literal, an IRI or a typed value")
    if wrapped:
        return {"@list": copied}
    return copied if isinstance(inner, list) else copied[0]


def _items(value: JsonValue) -> list[JsonValue]:
    if isinstance(value, dict) and set(value) == {"@list"}:
        inner = value["@list"]
        return inner if isinstance(inner, list) else [inner]
    return value if isinstance(value, list) else [value]


def _string_value(item: JsonValue, *, what: str) -> str:
    if isinstance(item, dict):
        if "@id" in item:
            item = item["@id"]
        else:
            kind = item.get("@type")
            if kind is not None and xsd_term(str(kind)) not in STRING_TYPES:
                raise _invalid(f"{what} is typed {kind}, not a string")
            item = item["@value"]
    if not isinstance(item, str) or not item:
        raise _invalid(f"{what} is not a non-empty string")
    return item


def _date_time_value(item: JsonValue, *, what: str) -> datetime:
    if isinstance(item, dict):
        kind = item.get("@type")
        if "@id" in item or (kind is not None and xsd_term(str(kind)) not in DATE_TIME_TYPES):
            raise _invalid(f"{what} is not typed xsd:dateTime")
        item = item["@value"]
    if not isinstance(item, str) or not _DATE_TIME.fullmatch(item):
        raise _invalid(f"{what} is not an xsd:dateTime with a time zone")
    try:
        return datetime.fromisoformat(item).astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise _invalid(f"{what} is not a valid date and time") from exc


def _read_right_operand(
    left: str, operator: str, value: JsonValue, data_type: str | None, *, what: str
) -> tuple[datetime | None, tuple[str, ...]]:
    items = _items(value)
    if left == LEFT_OPERAND_DATE_TIME:
        if data_type is not None and data_type not in DATE_TIME_TYPES:
            raise _invalid(f"{what}: dataType {data_type} does not fit dateTime")
        if len(items) != 1:
            raise _invalid(f"{what}: {operator} on dateTime takes one date-time")
        return _date_time_value(items[0], what=f"{what}.rightOperand"), ()
    if data_type is not None and data_type not in STRING_TYPES:
        raise _invalid(f"{what}: dataType {data_type} does not fit {left}")
    if operator in _SINGLE_VALUE_OPERATORS and len(items) != 1:
        raise _invalid(f"{what}: {operator} takes one value; use isAnyOf for a list")
    values = tuple(_string_value(item, what=f"{what}.rightOperand") for item in items)
    if len(set(values)) != len(values):
        raise _invalid(f"{what}.rightOperand repeats a value")
    return None, values


# --- constraints -------------------------------------------------------------------------


def _parse_constraint(
    value: JsonValue, *, path: str, depth: int, budget: _Budget
) -> ConstraintNode:
    if depth > MAX_NESTING:
        raise _invalid(f"{path}: logical constraints nest deeper than {MAX_NESTING}")
    budget.take_constraint()
    obj = _object(value, what=path)
    logical = [key for key in obj if _member_term(key) in _LOGICAL_TERMS]
    if logical:
        return _parse_logical(obj, path=path, depth=depth, budget=budget)
    return _parse_atomic(obj, path=path)


def _check_type(members: JsonObject, expected: set[str], *, what: str) -> None:
    if "@type" in members:
        kind = odrl_term(term_value(members["@type"], what=f"{what}.@type"))
        if kind not in expected:
            raise _invalid(f"{what} is typed {members['@type']!r}, expected {sorted(expected)}")


def _parse_logical(obj: JsonObject, *, path: str, depth: int, budget: _Budget) -> LogicalConstraint:
    members = _members(
        obj, allowed=_LOGICAL_MEMBERS, keywords=frozenset({"@id", "@type"}), what=path
    )
    _check_type(members, {"LogicalConstraint", "Constraint"}, what=path)
    operands = [name for name in members if name in _LOGICAL_TERMS]
    if len(operands) != 1:
        raise _invalid(f"{path} has {len(operands)} logical operators; exactly one is allowed")
    operator = _LOGICAL_TERMS[operands[0]]
    items = _as_list(members[operands[0]], what=f"{path}.{operator}")
    if not items:
        raise _invalid(f"{path}.{operator} has no constraints")
    children = tuple(
        _parse_constraint(item, path=f"{path}.{operator}[{i}]", depth=depth + 1, budget=budget)
        for i, item in enumerate(items)
    )
    return LogicalConstraint(operator=operator, constraints=children)


def _parse_atomic(obj: JsonObject, *, path: str) -> Constraint:
    members = _members(
        obj, allowed=_ATOMIC_MEMBERS, keywords=frozenset({"@id", "@type"}), what=path
    )
    _check_type(members, {"Constraint"}, what=path)
    for name in ("leftOperand", "operator", "rightOperand"):
        if name not in members:
            raise _invalid(f"{path} has no {name}")
    left = left_operand_name(term_value(members["leftOperand"], what=f"{path}.leftOperand"))
    written = term_value(members["operator"], what=f"{path}.operator")
    term = odrl_term(written)
    operator = term if term in set(Operator) else written
    right = _check_right_operand(members["rightOperand"], what=f"{path}.rightOperand")
    data_type = None
    if "dataType" in members:
        raw = term_value(members["dataType"], what=f"{path}.dataType")
        data_type = xsd_term(raw) or raw
    instant: datetime | None = None
    values: tuple[str, ...] = ()
    if supports(left, operator):
        instant, values = _read_right_operand(left, operator, right, data_type, what=path)
    return Constraint(
        left_operand=left, operator=operator, right_operand=right, instant=instant, values=values
    )


# --- rules and the policy ----------------------------------------------------------------


def _parse_rule(value: JsonValue, *, kind: str, path: str, budget: _Budget) -> Rule:
    obj = _object(value, what=path)
    members = _members(obj, allowed=_RULE_MEMBERS, keywords=frozenset({"@id", "@type"}), what=path)
    _check_type(members, {kind.capitalize()}, what=path)
    if "action" not in members:
        raise _invalid(f"{path} has no action")
    action_value = members["action"]
    if isinstance(action_value, dict) and set(action_value) - {"@id"}:
        raise _invalid(f"{path}.action has a refinement, which is not supported")
    written = term_value(action_value, what=f"{path}.action")
    action = odrl_term(written) or written
    constraints: tuple[ConstraintNode, ...] = ()
    if "constraint" in members:
        items = _as_list(members["constraint"], what=f"{path}.constraint")
        constraints = tuple(
            _parse_constraint(item, path=f"{path}.constraint[{i}]", depth=1, budget=budget)
            for i, item in enumerate(items)
        )
    return Rule(action=action, constraints=constraints)


def _parse_rules(members: JsonObject, kind: str, budget: _Budget) -> tuple[Rule, ...]:
    if kind not in members:
        return ()
    items = _as_list(members[kind], what=kind)
    if len(items) > MAX_RULES:
        raise _invalid(f"the policy has more than {MAX_RULES} {kind} rules")
    return tuple(
        _parse_rule(item, kind=kind, path=f"{kind}[{i}]", budget=budget)
        for i, item in enumerate(items)
    )


def _optional_iri(members: JsonObject, name: str) -> str | None:
    return _iri(members[name], what=name) if name in members else None


def parse_policy(document: JsonValue) -> Policy:
    """Read an ODRL policy (compact JSON-LD, DSP 2025-1 context) for evaluation.

    Raises :class:`PasserelleError` with ``odrl.policy_invalid`` for a malformed policy,
    one beyond the bounds (``MAX_RULES``, ``MAX_CONSTRAINTS``, ``MAX_NESTING``,
    ``MAX_RIGHT_OPERAND_VALUES``), or one that uses a feature this evaluator cannot
    honour (the module docstring lists them).
    """
    obj = _object(document, what="the policy")
    members = _members(
        obj,
        allowed=_POLICY_MEMBERS,
        keywords=frozenset({"@id", "@type", "@context"}),
        what="the policy",
    )
    if "@id" in members and "uid" in members:
        raise _invalid("the policy has both @id and uid")
    identifier = members.get("@id", members.get("uid"))
    if identifier is None:
        raise _invalid("the policy has no @id (DSP 2025-1: every policy has a unique URI)")
    if not isinstance(identifier, str) or not _IRI.fullmatch(identifier):
        raise _invalid("the policy @id is not a URI")
    policy_type = PolicyType.SET
    if "@type" in members:
        written = term_value(members["@type"], what="the policy @type")
        term = odrl_term(written)
        if term not in set(PolicyType):
            raise _invalid(f"the policy @type {written!r} is not Offer, Agreement or Set")
        policy_type = PolicyType(term)
    profiles = tuple(
        _iri(item, what="profile") for item in _as_list(members.get("profile", []), what="profile")
    )
    for profile in profiles:
        if profile != PASSERELLE_ODRL_PROFILE:
            raise _invalid(f"the policy uses the profile {profile}, which is not understood")
    if "conflict" in members:
        conflict = odrl_term(term_value(members["conflict"], what="conflict"))
        if conflict not in {"prohibit", "invalid"}:
            raise _invalid(f"the conflict strategy {conflict!r} is not supported")
    budget = _Budget()
    permissions = _parse_rules(members, "permission", budget)
    prohibitions = _parse_rules(members, "prohibition", budget)
    if len(permissions) + len(prohibitions) > MAX_RULES:
        raise _invalid(f"the policy has more than {MAX_RULES} rules")
    if not permissions and not prohibitions:
        raise _invalid("the policy has neither a permission nor a prohibition")
    policy = Policy(
        id=identifier,
        type=policy_type,
        target=_optional_iri(members, "target"),
        assigner=_optional_iri(members, "assigner"),
        assignee=_optional_iri(members, "assignee"),
        profiles=profiles,
        permissions=permissions,
        prohibitions=prohibitions,
    )
    if policy.type is PolicyType.AGREEMENT and None in (
        policy.target,
        policy.assigner,
        policy.assignee,
    ):
        # DSP 2025-1 "Contract Agreement Message"; ODRL 2.2 model, "Agreement".
        raise _invalid("an Agreement must name its target, assigner and assignee")
    return policy
