"""The targets file: the systems under test, and how the suite plays their counterparts.

YAML, read strictly: an unknown role, a target without a URL or a matrix cell naming a
target that is not there is refused before anything runs, with the path to the fault.
``${name}`` is replaced from the substitutions given (the local stack's URLs and data
directory); an unreplaced ``${...}`` is an error, never sent to a target.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .._adapters import (
    AdapterError,
    default_issuer_adapter,
    default_verifier_adapter,
    parse_adapter,
)
from .._context import Suite, Target

__all__ = ["ROLES", "Targets", "TargetsError", "load_targets", "local_targets_text"]

ROLES = ("issuer", "wallet", "verifier", "trust-list", "connector")
PROFILES = ("eu-haip", "ca", "cross-border", "dsp")
_PLACEHOLDER = re.compile(r"\$\{([A-Za-z0-9_.-]+)\}")


class TargetsError(ValueError):
    """The targets file cannot be used; the message names the offending entry."""


@dataclass(frozen=True, slots=True)
class Targets:
    suite: Suite
    targets: Mapping[str, Target]
    cells: tuple[Mapping[str, Any], ...] = ()
    expected_failures: frozenset[str] = field(default_factory=frozenset)
    source: str = ""

    def of_role(self, role: str) -> list[Target]:
        return [t for t in self.targets.values() if t.role == role]


def local_targets_text() -> str:
    """The default targets file: the local stack."""
    return resources.files(__package__).joinpath("local.yaml").read_text()


def _substitute(text: str, values: Mapping[str, str]) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise TargetsError(f"${{{name}}} has no value (known: {', '.join(sorted(values))})")
        return values[name]

    # Comments may mention placeholders; only live YAML is substituted.
    lines = [
        line if line.lstrip().startswith("#") else _PLACEHOLDER.sub(replace, line)
        for line in text.splitlines()
    ]
    return "\n".join(lines)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise TargetsError(f"{where}: expected a mapping")
    return value


_FILE_SETTINGS = (
    "trust_anchors",
    "access_anchors",
    "issuer_identity",
    "verifier_identity",
    "suite_credential",
)


def _absolute(value: Any, base: Path | None) -> Any:
    """File names in anchor and identity settings, made absolute against the targets
    file's directory (a PKI entity name stays as it is)."""
    if isinstance(value, list):
        return [_absolute(v, base) for v in value]
    if isinstance(value, dict):
        out = dict(value)
        for key in ("file", "certificate", "key"):
            if isinstance(out.get(key), str) and base is not None:
                out[key] = str(base / Path(out[key]))
        return out
    return value


def _adapter(name: str, role: str, entry: Mapping[str, Any]) -> Any:
    """The target's adapter: its own ``adapter`` entry, or the Passerelle test API its
    shorthand endpoints name. Never both: one description per target."""
    shorthands = [
        k
        for k in ("offer_endpoint", "transactions_endpoint", "result_endpoint")
        if entry.get(k) is not None
    ]
    try:
        if entry.get("adapter") is not None:
            if shorthands:
                raise TargetsError(f"targets.{name}: give `adapter` or {shorthands}, not both")
            return parse_adapter(entry["adapter"], f"targets.{name}.adapter")
    except AdapterError as exc:
        raise TargetsError(str(exc)) from exc
    if role == "issuer" and isinstance(entry.get("offer_endpoint"), str):
        return default_issuer_adapter(entry["offer_endpoint"])
    if role == "verifier" and shorthands:
        return default_verifier_adapter(
            entry.get("transactions_endpoint"), entry.get("result_endpoint")
        )
    return None


def load_targets(
    text: str,
    *,
    substitutions: Mapping[str, str] | None = None,
    source: str = "<targets>",
    base_dir: Path | None = None,
) -> Targets:
    """``base_dir``: where relative file names in the file are read from (the targets
    file's directory)."""
    try:
        document = yaml.safe_load(_substitute(text, substitutions or {}))
    except yaml.YAMLError as exc:
        raise TargetsError(f"{source}: not YAML: {exc}") from exc
    root = _mapping(document, source)
    suite_doc = _mapping(root.get("suite") or {}, "suite")
    pki = suite_doc.get("pki")
    suite = Suite(
        pki_dir=Path(pki) if pki else None,
        timeout=float(suite_doc.get("timeout", 10)),
        tls_ca=suite_doc.get("tls_ca"),
        allow_insecure_loopback=bool(suite_doc.get("allow_insecure_loopback", True)),
    )
    targets: dict[str, Target] = {}
    for name, entry in _mapping(root.get("targets") or {}, "targets").items():
        entry = _mapping(entry, f"targets.{name}")
        role = entry.get("role")
        if role not in ROLES:
            raise TargetsError(f"targets.{name}.role: {role!r} is not one of {ROLES}")
        profile = entry.get("profile", "cross-border")
        if profile not in PROFILES:
            raise TargetsError(f"targets.{name}.profile: {profile!r} is not one of {PROFILES}")
        url = entry.get("url")
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise TargetsError(f"targets.{name}.url: an http(s) URL is required")
        settings = {
            k: _absolute(v, base_dir) if k in _FILE_SETTINGS else v
            for k, v in entry.items()
            if k not in ("role", "profile", "url", "adapter")
        }
        if base_dir is not None:
            settings["base_dir"] = str(base_dir)
        targets[str(name)] = Target(
            name=str(name),
            role=role,
            profile=profile,
            url=url.rstrip("/"),
            settings=settings,
            adapter=_adapter(str(name), role, entry),
        )
    cells = []
    for i, cell in enumerate(root.get("cross_border") or []):
        cell = _mapping(cell, f"cross_border[{i}]")
        for key, role in (("issuer", "issuer"), ("verifier", "verifier")):
            named = targets.get(str(cell.get(key)))
            if named is None or named.role != role:
                raise TargetsError(f"cross_border[{i}].{key}: no {role} target {cell.get(key)!r}")
        for key in ("configuration", "persona", "claims", "expect"):
            if key not in cell:
                raise TargetsError(f"cross_border[{i}]: `{key}` is required")
        cells.append(cell)
    expected = root.get("expected_failures") or []
    if not isinstance(expected, list):
        raise TargetsError("expected_failures: expected a list of check ids")
    return Targets(
        suite=suite,
        targets=targets,
        cells=tuple(cells),
        expected_failures=frozenset(str(e) for e in expected),
        source=source,
    )
