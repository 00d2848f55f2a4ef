"""The Rust validator that answers "valid" for CompiledSchema is never more lenient than
jsonschema, the judge, on the catalogue's schemas (passerelle/catalog/_schema.py)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from passerelle import PasserelleError, Reason
from passerelle.catalog import compile_schema

SCHEMAS = Path(__file__).parents[2] / "schemas"
INDEX: dict[str, Any] = json.loads((SCHEMAS / "index.json").read_text(encoding="utf-8"))
LOADED = {
    t["id"]: json.loads((SCHEMAS / t["schema"]).read_text(encoding="utf-8")) for t in INDEX["types"]
}

# Strings near the edges of the catalogue's formats and patterns.
EDGY = [
    "",
    "BE",
    "BE\n",
    "be",
    "BEL",
    "2024-02-29",
    "2023-02-29",
    "2024-13-01",
    "2024-1-01",
    "2024-01-01\n",
    "2024-01-01T00:00:00Z",
    "2024-01-01T25:00:00Z",
    "a@b",
    "@",
    "not an email",
    "https://example.com/x",
    "not a uri",
    "+3212345678",
    "+12",
    "data:image/jpeg;base64,AAAA",
    "CA-ON",
    "CA-ONTARIO",
    "١٢٣٤-٠١-٠١",
]
_EDGY = st.sampled_from(EDGY)
_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    _EDGY,
    st.text(max_size=12),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(_EDGY, st.text(max_size=6)), inner, max_size=4),
    ),
    max_leaves=6,
)


def _names(schema: Any) -> list[str]:
    """Every property name a schema mentions, at any depth."""
    found: list[str] = []
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties" and isinstance(value, dict):
                found.extend(value)
            found.extend(_names(value))
    elif isinstance(schema, list):
        for item in schema:
            found.extend(_names(item))
    return found


def _objects(schema: Any) -> st.SearchStrategy[Any]:
    names = sorted(set(_names(schema))) or ["x"]
    shaped = st.recursive(
        _VALUES,
        lambda inner: st.dictionaries(st.sampled_from(names), inner, max_size=len(names)),
        max_leaves=8,
    )
    return st.dictionaries(st.sampled_from(names), shaped, max_size=len(names))


@pytest.mark.parametrize("type_id", sorted(LOADED))
def test_the_fast_path_never_accepts_what_jsonschema_refuses(type_id: str) -> None:
    schema = LOADED[type_id]
    compiled = compile_schema(schema)
    assert compiled._fast is not None, "every catalogue schema compiles on the fast path"
    judge = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
    @given(_objects(schema))
    def check(claims: Any) -> None:
        try:
            fast = compiled._fast.is_valid(claims)
        except (ValueError, TypeError, OverflowError):
            return  # validate() hands these to jsonschema
        if fast:
            assert judge.is_valid(claims), claims

    check()


def _edits(value: Any) -> list[Any]:
    """``value`` with each of its members, at any depth, replaced by each edgy value."""
    out: list[Any] = []
    if isinstance(value, dict):
        for key, member in value.items():
            replacements: list[Any] = [*EDGY, 7, 1.5, True, None, [], {}]
            out.extend({**value, key: edgy} for edgy in replacements)
            out.extend({**value, key: edited} for edited in _edits(member))
    elif isinstance(value, list):
        for i, member in enumerate(value):
            out.extend([*value[:i], edited, *value[i + 1 :]] for edited in _edits(member))
    return out


@pytest.mark.parametrize("type_id", sorted(LOADED))
def test_on_edited_samples_the_fast_path_agrees_or_is_stricter(type_id: str) -> None:
    entry = next(t for t in INDEX["types"] if t["id"] == type_id)
    compiled = compile_schema(LOADED[type_id])
    judge = Draft202012Validator(
        LOADED[type_id], format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    tried = accepted = 0
    for name in entry["samples"]:
        sample = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
        for claims in [sample, *_edits(sample)]:
            tried += 1
            if compiled._fast.is_valid(claims):
                accepted += 1
                assert judge.is_valid(claims), claims
    assert tried == 0 or accepted > 0  # the comparison saw both answers


def test_a_stricter_fast_path_defers_to_jsonschema() -> None:
    # ECMA-262 `$` does not match before a final newline, Python's does: jsonschema
    # accepts "BE\n" for ^[A-Z]{2}$, and so does validate, as it did before.
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"country": {"type": "string", "pattern": "^[A-Z]{2}$"}},
    }
    compiled = compile_schema(schema)
    assert not compiled._fast.is_valid({"country": "BE\n"})
    compiled.validate({"country": "BE\n"})
    with pytest.raises(PasserelleError) as refused:
        compiled.validate({"country": "be"})
    assert refused.value.reason is Reason.SCHEMA_VIOLATION
    assert "/country" in refused.value.detail


def test_values_the_fast_path_cannot_hold_are_judged_by_jsonschema() -> None:
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": {"n": {"type": "integer", "maximum": 10}},
    }
    compiled = compile_schema(schema)
    with pytest.raises(PasserelleError) as refused:
        compiled.validate({"n": 10**40})
    assert refused.value.reason is Reason.SCHEMA_VIOLATION
    compiled.validate({"n": -(10**40)})


def test_the_fast_path_fetches_nothing() -> None:
    schema: dict[str, Any] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$ref": "https://schemas.example/elsewhere.json",
    }
    compiled = compile_schema(schema)
    # Nothing is fetched: the Rust side refuses to build, and jsonschema alone judges.
    assert compiled._fast is None
