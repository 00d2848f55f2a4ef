"""Reading the human-edited trust sources (``trust_lists/``): strict YAML in, JSON out."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from passerelle import JsonObject, PasserelleError, Reason

__all__ = ["load_source"]


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML without timestamp conversion (dates stay strings) and without
    duplicate keys (PyYAML would silently keep the last one)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r}", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load_source(path: Path) -> JsonObject:
    """A YAML (or JSON) source as a JSON object, or ``trust.list_malformed`` naming the file."""
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_StrictLoader)  # noqa: S506
    except (OSError, yaml.YAMLError) as exc:
        raise PasserelleError(Reason.TRUST_LIST_MALFORMED, f"{path}: {exc}") from exc
    if not isinstance(doc, dict):
        raise PasserelleError(Reason.TRUST_LIST_MALFORMED, f"{path}: not a mapping")
    return doc
