"""JSON Schema (Draft 2020-12) checks of disclosed claims.

The schemas in ``schemas/`` describe the claims object of an SD-JWT VC after
disclosure processing, so the only ``required`` claims are those that are never
selectively disclosable. Which claims an issuer must include is Type Metadata's
``mandatory`` (see :func:`check_mandatory_claims`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import jsonschema
import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match

from .._errors import PasserelleError, Reason
from .._json import JsonObject, JsonValue
from ._type_metadata import ClaimMetadata, ClaimPath, ResolvedType, format_claim_path

__all__ = [
    "CompiledSchema",
    "check_mandatory_claims",
    "check_schema",
    "compile_schema",
    "select_claims",
    "validate_claims",
]

_DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"


def check_schema(schema: JsonObject) -> None:
    """Raise ``schema.invalid`` unless ``schema`` is a valid Draft 2020-12 schema."""
    if not isinstance(schema, dict):
        raise PasserelleError(Reason.SCHEMA_INVALID, "a schema must be a JSON object")
    declared = schema.get("$schema", _DRAFT_2020_12)
    # One dialect everywhere: a schema written for another draft would validate differently.
    if not isinstance(declared, str) or declared.rstrip("#") != _DRAFT_2020_12:
        raise PasserelleError(
            Reason.SCHEMA_INVALID, f"schema dialect {declared!r} is not JSON Schema 2020-12"
        )
    try:
        Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as exc:
        where = "/" + "/".join(str(p) for p in exc.absolute_path)
        raise PasserelleError(
            Reason.SCHEMA_INVALID, f"schema invalid at {where}: {exc.message}"
        ) from exc


def _pointer(error: ValidationError) -> str:
    return "/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in error.absolute_path)


def _never_retrieve(uri: str) -> Any:
    # A schema is data we hold; nothing it names is ever fetched.
    raise ValueError(f"{uri} is not fetched")


@dataclass(frozen=True, slots=True)
class CompiledSchema:
    """A schema checked once (:func:`check_schema`) with its validator built once.

    Checking a schema against the 2020-12 meta-schema costs about fifty times validating
    a claims object against it, so callers that validate many claims objects (a
    verifier, a wallet) compile each schema when they load their catalogue.

    ``jsonschema`` is the judge: what it accepts is accepted, and its best error is the
    one reported. ``jsonschema_rs`` answers the common case, a valid claims object, about
    fifty times faster; only its "valid" is taken as it is. Where it says "invalid",
    ``jsonschema`` decides, so that a Rust rule stricter than the Python one (``$``
    before a final newline, a full e-mail grammar) never refuses what was accepted
    before. tests/unit/test_schema_fast_path.py checks that it is never the more lenient.
    """

    schema: JsonObject
    _validator: Draft202012Validator = field(repr=False, compare=False)
    _fast: Any = field(default=None, repr=False, compare=False)

    def validate(self, claims: JsonObject) -> None:
        """Raise ``schema.violation`` naming the JSON Pointer of the most relevant error."""
        if self._fast is not None:
            try:
                if self._fast.is_valid(claims):
                    return
            except (ValueError, TypeError, OverflowError):
                pass  # a value the Rust side cannot represent: jsonschema decides
        error = best_match(self._validator.iter_errors(claims))
        if error is not None:
            raise PasserelleError(
                Reason.SCHEMA_VIOLATION, f"claims at {_pointer(error)}: {error.message}"
            )


def compile_schema(schema: JsonObject) -> CompiledSchema:
    """Check ``schema`` (``schema.invalid``) and build its validator, with format checking."""
    check_schema(schema)
    validator = Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)
    try:
        fast = jsonschema_rs.Draft202012Validator(
            schema, validate_formats=True, retriever=_never_retrieve
        )
    except (jsonschema_rs.ValidationError, ValueError):
        fast = None  # a schema jsonschema takes and the Rust side does not: jsonschema alone
    return CompiledSchema(schema, validator, fast)


def validate_claims(claims: JsonObject, *, schema: JsonObject | CompiledSchema) -> None:
    """Validate a claims object, with format checking; raise ``schema.violation``
    naming the JSON Pointer of the most relevant error. A raw schema is checked and
    compiled on every call: pass a :class:`CompiledSchema` on hot paths."""
    compiled = schema if isinstance(schema, CompiledSchema) else compile_schema(schema)
    compiled.validate(claims)


def select_claims(claims: JsonObject, path: ClaimPath) -> list[JsonValue]:
    """Process a claim path (draft-ietf-oauth-sd-jwt-vc §5.6.1.2) over a claims object.

    Returns the selected values, possibly none; a component that meets the wrong kind
    of value raises ``schema.violation``, as the draft makes that an error.
    """
    selected: list[JsonValue] = [claims]
    for component in path:
        nxt: list[JsonValue] = []
        for element in selected:
            if isinstance(component, str):
                if not isinstance(element, dict):
                    raise _path_error(path, "a key is applied to a non-object")
                if component in element:
                    nxt.append(element[component])
            else:
                if not isinstance(element, list):
                    raise _path_error(path, "an array selector is applied to a non-array")
                if component is None:
                    nxt.extend(element)
                elif component < len(element):
                    nxt.append(element[component])
        selected = nxt
    return selected


def _path_error(path: ClaimPath, why: str) -> PasserelleError:
    return PasserelleError(Reason.SCHEMA_VIOLATION, f"claim path {format_claim_path(path)}: {why}")


def check_mandatory_claims(
    claims: JsonObject, resolved: ResolvedType | Iterable[ClaimMetadata]
) -> None:
    """Raise ``schema.violation`` if a ``mandatory`` claim is absent.

    Only meaningful on a complete payload (an issuer's, or a holder's with every
    disclosure): a verifier must not treat an undisclosed claim as missing (§5.6).
    """
    described = resolved.claims if isinstance(resolved, ResolvedType) else resolved
    for claim in described:
        if claim.is_mandatory and not select_claims(claims, claim.path):
            raise PasserelleError(
                Reason.SCHEMA_VIOLATION,
                f"mandatory claim {format_claim_path(claim.path)} is absent",
            )
