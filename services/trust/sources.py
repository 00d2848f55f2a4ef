"""Reading the human-edited trust sources (``trust_lists/``): strict YAML in, JSON out.

YAML 1.1, which PyYAML speaks, reads far more than its authors mean: ``NO`` (Norway's
country code) is the boolean false, ``1:30`` a number in base 60, ``0755`` an octal
number, ``2026-01-01`` a date. Two loaders keep what was written:

- the *typed* loader (service profiles) resolves booleans only from ``true``/``false``
  (the YAML 1.2 core schema) and numbers only in their plain decimal forms;
- the *text* loader (trust lists, the registry, recognition agreements, partners'
  entries, none of which holds a number) reads every plain scalar as a string, except
  ``true``/``false`` and ``null``/``~``/empty.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal

import yaml

from passerelle import JsonObject, PasserelleError, Reason

__all__ = ["SOURCES_ENV", "load_source", "trust_sources"]

SOURCES_ENV = "PASSERELLE_TRUST_SOURCES"


def trust_sources() -> Path:
    """Where ``trust_lists/`` is read from: ``$PASSERELLE_TRUST_SOURCES`` if set (a copy
    of its own, for a deployment from an installed package, whose data is read-only),
    else the checkout's (or the installed package's) ``trust_lists/``."""
    from passerelle.services.catalog import data_root

    given = os.environ.get(SOURCES_ENV)
    return Path(given) if given else data_root() / "trust_lists"


_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")
_NULL = re.compile(r"^(?:~|null|Null|NULL|)$")
# A decimal integer (no leading zero: "01000" is a postal code, not a thousand) ...
_INT = re.compile(r"^[-+]?(?:0|[1-9][0-9]*)$")
# ... and a decimal fraction or exponent (YAML 1.2 core), no sexagesimal forms.
_FLOAT = re.compile(r"^[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$")

_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"
_INT_TAG = "tag:yaml.org,2002:int"
_FLOAT_TAG = "tag:yaml.org,2002:float"


# libyaml's scanner and parser (PyYAML's wheels carry it) with PyYAML's own resolver and
# constructor: the same documents, ten times faster than the pure-Python parser.
_Base = yaml.CSafeLoader if yaml.__with_libyaml__ else yaml.SafeLoader


class _StrictLoader(_Base):  # type: ignore[misc,valid-type]
    """Safe YAML without duplicate keys (PyYAML would silently keep the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        mapping: dict[Any, Any] = super().construct_mapping(node, deep=deep)
        return mapping

    def construct_yaml_bool(self, node: yaml.ScalarNode) -> bool:
        return str(self.construct_scalar(node)).lower() == "true"


class _TypedLoader(_StrictLoader):
    pass


class _TextLoader(_StrictLoader):
    pass


def _resolvers(
    tags: list[tuple[str, re.Pattern[str], str | list[str]]],
) -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
    table: dict[Any, list[tuple[str, re.Pattern[str]]]] = {}
    for tag, pattern, first in tags:
        for char in first:
            table.setdefault(char, []).append((tag, pattern))
    return table


_NULL_FIRST = ["~", "n", "N", ""]  # "" is the empty scalar
_BOOL_FIRST = "tTfF"
_NUMBER_FIRST = "-+.0123456789"
_BASE: list[tuple[str, re.Pattern[str], str | list[str]]] = [
    (_NULL_TAG, _NULL, _NULL_FIRST),
    (_BOOL_TAG, _BOOL, _BOOL_FIRST),
]
_TextLoader.yaml_implicit_resolvers = _resolvers(_BASE)
_TypedLoader.yaml_implicit_resolvers = _resolvers(
    [*_BASE, (_INT_TAG, _INT, _NUMBER_FIRST), (_FLOAT_TAG, _FLOAT, _NUMBER_FIRST)]
)


def load_source(path: Path, *, scalars: Literal["typed", "text"] = "typed") -> JsonObject:
    """A YAML (or JSON) source as a JSON object, or ``trust.list_malformed`` naming the
    file. ``scalars="text"`` reads every plain scalar but booleans and null as a string."""
    loader = _TextLoader if scalars == "text" else _TypedLoader
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506
    except (OSError, yaml.YAMLError) as exc:
        raise PasserelleError(Reason.TRUST_LIST_MALFORMED, f"{path}: {exc}") from exc
    if not isinstance(doc, dict):
        raise PasserelleError(Reason.TRUST_LIST_MALFORMED, f"{path}: not a mapping")
    return doc
