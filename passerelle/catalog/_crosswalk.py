"""Crosswalks: map the claims of one credential type into the vocabulary of another.

A crosswalk is data (``schemas/crosswalks/*.json``, described in the README there)::

    {"crosswalk": "ca-person-to-eu-pid", "source_vct": "...", "target_vct": "...",
     "rules": [{"from": ["birthdate"], "to": ["birthdate"], "transform": "date"}, ...]}

Every rule reads claim path(s) from the source claims and writes claim path(s) in
the target vocabulary through one transform of a closed set, so that a crosswalk can
be reviewed by people who read no Python and cannot run code. The result says which
source claims no rule consumed (``unmapped``: what the other side will never see) and
which target claims found no source (``missing``).
"""

from __future__ import annotations

import copy
import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from .._errors import PasserelleError, Reason
from .._json import JsonObject, JsonValue
from ._type_metadata import format_claim_path

__all__ = [
    "TRANSFORMS",
    "Crosswalk",
    "CrosswalkResult",
    "CrosswalkRule",
    "SourcePath",
    "TargetPath",
    "Transform",
    "apply_crosswalk",
    "parse_crosswalk",
]

SourcePath: TypeAlias = tuple[str | int, ...]
TargetPath: TypeAlias = tuple[str, ...]
Transform: TypeAlias = Literal[
    "identity", "date", "country_alpha2", "join", "split", "map", "constant"
]
TRANSFORMS: frozenset[str] = frozenset(
    {"identity", "date", "country_alpha2", "join", "split", "map", "constant"}
)

# Registered JWT claims of an SD-JWT VC (draft-ietf-oauth-sd-jwt-vc §2.2.2.3): they
# describe the credential, not its subject, and the target issuer sets its own.
_ENVELOPE: frozenset[str] = frozenset(
    {"iss", "sub", "iat", "nbf", "exp", "jti", "vct", "vct#integrity", "aka_vcts", "cnf", "status"}
)
_RULE_MEMBERS = frozenset({"from", "to", "transform", "separator", "value", "values", "default"})
_ALPHA2 = re.compile(r"[A-Z]{2}")
_SUBDIVISION = re.compile(r"([A-Z]{2})-[A-Z0-9]{1,3}")
# ISO 3166-1 alpha-3 to alpha-2 for the parties this testbed meets (EU/EEA, Canada and
# its usual partners). A code outside it is a data error, not a guess.
_ALPHA3: dict[str, str] = {
    "AUT": "AT", "BEL": "BE", "BGR": "BG", "HRV": "HR", "CYP": "CY", "CZE": "CZ",
    "DNK": "DK", "EST": "EE", "FIN": "FI", "FRA": "FR", "DEU": "DE", "GRC": "GR",
    "HUN": "HU", "IRL": "IE", "ITA": "IT", "LVA": "LV", "LTU": "LT", "LUX": "LU",
    "MLT": "MT", "NLD": "NL", "POL": "PL", "PRT": "PT", "ROU": "RO", "SVK": "SK",
    "SVN": "SI", "ESP": "ES", "SWE": "SE", "ISL": "IS", "LIE": "LI", "NOR": "NO",
    "CHE": "CH", "GBR": "GB", "CAN": "CA", "USA": "US", "MEX": "MX", "AUS": "AU",
    "NZL": "NZ", "JPN": "JP",
}  # fmt: skip


@dataclass(frozen=True, slots=True, kw_only=True)
class CrosswalkRule:
    """One rule. ``sources`` is empty for ``constant``, has several paths for ``join``;
    ``targets`` has several paths for ``split``."""

    sources: tuple[SourcePath, ...]
    targets: tuple[TargetPath, ...]
    transform: Transform = "identity"
    separator: str = " "
    value: JsonValue = None
    values: Mapping[str, JsonValue] = field(default_factory=dict)
    default: JsonValue = None
    has_default: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Crosswalk:
    id: str | None
    source_vct: str
    target_vct: str
    rules: tuple[CrosswalkRule, ...]
    extra: JsonObject = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class CrosswalkResult:
    """``claims`` in the target vocabulary (with the target ``vct``); ``unmapped`` the
    source claim paths no rule consumed; ``missing`` the target paths left without a
    source. Paths are written ``address.street_address``, ``nationalities[0]``."""

    claims: JsonObject
    unmapped: tuple[str, ...]
    missing: tuple[str, ...]


def _invalid(detail: str) -> PasserelleError:
    return PasserelleError(Reason.CROSSWALK_INVALID, detail)


def _source_path(value: JsonValue, where: str) -> SourcePath:
    if not isinstance(value, list) or not value:
        raise _invalid(f"{where} must be a non-empty claim path array")
    out: list[str | int] = []
    for component in value:
        is_key = isinstance(component, str) and bool(component)
        # bool is an int in Python; true is no array index.
        is_index = isinstance(component, int) and not isinstance(component, bool) and component >= 0
        if not (is_key or is_index):
            raise _invalid(f"{where} has an invalid component {component!r}")
        assert isinstance(component, str | int)
        out.append(component)
    return tuple(out)


def _target_path(value: JsonValue, where: str) -> TargetPath:
    if not isinstance(value, list) or not value:
        raise _invalid(f"{where} must be a non-empty claim path array")
    out: list[str] = []
    for component in value:
        # Targets build objects only; array positions would need a fill policy nobody wants.
        if not isinstance(component, str) or not component:
            raise _invalid(f"{where} has a non-string component {component!r}")
        out.append(component)
    return tuple(out)


def _path_list(value: JsonValue, where: str) -> list[JsonValue]:
    if not isinstance(value, list) or len(value) < 2 or not all(isinstance(v, list) for v in value):
        raise _invalid(f"{where} must be an array of at least two claim paths")
    return value


def _parse_rule(entry: JsonValue, where: str) -> CrosswalkRule:
    if not isinstance(entry, dict):
        raise _invalid(f"{where} must be an object")
    unknown = set(entry) - _RULE_MEMBERS
    if unknown:
        # A misspelt member (e.g. "tranform") would silently turn a rule into identity.
        raise _invalid(f"{where} has unknown members {sorted(unknown)}")
    transform = entry.get("transform", "identity")
    if not isinstance(transform, str) or transform not in TRANSFORMS:
        raise _invalid(f"{where}.transform must be one of {sorted(TRANSFORMS)}")
    separator = entry.get("separator", " ")
    if not isinstance(separator, str) or not separator:
        raise _invalid(f"{where}.separator must be a non-empty string")
    if "separator" in entry and transform not in ("join", "split"):
        raise _invalid(f"{where}.separator only applies to join and split")

    if transform == "constant":
        if "from" in entry or "value" not in entry:
            raise _invalid(f"{where}: constant takes 'value' and no 'from'")
        sources: tuple[SourcePath, ...] = ()
    elif "value" in entry:
        raise _invalid(f"{where}: 'value' only applies to constant")
    elif transform == "join":
        sources = tuple(
            _source_path(p, f"{where}.from[{i}]")
            for i, p in enumerate(_path_list(entry.get("from"), f"{where}.from"))
        )
    else:
        sources = (_source_path(entry.get("from"), f"{where}.from"),)

    if transform == "split":
        targets = tuple(
            _target_path(p, f"{where}.to[{i}]")
            for i, p in enumerate(_path_list(entry.get("to"), f"{where}.to"))
        )
    else:
        targets = (_target_path(entry.get("to"), f"{where}.to"),)

    values = entry.get("values", {})
    if transform == "map":
        if not isinstance(values, dict) or not values:
            raise _invalid(f"{where}: map needs a non-empty 'values' object")
    elif "values" in entry or "default" in entry:
        raise _invalid(f"{where}: 'values' and 'default' only apply to map")
    return CrosswalkRule(
        sources=sources,
        targets=targets,
        transform=_as_transform(transform),
        separator=separator,
        value=copy.deepcopy(entry.get("value")),
        values=dict(values) if isinstance(values, dict) else {},
        default=entry.get("default"),
        has_default="default" in entry,
    )


def _as_transform(name: str) -> Transform:
    for candidate in ("identity", "date", "country_alpha2", "join", "split", "map", "constant"):
        if name == candidate:
            return candidate
    raise _invalid(f"unknown transform {name!r}")


def parse_crosswalk(doc: JsonObject) -> Crosswalk:
    """Turn a crosswalk document into a :class:`Crosswalk`, or raise ``crosswalk.invalid``."""
    if not isinstance(doc, dict):
        raise _invalid("a crosswalk must be a JSON object")
    source_vct, target_vct = doc.get("source_vct"), doc.get("target_vct")
    if not isinstance(source_vct, str) or not source_vct:
        raise _invalid("'source_vct' must be a non-empty string")
    if not isinstance(target_vct, str) or not target_vct:
        raise _invalid("'target_vct' must be a non-empty string")
    ident = doc.get("crosswalk")
    if ident is not None and not isinstance(ident, str):
        raise _invalid("'crosswalk' must be a string")
    raw_rules = doc.get("rules")
    if not isinstance(raw_rules, list) or not raw_rules:
        raise _invalid("'rules' must be a non-empty array")
    rules = tuple(_parse_rule(entry, f"rules[{i}]") for i, entry in enumerate(raw_rules))

    written: list[TargetPath] = []
    for rule in rules:
        for target in rule.targets:
            if target == ("vct",):
                raise _invalid("rules must not write 'vct'; the target vct is set from target_vct")
            for other in written:
                shorter = min(len(other), len(target))
                if other[:shorter] == target[:shorter]:
                    raise _invalid(
                        f"target {format_claim_path(target)} overlaps "
                        f"{format_claim_path(other)}: two rules would write the same claim"
                    )
            written.append(target)
    known = {"crosswalk", "source_vct", "target_vct", "rules"}
    return Crosswalk(
        id=ident,
        source_vct=source_vct,
        target_vct=target_vct,
        rules=rules,
        extra={k: v for k, v in doc.items() if k not in known},
    )


# --------------------------------------------------------------------------- applying


class _Absent:
    """Marks a source path that selects nothing (distinct from a JSON null)."""


_ABSENT = _Absent()


def _get(claims: JsonObject, path: SourcePath) -> JsonValue | _Absent:
    current: JsonValue = claims
    for component in path:
        if isinstance(component, str):
            if not isinstance(current, dict) or component not in current:
                return _ABSENT
            current = current[component]
        else:
            if not isinstance(current, list) or component >= len(current):
                return _ABSENT
            current = current[component]
    return current


def _set(claims: JsonObject, path: TargetPath, value: JsonValue) -> None:
    node = claims
    for component in path[:-1]:
        child = node.setdefault(component, {})
        assert isinstance(child, dict)  # parse_crosswalk rejects overlapping targets
        node = child
    node[path[-1]] = value


def _violation(rule: CrosswalkRule, detail: str) -> PasserelleError:
    where = ", ".join(format_claim_path(p) for p in rule.sources)
    return PasserelleError(
        Reason.SCHEMA_VIOLATION, f"crosswalk {rule.transform} of {where}: {detail}"
    )


def _to_date(rule: CrosswalkRule, value: JsonValue) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        # A NumericDate (RFC 7519), as JWT-style claims carry dates.
        try:
            return dt.datetime.fromtimestamp(value, tz=dt.UTC).date().isoformat()
        except (OverflowError, OSError, ValueError) as exc:
            raise _violation(rule, f"{value!r} is not a representable NumericDate") from exc
    if isinstance(value, str) and len(value) >= 10:
        try:
            return dt.date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            pass
    raise _violation(rule, f"{value!r} is not a full date")


def _to_alpha2(rule: CrosswalkRule, value: JsonValue) -> str:
    if isinstance(value, str):
        code = value.strip().upper()
        if _ALPHA2.fullmatch(code):
            return code
        subdivision = _SUBDIVISION.fullmatch(code)
        if subdivision:
            return subdivision.group(1)
        if code in _ALPHA3:
            return _ALPHA3[code]
    raise _violation(rule, f"{value!r} is not a known country code")


def _text(rule: CrosswalkRule, value: JsonValue) -> str:
    if not isinstance(value, str):
        raise _violation(rule, f"{value!r} is not a string")
    return value


def _apply_rule(
    rule: CrosswalkRule, claims: JsonObject, out: JsonObject, missing: list[str]
) -> None:
    def mark_missing(targets: tuple[TargetPath, ...]) -> None:
        missing.extend(format_claim_path(t) for t in targets)

    if rule.transform == "constant":
        _set(out, rule.targets[0], copy.deepcopy(rule.value))
        return
    if rule.transform == "join":
        parts = [_get(claims, p) for p in rule.sources]
        present = [_text(rule, p) for p in parts if not isinstance(p, _Absent)]
        if not present:
            mark_missing(rule.targets)
        else:
            _set(out, rule.targets[0], rule.separator.join(present))
        return

    value = _get(claims, rule.sources[0])
    if isinstance(value, _Absent):
        mark_missing(rule.targets)
        return
    if rule.transform == "split":
        pieces = _text(rule, value).split(rule.separator, len(rule.targets) - 1)
        for target, piece in zip(rule.targets, pieces, strict=False):
            _set(out, target, piece)
        mark_missing(rule.targets[len(pieces) :])
        return
    result: JsonValue
    if rule.transform == "date":
        result = _to_date(rule, value)
    elif rule.transform == "country_alpha2":
        result = _to_alpha2(rule, value)
    elif rule.transform == "map":
        key = _text(rule, value)
        if key in rule.values:
            result = copy.deepcopy(rule.values[key])
        elif rule.has_default:
            result = copy.deepcopy(rule.default)
        else:
            raise _violation(rule, f"{key!r} has no mapping and the rule has no default")
    else:
        result = copy.deepcopy(value)
    _set(out, rule.targets[0], result)


def _leaves(
    value: JsonValue, prefix: SourcePath, consumed: frozenset[SourcePath]
) -> list[SourcePath]:
    # Objects are always walked; an array only when some rule reaches inside it, so
    # that an unmapped list is reported once rather than element by element.
    if isinstance(value, dict) and value:
        children: list[tuple[str | int, JsonValue]] = list(value.items())
    elif (
        isinstance(value, list)
        and value
        and any(len(c) > len(prefix) and c[: len(prefix)] == prefix for c in consumed)
    ):
        children = list(enumerate(value))
    else:
        return [prefix]
    out: list[SourcePath] = []
    for key, child in children:
        out.extend(_leaves(child, (*prefix, key), consumed))
    return out


def apply_crosswalk(crosswalk: JsonObject | Crosswalk, claims: JsonObject) -> CrosswalkResult:
    """Map ``claims`` (a disclosed claims object of ``source_vct``) into ``target_vct``.

    Raises ``crosswalk.invalid`` for a bad crosswalk, ``sd_jwt_vc.vct_mismatch`` if the
    claims carry another ``vct``, and ``schema.violation`` if a value does not fit its
    transform (a date that is no date, an unknown country or map key).
    """
    walk = crosswalk if isinstance(crosswalk, Crosswalk) else parse_crosswalk(crosswalk)
    vct = claims.get("vct")
    if vct is not None and vct != walk.source_vct:
        raise PasserelleError(
            Reason.SD_JWT_VC_VCT_MISMATCH,
            f"crosswalk {walk.id or ''} maps {walk.source_vct!r}, not {vct!r}",
        )
    out: JsonObject = {"vct": walk.target_vct}
    missing: list[str] = []
    for rule in walk.rules:
        _apply_rule(rule, claims, out, missing)

    consumed = frozenset(path for rule in walk.rules for path in rule.sources)
    unmapped: list[str] = []
    for name, value in claims.items():
        if name in _ENVELOPE:
            continue
        for leaf in _leaves(value, (name,), consumed):
            if not any(leaf[: len(c)] == c for c in consumed):
                unmapped.append(format_claim_path(leaf))
    return CrosswalkResult(claims=out, unmapped=tuple(unmapped), missing=tuple(missing))
